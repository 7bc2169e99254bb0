"""Reading numbers: every spelling of a number is one E.164 string; garbage is refused."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard_phones import (
    InvalidPhoneNumber,
    canonical,
    check_region,
    display,
    distinct_numbers,
    is_extension,
    normalise,
    try_normalise,
)
from switchboard_phones.strategies import (
    REGIONS,
    possible_numbers,
    valid_numbers,
    whole_spellings,
)

PROPERTY = settings(
    max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much]
)


@pytest.mark.parametrize(
    "raw",
    [
        "+7 (495) 123-45-67",
        "84951234567",
        "74951234567",
        "+74951234567",
        "8 (495) 123-45-67",
        "4951234567",
        "  +7 495 123 45 67 ",
        "+7.495.123.45.67",
        "81074951234567",  # the Russian international prefix
        "0074951234567",  # "00", which PBXes use anyway
        "8~10 7 495 123-45-67",
        "tel:+7-495-123-45-67",
        "sip:+74951234567@pbx.local",
        "<sip:84951234567@10.0.0.1;user=phone>",
        "84951234567@pbx.local",
        "٨٤٩٥١٢٣٤٥٦٧",  # Arabic-Indic digits
        "+\uff17 \uff14\uff19\uff15 \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17",  # fullwidth
        "\uff0b7 495 1234567",  # fullwidth plus
        "८४९५१२३४५६७",  # Devanagari digits
    ],
)
def test_the_ways_of_writing_a_moscow_number_are_one_number(raw: str) -> None:
    assert normalise(raw, "RU") == "+74951234567"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "garbage",
        "anonymous",
        "+",
        "--",
        "12",
        "123",
        "+7 12",
        "abc84951234567",
        "8495123456a",
        "8-800-FLOWERS",
        "+7 495 123-45-67-89-99-99",
        "123456789012345678901",
        "+" + "9" * 40,
        "\x00",
    ],
)
def test_garbage_is_not_a_phone_number(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise(raw, "RU")
    assert "not a phone number" in str(info.value)
    assert try_normalise(raw, "RU") is None


def test_invalid_phone_number_is_a_value_error() -> None:
    assert issubclass(InvalidPhoneNumber, ValueError)
    assert try_normalise(None, "RU") is None


def test_foreign_numbers_keep_their_country() -> None:
    assert normalise("+1 202 555 0143", "RU") == "+12025550143"
    assert normalise("00 44 20 7946 0000", "RU") == "+442079460000"
    assert normalise("(202) 555-0143", "US") == "+12025550143"
    assert normalise("030 1234567", "DE") == "+49301234567"
    assert normalise("0049 30 1234567", "DE") == "+49301234567"


def test_possible_numbers_are_accepted_not_only_valid_ones() -> None:
    # +7 000 …: ten digits as the Russian plan wants, in no range phonenumbers knows.
    assert not phonenumbers.is_valid_number(phonenumbers.parse("+70001234567"))
    assert normalise("+7 000 123-45-67", "RU") == "+70001234567"
    # Seven digits: a Russian number dialled inside its city, not a number on its own.
    assert try_normalise("123-45-67", "RU") is None


def test_distinct_numbers_keeps_order_drops_repeats_and_junk() -> None:
    raws = ["8 916 123-45-67", "garbage", "+79161234567", "84951234567"]
    assert distinct_numbers(raws, "RU") == ("+79161234567", "+74951234567")
    assert distinct_numbers([], "RU") == ()


def test_display() -> None:
    assert display("+74951234567") == "+7 495 123-45-67"
    assert display("+442079460958") == "+44 20 7946 0958"
    assert display("101") == "101"
    assert display("anonymous") == "anonymous"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("101", True),
        (" 101 ", True),
        ("sip:101@pbx.local", True),
        ("12345", True),
        ("100001", True),  # longer than five digits, but configured
        ("123456", False),
        ("+74951234567", False),
        ("84951234567", False),
        ("10a", False),
        ("", False),
        ("\u0661\u0660\u0661", False),  # Arabic-Indic digits are not an extension
    ],
)
def test_is_extension(text: str, expected: bool) -> None:
    assert is_extension(text, extensions={"100001"}) is expected


def test_canonical_keeps_extensions_bare_and_numbers_e164() -> None:
    assert canonical("sip:101@pbx.local", "RU") == "101"
    assert canonical("100001", "RU", extensions={"100001"}) == "100001"
    assert canonical("<sip:84951234567@10.0.0.1>", "RU") == "+74951234567"
    with pytest.raises(InvalidPhoneNumber):
        canonical("1010", "RU", max_extension_digits=3)  # too long to be one, too short a number
    with pytest.raises(InvalidPhoneNumber):
        canonical("anonymous", "RU")


def test_check_region() -> None:
    assert check_region(" kz ") == "KZ"
    with pytest.raises(ValueError, match="unknown region"):
        check_region("Moscow")


@PROPERTY
@given(data=st.data(), region=st.sampled_from(("RU", "DE", "US", "GB")))
def test_every_whole_spelling_of_a_number_normalises_to_it(
    data: st.DataObject, region: str
) -> None:
    number = data.draw(valid_numbers((region,)) | valid_numbers())
    spelling = data.draw(whole_spellings(number, region))
    assert normalise(spelling.text, region) == number, spelling
    assert normalise(number, region) == number  # idempotent


@PROPERTY
@given(data=st.data(), region=st.sampled_from(REGIONS))
def test_a_possible_number_with_its_country_code_is_itself_in_any_region(
    data: st.DataObject, region: str
) -> None:
    number = data.draw(possible_numbers())
    international = phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    assert normalise(international, region) == number
    assert normalise(number, region) == number


@PROPERTY
@given(raw=st.text(max_size=30) | st.from_regex(r"\A[+0-9 ()\-A-Za-z]{0,24}\Z"))
def test_any_text_is_e164_or_refused_with_a_reason(raw: str) -> None:
    try:
        number = normalise(raw, "RU")
    except InvalidPhoneNumber as exc:
        assert str(exc).startswith("not a phone number")
        return
    assert number.startswith("+") and number[1:].isdigit() and len(number) <= 16
    assert normalise(number, "RU") == number
