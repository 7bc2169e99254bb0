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


def booking_routers(deps: Deps) -> list[APIRouter]:
    """Every booking endpoint, one router per area, in the order the app includes them;
    all but login, logout and unsubscribe need a session. Included into the app one by
    one, not under a router of their own: FastAPI matches a request at every level of
    inclusion again (a level was 3 % of the service's CPU per booking)."""
    who = guards(deps.settings, auth_handlers.revocations(deps))
    # Time off before appointments: /appointments/to-reschedule is not an appointment id.
    return [
        *(
            area.router(deps, who)
            for area in (auth, clients, absences, appointments, directory, notifications)
        ),
        notifications.public_router(deps),
    ]
