"""Read models of the directory: lists for the admin screens and pickers, and one entry
(as the list shows it) by id."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.tables import (
    call_centers,
    cancellation_reasons,
    clinics,
    operators,
    practitioner_clinics,
    practitioner_services,
    practitioners,
    services,
    working_hours,
)
from switchboard_booking.domain.errors import NotFound


async def _all(session: AsyncSession, query: sa.Select[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in (await session.execute(query)).all()]


async def _one(session: AsyncSession, query: sa.Select[Any], missing: str) -> dict[str, Any]:
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(missing)
    return dict(row._mapping)


# --- clinics, services, call centers, cancellation reasons -----------------------------------


async def list_clinics(session: AsyncSession) -> list[dict[str, Any]]:
    """Every clinic, by name."""
    return await _all(session, sa.select(clinics).order_by(clinics.c.name))


async def get_clinic(session: AsyncSession, clinic_id: str) -> dict[str, Any]:
    """One clinic as :func:`list_clinics` shows it, or :class:`NotFound`."""
    query = sa.select(clinics).where(clinics.c.clinic_id == clinic_id)
    return await _one(session, query, f"no clinic {clinic_id!r}")


async def list_services(session: AsyncSession) -> list[dict[str, Any]]:
    """Every service, by name."""
    return await _all(session, sa.select(services).order_by(services.c.name))


async def get_service(session: AsyncSession, service_id: str) -> dict[str, Any]:
    """One service as :func:`list_services` shows it, or :class:`NotFound`."""
    query = sa.select(services).where(services.c.service_id == service_id)
    return await _one(session, query, f"no service {service_id!r}")


async def list_call_centers(session: AsyncSession) -> list[dict[str, Any]]:
    """Every call center, by name."""
    return await _all(session, sa.select(call_centers).order_by(call_centers.c.name))


async def get_call_center(session: AsyncSession, call_center_id: str) -> dict[str, Any]:
    """One call center as :func:`list_call_centers` shows it, or :class:`NotFound`."""
    query = sa.select(call_centers).where(call_centers.c.call_center_id == call_center_id)
    return await _one(session, query, f"no call center {call_center_id!r}")


async def list_cancellation_reasons(session: AsyncSession) -> list[dict[str, Any]]:
    """Every cancellation reason (inactive ones too), by label."""
    reasons = cancellation_reasons
    return await _all(session, sa.select(reasons).order_by(reasons.c.label))


async def get_cancellation_reason(session: AsyncSession, reason_id: str) -> dict[str, Any]:
    """One cancellation reason, or :class:`NotFound`."""
    query = sa.select(cancellation_reasons).where(cancellation_reasons.c.reason_id == reason_id)
    return await _one(session, query, f"no reason {reason_id!r}")


# --- operators -------------------------------------------------------------------------------

_OPERATOR_COLUMNS = (
    operators.c.operator_id,
    operators.c.name,
    operators.c.username,
    operators.c.role,
    operators.c.call_center_id,
    operators.c.extension,
    operators.c.active,
    operators.c.must_change_password,
)
#: What only admins and managers read of an operator (see ``model.reads_logins``).
LOGIN_FIELDS = frozenset({"username", "must_change_password"})


async def list_operators(session: AsyncSession) -> list[dict[str, Any]]:
    """Operators without their password hashes, by name."""
    return await _all(session, sa.select(*_OPERATOR_COLUMNS).order_by(operators.c.name))


async def get_operator(session: AsyncSession, operator_id: str) -> dict[str, Any]:
    """One operator as :func:`list_operators` shows it, or :class:`NotFound`."""
    query = sa.select(*_OPERATOR_COLUMNS).where(operators.c.operator_id == operator_id)
    return await _one(session, query, f"no operator {operator_id!r}")


# --- practitioners ---------------------------------------------------------------------------


async def list_practitioners(session: AsyncSession) -> list[dict[str, Any]]:
    """Practitioners with their clinics, services and working hours, by name."""
    return await _practitioners(session, sa.select(practitioners).order_by(practitioners.c.name))


async def get_practitioner(session: AsyncSession, practitioner_id: str) -> dict[str, Any]:
    """One practitioner as :func:`list_practitioners` shows them, or :class:`NotFound`."""
    query = sa.select(practitioners).where(practitioners.c.practitioner_id == practitioner_id)
    found = await _practitioners(session, query)
    if not found:
        raise NotFound(f"no practitioner {practitioner_id!r}")
    return found[0]


async def _practitioners(session: AsyncSession, query: sa.Select[Any]) -> list[dict[str, Any]]:
    rows = [dict(r._mapping) for r in (await session.execute(query)).all()]
    ids = [r["practitioner_id"] for r in rows]
    by_id = {
        r["practitioner_id"]: {**r, "clinic_ids": [], "service_ids": [], "working_hours": []}
        for r in rows
    }
    for pid, cid in (
        await session.execute(
            sa.select(practitioner_clinics)
            .where(practitioner_clinics.c.practitioner_id.in_(ids))
            .order_by(practitioner_clinics.c.clinic_id)
        )
    ).all():
        by_id[pid]["clinic_ids"].append(cid)
    for pid, sid in (
        await session.execute(
            sa.select(practitioner_services)
            .where(practitioner_services.c.practitioner_id.in_(ids))
            .order_by(practitioner_services.c.service_id)
        )
    ).all():
        by_id[pid]["service_ids"].append(sid)
    w = working_hours.c
    for h in (
        await session.execute(
            sa.select(working_hours)
            .where(w.practitioner_id.in_(ids))
            .order_by(w.clinic_id, w.weekday, w.starts)
        )
    ).all():
        by_id[h.practitioner_id]["working_hours"].append(
            {
                "clinic_id": h.clinic_id,
                "weekday": h.weekday,
                "starts": h.starts.strftime("%H:%M"),
                "ends": h.ends.strftime("%H:%M"),
            }
        )
    return list(by_id.values())
