from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.clients.business_id import check_digit, make_business_id, normalize_business_id
from hub.errors import InvalidBusinessId


@pytest.mark.parametrize("value, expected", [
    ("1572860-0", "1572860-0"),     # Finnish Tax Administration
    ("0201256-6", "0201256-6"),     # Nokia Oyj
    (" 0112038-9 ", "0112038-9"),   # Kesko Oyj, with stray spaces
    ("112038-9", "0112038-9"),      # the old six-digit form
])
def test_valid_ids_are_normalized(value, expected):
    assert normalize_business_id(value) == expected


@pytest.mark.parametrize("value", ["1572860-1", "15728600", "1572860-", "abcdefg-1", "",
                                   "12345678-9"])
def test_invalid_ids_say_what_to_do(value):
    with pytest.raises(InvalidBusinessId) as info:
        normalize_business_id(value)
    assert info.value.field == "business_id"
    assert "check" in info.value.message or "seven digits" in info.value.message


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_exactly_one_check_digit_is_accepted(digits):
    valid = [d for d in range(10) if _ok(f"{digits}-{d}")]
    if check_digit(digits) is None:
        assert valid == [] and make_business_id(digits) is None
    else:
        assert valid == [check_digit(digits)]


def _ok(value: str) -> bool:
    try:
        normalize_business_id(value)
    except InvalidBusinessId:
        return False
    return True
