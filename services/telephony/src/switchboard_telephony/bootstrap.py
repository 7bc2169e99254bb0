"""The one place that builds telephony's concrete adapters and wires them."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from switchboard_contracts import PBX_EVENTS_RAW, TELEPHONY_CALLS
from switchboard_runtime.db import migrations_path
from switchboard_runtime.logging import get_logger
from switchboard_runtime.service import ServiceRuntime
from switchboard_telephony import handlers
from switchboard_telephony.domain.model import Directory, Timing
from switchboard_telephony.entrypoints import consumers
from switchboard_telephony.entrypoints.api import pbx_router
from switchboard_telephony.settings import TelephonySettings

log = get_logger(__name__)


def build_app(settings: TelephonySettings | None = None) -> FastAPI:
    """The telephony service: webhook, raw-event consumer, sweeper, outbox relay."""
    settings = settings or TelephonySettings()
    import switchboard_telephony

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_telephony.__file__),
        topics=[PBX_EVENTS_RAW, TELEPHONY_CALLS],
    )
    directory = Directory(
        default_region=settings.default_region,
        extensions=frozenset(),
        did_to_clinic={},
        extension_to_clinic={},
    )
    timing = Timing(
        reorder_grace=timedelta(seconds=settings.reorder_grace_seconds),
        no_end_timeout=timedelta(seconds=settings.no_end_timeout_seconds),
    )
    consumers.register(runtime, settings, directory, timing)

    sweeper: asyncio.Task[None] | None = None

    async def sweep_forever() -> None:
        while True:
            try:
                async with runtime.sessions() as session, session.begin():
                    swept = await handlers.sweep_due_calls(
                        session,
                        directory=directory,
                        timing=timing,
                        now=datetime.now(UTC),
                        settings=settings,
                    )
                if swept:
                    runtime.relay.wake()
            except Exception as exc:
                log.warning("telephony.sweep_failed", error=repr(exc))
            await asyncio.sleep(settings.sweep_interval_seconds)

    async def start_sweeper() -> None:
        nonlocal sweeper
        sweeper = asyncio.create_task(sweep_forever(), name="call-sweeper")

    async def stop_sweeper() -> None:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    runtime.on_start(start_sweeper)
    runtime.on_stop(stop_sweeper)
    return runtime.fastapi_app(
        title="Switchboard telephony", routers=[pbx_router(settings, runtime.broker)]
    )
