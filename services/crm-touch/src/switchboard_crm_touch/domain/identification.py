"""Caller identification: who is behind a phone number.

A number may belong to nobody (an unknown caller: crm-touch opens a lead for it), to one
contact, or to several (a family sharing a landline, a clinic's switchboard): then the
answer is *ambiguous* and lists every candidate, best guess first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from switchboard_contracts import ClientKind

__all__ = ["Contact", "Identification", "identify", "rank"]

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Contact:
    """A client (patient) or lead as identification sees it."""

    contact_id: str
    kind: ClientKind
    display_name: str
    last_active_at: datetime | None = None
    key_details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Identification:
    """The contacts holding one number, best guess first."""

    phone: str
    matches: tuple[Contact, ...] = ()

    @property
    def best(self) -> Contact | None:
        """The contact a touch is linked to: the first match, or ``None`` if unknown."""
        return self.matches[0] if self.matches else None

    @property
    def ambiguous(self) -> bool:
        """Whether several contacts share the number."""
        return len(self.matches) > 1

    @property
    def known(self) -> bool:
        """Whether anybody holds the number."""
        return bool(self.matches)


def _order(contact: Contact) -> tuple[int, float, str]:
    # Patients before leads (a lead is only a placeholder for an unknown number), then the
    # most recently active, then the id so the order never depends on the input's.
    recency = (contact.last_active_at or _NEVER).timestamp()
    return (0 if contact.kind == "patient" else 1, -recency, contact.contact_id)


def rank(contacts: Iterable[Contact]) -> tuple[Contact, ...]:
    """``contacts`` without repeated ids, best guess first: patients before leads, then the
    most recently active, then by id."""
    unique: dict[str, Contact] = {}
    for contact in contacts:
        unique.setdefault(contact.contact_id, contact)
    return tuple(sorted(unique.values(), key=_order))


def identify(phone: str, holders: Iterable[Contact]) -> Identification:
    """The identification of ``phone`` (E.164) given the contacts that hold it."""
    return Identification(phone=phone, matches=rank(holders))
