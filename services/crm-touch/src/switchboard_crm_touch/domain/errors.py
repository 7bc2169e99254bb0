"""The errors crm-touch's rules raise; the API maps them to status codes in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every crm-touch rule violation; ``message`` is safe to show to the caller."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidPhone(DomainError, ValueError):
    """A string that is not a phone number (422)."""


class InvalidRequest(DomainError):
    """A request that breaks a rule, e.g. a contact that is not one of the candidates (422)."""


class NotFound(DomainError):
    """An unknown touch or contact (404)."""
