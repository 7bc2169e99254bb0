"""The one place that builds notify's concrete adapters and wires them."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard_notify.settings import NotifySettings
from switchboard_runtime.db import migrations_path
from switchboard_runtime.service import ServiceRuntime


def build_app(settings: NotifySettings | None = None) -> FastAPI:
    """The notify service (so far: its database, health and metrics endpoints)."""
    settings = settings or NotifySettings()
    import switchboard_notify

    runtime = ServiceRuntime(settings, migrations_dir=migrations_path(switchboard_notify.__file__))
    return runtime.fastapi_app(title="Switchboard notify")
