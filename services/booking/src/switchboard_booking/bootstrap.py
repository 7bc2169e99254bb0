"""The one place that builds booking's concrete adapters and wires them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from fastapi import FastAPI

from switchboard_booking import handlers
from switchboard_booking.adapters.channels import Senders, build_senders
from switchboard_booking.adapters.login_throttle import LoginThrottle
from switchboard_booking.domain.login_throttle import ThrottleRule
from switchboard_booking.entrypoints.api import booking_router
from switchboard_booking.entrypoints.api.errors import install_error_handlers
from switchboard_booking.entrypoints.worker import DeliveryWorker
from switchboard_booking.handlers.shared import Deps
from switchboard_booking.settings import BookingSettings
from switchboard_runtime.db import migrations_path
from switchboard_runtime.service import ServiceRuntime
from switchboard_runtime.sessions import SessionRevocations


def build_app(
    settings: BookingSettings | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    senders: Senders | None = None,
) -> FastAPI:
    """The booking service: directory, clients, appointments, templates, its outbox relay,
    the consumer that plans notifications and (``notifications_worker``) the worker that
    sends them. Tests may give a ``clock`` and the channel ``senders``."""
    settings = settings or BookingSettings()
    import switchboard_booking

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_booking.__file__),
    )
    throttle = LoginThrottle(
        runtime.redis,
        settings.topic_prefix,
        user_rule=ThrottleRule(
            settings.login_user_free_failures,
            settings.login_lockout_first_seconds,
            settings.login_lockout_max_seconds,
            settings.login_forget_after_seconds,
        ),
        address_rule=ThrottleRule(
            settings.login_address_free_failures,
            settings.login_lockout_first_seconds,
            settings.login_lockout_max_seconds,
            settings.login_forget_after_seconds,
        ),
    )
    deps = Deps(
        runtime.sessions,
        settings,
        wake_relay=runtime.relay.wake,
        revocations=SessionRevocations(
            runtime.redis,
            settings.topic_prefix,
            remember_seconds=settings.session_check_remember_seconds,
        ),
        login_throttle=throttle,
    )
    if clock is not None:
        deps = replace(deps, clock=clock)
    worker = DeliveryWorker(deps, senders if senders is not None else build_senders(settings))
    deps = replace(deps, wake_delivery=worker.wake)
    for subscription in handlers.SUBSCRIPTIONS:
        runtime.handle(subscription, deps)
    if settings.notifications_worker:
        runtime.on_start(worker.start)
        runtime.on_stop(worker.stop)
    app = runtime.fastapi_app(title="Switchboard booking", routers=[booking_router(deps)])
    install_error_handlers(app)
    app.state.deps = deps
    app.state.delivery = worker
    return app
