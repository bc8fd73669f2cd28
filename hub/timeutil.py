"""Turning what people type into instants: a date or a naive time is in the firm's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hub.settings import get_settings


def firm_zone() -> ZoneInfo:
    return get_settings().zone


def to_instant(value: datetime | date | None, zone: ZoneInfo | None = None) -> datetime | None:
    """A date means its midnight, and a naive time is wall-clock time, in the firm's zone.

    So a cover "from 2026-12-01 to 2026-12-08" runs from Monday 00:00 to the next Monday
    00:00 Helsinki time, whatever zone the server runs in.
    """
    if value is None:
        return None
    zone = zone or firm_zone()
    if not isinstance(value, datetime):
        return datetime.combine(value, time.min, tzinfo=zone)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


#: The years a time given to the hub may fall in: any real date of a client's affairs, and
#: far enough from year 1 and 9999 that no time zone shifts it out of what Python and the
#: databases can hold.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def check_instant(value: datetime) -> datetime:
    """``value`` unchanged if it can be stored, else ValueError saying why (its UTC time,
    for an aware one, must fall in EARLIEST_YEAR..LATEST_YEAR)."""
    try:
        year = value.astimezone(UTC).year if value.tzinfo else value.year
    except (OverflowError, ValueError):
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(f"the time must fall between the years {EARLIEST_YEAR} and "
                         f"{LATEST_YEAR}; check the year")
    return value


def in_firm_zone(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(firm_zone())


def aware_time(value: Any) -> datetime | None:
    """A source's timestamp (a datetime or an ISO string) as an aware datetime; naive ones
    are taken as UTC, and anything else is None."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def firm_today(now: datetime | None = None) -> date:
    """The firm's calendar day (at ``now``, default: now), which decides the fiscal year."""
    return (now or datetime.now(UTC)).astimezone(firm_zone()).date()
