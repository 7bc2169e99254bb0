"""Keeping the directory (admin only): clinics, services, call centers, cancellation
reasons, practitioners and operators. Each ``save_*`` creates the entry when its id is
``None`` and otherwise changes the fields given."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from switchboard_booking.adapters import directory_repository as repo
from switchboard_booking.domain import model
from switchboard_booking.domain.directory import (
    check_hours,
    check_meeting_methods,
    check_questions,
    check_time_zone,
)
from switchboard_booking.domain.errors import InvalidRequest
from switchboard_booking.domain.model import Actor
from switchboard_booking.handlers import auth
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import AuditRecorded, CallCenterChanged, ClinicChanged, OperatorChanged
from switchboard_runtime.auth import hash_password
from switchboard_runtime.db import retry_transaction
from switchboard_runtime.messaging import publish

if TYPE_CHECKING:
    from sqlalchemy import Row


def _audited(audit: AuditRecorded | None, subject_id: str) -> list[AuditRecorded]:
    """The change's record on the audit trail (if the caller gave one), naming the entry
    by its id: a new entry has one only once it is saved."""
    return [] if audit is None else [audit.model_copy(update={"subject_id": subject_id})]


@retry_transaction()
async def save_clinic(
    deps: Deps,
    actor: Actor,
    clinic_id: str | None,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> str:
    """Create or change a clinic (its time zone must be an IANA name); publishes
    ``ClinicChanged`` and ``audit`` (its record on the audit trail)."""
    model.ensure_admin(actor)
    if "time_zone" in values:
        check_time_zone(values["time_zone"])
    if "opening_hours" in values:
        check_hours(values["opening_hours"], "opens", "closes")
    async with deps.sessions() as session, session.begin():
        row = await repo.save_clinic(session, clinic_id, values)
        await publish(session, _clinic_changed(row), *_audited(audit, str(row.clinic_id)))
        return str(row.clinic_id)


@retry_transaction()
async def save_service(
    deps: Deps,
    actor: Actor,
    service_id: str | None,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> str:
    """Create or change a service (duration, meeting methods, questions); publishes
    ``audit`` (its record on the audit trail)."""
    model.ensure_admin(actor)
    if "meeting_methods" in values:
        values["meeting_methods"] = check_meeting_methods(values["meeting_methods"])
    if "questions" in values:
        values["questions"] = check_questions(values["questions"])
    async with deps.sessions() as session, session.begin():
        saved = await repo.save_service(session, service_id, values)
        await publish(session, *_audited(audit, saved))
        return saved


@retry_transaction()
async def save_call_center(
    deps: Deps,
    actor: Actor,
    call_center_id: str | None,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> str:
    """Create or change a call center; publishes ``CallCenterChanged`` and ``audit`` (its
    record on the audit trail)."""
    model.ensure_admin(actor)
    async with deps.sessions() as session, session.begin():
        row = await repo.save_call_center(session, call_center_id, values)
        await publish(session, _call_center_changed(row), *_audited(audit, str(row.call_center_id)))
        return str(row.call_center_id)


@retry_transaction()
async def save_cancellation_reason(
    deps: Deps,
    actor: Actor,
    reason_id: str | None,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> str:
    """Create or change a cancellation reason (deactivate rather than delete); publishes
    ``audit`` (its record on the audit trail, with the reason's id)."""
    model.ensure_admin(actor)
    async with deps.sessions() as session, session.begin():
        saved = await repo.save_cancellation_reason(session, reason_id, values)
        await publish(session, *_audited(audit, saved))
        return saved


@retry_transaction()
async def save_practitioner(
    deps: Deps,
    actor: Actor,
    practitioner_id: str | None,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> str:
    """Create or change a practitioner; clinic, service and working-hour lists given are
    replaced whole. Working hours must be at one of the practitioner's clinics. Publishes
    ``audit`` (its record on the audit trail)."""
    model.ensure_admin(actor)
    clinic_ids = values.pop("clinic_ids", None)
    service_ids = values.pop("service_ids", None)
    hours = values.pop("working_hours", None)
    if hours is not None:
        check_hours(hours, "starts", "ends")
    async with deps.sessions() as session, session.begin():
        pid = await repo.save_practitioner(session, practitioner_id, values)
        if clinic_ids is not None:
            await repo.replace_practitioner_clinics(session, pid, clinic_ids)
        if service_ids is not None:
            await repo.replace_practitioner_services(session, pid, service_ids)
        if hours is not None:
            known = (
                set(clinic_ids)
                if clinic_ids is not None
                else await repo.practitioner_clinic_ids(session, pid)
            )
            stray = sorted({h["clinic_id"] for h in hours} - known)
            if stray:
                raise InvalidRequest(
                    f"working hours at clinics the practitioner does not "
                    f"work at: {', '.join(stray)}"
                )
            parsed = check_hours(hours, "starts", "ends")
            await repo.replace_working_hours(
                session, pid, [(h["clinic_id"], w) for h, w in zip(hours, parsed, strict=True)]
            )
        await publish(session, *_audited(audit, pid))
        return pid


@retry_transaction()
async def save_operator(
    deps: Deps,
    actor: Actor,
    operator_id: str | None,
    values: dict[str, Any],
    audit: AuditRecorded | None = None,
) -> str:
    """Create or change an operator (a given password is stored hashed); publishes
    ``OperatorChanged`` with what other services need, and ``audit`` (its record on the
    audit trail, given the operator's id once a new one has it)."""
    model.ensure_admin(actor)
    password = values.pop("password", None)
    if password is not None:
        values["password_hash"] = await asyncio.to_thread(hash_password, password)
    elif operator_id is None:
        raise InvalidRequest("a new operator needs a password")
    if "username" in values:
        values["username"] = values["username"].strip().lower()
    deactivating = values.get("active") is False and operator_id is not None
    if deactivating:
        # Before the commit too: should Redis be away, the operator stays active and the
        # admin sees the error, rather than a deactivated operator keeping a session.
        await auth.revocations(deps).end_all(str(operator_id))
    async with deps.sessions() as session, session.begin():
        row = await repo.save_operator(session, operator_id, values)
        await publish(session, _operator_changed(row), *_audited(audit, str(row.operator_id)))
    if deactivating:
        # And after it: a login that slipped in before the commit is ended as well.
        await auth.revocations(deps).end_all(str(row.operator_id))
    return str(row.operator_id)


def _clinic_changed(row: Row[Any]) -> ClinicChanged:
    return ClinicChanged(
        clinic_id=row.clinic_id,
        name=row.name,
        city=row.city,
        address=row.address,
        time_zone=row.time_zone,
        active=row.active,
    )


def _call_center_changed(row: Row[Any]) -> CallCenterChanged:
    return CallCenterChanged(
        call_center_id=row.call_center_id, name=row.name, kind=row.kind, active=row.active
    )


def _operator_changed(row: Row[Any]) -> OperatorChanged:
    return OperatorChanged(
        operator_id=row.operator_id,
        name=row.name,
        role=row.role,
        call_center_id=row.call_center_id,
        extension=row.extension,
        active=row.active,
    )
