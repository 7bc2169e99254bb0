"""Turning what a person types into a phone search into digit fragments to look for.

Numbers are stored as telephony normalised them: E.164 (``+79161234567``) for outside
numbers, the bare extension (``101``) for internal ones. People type them any way: with
spaces, brackets, dashes, a national trunk prefix (``8 916 …`` in Russia), or just a part.
A search matches a number when one of the fragments is a substring of its digits.
"""

from __future__ import annotations

import re

import phonenumbers

_NON_DIGITS = re.compile(r"\D+")


def digits_of(text: str) -> str:
    """Only the digits of ``text``."""
    return _NON_DIGITS.sub("", text)


def number_fragments(text: str, default_region: str = "RU") -> list[str]:
    """The digit strings to look for in stored numbers when someone searches for ``text``.

    Always the typed digits themselves (a partial number matches where it appears). When
    the text is a whole number in national or international form, also its E.164 digits,
    so ``8 (916) 123-45-67`` finds ``+79161234567``. Empty when ``text`` has no digits.
    """
    digits = digits_of(text)
    if not digits:
        return []
    fragments = [digits]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        full = digits_of(e164)
        if full not in fragments:
            fragments.append(full)
    return fragments
