"""Read queries: the directory as admins see it, the state machine's directory, Callmarker
delivery status. Typed rows, no repositories."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_telephony.adapters.tables import (
    call_tags,
    callmarker_deliveries,
    calls,
    dids,
    extensions,
    operators,
)
from switchboard_telephony.domain.config import Directory


@dataclass(frozen=True, slots=True)
class DidRow:
    """A public number and the clinic it belongs to."""

    did: str
    clinic_id: str
    description: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OperatorRow:
    """An operator on an extension (from booking's directory)."""

    operator_id: str
    name: str
    role: str
    call_center_id: str | None


@dataclass(frozen=True, slots=True)
class ExtensionRow:
    """An extension: its clinic, and every active operator who shares it.

    ``configured`` is False for an extension known only because an operator has it.
    """

    extension: str
    clinic_id: str | None
    description: str | None
    configured: bool
    updated_at: datetime | None
    operators: list[OperatorRow] = field(default_factory=list)


async def list_dids(session: AsyncSession) -> list[DidRow]:
    """Every DID, in number order."""
    rows = (await session.execute(sa.select(dids).order_by(dids.c.did))).all()
    return [DidRow(r.did, r.clinic_id, r.description, r.updated_at) for r in rows]


async def get_did(session: AsyncSession, did: str) -> DidRow | None:
    """One DID, or None."""
    row = (await session.execute(sa.select(dids).where(dids.c.did == did))).one_or_none()
    return DidRow(row.did, row.clinic_id, row.description, row.updated_at) if row else None


async def _operators_by_extension(
    session: AsyncSession, only: str | None = None
) -> dict[str, list[OperatorRow]]:
    query = (
        sa.select(operators)
        .where(operators.c.active, operators.c.extension.is_not(None))
        .order_by(operators.c.name, operators.c.operator_id)
    )
    if only is not None:
        query = query.where(operators.c.extension == only)
    found: dict[str, list[OperatorRow]] = defaultdict(list)
    for r in (await session.execute(query)).all():
        found[r.extension].append(OperatorRow(r.operator_id, r.name, r.role, r.call_center_id))
    return found


async def list_extensions(session: AsyncSession) -> list[ExtensionRow]:
    """Every configured extension and every extension an active operator has."""
    shared = await _operators_by_extension(session)
    rows = {
        r.extension: ExtensionRow(
            r.extension, r.clinic_id, r.description, True, r.updated_at, shared.get(r.extension, [])
        )
        for r in (await session.execute(sa.select(extensions))).all()
    }
    for extension, people in shared.items():
        rows.setdefault(extension, ExtensionRow(extension, None, None, False, None, people))
    return [rows[k] for k in sorted(rows, key=lambda e: (len(e), e))]


async def get_extension(session: AsyncSession, extension: str) -> ExtensionRow | None:
    """One extension (configured, or known from an operator), or None."""
    people = (await _operators_by_extension(session, extension)).get(extension, [])
    row = (
        await session.execute(sa.select(extensions).where(extensions.c.extension == extension))
    ).one_or_none()
    if row is not None:
        return ExtensionRow(
            row.extension, row.clinic_id, row.description, True, row.updated_at, people
        )
    return ExtensionRow(extension, None, None, False, None, people) if people else None


async def state_machine_directory(session: AsyncSession, default_region: str) -> Directory:
    """The :class:`Directory` the call state machine works with.

    Known extensions are the configured ones and every active operator's; a DID or an
    extension with a clinic routes calls to it.
    """
    did_rows = (await session.execute(sa.select(dids.c.did, dids.c.clinic_id))).all()
    ext_rows = (
        await session.execute(sa.select(extensions.c.extension, extensions.c.clinic_id))
    ).all()
    operator_extensions = (
        await session.scalars(
            sa.select(operators.c.extension)
            .where(operators.c.active, operators.c.extension.is_not(None))
            .distinct()
        )
    ).all()
    return Directory(
        default_region=default_region,
        extensions=frozenset(r.extension for r in ext_rows) | frozenset(operator_extensions),
        did_to_clinic={r.did: r.clinic_id for r in did_rows},
        extension_to_clinic={r.extension: r.clinic_id for r in ext_rows if r.clinic_id},
    )


async def call_exists(session: AsyncSession, call_id: str) -> bool:
    """Whether telephony has seen the call."""
    found = await session.scalar(sa.select(sa.literal(1)).where(calls.c.call_id == call_id))
    return found is not None


async def call_tags_of(session: AsyncSession, call_id: str, source: str) -> list[str] | None:
    """The tags ``source`` last attached to the call, or None."""
    tags = await session.scalar(
        sa.select(call_tags.c.tags).where(
            call_tags.c.call_id == call_id, call_tags.c.source == source
        )
    )
    return list(tags) if tags is not None else None


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """How the Callmarker push is doing."""

    pending: int
    delivered: int
    failing: int
    """Pending deliveries that failed at least once."""
    oldest_pending_at: datetime | None
    last_error: str | None


async def callmarker_delivery_status(session: AsyncSession) -> DeliveryStatus:
    """Counts of pending and delivered calls, and the latest error of a pending one."""
    d = callmarker_deliveries
    pending = d.c.delivered_at.is_(None)
    row = (
        await session.execute(
            sa.select(
                sa.func.count().filter(pending).label("pending"),
                sa.func.count().filter(~pending).label("delivered"),
                sa.func.count().filter(pending, d.c.attempts > 0).label("failing"),
                sa.func.min(d.c.created_at).filter(pending).label("oldest"),
            )
        )
    ).one()
    last_error = await session.scalar(
        sa.select(d.c.last_error)
        .where(pending, d.c.last_error.is_not(None))
        .order_by(d.c.next_attempt_at.desc())
        .limit(1)
    )
    return DeliveryStatus(row.pending, row.delivered, row.failing, row.oldest, last_error)
