"""The one place that builds analytics' concrete adapters and wires them."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_analytics.entrypoints import consumers
from switchboard_analytics.entrypoints.api import calls_router
from switchboard_analytics.settings import AnalyticsSettings
from switchboard_contracts import TELEPHONY_CALLS
from switchboard_runtime.db import migrations_path
from switchboard_runtime.service import ServiceRuntime


def build_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    """The analytics service: call-event projection and the call log API."""
    settings = settings or AnalyticsSettings()
    import switchboard_analytics

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_analytics.__file__),
        topics=[TELEPHONY_CALLS],
    )
    consumers.register(runtime)
    return runtime.fastapi_app(
        title="Switchboard analytics", routers=[calls_router(runtime.sessions)]
    )
