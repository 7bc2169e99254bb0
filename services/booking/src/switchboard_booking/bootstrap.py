"""The one place that builds booking's concrete adapters and wires them."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_booking.entrypoints.api import booking_router
from switchboard_booking.entrypoints.api.errors import install_error_handlers
from switchboard_booking.handlers.shared import Deps
from switchboard_booking.settings import BookingSettings
from switchboard_contracts import BOOKING_APPOINTMENTS, BOOKING_CLIENTS, BOOKING_DIRECTORY
from switchboard_runtime.db import migrations_path
from switchboard_runtime.service import ServiceRuntime


def build_app(settings: BookingSettings | None = None) -> FastAPI:
    """The booking service: directory, clients, appointments, and its outbox relay."""
    settings = settings or BookingSettings()
    import switchboard_booking

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_booking.__file__),
        topics=[BOOKING_APPOINTMENTS, BOOKING_CLIENTS, BOOKING_DIRECTORY],
    )
    deps = Deps(runtime.sessions, settings)
    app = runtime.fastapi_app(title="Switchboard booking", routers=[booking_router(deps)])
    install_error_handlers(app)
    return app
