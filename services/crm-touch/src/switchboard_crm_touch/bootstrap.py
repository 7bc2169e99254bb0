"""The one place that builds crm-touch's concrete adapters and wires them."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_crm_touch.entrypoints.api import crm_router, install_error_handlers
from switchboard_crm_touch.handlers import SUBSCRIPTION
from switchboard_crm_touch.handlers.shared import Deps
from switchboard_crm_touch.settings import CrmTouchSettings
from switchboard_runtime.db import migrations_path
from switchboard_runtime.service import ServiceRuntime


def build_app(settings: CrmTouchSettings | None = None) -> FastAPI:
    """The crm-touch service: caller identification, touches, their API and outbox relay."""
    settings = settings or CrmTouchSettings()
    import switchboard_crm_touch

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_crm_touch.__file__),
    )
    deps = Deps(settings=settings)
    runtime.handle(SUBSCRIPTION, deps)
    app = runtime.fastapi_app(
        title="Switchboard crm-touch",
        routers=[crm_router(runtime.sessions, deps, runtime.revocations)],
    )
    install_error_handlers(app)
    return app
