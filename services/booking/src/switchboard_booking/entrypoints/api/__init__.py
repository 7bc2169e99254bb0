"""Booking's HTTP API under ``/api/booking``: one router per area (``auth``, ``clients``,
``absences``, ``appointments``, ``directory``, ``notifications``), request bodies in
``bodies`` and ``directory_bodies``, domain errors mapped to status codes in ``errors``
and only there.

Routes parse and validate, call a handler or a query, and answer; they never publish
(the handlers do, with the runtime's ``publish``).

No ``from __future__ import annotations`` in this package: FastAPI must see the
dependency types built inside each ``router()`` as real objects, not strings.
"""

from fastapi import APIRouter

from switchboard_booking.entrypoints.api import (
    absences,
    appointments,
    auth,
    clients,
    directory,
    notifications,
)
from switchboard_booking.entrypoints.api.guards import guards
from switchboard_booking.handlers import auth as auth_handlers
from switchboard_booking.handlers.shared import Deps


def booking_router(deps: Deps) -> APIRouter:
    """Every booking endpoint; all but login, logout and unsubscribe need a session."""
    who = guards(deps.settings, auth_handlers.revocations(deps))
    combined = APIRouter()
    # Time off before appointments: /appointments/to-reschedule is not an appointment id.
    for area in (auth, clients, absences, appointments, directory, notifications):
        combined.include_router(area.router(deps, who))
    combined.include_router(notifications.public_router(deps))
    return combined
