"""Phone numbers to one canonical form (E.164), so every way of writing a number matches.

With the default region RU, "+7 (495) 123-45-67", "8 495 123-45-67", "84951234567",
"74951234567" and "4951234567" are all "+74951234567". Booking and telephony already
publish E.164, but the console's search box and older events do not have to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from switchboard_crm_touch.domain.errors import InvalidPhone

__all__ = ["display_phone", "normalise_phone", "phone_set", "try_normalise"]

#: What a typed phone number may contain: digits, an optional leading "+", separators.
_PHONE_TEXT = re.compile(r"^\+?[0-9\s\-().\/]{3,40}$")
_SEPARATORS = re.compile(r"[\s\-().\/]")
_URI_PREFIX = re.compile(r"^(?:tel|sips?):", re.IGNORECASE)


def _ascii_digits(text: str) -> str:
    """Digits of any script (Arabic-Indic, Devanagari, fullwidth…) as ASCII, as booking's
    ``phonenumbers.parse`` reads them, so a number typed the way it was registered matches."""
    return "".join(str(int(c)) if c.isdecimal() else c for c in text)


def normalise_phone(raw: str, region: str) -> str:
    """``raw`` as E.164, read in ``region`` when it has no country code.

    A number ``phonenumbers`` knows to be valid is preferred; one that is merely possible
    (right length for its country) is accepted too, since numbering plans change faster
    than metadata. "00…" is tried as an international prefix first. Raises
    :class:`InvalidPhone` for anything else (letters, too short, too long).
    """
    text = _ascii_digits(_URI_PREFIX.sub("", raw.strip()).split("@", 1)[0])
    if not _PHONE_TEXT.match(text):
        raise InvalidPhone("not a phone number: use digits, spaces, '+', '-', '(' and ')'")
    compact = _SEPARATORS.sub("", text)
    candidates = [compact]
    if compact.startswith("00"):
        candidates.insert(0, "+" + compact[2:])
    possible: str | None = None
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(parsed):
            return e164
        if possible is None and phonenumbers.is_possible_number(parsed):
            possible = e164
    if possible is None:
        raise InvalidPhone("not a phone number (wrong length for any numbering plan)")
    return possible


def try_normalise(raw: str | None, region: str) -> str | None:
    """Like :func:`normalise_phone`, but ``None`` for an absent or invalid number (a withheld
    caller id, "anonymous")."""
    if not raw:
        return None
    try:
        return normalise_phone(raw, region)
    except InvalidPhone:
        return None


def phone_set(raws: Iterable[str], region: str) -> tuple[str, ...]:
    """Every valid number of ``raws`` as E.164, in first-seen order, without repeats; invalid
    entries are dropped (a client record must not break identification of its good numbers)."""
    seen: dict[str, None] = {}
    for raw in raws:
        number = try_normalise(raw, region)
        if number is not None:
            seen.setdefault(number, None)
    return tuple(seen)


def display_phone(e164: str) -> str:
    """``+74951234567`` as people write it (``+7 495 123-45-67``); unchanged if unparseable."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
