"""Logging in, changing and resetting passwords, and ending sessions."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any

from switchboard_booking.adapters import operators_repository
from switchboard_booking.domain import model
from switchboard_booking.domain.errors import (
    AuthenticationFailed,
    LoginThrottled,
    NotFound,
    PasswordChangeRequired,
)
from switchboard_booking.domain.model import Actor
from switchboard_booking.domain.passwords import check_new_password
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.auth import Principal, hash_password, needs_rehash, verify_password
from switchboard_runtime.logging import get_logger
from switchboard_runtime.sessions import SessionRevocations

if TYPE_CHECKING:
    from sqlalchemy import Row

log = get_logger(__name__)

# Verified against when the username is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = hash_password("not-a-real-password")


async def login(deps: Deps, username: str, password: str, address: str) -> Principal:
    """The operator with these credentials; :class:`AuthenticationFailed` otherwise (the
    same for an unknown username, a wrong password and a deactivated operator), and
    :class:`LoginThrottled` while the username or the client ``address`` is locked out
    after failures (even for the right password). An operator whose password an admin
    reset gets :class:`PasswordChangeRequired` instead of a session."""
    row, _hash = await _verified(deps, username, password, address)
    if row.must_change_password:
        raise PasswordChangeRequired()
    return _principal(row)


async def change_password(
    deps: Deps, username: str, current: str, new: str, address: str
) -> Principal:
    """Replace the operator's password (checked and throttled as a login is) with ``new``
    (the policy: :func:`~..domain.passwords.check_new_password`), clear the flag a reset
    set, and end every session they had; the operator, for a fresh session."""
    row, current_hash = await _verified(deps, username, current, address)
    check_new_password(
        new, deps.settings.password_min_length, username=row.username, current=current
    )
    new_hash = await asyncio.to_thread(hash_password, new)
    async with deps.sessions() as session, session.begin():
        changed = await operators_repository.set_password(
            session, row.operator_id, new_hash, must_change=False, only_if_hash=current_hash
        )
    if not changed:
        # Changed (or reset) by someone else since it was verified: the current password
        # given is not current any more.
        raise AuthenticationFailed("unknown username or wrong password")
    await revocations(deps).end_all(row.operator_id)
    log.info("booking.password_changed", operator_id=row.operator_id)
    return _principal(row)


async def reset_password(deps: Deps, actor: Actor, operator_id: str, password: str | None) -> str:
    """Give the operator a temporary password (``password``, or a generated one) that they
    must replace at their next login, and end their sessions now (admin only); the
    temporary password, shown to the admin once and stored only as a hash."""
    model.ensure_admin(actor)
    async with deps.sessions() as session:
        username = await operators_repository.operator_username(session, operator_id)
    if username is None:
        raise NotFound(f"no operator {operator_id!r}")
    temporary = password if password is not None else _temporary_password()
    check_new_password(temporary, deps.settings.password_min_length, username=username)
    new_hash = await asyncio.to_thread(hash_password, temporary)
    # Before the commit (Redis away: nothing changes and the admin sees the error) and
    # after it (a session opened in between with the old password is ended too).
    await revocations(deps).end_all(operator_id)
    async with deps.sessions() as session, session.begin():
        await operators_repository.set_password(session, operator_id, new_hash, must_change=True)
    await revocations(deps).end_all(operator_id)
    log.info("booking.password_reset", operator_id=operator_id, by=actor.operator_id)
    return temporary


def _temporary_password() -> str:
    """Twelve letters and digits, without the ones read alike (0/O, 1/l/I)."""
    return "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(12))


_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


async def _verified(deps: Deps, username: str, password: str, address: str) -> tuple[Row[Any], str]:
    """The active operator with these credentials (throttled, failures counted) and their
    password hash as stored now."""
    throttle = deps.login_throttle
    if throttle is None:
        raise RuntimeError("logins need the login throttle")
    username = username.strip().lower()
    now = deps.clock().timestamp()
    wait = await throttle.locked_for(username, address, now)
    if wait > 0:
        raise LoginThrottled(wait)
    async with deps.sessions() as session:
        row = await operators_repository.operator_by_username(session, username)
    stored = row.password_hash if row is not None else _DUMMY_HASH
    # argon2id and scrypt take tens of milliseconds of CPU: keep them off the event loop.
    ok = await asyncio.to_thread(verify_password, password, stored)
    if row is None or not ok or not row.active:
        await throttle.failed(username, address, now)
        log.info("booking.login_failed", address=address)
        raise AuthenticationFailed("unknown username or wrong password")
    await throttle.succeeded(username)
    if needs_rehash(stored):
        stored = await _rehash(deps, row.operator_id, stored, password)
    return row, stored


def _principal(row: Row[Any]) -> Principal:
    return Principal(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        call_center_id=row.call_center_id,
        extension=row.extension,
    )


async def _rehash(deps: Deps, operator_id: str, old: str, password: str) -> str:
    """Replace an old (scrypt, or weaker argon2) hash now that the password is known; the
    hash stored afterwards."""
    new = await asyncio.to_thread(hash_password, password)
    async with deps.sessions() as session, session.begin():
        replaced = await operators_repository.set_password(
            session, operator_id, new, only_if_hash=old
        )
    if not replaced:
        return old
    log.info("booking.password_rehashed", operator_id=operator_id)
    return new


def revocations(deps: Deps) -> SessionRevocations:
    """The ended-sessions store; only the service's own build has one."""
    if deps.revocations is None:
        raise RuntimeError("ending sessions needs the session revocations")
    return deps.revocations


async def end_sessions(deps: Deps, actor: Actor, operator_id: str) -> None:
    """End every session the operator has now (admin only); they must log in again."""
    model.ensure_admin(actor)
    async with deps.sessions() as session:
        if not await operators_repository.operator_exists(session, operator_id):
            raise NotFound(f"no operator {operator_id!r}")
    await revocations(deps).end_all(operator_id)
    log.info("booking.sessions_ended", operator_id=operator_id, by=actor.operator_id)
