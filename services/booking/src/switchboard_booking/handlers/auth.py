"""Logging in, and ending sessions."""

from __future__ import annotations

import asyncio

from switchboard_booking.adapters import directory_repository
from switchboard_booking.domain import model
from switchboard_booking.domain.errors import AuthenticationFailed, LoginThrottled, NotFound
from switchboard_booking.domain.model import Actor
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.auth import Principal, hash_password, needs_rehash, verify_password
from switchboard_runtime.logging import get_logger
from switchboard_runtime.sessions import SessionRevocations

log = get_logger(__name__)

# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_password("not-a-real-password")


async def login(deps: Deps, username: str, password: str, address: str) -> Principal:
    """The operator with these credentials; :class:`AuthenticationFailed` otherwise (the
    same for an unknown username, a wrong password and a deactivated operator), and
    :class:`LoginThrottled` while the username or the client ``address`` is locked out
    after failures (even for the right password)."""
    throttle = deps.login_throttle
    if throttle is None:
        raise RuntimeError("logins need the login throttle")
    username = username.strip().lower()
    now = deps.clock().timestamp()
    wait = await throttle.locked_for(username, address, now)
    if wait > 0:
        raise LoginThrottled(wait)
    async with deps.sessions() as session:
        row = await directory_repository.operator_by_username(session, username)
    stored = row.password_hash if row is not None else _DUMMY_HASH
    # argon2id and scrypt take tens of milliseconds of CPU: keep them off the event loop.
    ok = await asyncio.to_thread(verify_password, password, stored)
    if row is None or not ok or not row.active:
        await throttle.failed(username, address, now)
        log.info("booking.login_failed", address=address)
        raise AuthenticationFailed("unknown username or wrong password")
    await throttle.succeeded(username)
    if needs_rehash(stored):
        await _rehash(deps, row.operator_id, stored, password)
    return Principal(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        call_center_id=row.call_center_id,
        extension=row.extension,
    )


async def _rehash(deps: Deps, operator_id: str, old: str, password: str) -> None:
    """Replace an old (scrypt, or weaker argon2) hash now that the password is known."""
    new = await asyncio.to_thread(hash_password, password)
    async with deps.sessions() as session, session.begin():
        await directory_repository.replace_password_hash(session, operator_id, old, new)
    log.info("booking.password_rehashed", operator_id=operator_id)


def revocations(deps: Deps) -> SessionRevocations:
    """The ended-sessions store; only the service's own build has one."""
    if deps.revocations is None:
        raise RuntimeError("ending sessions needs the session revocations")
    return deps.revocations


async def end_sessions(deps: Deps, actor: Actor, operator_id: str) -> None:
    """End every session the operator has now (admin only); they must log in again."""
    model.ensure_admin(actor)
    async with deps.sessions() as session:
        if not await directory_repository.operator_exists(session, operator_id):
            raise NotFound(f"no operator {operator_id!r}")
    await revocations(deps).end_all(operator_id)
    log.info("booking.sessions_ended", operator_id=operator_id, by=actor.operator_id)
