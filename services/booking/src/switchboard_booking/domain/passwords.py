"""The password policy: what an operator's new password (or an admin's temporary one) must be."""

from __future__ import annotations

from switchboard_booking.domain.errors import InvalidRequest


def check_new_password(
    password: str, min_length: int, *, username: str, current: str | None = None
) -> None:
    """Refuse (:class:`InvalidRequest`, saying why) a password shorter than ``min_length``
    characters, the operator's username, or the password it replaces."""
    if len(password) < min_length:
        raise InvalidRequest(f"the new password must have at least {min_length} characters")
    if password.strip().lower() == username.strip().lower():
        raise InvalidRequest("the new password must not be the username")
    if current is not None and password == current:
        raise InvalidRequest("the new password must differ from the current one")
