"""The one place that builds analytics' concrete adapters and wires them."""

from __future__ import annotations

from dataclasses import replace

from fastapi import FastAPI

from switchboard_analytics.adapters.recordings import RecordingServer
from switchboard_analytics.adapters.store import zone_known
from switchboard_analytics.entrypoints.api import calls_router
from switchboard_analytics.entrypoints.audit import audit_router
from switchboard_analytics.entrypoints.conversion import conversion_router
from switchboard_analytics.entrypoints.recordings import recordings_router
from switchboard_analytics.entrypoints.service_level import service_level_router
from switchboard_analytics.entrypoints.when import when_router
from switchboard_analytics.entrypoints.worklist import worklist_router
from switchboard_analytics.folder import RollupFolder
from switchboard_analytics.handlers import AUDIT_SUBSCRIPTION, SUBSCRIPTION, Projection
from switchboard_analytics.settings import AnalyticsSettings
from switchboard_runtime.auth import authenticator
from switchboard_runtime.db import migrations_path
from switchboard_runtime.service import ServiceRuntime


def projection_for(settings: AnalyticsSettings, *, serialise: bool = True) -> Projection:
    """The projection rules the settings ask for."""
    return Projection(
        default_time_zone=settings.default_time_zone,
        callback_window=settings.callback_window,
        serialise=serialise,
        worklist_horizon=settings.worklist_horizon,
    )


def build_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    """The analytics service: the projection consumer and the call log / report API."""
    settings = settings or AnalyticsSettings()
    import switchboard_analytics

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_analytics.__file__),
    )
    # The roll-ups' changes the consumer records are folded beside it (``folder``).
    folder = RollupFolder(runtime.engine, runtime.sessions)
    runtime.handle(SUBSCRIPTION, replace(projection_for(settings), committed=folder.wake))
    runtime.on_start(folder.start)
    runtime.on_stop(folder.stop)
    runtime.handle(AUDIT_SUBSCRIPTION, None)

    async def check_default_zone() -> None:
        async with runtime.sessions() as session:
            if not await zone_known(session, settings.default_time_zone):
                raise RuntimeError(
                    f"PostgreSQL does not know ANALYTICS_DEFAULT_TIME_ZONE="
                    f"{settings.default_time_zone}"
                )

    runtime.on_start(check_default_zone)
    recordings = RecordingServer(
        settings.recording_base_url,
        settings.recording_username,
        settings.recording_password,
        settings.recording_timeout_seconds,
    )
    runtime.on_stop(recordings.aclose)
    current = authenticator(lambda: settings.auth_secret.get_secret_value(), runtime.revocations)
    return runtime.fastapi_app(
        title="Switchboard analytics",
        routers=[
            recordings_router(runtime.read_sessions, current, recordings),
            calls_router(
                runtime.read_sessions,
                current,
                settings.default_region,
                settings.default_time_zone,
            ),
            worklist_router(runtime.read_sessions, current, settings.worklist_horizon),
            audit_router(runtime.read_sessions, current),
            service_level_router(runtime.read_sessions, current),
            when_router(runtime.read_sessions, current, settings.default_region),
            conversion_router(runtime.read_sessions, current, settings.default_region),
        ],
    )
