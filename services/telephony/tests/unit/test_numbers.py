"""The chain's numbers: canonical parties, extensions, DIDs and call direction."""

from __future__ import annotations

import pytest

from switchboard_phones import InvalidPhoneNumber
from switchboard_telephony.domain.config import Directory

RU = Directory(
    default_region="RU",
    extensions=frozenset({"100001"}),
    did_to_clinic={"+74951234567": "clinic-msk"},
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 (495) 123-45-67", "+74951234567"),
        ("84951234567", "+74951234567"),
        ("74951234567", "+74951234567"),
        ("+74951234567", "+74951234567"),
        ("8 (495) 123 45 67", "+74951234567"),
        ("4951234567", "+74951234567"),
        ("  +7 916 123-45-67 ", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("8 800 555 35 35", "+78005553535"),
        ("81074951234567", "+74951234567"),  # RU international prefix
        ("0074951234567", "+74951234567"),  # "00" international prefix, used by PBXes anyway
        ("+44 20 7946 0958", "+442079460958"),
        ("sip:+74951234567@pbx.local", "+74951234567"),
        ("<sip:84951234567@10.0.0.1;user=phone>", "+74951234567"),
        ("tel:+7-495-123-45-67", "+74951234567"),
        # extensions stay bare
        ("101", "101"),
        (" 101 ", "101"),
        ("12345", "12345"),
        ("100001", "100001"),  # longer than 5 digits but listed
        ("sip:101@pbx.local", "101"),
    ],
)
def test_canonical(raw: str, expected: str) -> None:
    assert RU.canonical(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("8 (916) 765-43-21", "+79167654321"), ("102", "102")]
)
def test_a_canonical_form_reads_as_itself_a_plain_string(raw: str, expected: str) -> None:
    # Asked again (as the rules do), first in its raw spelling and then canonical, a number
    # keeps its form and is a plain str: it goes into events and JSON as it is.
    first = RU.canonical(raw)
    again = RU.canonical(first)
    assert (first, again) == (expected, expected)
    assert type(first) is str and type(again) is str


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "anonymous", "abc", "Restricted", "+", "123456789012345678901", "+7 12", "--"],
)
def test_garbage_is_an_invalid_number(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        RU.canonical(raw)


def test_invalid_number_is_a_value_error() -> None:
    assert issubclass(InvalidPhoneNumber, ValueError)


def test_other_default_region() -> None:
    de = Directory(default_region="DE")
    assert de.canonical("030 1234567") == "+49301234567"
    assert de.canonical("0049 30 1234567") == "+49301234567"


def test_max_extension_digits_is_configurable() -> None:
    four = Directory(default_region="RU", max_extension_digits=3)
    assert four.canonical("101") == "101"
    assert not four.is_extension("1010")


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("101", True),
        ("12345", True),
        ("100001", True),
        ("123456", False),
        ("+74951234567", False),
        ("84951234567", False),
        ("10a", False),
        ("", False),
        ("\u0661\u0660\u0661", False),  # Arabic-Indic digits are not an extension
    ],
)
def test_is_extension(number: str, expected: bool) -> None:
    assert RU.is_extension(number) is expected


def test_is_own_did() -> None:
    assert RU.is_own_did("8 (495) 123-45-67")
    assert not RU.is_own_did("+79161234567")
    assert not RU.is_own_did("anonymous")


@pytest.mark.parametrize(
    ("caller", "callee", "expected"),
    [
        ("+79161234567", "101", "incoming"),
        ("+79161234567", "+74951234567", "incoming"),
        ("", "+74951234567", "incoming"),  # withheld caller id
        ("", "", "incoming"),
        ("101", "+79161234567", "outgoing"),
        ("101", "", "outgoing"),
        ("101", "102", "internal"),
        ("100001", "101", "internal"),
        # some PBXes present the clinic's own number as the caller of outbound calls
        ("+74951234567", "+79161234567", "outgoing"),
    ],
)
def test_call_direction(caller: str, callee: str, expected: str) -> None:
    assert RU.call_direction(caller, callee) == expected
