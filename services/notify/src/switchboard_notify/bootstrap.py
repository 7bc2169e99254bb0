"""The one place that builds notify's concrete adapters and wires them."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from switchboard_notify import handlers
from switchboard_notify.adapters.current_calls import CurrentCallStore
from switchboard_notify.adapters.hub import Hub
from switchboard_notify.adapters.popup_store import PopupStore
from switchboard_notify.entrypoints.api import notify_router
from switchboard_notify.entrypoints.console_session import ConsoleDeps
from switchboard_notify.entrypoints.ws import close_all, heartbeat_forever
from switchboard_notify.handlers import settle_unidentified_forever
from switchboard_notify.settings import NotifySettings
from switchboard_runtime.db import migrations_path
from switchboard_runtime.redis_client import make_redis
from switchboard_runtime.service import ServiceRuntime


def build_app(settings: NotifySettings | None = None) -> FastAPI:
    """The notify service: consumers, Redis fan-out, console WebSocket and take API."""
    settings = settings or NotifySettings()
    import switchboard_notify

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_notify.__file__),
    )
    redis = make_redis(settings.redis_url, decode_responses=True)
    store = PopupStore(
        redis,
        settings.redis_prefix,
        popup_ttl=settings.popup_ttl_seconds,
        closed_ttl=settings.closed_ttl_seconds,
        identification_timeout=settings.identification_timeout_seconds,
    )
    current_calls = CurrentCallStore(
        redis, settings.redis_prefix, current_ttl=settings.current_call_ttl_seconds
    )
    hub = Hub(
        settings.redis_url,
        extension_pattern=store.extension_pattern,
        extension_prefix=f"{settings.redis_prefix}ext:",
        closes_channel=store.closes_channel,
        directory_channel=store.directory_channel,
        worklist_channel=store.worklist_channel,
        current_channel=current_calls.channel,
        reconnect_max_seconds=settings.redis_reconnect_max_seconds,
    )
    runtime.handle(
        handlers.SUBSCRIPTION,
        handlers.Deps(store=store, current_calls=current_calls, settings=settings),
    )
    deps = ConsoleDeps(
        settings=settings,
        store=store,
        current_calls=current_calls,
        hub=hub,
        sessions=runtime.sessions,
        revocations=runtime.revocations,
    )

    async def check_redis() -> None:
        await redis.ping()
        if not hub.connected.is_set():
            raise RuntimeError("pub/sub not subscribed")

    runtime.readiness["redis"] = check_redis
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        hub.start()
        tasks.append(
            asyncio.create_task(
                heartbeat_forever(hub, settings.heartbeat_seconds), name="notify-heartbeat"
            )
        )
        tasks.append(
            asyncio.create_task(
                settle_unidentified_forever(store, settings.identification_timeout_seconds),
                name="notify-identification-bound",
            )
        )
        # Start serving even if Redis is away: readiness says so, and the hub keeps trying.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hub.connected.wait(), timeout=10)

    async def stop() -> None:
        await close_all(hub)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await hub.stop()
        await redis.aclose()

    runtime.on_start(start)
    runtime.on_stop(stop)
    app = runtime.fastapi_app(title="Switchboard notify", routers=[notify_router(deps)])
    app.state.hub = hub
    return app
