"""Booking's domain errors. The HTTP edge maps each class to one status code."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation booking reports to its caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    """The request breaks a rule (outside working hours, missing reason, self-merge...)."""


class NotFound(DomainError):
    """The named clinic, client, appointment... does not exist."""


class Forbidden(DomainError):
    """The operator may not do this (another call center's appointment, wrong role)."""


class AuthenticationFailed(DomainError):
    """Unknown username or wrong password (never says which)."""


class PasswordChangeRequired(DomainError):
    """The credentials are right but the password was reset by an admin: no session until
    the operator chooses a new one (``POST /auth/password``)."""

    def __init__(self) -> None:
        super().__init__("choose a new password before logging in (it was reset by an admin)")


class LoginThrottled(DomainError):
    """Too many failed logins for the username or from the address: wait ``retry_after``
    seconds (the same answer whichever it was, and whether the username exists)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed logins, try again later")
        self.retry_after = retry_after


class Conflict(DomainError):
    """The request conflicts with the current state (already cancelled, name taken...)."""


class SlotTaken(Conflict):
    """The practitioner already holds an overlapping appointment.

    Carries who holds it (the call center), never the client's personal data.
    """

    def __init__(
        self, held_by_call_center_id: str | None, held_by_call_center_name: str | None
    ) -> None:
        holder = held_by_call_center_name or "another booking"
        super().__init__(f"the practitioner is already booked at that time (held by {holder})")
        self.held_by_call_center_id = held_by_call_center_id
        self.held_by_call_center_name = held_by_call_center_name
