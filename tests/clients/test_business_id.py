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


# Digits of other scripts: str.isdigit, \d and int() take them all, so "١٥٧٢٨٦٠-٠" once
# passed the checksum and was stored beside "1572860-0" as a different ID.
OTHER_SCRIPTS = {
    "Arabic-Indic": "\u0661\u0665\u0667\u0662\u0668\u0666\u0660-\u0660",
    "Eastern Arabic-Indic": "\u06f1\u06f5\u06f7\u06f2\u06f8\u06f6\u06f0-\u06f0",
    "full-width": "\uff11\uff15\uff17\uff12\uff18\uff16\uff10-\uff10",
    "Devanagari": "\u0967\u096b\u096d\u0968\u096e\u096c\u0966-\u0966",
    "one full-width check digit": "1572860-\uff10",
}
#: Not digits at all to \\d, but digits to str.isdigit.
NOT_DECIMAL = {"superscript": "1572860-\u2070", "circled": "157286\u24ea-0"}


@pytest.mark.parametrize("value", [*OTHER_SCRIPTS.values(), *NOT_DECIMAL.values()],
                         ids=[*OTHER_SCRIPTS, *NOT_DECIMAL])
def test_digits_of_other_scripts_are_refused_with_advice(value):
    with pytest.raises(InvalidBusinessId) as info:
        normalize_business_id(value)
    assert info.value.field == "business_id"
    assert "0-9" in info.value.message


# Each digit value in ASCII, Arabic-Indic, Eastern Arabic-Indic, Devanagari and full-width.
_ANY_DIGIT = [st.sampled_from([chr(base + d) for base in (0x30, 0x660, 0x6F0, 0x966, 0xFF10)])
              for d in range(10)]


@given(st.lists(st.one_of(_ANY_DIGIT), min_size=8, max_size=8))
def test_only_ascii_digits_are_accepted(chars):
    value = "".join(chars[:7]) + "-" + chars[7]
    if value.isascii():
        assert _ok(value) == (check_digit(value[:7]) == int(value[8]))
    else:
        assert not _ok(value)


@pytest.mark.parametrize("value", OTHER_SCRIPTS.values(), ids=OTHER_SCRIPTS.keys())
def test_the_same_id_in_another_script_cannot_make_a_second_client(api, make_caller, value):
    admin = make_caller(admin=True)
    first = api.post("/api/v1/clients", headers=admin.headers,
                     json={"name": "Verohallinto", "business_id": "1572860-0"})
    assert first.status_code == 201, first.text
    again = api.post("/api/v1/clients", headers=admin.headers,
                     json={"name": "Verohallinto kopio", "business_id": value})
    assert again.status_code == 422, again.text
    assert again.json()["error"]["field"] == "business_id"
    listed = api.get("/api/v1/clients", headers=admin.headers,
                     params={"scope": "register"}).json()["items"]
    assert [c["business_id"] for c in listed] == ["1572860-0"]
    patched = api.patch(f"/api/v1/clients/{first.json()['id']}", headers=admin.headers,
                        json={"business_id": value})
    assert patched.status_code == 422 and patched.json()["error"]["field"] == "business_id"
