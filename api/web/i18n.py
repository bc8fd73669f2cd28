"""The web view's languages: gettext catalogues, and dates, times and numbers in the
user's locale and the firm's time zone.

The ``.po`` files under ``locale/`` are the catalogues; each is compiled in memory the
first time it is needed (a few milliseconds), so there is no ``.mo`` file to build, ship
or forget, and a read-only installation works as a checkout does.
"""

from __future__ import annotations

import datetime as dt
import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from hub.staff.preferences import LOCALES

LOCALE_DIR = Path(__file__).parent / "locale"
#: The names of the languages, each in itself (for the language switch).
LANGUAGE_NAMES = {"fi": "Suomi", "en": "English"}
#: How dates and numbers are written in each language: English as in Britain (day first,
#: a 24-hour clock), closer to what a Finnish office reads than the American default.
_FORMATS = {"fi": "fi_FI", "en": "en_GB"}


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``locale`` (one of :data:`LOCALES`)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def negotiate(accept_language: str | None, default: str) -> str:
    """The language for someone not signed in: the first of :data:`LOCALES` their browser
    asks for, else ``default``."""
    wanted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            wanted.append((quality, tag.replace("-", "_")))
    for _quality, tag in sorted(wanted, key=lambda w: -w[0]):
        try:
            language = Locale.parse(tag).language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LOCALES:
            return language
    return default if default in LOCALES else LOCALES[0]


class Formats:
    """Dates, times and numbers for one language in the firm's time zone; the templates'
    filters (``|datetime``, ``|date``, ``|time``, ``|number``, ``|from_now``)."""

    def __init__(self, locale: str, zone: ZoneInfo) -> None:
        self.locale = _FORMATS.get(locale, locale)
        self.zone = zone

    def datetime(self, value: dt.datetime | None, format: str = "short") -> str:
        if value is None:
            return ""
        return format_datetime(value, format, tzinfo=self.zone, locale=self.locale)

    def date(self, value: dt.date | dt.datetime | None, format: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, format, locale=self.locale)

    def time(self, value: dt.datetime | None, format: str = "short") -> str:
        if value is None:
            return ""
        return format_time(value, format, tzinfo=self.zone, locale=self.locale)

    def number(self, value: float | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def from_now(self, value: dt.datetime | None, now: dt.datetime) -> str:
        """'in 12 minutes', '3 days ago'."""
        if value is None:
            return ""
        delta: dt.timedelta = value - now
        return format_timedelta(delta, add_direction=True, locale=self.locale)
