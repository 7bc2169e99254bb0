"""Operators as login reads and changes them: the row of a username, and the password hash."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import operators


async def operator_by_username(session: AsyncSession, username: str) -> sa.Row[Any] | None:
    """The operator row (with its password hash) of a normalised username, if any."""
    return (
        await session.execute(sa.select(operators).where(operators.c.username == username))
    ).first()


async def operator_exists(session: AsyncSession, operator_id: str) -> bool:
    """Whether an operator with this id exists (active or not)."""
    found = await session.scalar(
        sa.select(operators.c.operator_id).where(operators.c.operator_id == operator_id)
    )
    return found is not None


async def operator_username(session: AsyncSession, operator_id: str) -> str | None:
    """The operator's username, or None when there is no such operator."""
    found = await session.scalar(
        sa.select(operators.c.username).where(operators.c.operator_id == operator_id)
    )
    return None if found is None else str(found)


async def set_password(
    session: AsyncSession,
    operator_id: str,
    new_hash: str,
    *,
    must_change: bool | None = None,
    only_if_hash: str | None = None,
) -> bool:
    """Store ``new_hash`` as the operator's password (and ``must_change`` as whether they
    must choose another at their next login, when given); with ``only_if_hash``, only if
    the stored hash is still that one. Whether a row changed."""
    values: dict[str, Any] = {"password_hash": new_hash}
    if must_change is not None:
        values["must_change_password"] = must_change
    query = sa.update(operators).where(operators.c.operator_id == operator_id)
    if only_if_hash is not None:
        query = query.where(operators.c.password_hash == only_if_hash)
    result = await session.execute(query.values(**values))
    return bool(getattr(result, "rowcount", 0))
