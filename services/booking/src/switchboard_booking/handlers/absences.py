"""Time off (admin only): practitioners' absences and clinics' closed days; what they take
out of availability; and the list of booked appointments they leave stranded, which an
operator reschedules with the client (nothing is ever moved here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters import absences_repository as repo
from switchboard_booking.adapters.directory_facts import ClinicInfo, opening_hours
from switchboard_booking.adapters.ids import new_id
from switchboard_booking.domain import model
from switchboard_booking.domain.absences import (
    Absence,
    Closure,
    check_absence,
    check_closure,
    reschedule_reason,
)
from switchboard_booking.domain.availability import Interval
from switchboard_booking.domain.errors import Forbidden
from switchboard_booking.domain.model import Actor
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import AuditRecorded
from switchboard_runtime.db import retry_transaction
from switchboard_runtime.messaging import publish

#: Who reads the to-reschedule list: those who call the clients back.
RESCHEDULERS = frozenset({"admin", "call_centre"})


async def away(
    session: AsyncSession, clinic: ClinicInfo, practitioner_ids: Sequence[str], window: Interval
) -> dict[str, list[Interval]]:
    """When each practitioner cannot be booked at ``clinic`` around ``window``: their
    absences and the clinic's closed days, read in the clinic's zone."""
    absences, closures = await repo.time_off(session, clinic.clinic_id, practitioner_ids, window)
    return {pid: away_from(clinic, absences[pid], closures) for pid in practitioner_ids}


def away_from(
    clinic: ClinicInfo, absences: Sequence[Absence], closures: Sequence[Closure]
) -> list[Interval]:
    """When a practitioner with these absences cannot be booked at ``clinic`` with these
    closures, in the clinic's zone."""
    return [c.interval(clinic.tz) for c in closures] + [a.interval(clinic.tz) for a in absences]


