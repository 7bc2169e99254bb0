"""Switchboard's one phone-number library, on ``phonenumbers``.

Every service reads, stores, shows and searches numbers through these functions, so that a
number a person types finds the same records everywhere (see the package README for the
rules and why):

* :func:`normalise` / :func:`try_normalise` — any spelling → E.164 in the chain's region;
* :func:`canonical` — a call party: the bare extension or E.164; :func:`is_extension`;
* :func:`display` — E.164 as people read it;
* :func:`search_digits` — what a typed number (whole or part) looks for;
* :func:`check_region` — the ``default_region`` setting's validator.
"""

from switchboard_phones.numbers import (
    DEFAULT_MAX_EXTENSION_DIGITS,
    InvalidPhoneNumber,
    ascii_digits,
    canonical,
    check_region,
    display,
    distinct_numbers,
    is_extension,
    normalise,
    try_normalise,
)
from switchboard_phones.search import SearchDigits, search_digits

__all__ = [
    "DEFAULT_MAX_EXTENSION_DIGITS",
    "InvalidPhoneNumber",
    "SearchDigits",
    "ascii_digits",
    "canonical",
    "check_region",
    "display",
    "distinct_numbers",
    "is_extension",
    "normalise",
    "search_digits",
    "try_normalise",
]
