"""Phone number normalisation: E.164 for outside numbers, the bare extension for internal ones.

PBXes write numbers every which way ("+7 (495) 123-45-67", "84951234567", "74951234567",
"sip:101@pbx.local"); every canonical event carries one form, so that the same caller is
the same string everywhere (caller identification, call log, reports).
"""

from __future__ import annotations

import re

import phonenumbers

from switchboard_contracts import CallDirection
from switchboard_telephony.domain.model import Directory

__all__ = [
    "InvalidNumber",
    "call_direction",
    "is_extension",
    "is_own_did",
    "normalise_number",
]

# Separators people and PBXes put inside numbers; removed before anything else.
_SEPARATORS = re.compile(r"[\s\-().,/]")
# "sip:101@pbx", "<sip:+74951234567@host;user=phone>", "tel:+74951234567".
_URI = re.compile(r"^<?(?:sips?|tel):([^@;>]*)", re.IGNORECASE)


class InvalidNumber(ValueError):
    """A string that is neither an extension nor a phone number."""


def _compact(raw: str) -> str:
    text = raw.strip()
    match = _URI.match(text)
    if match:
        text = match.group(1)
    return _SEPARATORS.sub("", text)


def _digits_only(text: str) -> bool:
    return text.isascii() and text.isdigit()


def is_extension(number: str, directory: Directory) -> bool:
    """Whether ``number`` (raw or normalised) is an internal extension.

    It is when it is all digits and either listed in ``directory.extensions`` or no longer
    than ``directory.max_extension_digits``.
    """
    compact = _compact(number)
    return _digits_only(compact) and (
        compact in directory.extensions or len(compact) <= directory.max_extension_digits
    )


def normalise_number(raw: str, directory: Directory) -> str:
    """The canonical form of ``raw``: the bare extension, or E.164 for an outside number.

    Numbers without a country code are read in ``directory.default_region``, with its
    trunk prefix (so with region RU, "+7 (495) 123-45-67", "84951234567" and "74951234567"
    all give "+74951234567"). Raises :class:`InvalidNumber` for anything else.
    """
    compact = _compact(raw)
    if not compact:
        raise InvalidNumber("empty number")
    if is_extension(compact, directory):
        return compact
    candidates = [compact]
    if compact.startswith("00"):
        # "00" is the international prefix in most of the world, but not in every
        # default region (RU dials "810"); PBXes use it anyway.
        candidates.append("+" + compact[2:])
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, directory.default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidNumber(f"not a phone number or extension: {raw!r}")


def is_own_did(number: str, directory: Directory) -> bool:
    """Whether ``number`` is one of the chain's public numbers (a DID in the directory)."""
    try:
        return normalise_number(number, directory) in directory.did_to_clinic
    except InvalidNumber:
        return False


def call_direction(caller: str, callee: str, directory: Directory) -> CallDirection:
    """Who started the call, judged from its two numbers.

    An extension (or one of the chain's own DIDs, which some PBXes present as the caller of
    outbound calls) calling an extension is ``internal``, calling anything else
    ``outgoing``; a call from any other number, or from an unknown one (``""``), is
    ``incoming``.
    """
    if caller and (is_extension(caller, directory) or is_own_did(caller, directory)):
        return "internal" if callee and is_extension(callee, directory) else "outgoing"
    return "incoming"