@retry_transaction()
async def add_absence(
    deps: Deps,
    actor: Actor,
    practitioner_id: str,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> Absence:
    """Record a practitioner's absence (instants, or local dates); publishes ``audit``.
    Appointments already booked in it stay booked and appear on the to-reschedule list."""
    model.ensure_admin(actor)
    starts_at, ends_at, starts_on, ends_on = check_absence(
        starts_at=values.get("starts_at"),
        ends_at=values.get("ends_at"),
        starts_on=values.get("starts_on"),
        ends_on=values.get("ends_on"),
    )
    absence = Absence(
        new_id(),
        practitioner_id,
        starts_at,
        ends_at,
        starts_on,
        ends_on,
        str(values.get("reason") or "").strip(),
    )
    async with deps.sessions() as session, session.begin():
        await repo.ensure_practitioner(session, practitioner_id)
        await repo.insert_absence(session, absence)
        await publish(session, *_audited(audit, {"absence_id": absence.absence_id}))
    return absence


@retry_transaction()
async def remove_absence(
    deps: Deps,
    actor: Actor,
    practitioner_id: str,
    absence_id: str,
    audit: AuditRecorded | None = None,
) -> None:
    """Forget an absence (the practitioner is bookable again then); publishes ``audit``."""
    model.ensure_admin(actor)
    async with deps.sessions() as session, session.begin():
        await repo.delete_absence(session, practitioner_id, absence_id)
        await publish(session, *_audited(audit))


@retry_transaction()
async def add_closure(
    deps: Deps,
    actor: Actor,
    clinic_id: str,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> Closure:
    """Record days a clinic is closed (its local dates); publishes ``audit``."""
    model.ensure_admin(actor)
    starts_on, ends_on = check_closure(values["starts_on"], values.get("ends_on"))
    closure = Closure(
        new_id(), clinic_id, starts_on, ends_on, str(values.get("reason") or "").strip()
    )
    async with deps.sessions() as session, session.begin():
        await repo.ensure_clinic(session, clinic_id)
        await repo.insert_closure(session, closure)
        await publish(session, *_audited(audit, {"closure_id": closure.closure_id}))
    return closure


@retry_transaction()
async def remove_closure(
    deps: Deps,
    actor: Actor,
    clinic_id: str,
    closure_id: str,
    audit: AuditRecorded | None = None,
) -> None:
    """Forget a closure; publishes ``audit``."""
    model.ensure_admin(actor)
    async with deps.sessions() as session, session.begin():
        await repo.delete_closure(session, clinic_id, closure_id)
        await publish(session, *_audited(audit))


def _audited(audit: AuditRecorded | None, more: dict[str, Any] | None = None) -> list[Any]:
    """The change's record on the audit trail, with the new entry's id once it has one."""
    if audit is None:
        return []
    if more:
        audit = audit.model_copy(update={"details": {**audit.details, **more}})
    return [audit]


async def list_absences(deps: Deps, actor: Actor, practitioner_id: str) -> list[Absence]:
    """The practitioner's absences, earliest first (admin: the reasons may be personal)."""
    model.ensure_admin(actor)
    async with deps.sessions() as session:
        await repo.ensure_practitioner(session, practitioner_id)
        return (await repo.absences_of(session, [practitioner_id]))[practitioner_id]


async def list_closures(deps: Deps, actor: Actor, clinic_id: str) -> list[Closure]:
    """The clinic's closures, earliest first (admin)."""
    model.ensure_admin(actor)
    async with deps.sessions() as session:
        await repo.ensure_clinic(session, clinic_id)
        return (await repo.closures_of(session, [clinic_id]))[clinic_id]


@dataclass(frozen=True)
class Stranded:
    """A booked appointment that cannot take place as booked, and why."""

    appointment: Any
    reason: str
    note: str


async def to_reschedule(
    deps: Deps, actor: Actor, *, clinic_id: str | None = None, practitioner_id: str | None = None
) -> list[Stranded]:
    """Appointments still booked and not yet begun that fall into an absence, a closed day,
    outside the clinic's opening hours or the practitioner's working hours. Read only."""
    if actor.role not in RESCHEDULERS:
        raise Forbidden(f"the {actor.role} role does not reschedule appointments")
    async with deps.sessions() as session:
        booked = await repo.booked_from(session, deps.clock(), clinic_id, practitioner_id)
        practitioner_ids = sorted({a.practitioner_id for a in booked})
        clinic_ids = sorted({a.clinic_id for a in booked})
        absences = await repo.absences_of(session, practitioner_ids)
        closures = await repo.closures_of(session, clinic_ids)
        hours = await repo.working_hours_at(session, practitioner_ids)
    out = []
    for appointment in booked:
        why = reschedule_reason(
            Interval(appointment.starts_at, appointment.ends_at),
            ZoneInfo(appointment.time_zone),
            working_hours=hours.get((appointment.practitioner_id, appointment.clinic_id), []),
            opening_hours=opening_hours(appointment.opening_hours),
            absences=absences[appointment.practitioner_id],
            closures=closures[appointment.clinic_id],
        )
        if why is not None:
            out.append(Stranded(appointment, *why))
    return out


def absence_view(absence: Absence) -> dict[str, Any]:
    """An absence as the API shows it."""
    return {
        "absence_id": absence.absence_id,
        "practitioner_id": absence.practitioner_id,
        "starts_at": absence.starts_at,
        "ends_at": absence.ends_at,
        "starts_on": absence.starts_on,
        "ends_on": absence.ends_on,
        "reason": absence.reason,
    }


def closure_view(closure: Closure) -> dict[str, Any]:
    """A closure as the API shows it."""
    return {
        "closure_id": closure.closure_id,
        "clinic_id": closure.clinic_id,
        "starts_on": closure.starts_on,
        "ends_on": closure.ends_on,
        "reason": closure.reason,
    }


def stranded_view(item: Stranded) -> dict[str, Any]:
    """A to-reschedule entry as the API shows it."""
    a = item.appointment
    return {
        "appointment_id": a.appointment_id,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "clinic_id": a.clinic_id,
        "clinic_name": a.clinic_name,
        "practitioner_id": a.practitioner_id,
        "practitioner_name": a.practitioner_name,
        "service_id": a.service_id,
        "client_id": a.client_id,
        "client_name": f"{a.first_name} {a.last_name}".strip(),
        "call_center_id": a.call_center_id,
        "reason": item.reason,
        "note": item.note,
    }
