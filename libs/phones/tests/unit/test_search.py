"""Searching numbers: what a typed number (whole or part) looks for, and that it finds its
number however it was typed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard_phones import SearchDigits, search_digits
from switchboard_phones.strategies import fragments, spellings, valid_numbers

PROPERTY = settings(
    max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much]
)


@pytest.mark.parametrize(
    ("typed", "anywhere", "leading"),
    [
        # A whole number, typed with its country code: numbers that begin so (itself).
        ("+7 916 123 45 67", (), ("79161234567",)),
        ("+1 (212) 555-0100", (), ("12125550100",)),
        # Typed with the country code: a beginning.
        ("+7 916", (), ("7916",)),
        # A whole number typed nationally: also as typed.
        ("8 (916) 123-45-67", ("89161234567",), ("79161234567",)),
        ("916 123 45 67", ("9161234567",), ("79161234567",)),
        # The trunk prefix from the metadata, not a rule per country: 8 in Russia …
        ("8 916 123", ("8916123",), ("7916123",)),
        # … and the international prefixes, the region's own (810) and 00.
        ("8 10 49 30", ("8104930",), ("4930", "7104930")),
        ("00 49 30", ("004930",), ("4930",)),
        # Parts with no prefix: as typed.
        ("916-123", ("916123",), ()),
        ("45-67", ("4567",), ()),
        ("101", ("101",), ()),
        ("٤٥٦٧", ("4567",), ()),
        # Nothing to look for.
        ("anna", (), ()),
        ("", (), ()),
        ("--", (), ()),
    ],
)
def test_search_digits(typed: str, anywhere: tuple[str, ...], leading: tuple[str, ...]) -> None:
    assert search_digits(typed, "RU") == SearchDigits(anywhere, leading)


@pytest.mark.parametrize(
    ("typed", "region", "begins"),
    [
        ("030 123", "DE", "4930123"),
        ("0049 30 1", "DE", "49301"),
        ("1 212 555", "US", "1212555"),
        ("011 44 20", "US", "4420"),
        ("8 029 49", "BY", "3752949"),  # Belarus's trunk prefix is "8" or "80"
        ("02 1234", "IT", "39021234"),  # no trunk prefix in Italy: the 0 is the number's
    ],
)
def test_trunk_and_international_prefixes_come_from_the_region(
    typed: str, region: str, begins: str
) -> None:
    assert begins in search_digits(typed, region).leading


def test_matches() -> None:
    search = search_digits("8 916 12", "RU")
    assert search.matches("+79161234567")  # begins with +7 916 12
    assert search.matches("+74958916120")  # contains 891612
    assert not search.matches("+74957916120")  # 791612 inside, not at the beginning
    assert not search.matches("101")
    assert search_digits("10", "RU").matches("101")
    assert not search_digits("+10", "RU").matches("101")
    assert not SearchDigits()
    assert search_digits("1", "RU")


def test_the_beginning_of_a_national_number_finds_the_number() -> None:
    # Once, "8 916 123" found a client in booking but not the client's calls.
    assert search_digits("8 916 123", "RU").matches("+79161234567")


def test_a_tail_starting_with_the_trunk_digit_still_finds_the_tail() -> None:
    # "8567" is the end of +7 916 123-85-67 as much as the start of 8 (567) …
    assert search_digits("85-67", "RU").matches("+79161238567")


@PROPERTY
@given(data=st.data(), region=st.sampled_from(("RU", "KZ", "BY", "DE", "US", "GB", "IT")))
def test_every_spelling_and_fragment_of_a_number_finds_it(data: st.DataObject, region: str) -> None:
    number = data.draw(valid_numbers((region,)) | valid_numbers())
    spelling = data.draw(spellings(number, region))
    assert search_digits(spelling.text, region).matches(spelling.number), spelling


@PROPERTY
@given(data=st.data())
def test_a_fragment_is_never_mistaken_for_nothing(data: st.DataObject) -> None:
    number = data.draw(valid_numbers(("RU",)) | valid_numbers())
    spelling = data.draw(fragments(number, "RU"))
    assert search_digits(spelling.text, "RU"), spelling
