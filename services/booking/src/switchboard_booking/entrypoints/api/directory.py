"""The directory: clinics, services, practitioners, call centers, cancellation reasons and
operators. Everyone with a session reads it; only admins change it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters import directory_queries as queries
from switchboard_booking.domain import model
from switchboard_booking.domain.model import Actor
from switchboard_booking.entrypoints.api.bodies import given
from switchboard_booking.entrypoints.api.directory_bodies import (
    CallCenterBody,
    CallCenterPatch,
    ClinicBody,
    ClinicPatch,
    OperatorBody,
    OperatorPatch,
    PractitionerBody,
    PractitionerPatch,
    ReasonBody,
    ReasonPatch,
    ServiceBody,
    ServicePatch,
)
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import directory
from switchboard_booking.handlers.shared import Deps
from switchboard_contracts import AuditRecorded
from switchboard_runtime.audit import Auditor

#: Fields whose values never go on the audit trail (only that they changed).
_SECRET_FIELDS = frozenset({"password"})


def _audited_fields(values: dict[str, Any]) -> dict[str, Any]:
    """What an admin set, for the audit trail: the values, a password only as changed."""
    return {"fields": {k: ("(changed)" if k in _SECRET_FIELDS else v) for k, v in values.items()}}


@dataclass(frozen=True)
class _Entries:
    """One kind of directory entry: its name on the audit trail, its handler's ``save_*``
    (create when the id is ``None``, else change; the entry's id) and its read model."""

    subject_type: str
    save: Callable[[Deps, Actor, str | None, dict[str, Any], AuditRecorded], Awaitable[str]]
    read: Callable[[AsyncSession, str], Awaitable[dict[str, Any]]]


_CLINICS = _Entries("clinic", directory.save_clinic, queries.get_clinic)
_SERVICES = _Entries("service", directory.save_service, queries.get_service)
_PRACTITIONERS = _Entries("practitioner", directory.save_practitioner, queries.get_practitioner)
_CALL_CENTERS = _Entries("call_center", directory.save_call_center, queries.get_call_center)
_REASONS = _Entries(
    "cancellation_reason", directory.save_cancellation_reason, queries.get_cancellation_reason
)
_OPERATORS = _Entries("operator", directory.save_operator, queries.get_operator)


def router(deps: Deps, guards: Guards) -> APIRouter:
    """List, create (201) and change each kind of directory entry; each needs a session."""
    CurrentActor = Annotated[Actor, Depends(guards.actor)]
    Audit = Annotated[Auditor, Depends(guards.audit)]
    router = APIRouter(
        prefix="/api/booking", tags=["directory"], dependencies=[Depends(guards.principal)]
    )

    async def listing(
        query: Callable[[AsyncSession], Awaitable[list[dict[str, Any]]]],
    ) -> dict[str, Any]:
        async with deps.sessions() as session:
            return {"items": await query(session)}

    async def one(
        query: Callable[[AsyncSession, str], Awaitable[dict[str, Any]]], key: str
    ) -> dict[str, Any]:
        async with deps.sessions() as session:
            return await query(session, key)

    async def saved(
        entries: _Entries,
        action: str,
        entry_id: str | None,
        values: dict[str, Any],
        who: Actor,
        audit: Auditor,
    ) -> dict[str, Any]:
        # Create (``entry_id`` None) or change the entry, its audit record with it; as saved.
        record = audit.event(action, entries.subject_type, entry_id, _audited_fields(values))
        return await one(entries.read, await entries.save(deps, who, entry_id, values, record))

    @router.get("/clinics")
    async def list_clinics() -> dict[str, Any]:
        """Every clinic, by name."""
        return await listing(queries.list_clinics)

    @router.post("/clinics", status_code=status.HTTP_201_CREATED)
    async def create_clinic(body: ClinicBody, who: CurrentActor, audit: Audit) -> dict[str, Any]:
        """Add a clinic; publishes ``ClinicChanged`` (audit: ``clinic.created``)."""
        return await saved(_CLINICS, "clinic.created", None, body.model_dump(), who, audit)

    @router.patch("/clinics/{clinic_id}")
    async def update_clinic(
        clinic_id: str, body: ClinicPatch, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Change a clinic; publishes ``ClinicChanged`` (audit: ``clinic.changed``)."""
        return await saved(_CLINICS, "clinic.changed", clinic_id, given(body), who, audit)

    @router.get("/services")
    async def list_services() -> dict[str, Any]:
        """Every service, by name."""
        return await listing(queries.list_services)

    @router.post("/services", status_code=status.HTTP_201_CREATED)
    async def create_service(body: ServiceBody, who: CurrentActor, audit: Audit) -> dict[str, Any]:
        """Add a service (audit: ``service.created``)."""
        return await saved(_SERVICES, "service.created", None, body.model_dump(), who, audit)

    @router.patch("/services/{service_id}")
    async def update_service(
        service_id: str, body: ServicePatch, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Change a service (audit: ``service.changed``)."""
        return await saved(_SERVICES, "service.changed", service_id, given(body), who, audit)

    @router.get("/practitioners")
    async def list_practitioners() -> dict[str, Any]:
        """Every practitioner with clinics, services and working hours, by name."""
        return await listing(queries.list_practitioners)

    @router.post("/practitioners", status_code=status.HTTP_201_CREATED)
    async def create_practitioner(
        body: PractitionerBody, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Add a practitioner (audit: ``practitioner.created``)."""
        return await saved(
            _PRACTITIONERS, "practitioner.created", None, body.model_dump(), who, audit
        )

    @router.patch("/practitioners/{practitioner_id}")
    async def update_practitioner(
        practitioner_id: str, body: PractitionerPatch, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Change a practitioner (audit: ``practitioner.changed``)."""
        return await saved(
            _PRACTITIONERS, "practitioner.changed", practitioner_id, given(body), who, audit
        )

    @router.get("/call-centers")
    async def list_call_centers() -> dict[str, Any]:
        """Every call center, by name."""
        return await listing(queries.list_call_centers)

    @router.post("/call-centers", status_code=status.HTTP_201_CREATED)
    async def create_call_center(
        body: CallCenterBody, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Add a call center; publishes ``CallCenterChanged`` (audit: ``call_center.created``)."""
        return await saved(
            _CALL_CENTERS, "call_center.created", None, body.model_dump(), who, audit
        )

    @router.patch("/call-centers/{call_center_id}")
    async def update_call_center(
        call_center_id: str, body: CallCenterPatch, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Change a call center; publishes ``CallCenterChanged`` (audit:
        ``call_center.changed``)."""
        return await saved(
            _CALL_CENTERS, "call_center.changed", call_center_id, given(body), who, audit
        )

    @router.get("/cancellation-reasons")
    async def list_reasons() -> dict[str, Any]:
        """Every cancellation reason (inactive ones too), by label."""
        return await listing(queries.list_cancellation_reasons)

    @router.post("/cancellation-reasons", status_code=status.HTTP_201_CREATED)
    async def create_reason(body: ReasonBody, who: CurrentActor, audit: Audit) -> dict[str, Any]:
        """Add a cancellation reason (audit: ``cancellation_reason.created``)."""
        return await saved(
            _REASONS, "cancellation_reason.created", None, body.model_dump(), who, audit
        )

    @router.patch("/cancellation-reasons/{reason_id}")
    async def update_reason(
        reason_id: str, body: ReasonPatch, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Change a cancellation reason (audit: ``cancellation_reason.changed``)."""
        return await saved(
            _REASONS, "cancellation_reason.changed", reason_id, given(body), who, audit
        )

    @router.get("/operators")
    async def list_operators(who: CurrentActor) -> dict[str, Any]:
        """Every operator (never a password hash), by name; login names and whether a
        password must be changed only for admins and managers."""
        found = await listing(queries.list_operators)
        if not model.reads_logins(who):
            found["items"] = [
                {k: v for k, v in item.items() if k not in queries.LOGIN_FIELDS}
                for item in found["items"]
            ]
        return found

    @router.post("/operators", status_code=status.HTTP_201_CREATED)
    async def create_operator(
        body: OperatorBody, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Add an operator; publishes ``OperatorChanged`` (audit: ``operator.created``)."""
        return await saved(_OPERATORS, "operator.created", None, body.model_dump(), who, audit)

    @router.patch("/operators/{operator_id}")
    async def update_operator(
        operator_id: str, body: OperatorPatch, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Change an operator; publishes ``OperatorChanged`` (audit: ``operator.changed``,
        or ``operator.deactivated``)."""
        values = given(body)
        action = "operator.deactivated" if values.get("active") is False else "operator.changed"
        return await saved(_OPERATORS, action, operator_id, values, who, audit)

    return router
