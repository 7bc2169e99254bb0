"""What the state machine's rules are configured with: the chain's numbers and the clocks.

:class:`Directory` knows the chain's public numbers (DIDs) and extensions and reads a party's
number into its one form with the platform's phone library; :class:`Timing` says how long
the state machine waits for what is missing. Adapters build both from the configuration
tables and settings; nothing here reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import switchboard_phones as phones
from switchboard_contracts import CallDirection

__all__ = ["Directory", "Timing"]


class _CanonicalForm(str):
    """A number already in canonical form, handed to :func:`_canonical` to be remembered as
    its own answer without a parse: it hashes and compares as the plain string, so the
    cache entry it makes answers the plain string's later lookups."""

    __slots__ = ()


@functools.lru_cache(maxsize=65_536)
def _canonical(raw: str, region: str, extensions: frozenset[str], max_digits: int) -> str:
    # Every event of a call names the same parties, and a chain's callers ring again:
    # remember the answers (pure in its arguments) instead of parsing each time. The answer
    # is remembered as its own answer too (the canonical form reads as itself): the rules
    # look at a number again once canonical (is the caller one of our DIDs?), and that
    # second reading was a second parse of every new caller (the phone library's own cache
    # is keyed by what it parsed, so it misses too).
    if isinstance(raw, _CanonicalForm):
        return str(raw)
    number = phones.canonical(raw, region, extensions=extensions, max_extension_digits=max_digits)
    _canonical(_CanonicalForm(number), region, extensions, max_digits)
    return number


@functools.lru_cache(maxsize=65_536)
def _is_extension(number: str, extensions: frozenset[str], max_digits: int) -> bool:
    # Asked several times of each call's numbers (direction, DID, extension, clinic):
    # remembered like the canonical forms, the answer being as pure.
    return phones.is_extension(number, extensions=extensions, max_digits=max_digits)


@dataclass(frozen=True, slots=True)
class Directory:
    """What the rules need to know about the chain's numbers, and the rules on them.

    ``did_to_clinic`` is keyed by E.164 DIDs; ``extensions`` and ``extension_to_clinic`` by
    bare extensions. A digits-only number of at most ``max_extension_digits`` digits is an
    extension even when it is not listed. Numbers are read by the platform's phone library
    (``switchboard_phones``) in ``default_region``.
    """

    default_region: str = "RU"
    extensions: frozenset[str] = frozenset()
    did_to_clinic: Mapping[str, str] = field(default_factory=dict)
    extension_to_clinic: Mapping[str, str] = field(default_factory=dict)
    max_extension_digits: int = 5

    def canonical(self, raw: str) -> str:
        """The one form of a party as the PBX wrote it ("+7 (495) 123-45-67", "84951234567",
        "sip:101@pbx.local"): the bare extension, or E.164 for an outside number. Raises
        :class:`switchboard_phones.InvalidPhoneNumber` for anything else ("anonymous")."""
        return _canonical(raw, self.default_region, self.extensions, self.max_extension_digits)

    def is_extension(self, number: str) -> bool:
        """Whether ``number`` (raw or canonical) is an internal extension: ASCII digits only,
        and listed or no longer than ``max_extension_digits``."""
        return _is_extension(number, self.extensions, self.max_extension_digits)

    def is_own_did(self, number: str) -> bool:
        """Whether ``number`` is one of the chain's public numbers (a DID)."""
        try:
            return self.canonical(number) in self.did_to_clinic
        except phones.InvalidPhoneNumber:
            return False

    def call_direction(self, caller: str, callee: str) -> CallDirection:
        """Who started a call, judged from its two numbers.

        An extension (or one of the chain's own DIDs, which some PBXes present as the caller
        of outbound calls) calling an extension is ``internal``, calling anything else
        ``outgoing``; a call from any other number, or from an unknown one (``""``), is
        ``incoming``.
        """
        if caller and (self.is_extension(caller) or self.is_own_did(caller)):
            return "internal" if callee and self.is_extension(callee) else "outgoing"
        return "incoming"


@dataclass(frozen=True, slots=True)
class Timing:
    """The state machine's clocks."""

    reorder_grace: timedelta = timedelta(seconds=10)
    """How long to wait for a missing earlier event before going on with what is known."""
    no_end_timeout: timedelta = timedelta(hours=2)
    """A call with no end this long after its start is closed as failed ("timeout")."""
