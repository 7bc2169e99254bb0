"""Logging in."""

from __future__ import annotations

import asyncio

from switchboard_booking.adapters import directory_repository
from switchboard_booking.domain.errors import AuthenticationFailed
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.auth import Principal, hash_password, verify_password

# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_password("not-a-real-password")


async def login(deps: Deps, username: str, password: str) -> Principal:
    """The operator with these credentials; :class:`AuthenticationFailed` otherwise."""
    async with deps.sessions() as session:
        row = await directory_repository.operator_by_username(session, username.strip().lower())
    stored = row.password_hash if row is not None else _DUMMY_HASH
    # scrypt takes tens of milliseconds of CPU: keep it off the event loop.
    ok = await asyncio.to_thread(verify_password, password, stored)
    if row is None or not ok or not row.active:
        raise AuthenticationFailed("unknown username or wrong password")
    return Principal(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        call_center_id=row.call_center_id,
        extension=row.extension,
    )
