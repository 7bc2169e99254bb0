"""Hypothesis strategies: phone numbers and the ways people type them (tests only).

Imported by the library's own tests and by the cross-service test that checks every place
searching numbers agrees; needs ``hypothesis`` (a development dependency), which the
library itself does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from hypothesis import assume
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

__all__ = [
    "DIGIT_SCRIPTS",
    "REGIONS",
    "Spelling",
    "fragments",
    "possible_numbers",
    "spellings",
    "valid_numbers",
    "whole_spellings",
]

#: Regions numbers are drawn from: several national (trunk) prefixes (8, 80, 0, 1, none),
#: two regions sharing the country code +7, fixed and variable lengths.
REGIONS = ("RU", "KZ", "BY", "US", "GB", "DE", "FR", "IT", "IN", "AE", "UA", "TR")

#: Digits as other scripts write them (by the code point of their zero); people paste
#: numbers typed in any of them.
DIGIT_SCRIPTS = {
    name: "".join(chr(zero + n) for n in range(10))
    for name, zero in (
        ("ascii", ord("0")),
        ("arabic-indic", 0x0660),
        ("persian", 0x06F0),
        ("devanagari", 0x0966),
        ("fullwidth", 0xFF10),
    )
}

_SEPARATORS = ("", "", "", " ", "-", ".", "(", ")", "  ", "/")
_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)


@dataclass(frozen=True)
class Spelling:
    """A text a person types for ``number`` (E.164): the whole number or a part of it."""

    text: str
    number: str
    whole: bool
    kind: str


@st.composite
def valid_numbers(draw: st.DrawFn, regions: tuple[str, ...] = REGIONS) -> str:
    """E.164 numbers ``phonenumbers`` calls valid: a region's example mobile or landline
    number with its last four digits drawn."""
    region = draw(st.sampled_from(regions))
    example = phonenumbers.example_number_for_type(region, draw(st.sampled_from(_TYPES)))
    assume(example is not None)
    assert example is not None
    nsn = phonenumbers.national_significant_number(example)
    nsn = nsn[:-4] + f"{draw(st.integers(0, 9999)):04d}"
    parsed = phonenumbers.parse(f"+{example.country_code}{nsn}")
    assume(phonenumbers.is_valid_number(parsed))
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


@st.composite
def possible_numbers(draw: st.DrawFn, regions: tuple[str, ...] = REGIONS) -> str:
    """E.164 numbers of the right length for their country that ``phonenumbers`` does not
    call valid (a range its metadata does not know yet)."""
    region = draw(st.sampled_from(regions))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.general_desc is not None
    length = draw(st.sampled_from(sorted(metadata.general_desc.possible_length)))
    nsn = draw(st.sampled_from("123456789")) + draw(
        st.text("0123456789", min_size=length - 1, max_size=length - 1)
    )
    parsed = phonenumbers.parse(f"+{metadata.country_code}{nsn}")
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    assume(reason == phonenumbers.ValidationResult.IS_POSSIBLE)
    assume(not phonenumbers.is_valid_number(parsed))
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _plain(number: str, region: str) -> list[tuple[str, str, int]]:
    """``(kind, text, prefix digits)`` for each way ``number`` is written in ``region``;
    the prefix digits (international or trunk) come before the number's own digits."""
    parsed = phonenumbers.parse(number)
    cc, nsn = str(parsed.country_code), phonenumbers.national_significant_number(parsed)
    international = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    dialled = phonenumbers.format_out_of_country_calling_number(parsed, region)
    out = [
        ("e164", number, 0),
        ("international", international, 0),
        ("00", f"00 {cc} {nsn}", 2),
    ]
    if parsed.country_code != phonenumbers.country_code_for_region(region):
        out.append(("dialled from the region", dialled, len(_digits(dialled)) - len(cc + nsn)))
        return out
    national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    out.append(("national", national, len(_digits(national)) - len(nsn)))
    out.append(("bare national", nsn, 0))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is not None and metadata.national_prefix:
        out.append(("trunk digits", metadata.national_prefix + nsn, len(metadata.national_prefix)))
    if cc == "7":  # as Russian and Kazakh PBXes write numbers: the country code, no "+"
        out.append(("country code without +", cc + nsn, 0))
    return out


def _decorated(draw: st.DrawFn, text: str) -> str:
    """``text`` with separators drawn between its characters and its digits in one script."""
    script = draw(st.sampled_from(sorted(DIGIT_SCRIPTS)))
    table = str.maketrans("0123456789", DIGIT_SCRIPTS[script])
    out = []
    for c in text.translate(table):
        out.append(c)
        if c.isdigit():
            out.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(out).strip()


def _cut(text: str, digits: int) -> str:
    """``text`` up to and including its ``digits``-th digit."""
    seen = 0
    for i, c in enumerate(text):
        seen += c.isdigit()
        if seen == digits:
            return text[: i + 1]
    return text


@st.composite
def whole_spellings(draw: st.DrawFn, number: str, region: str) -> Spelling:
    """``number`` written whole, the way someone in ``region`` might write it: E.164,
    international, with ``00``, dialled from the region, national with the trunk prefix,
    bare, with the country code and no ``+``; separators and digits of any script."""
    kind, text, _ = draw(st.sampled_from(_plain(number, region)))
    return Spelling(_decorated(draw, text), number, True, kind)


@st.composite
def fragments(draw: st.DrawFn, number: str, region: str) -> Spelling:
    """A part of ``number`` someone types to find it: the beginning of one of its whole
    spellings (past any dialling prefix) or any run of its digits."""
    if draw(st.booleans()):
        kind, text, prefix = draw(st.sampled_from(_plain(number, region)))
        total = len(_digits(text))
        assume(prefix + 1 < total)
        cut = _cut(text, draw(st.integers(prefix + 1, total - 1)))
        return Spelling(_decorated(draw, cut), number, False, f"beginning of {kind}")
    digits = number[1:]
    start = draw(st.integers(0, len(digits) - 1))
    end = draw(st.integers(start + 1, len(digits)))
    return Spelling(_decorated(draw, digits[start:end]), number, False, "run of digits")


def spellings(number: str, region: str) -> st.SearchStrategy[Spelling]:
    """A whole spelling or a fragment of ``number`` typed in ``region``."""
    return whole_spellings(number, region) | fragments(number, region)
