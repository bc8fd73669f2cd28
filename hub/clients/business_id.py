"""The Finnish business ID (Y-tunnus): seven digits, a hyphen and a check digit."""

from __future__ import annotations

import re

from hub.errors import InvalidBusinessId

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
# ASCII digits only: \d and int() also take Arabic-Indic or full-width digits, which would
# let one company's ID be stored a second time in another script.
_SHAPE = re.compile(r"^([0-9]{6,7})-([0-9])$")


def check_digit(digits: str) -> int | None:
    """The check digit for seven digits, or None when no valid ID has them (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def normalize_business_id(value: str) -> str:
    """Return the ID as ``1234567-8``; old six-digit IDs gain their leading zero."""
    text = value.strip().replace(" ", "")
    if any(c.isdigit() and not c.isascii() for c in text):
        raise InvalidBusinessId(
            f"{value!r} has digits of another script; type the business ID with the digits "
            "0-9, as seven digits, a hyphen and the check digit, for example 1572860-0",
            field="business_id",
        )
    match = _SHAPE.fullmatch(text)
    if not match:
        raise InvalidBusinessId(
            f"{value!r} is not a business ID; write it as seven digits, a hyphen and the "
            "check digit, for example 1572860-0",
            field="business_id",
        )
    digits, given = match.group(1).zfill(7), int(match.group(2))
    expected = check_digit(digits)
    if expected is None or expected != given:
        raise InvalidBusinessId(
            f"the check digit of business ID {value!r} does not match; check the number "
            "against the trade register (YTJ)",
            field="business_id",
        )
    return f"{digits}-{given}"


def make_business_id(digits: str) -> str | None:
    """A valid ID from seven digits, or None if those digits cannot form one."""
    check = check_digit(digits)
    return None if check is None else f"{digits}-{check}"
