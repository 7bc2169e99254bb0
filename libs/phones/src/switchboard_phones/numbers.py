"""Reading phone numbers: E.164 for outside numbers, the bare extension for internal ones.

People and PBXes write one number many ways ("+7 (495) 123-45-67", "8 495 123-45-67",
"74951234567", "sip:+74951234567@pbx", "٨٤٩٥١٢٣٤٥٦٧"); every service stores, publishes and
compares the one E.164 string, so that the same caller is the same string everywhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

__all__ = [
    "DEFAULT_MAX_EXTENSION_DIGITS",
    "InvalidPhoneNumber",
    "ascii_digits",
    "canonical",
    "check_region",
    "display",
    "distinct_numbers",
    "is_extension",
    "normalise",
    "try_normalise",
]

#: A digits-only number this short is an internal extension, listed or not.
DEFAULT_MAX_EXTENSION_DIGITS = 5

# "sip:101@pbx", "<sip:+74951234567@host;user=phone>", "tel:+74951234567".
_URI = re.compile(r"^<?(?:sips?|tel):([^@;>]*)", re.IGNORECASE)
# What people and PBXes put between digits: spaces of any kind, hyphens and dashes, brackets,
# dots, slashes, commas, soft hyphens, zero-width characters, and the tilde ``phonenumbers``
# writes for "wait for the dial tone" after an international prefix ("8~10 44 …").
_SEPARATORS = re.compile(
    r"[\s\-\u2010-\u2015\u2212\uff0d()\[\]\uff08\uff09\uff3b\uff3d.,/~\u00ad\u200b\u2060]"
)
_FULLWIDTH_PLUS = "\uff0b"
_NUMBER = re.compile(r"\+?[0-9]+")


class InvalidPhoneNumber(ValueError):
    """Text that is not a phone number under the acceptance rule; the message says why and
    is safe to show to whoever typed it."""


def _stripped(raw: str) -> str:
    """``raw`` without a SIP/tel URI around it, a ``@host`` after it and separators."""
    text = raw.strip()
    match = _URI.match(text)
    text = match.group(1) if match else text.split("@", 1)[0]
    return _SEPARATORS.sub("", text)


def ascii_digits(text: str) -> str:
    """``text`` with the digits of any script (Arabic-Indic, Persian, Devanagari, fullwidth…)
    written as ASCII digits and a fullwidth plus as ``+``; everything else unchanged."""
    if text.isascii():
        return text  # nothing to rewrite: the common case, without a pass per character
    ascii_text = "".join(str(int(c)) if c.isdecimal() and not c.isascii() else c for c in text)
    return ascii_text.replace(_FULLWIDTH_PLUS, "+")


def _readings(compact: str) -> list[str]:
    # "00" is the international prefix in most of the world but not in every region
    # (Russia dials "810"); PBXes and people use it anyway.
    return ["+" + compact[2:], compact] if compact.startswith("00") else [compact]


@functools.lru_cache(maxsize=65_536)
def normalise(raw: str, region: str) -> str:
    """``raw`` as E.164 (``+74951234567``), read in ``region`` when it has no country code.

    The acceptance rule: the number is accepted when ``phonenumbers`` finds it *possible*
    (exactly the right length for its country's numbering plan), valid or not; of two
    readings (``00…`` as an international prefix or not) a *valid* one wins. Digits of any
    script, a ``tel:``/``sip:`` URI and the separators people type are read. Raises
    :class:`InvalidPhoneNumber` for anything else: letters, too short, too long.

    Answers are remembered (a pure function of its arguments; a chain's callers ring again
    and again, and parsing is the costly part of reading a PBX event).
    """
    compact = ascii_digits(_stripped(raw))
    if not compact:
        raise InvalidPhoneNumber("not a phone number: it has no digits")
    if not _NUMBER.fullmatch(compact):
        raise InvalidPhoneNumber("not a phone number: use digits, spaces, '+', '-', '(' and ')'")
    possible: str | None = None
    readings = _readings(compact)
    for reading in readings:
        try:
            parsed = phonenumbers.parse(reading, region)
        except NumberParseException:
            continue
        if phonenumbers.is_possible_number_with_reason(parsed) != ValidationResult.IS_POSSIBLE:
            continue
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        # Validity only chooses between two readings: a lone possible reading is the
        # answer, valid or not (the check was a quarter of the cost of a new number).
        if len(readings) == 1 or phonenumbers.is_valid_number(parsed):
            return e164
        possible = possible or e164
    if possible is None:
        raise InvalidPhoneNumber("not a phone number (wrong length for its numbering plan)")
    return possible


def try_normalise(raw: str | None, region: str) -> str | None:
    """Like :func:`normalise`, but ``None`` for an absent or unreadable number (a withheld
    caller id, "anonymous")."""
    if raw is None:
        return None
    try:
        return normalise(raw, region)
    except InvalidPhoneNumber:
        return None


def distinct_numbers(raws: Iterable[str], region: str) -> tuple[str, ...]:
    """Every readable number of ``raws`` as E.164, in first-seen order, without repeats;
    unreadable entries are left out (one bad number must not hide the good ones)."""
    seen: dict[str, None] = {}
    for raw in raws:
        number = try_normalise(raw, region)
        if number is not None:
            seen.setdefault(number, None)
    return tuple(seen)


def is_extension(
    text: str,
    *,
    extensions: Collection[str] = (),
    max_digits: int = DEFAULT_MAX_EXTENSION_DIGITS,
) -> bool:
    """Whether ``text`` (raw, as a PBX wrote it, or canonical) is an internal extension.

    It is when, without URI and separators, it is ASCII digits only and either one of
    ``extensions`` (the ones the chain configured) or at most ``max_digits`` long. Digits of
    other scripts are never an extension: PBXes write extensions in ASCII.
    """
    compact = _stripped(text)
    return (
        compact.isascii()
        and compact.isdigit()
        and (compact in extensions or len(compact) <= max_digits)
    )


def canonical(
    raw: str,
    region: str,
    *,
    extensions: Collection[str] = (),
    max_extension_digits: int = DEFAULT_MAX_EXTENSION_DIGITS,
) -> str:
    """The one form of a call party: the bare extension (see :func:`is_extension`), or the
    outside number as E.164 (see :func:`normalise`). Raises :class:`InvalidPhoneNumber`."""
    compact = _stripped(raw)
    if is_extension(compact, extensions=extensions, max_digits=max_extension_digits):
        return compact
    return normalise(compact, region)


def display(e164: str) -> str:
    """A stored number as people read it, in international format (``+74951234567`` →
    ``+7 495 123-45-67``); anything that is not E.164 (an extension, "anonymous") as it is."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


def check_region(value: str) -> str:
    """``value`` as the ISO 3166 region code ``phonenumbers`` knows (``"ru"`` → ``"RU"``);
    :class:`ValueError` for a region it does not know (a settings validator)."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r} (an ISO 3166 code such as RU)")
    return region
