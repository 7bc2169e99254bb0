"""What a phone number typed into a search box looks for in stored numbers.

Stored numbers are E.164 (``+79161234567``) or bare extensions (``101``). People type a
whole number or a part of one, in any format: ``8 (916) 123-45-67``, ``+7 916``,
``916 12``, ``45-67``, in any digits. :func:`search_digits` turns that into
:class:`SearchDigits`; every place that searches numbers (booking's client search, the call
log's ``phone`` filter and free text, the calls report) asks the same of its rows, so one
typed number finds the same records everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from switchboard_phones.numbers import ascii_digits, try_normalise

__all__ = ["SearchDigits", "search_digits"]

#: The "00" international prefix that :func:`switchboard_phones.normalise` reads in every
#: region (as PBXes write it), besides the region's own.
_COMMON_INTERNATIONAL_PREFIX = "00"


@dataclass(frozen=True)
class SearchDigits:
    """What a typed number looks for. A stored number matches when its digits contain one
    of ``anywhere``, or when it is E.164 and its digits after the ``+`` begin with one of
    ``leading``. Empty (falsy) when nothing was typed that could be part of a number."""

    anywhere: tuple[str, ...] = ()
    """Digit strings found anywhere in a number (what was typed, as typed)."""
    leading: tuple[str, ...] = ()
    """Digit strings an E.164 number begins with, country code first."""

    def __bool__(self) -> bool:
        return bool(self.anywhere or self.leading)

    def matches(self, number: str) -> bool:
        """Whether the stored ``number`` (E.164 or an extension) is found: the rule every
        database query of a phone search expresses in SQL."""
        digits = "".join(c for c in number if c in "0123456789")
        return any(d in digits for d in self.anywhere) or any(
            number.startswith("+" + d) for d in self.leading
        )


def _digits(text: str) -> str:
    return "".join(c for c in text if c in "0123456789")


def _typed_with_country_code(text: str) -> bool:
    """Whether a ``+`` comes before the first digit: the number's country code follows."""
    for c in text:
        if c == "+":
            return True
        if c in "0123456789":
            return False
    return False


def _without_prefixes(digits: str, region: str) -> list[str]:
    """The E.164 beginnings ``digits`` stands for when they start with a dialling prefix of
    ``region``, taken from ``phonenumbers``' metadata: after an international prefix
    (``810`` in Russia, ``00``) the country code follows; a national (trunk) prefix (``8`` in
    Russia, ``0`` in Germany, ``1`` in the US, ``8`` or ``80`` in Belarus) stands for the
    region's own country code."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return []
    out = []
    for pattern in (metadata.international_prefix, _COMMON_INTERNATIONAL_PREFIX):
        match = re.match(pattern, digits) if pattern else None
        if match and 0 < match.end() < len(digits):
            out.append(digits[match.end() :])
    trunk = _national_prefix(metadata)
    match = re.match(trunk, digits) if trunk else None
    if match and 0 < match.end() < len(digits):
        out.append(f"{metadata.country_code}{digits[match.end() :]}")
    return out


def _national_prefix(metadata: phonenumbers.PhoneMetadata) -> str | None:
    """The pattern of the region's national prefix: the one ``phonenumbers`` strips when it
    parses (``0|80?`` in Belarus), or, where parsing rewrites the number rather than strip a
    prefix (Argentina, Brazil, Japan), the plain national prefix."""
    if metadata.national_prefix_for_parsing and not metadata.national_prefix_transform_rule:
        return str(metadata.national_prefix_for_parsing)
    return re.escape(metadata.national_prefix) if metadata.national_prefix else None


def search_digits(typed: str, region: str) -> SearchDigits:
    """What ``typed`` (a whole number or a part, any format and digits) looks for, with
    numbers written without a country code read in ``region``.

    * Typed with a ``+`` before its digits: numbers that begin with those digits
      (``+7 916`` finds ``+7916…``; a whole number finds itself).
    * Otherwise, numbers that contain the digits as typed (``45-67``, ``916 12``), and
      numbers that begin with:

      - the E.164 form, when the text is a whole number (:func:`switchboard_phones.normalise`
        reads it: ``916 123 45 67`` → ``+79161234567``);
      - the country code and the rest, when the text starts with the region's national
        (trunk) prefix (``8 916 12`` in Russia → ``+791612…``);
      - the rest, when it starts with an international prefix (``810 49 30``, ``00 49 30``
        → ``+4930…``).

    Empty when ``typed`` has no digits.
    """
    text = ascii_digits(typed)
    digits = _digits(text)
    if not digits:
        return SearchDigits()
    if _typed_with_country_code(text):
        return SearchDigits(leading=(digits,))
    leading = []
    whole = try_normalise(text, region)
    if whole is not None:
        leading.append(whole[1:])
    leading += _without_prefixes(digits, region)
    return SearchDigits(anywhere=(digits,), leading=tuple(dict.fromkeys(leading)))
