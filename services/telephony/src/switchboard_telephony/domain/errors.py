"""Telephony's domain errors. The HTTP edge maps each class to one status code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field of a request and what is wrong with it."""

    field: str
    message: str


class TelephonyError(Exception):
    """Base of every rule violation telephony reports to its caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(TelephonyError):
    """The request breaks a rule; ``errors`` names each field and what is wrong."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class NotFound(TelephonyError):
    """The named DID, extension or call does not exist."""


class Conflict(TelephonyError):
    """The request conflicts with what exists (a DID or extension already configured)."""


class Unauthorized(TelephonyError):
    """A missing or wrong integration token (never says which)."""
