"""Time off: practitioners' absences and clinics' closed days (admin only), and the
appointments they leave stranded (``/appointments/to-reschedule``, read only)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from switchboard_booking.domain.model import Actor
from switchboard_booking.entrypoints.api.directory_bodies import AbsenceBody, ClosureBody
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import absences
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.audit import Auditor


def router(deps: Deps, guards: Guards) -> APIRouter:
    """Absences, closures and the to-reschedule list; each needs a session. Mounted before
    the appointments router, so ``/appointments/to-reschedule`` is not taken for an id."""
    CurrentActor = Annotated[Actor, Depends(guards.actor)]
    Audit = Annotated[Auditor, Depends(guards.audit)]
    router = APIRouter(
        prefix="/api/booking", tags=["time off"], dependencies=[Depends(guards.principal)]
    )

    @router.get("/practitioners/{practitioner_id}/absences")
    async def list_absences(practitioner_id: str, who: CurrentActor) -> dict[str, Any]:
        """The practitioner's absences, earliest first (admin)."""
        found = await absences.list_absences(deps, who, practitioner_id)
        return {"items": [absences.absence_view(a) for a in found]}

    @router.post("/practitioners/{practitioner_id}/absences", status_code=status.HTTP_201_CREATED)
    async def add_absence(
        practitioner_id: str, body: AbsenceBody, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Record an absence (admin; audit: ``practitioner.absence_added``). Availability
        leaves it out; appointments already booked in it stay booked and are listed by
        ``/appointments/to-reschedule``."""
        record = audit.event(
            "practitioner.absence_added",
            "practitioner",
            practitioner_id,
            {"fields": body.model_dump(mode="json", exclude_none=True)},
        )
        added = await absences.add_absence(deps, who, practitioner_id, body.model_dump(), record)
        return absences.absence_view(added)

    @router.delete(
        "/practitioners/{practitioner_id}/absences/{absence_id}",
        status_code=status.HTTP_204_NO_CONTENT,
    )
    async def remove_absence(
        practitioner_id: str, absence_id: str, who: CurrentActor, audit: Audit
    ) -> Response:
        """Forget an absence (admin; audit: ``practitioner.absence_removed``)."""
        record = audit.event(
            "practitioner.absence_removed",
            "practitioner",
            practitioner_id,
            {"absence_id": absence_id},
        )
        await absences.remove_absence(deps, who, practitioner_id, absence_id, record)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/clinics/{clinic_id}/closures")
    async def list_closures(clinic_id: str, who: CurrentActor) -> dict[str, Any]:
        """The clinic's closed days, earliest first (admin)."""
        found = await absences.list_closures(deps, who, clinic_id)
        return {"items": [absences.closure_view(c) for c in found]}

    @router.post("/clinics/{clinic_id}/closures", status_code=status.HTTP_201_CREATED)
    async def add_closure(
        clinic_id: str, body: ClosureBody, who: CurrentActor, audit: Audit
    ) -> dict[str, Any]:
        """Record closed days (admin; audit: ``clinic.closure_added``); booked appointments
        on them stay booked and are listed by ``/appointments/to-reschedule``."""
        record = audit.event(
            "clinic.closure_added",
            "clinic",
            clinic_id,
            {"fields": body.model_dump(mode="json", exclude_none=True)},
        )
        added = await absences.add_closure(deps, who, clinic_id, body.model_dump(), record)
        return absences.closure_view(added)

    @router.delete(
        "/clinics/{clinic_id}/closures/{closure_id}", status_code=status.HTTP_204_NO_CONTENT
    )
    async def remove_closure(
        clinic_id: str, closure_id: str, who: CurrentActor, audit: Audit
    ) -> Response:
        """Forget a closure (admin; audit: ``clinic.closure_removed``)."""
        record = audit.event(
            "clinic.closure_removed", "clinic", clinic_id, {"closure_id": closure_id}
        )
        await absences.remove_closure(deps, who, clinic_id, closure_id, record)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/appointments/to-reschedule")
    async def to_reschedule(
        who: CurrentActor, clinic_id: str | None = None, practitioner_id: str | None = None
    ) -> dict[str, Any]:
        """Appointments still booked and not yet begun that fall into an absence, a closed
        day, outside the clinic's opening hours or the practitioner's working hours, each
        with ``reason`` (``clinic_closed``, ``absence``, ``outside_opening_hours``,
        ``outside_working_hours``) and ``note`` (the absence's or closure's reason). Nothing
        is moved: an operator agrees a new time with the client (admin, call_centre)."""
        found = await absences.to_reschedule(
            deps, who, clinic_id=clinic_id, practitioner_id=practitioner_id
        )
        return {"items": [absences.stranded_view(s) for s in found]}

    return router
