"""Phone normalisation: every way of writing a number gives the same E.164 string."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from switchboard_crm_touch.domain.errors import InvalidPhone
from switchboard_crm_touch.domain.phones import (
    display_phone,
    normalise_phone,
    phone_set,
    try_normalise,
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
        "tel:+74951234567",
        "+7.495.123.45.67",
        "٨٤٩٥١٢٣٤٥٦٧",  # Arabic-Indic digits
        "+\uff17 \uff14\uff19\uff15 \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17",  # fullwidth
        "८४९५१२३४५६७",  # Devanagari digits
    ],
)
def test_the_ways_of_writing_a_moscow_number_are_one_number(raw: str) -> None:
    assert normalise_phone(raw, "RU") == "+74951234567"


@pytest.mark.parametrize(
    "raw",
    [
        "garbage",
        "",
        "   ",
        "123",
        "+",
        "12",
        "abc84951234567",
        "8495123456a",
        "+7 495 123-45-67-89-99-99",
    ],
)
def test_garbage_is_not_a_phone_number(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw, "RU")
    assert try_normalise(raw, "RU") is None


def test_foreign_numbers_keep_their_country() -> None:
    assert normalise_phone("+1 202 555 0143", "RU") == "+12025550143"
    assert normalise_phone("00 44 20 7946 0000", "RU") == "+442079460000"
    assert normalise_phone("(202) 555-0143", "US") == "+12025550143"


def test_absent_numbers_are_none() -> None:
    assert try_normalise(None, "RU") is None
    assert try_normalise("", "RU") is None


def test_phone_set_keeps_order_drops_repeats_and_junk() -> None:
    assert phone_set(["8 916 123-45-67", "garbage", "+79161234567", "84951234567"], "RU") == (
        "+79161234567",
        "+74951234567",
    )
    assert phone_set([], "RU") == ()


def test_display_phone() -> None:
    assert display_phone("+74951234567") == "+7 495 123-45-67"
    assert display_phone("not a number") == "not a number"


# A Russian mobile or Moscow landline: national significant number of ten digits.
ru_numbers = st.builds(
    lambda area, rest: f"{area}{rest:07d}",
    st.sampled_from(["495", "499", "812", "916", "903", "925", "985", "343"]),
    st.integers(min_value=0, max_value=9_999_999),
)


def _spaced(digits: str, cuts: list[int], sep: str) -> str:
    out, last = [], 0
    for cut in sorted(set(c % len(digits) for c in cuts if c % len(digits))):
        out.append(digits[last:cut])
        last = cut
    out.append(digits[last:])
    return sep.join(out)


@given(
    nsn=ru_numbers,
    form=st.sampled_from(["e164", "international", "national", "trunk", "country", "bare"]),
    cuts=st.lists(st.integers(min_value=1, max_value=12), max_size=4),
    sep=st.sampled_from(["", " ", "-", "."]),
)
def test_every_rendering_of_a_russian_number_normalises_to_the_same_e164(
    nsn: str, form: str, cuts: list[int], sep: str
) -> None:
    parsed = phonenumbers.parse("+7" + nsn)
    assume(phonenumbers.is_valid_number(parsed))
    expected = "+7" + nsn
    rendered = {
        "e164": expected,
        "international": phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ),
        "national": phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        "trunk": "8" + _spaced(nsn, cuts, sep),
        "country": "7" + _spaced(nsn, cuts, sep),
        "bare": _spaced(nsn, cuts, sep),
    }[form]
    assert normalise_phone(rendered, "RU") == expected
    # Normalising is idempotent.
    assert normalise_phone(expected, "RU") == expected


@given(
    region=st.sampled_from(["RU", "US", "GB", "DE", "FR", "KZ", "BY", "UA", "IN", "BR"]),
    default=st.sampled_from(["RU", "US", "GB"]),
)
def test_a_number_with_its_country_code_ignores_the_default_region(
    region: str, default: str
) -> None:
    example = phonenumbers.example_number(region)
    assert example is not None
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(
        example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    assert normalise_phone(international, default) == e164
    assert normalise_phone(e164, default) == e164
