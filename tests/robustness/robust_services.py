"""Every service built for real (PostgreSQL, Kafka, Redis), on topics and databases of its own.

The robustness tests throw bad input at the services' HTTP APIs, so the services get a
topic prefix ``t<run>.rob.`` and a database suffix ``_rob_<run>``: nothing they are fed
reaches another test's consumers or tables. Settings are passed explicitly (the rest comes
from the run's environment, as in production).
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from fastapi import FastAPI

from switchboard_runtime.auth import Principal, Role, issue_token

PBX_TOKEN = "rob-pbx-token"

#: service → (bootstrap module, settings module, settings class)
SERVICES: dict[str, tuple[str, str, str]] = {
    "telephony": (
        "switchboard_telephony.bootstrap",
        "switchboard_telephony.settings",
        "TelephonySettings",
    ),
    "booking": ("switchboard_booking.bootstrap", "switchboard_booking.settings", "BookingSettings"),
    "crm-touch": (
        "switchboard_crm_touch.bootstrap",
        "switchboard_crm_touch.settings",
        "CrmTouchSettings",
    ),
    "analytics": (
        "switchboard_analytics.bootstrap",
        "switchboard_analytics.settings",
        "AnalyticsSettings",
    ),
    "notify": ("switchboard_notify.bootstrap", "switchboard_notify.settings", "NotifySettings"),
}


def service_settings(name: str, settings_env: dict[str, str], **overrides: Any) -> Any:
    """The settings of service ``name`` on this module's own topics, database and Redis keys."""
    _, module, cls = SERVICES[name]
    settings_cls = getattr(importlib.import_module(module), cls)
    values: dict[str, Any] = {
        "topic_prefix": f"{settings_env['TOPIC_PREFIX']}rob.",
        "database_suffix": f"_rob{settings_env['DATABASE_SUFFIX']}",
        "log_json": False,
    }
    if name == "telephony":
        values["pbx_token"] = PBX_TOKEN
    if name == "notify":
        values["redis_key_prefix"] = f"{settings_env['TOPIC_PREFIX']}rob:"
    values.update(overrides)
    return settings_cls(**values)


def build_service(name: str, settings: Any) -> FastAPI:
    """``build_app(settings)`` of service ``name`` (the same wiring production uses)."""
    app: FastAPI = importlib.import_module(SERVICES[name][0]).build_app(settings)
    return app


def session_headers(
    settings: Any,
    role: Role = "admin",
    operator_id: str = "op-admin",
    call_center_id: str | None = None,
) -> dict[str, str]:
    """An ``Authorization`` header of an operator, signed with the run's shared secret
    (what booking's login would hand out)."""
    principal = Principal(
        operator_id=operator_id, name="Robust Admin", role=role, call_center_id=call_center_id
    )
    token = issue_token(principal, settings.auth_secret.get_secret_value())
    return {"Authorization": f"Bearer {token}"}


def pbx_headers(body: bytes) -> dict[str, str]:
    """Headers of a PBX webhook delivery of ``body``, signed now with the integration token."""
    from switchboard_telephony.domain.signing import signed_headers

    return {**signed_headers(PBX_TOKEN, body), "content-type": "application/json"}


def seed_booking(settings: Any) -> None:
    """Seed the demo chain into the robustness booking database (idempotent), so that the
    fuzzed requests reach real clinics, practitioners and clients."""
    from switchboard_booking.entrypoints.seed import seed
    from switchboard_runtime.testing.plugin import serve

    async def run() -> None:
        app = build_service("booking", settings)
        async with serve(app):
            await seed(app.state.runtime.sessions, app.state.runtime.settings)

    asyncio.run(run())
