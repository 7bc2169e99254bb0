"""The one place that builds telephony's concrete adapters and wires them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from redis.asyncio import Redis

from switchboard_contracts import (
    PBX_EVENTS_RAW,
)
from switchboard_runtime.auth import authenticator
from switchboard_runtime.db import migrations_path
from switchboard_runtime.kafka import CatchUp
from switchboard_runtime.logging import get_logger
from switchboard_runtime.secret_box import SecretBox
from switchboard_runtime.service import ServiceRuntime
from switchboard_telephony import handlers
from switchboard_telephony.adapters.ami import AmiEndpoint
from switchboard_telephony.adapters.callmarker import CallmarkerClient
from switchboard_telephony.adapters.config_cache import ConfigCache
from switchboard_telephony.adapters.delivery_log import DeliveryLog
from switchboard_telephony.adapters.originate import AmiOriginator, Originator, WebhookOriginator
from switchboard_telephony.adapters.pbx import WEBHOOK_ADAPTERS
from switchboard_telephony.adapters.pbx.base import WebhookAdapter
from switchboard_telephony.adapters.pbx.mango import MangoAdapter
from switchboard_telephony.adapters.pbx.twilio import TwilioAdapter
from switchboard_telephony.domain.config import Timing
from switchboard_telephony.entrypoints import consumers
from switchboard_telephony.entrypoints.api import (
    admin_router,
    callmarker_router,
    install_error_handlers,
)
from switchboard_telephony.entrypoints.click_to_call import click_to_call_router
from switchboard_telephony.entrypoints.pbx_webhooks import cloud_pbx_router, pbx_router
from switchboard_telephony.settings import TelephonySettings

log = get_logger(__name__)


class _Loop:
    """A background task that runs ``action`` every ``interval`` seconds until stopped."""

    def __init__(self, name: str, interval: float, action: Callable[[], Awaitable[object]]):
        self._name = name
        self._interval = interval
        self._action = action
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                await self._action()
            except Exception as exc:
                log.warning("telephony.background_failed", task=self._name, error=repr(exc))
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def webhook_adapters(settings: TelephonySettings) -> list[WebhookAdapter]:
    """The cloud PBX adapters whose secrets are set in ``settings``."""
    adapters: list[WebhookAdapter] = []
    if settings.mango_api_key is not None and settings.mango_api_salt is not None:
        adapters.append(MangoAdapter(settings.mango_api_key, settings.mango_api_salt))
    if settings.twilio_auth_token is not None:
        adapters.append(TwilioAdapter(settings.twilio_auth_token))
    return adapters


def originator(settings: TelephonySettings) -> Originator | None:
    """The click-to-call adapter the settings choose; None when off or incomplete."""
    if settings.click_to_call == "webhook" and settings.click_to_call_url:
        return WebhookOriginator(
            settings.click_to_call_url, settings.pbx_token, settings.click_to_call_timeout_seconds
        )
    if (
        settings.click_to_call == "ami"
        and settings.ami_host
        and settings.ami_username
        and settings.ami_secret is not None
    ):
        return AmiOriginator(
            AmiEndpoint(
                settings.ami_host, settings.ami_port, settings.ami_username, settings.ami_secret
            ),
            channel_template=settings.originate_channel,
            context=settings.originate_context,
            priority=settings.originate_priority,
            caller_id_template=settings.originate_caller_id,
            ring_timeout_seconds=settings.originate_ring_seconds,
            connect_timeout=settings.click_to_call_timeout_seconds,
        )
    return None


def build_app(settings: TelephonySettings | None = None) -> FastAPI:
    """The telephony service: webhook, admin API, consumers, sweeper, Callmarker push,
    outbox relay."""
    settings = settings or TelephonySettings()
    import switchboard_telephony

    runtime = ServiceRuntime(
        settings,
        migrations_dir=migrations_path(switchboard_telephony.__file__),
    )
    secrets = SecretBox.from_setting(settings.secret_keys.get_secret_value())
    config = ConfigCache(
        runtime.sessions,
        secrets=secrets,
        default_region=settings.default_region,
        fallback_time_lag_minutes=settings.time_lag_minutes,
        refresh_seconds=settings.config_refresh_seconds,
    )
    timing = Timing(
        reorder_grace=timedelta(seconds=settings.reorder_grace_seconds),
        no_end_timeout=timedelta(seconds=settings.no_end_timeout_seconds),
    )
    deps = handlers.Deps(
        sessions=runtime.sessions, settings=settings, config=config, secrets=secrets
    )
    # After a restart, deadlines wait until what waited on pbx.events.raw has been read:
    # a call's late events must not be ruled missing because telephony was down.
    catch_up = CatchUp(
        settings,
        settings.topic(PBX_EVENTS_RAW),
        settings.group(handlers.PBX_INGEST.group),
    )
    consumers.register_pbx_ingest(runtime, config, timing, catch_up)
    runtime.handle(handlers.DIRECTORY_SUBSCRIPTION, deps)

    async def sweep() -> None:
        if not await catch_up.reached():
            return
        await config.ensure_loaded()
        async with runtime.sessions() as session, session.begin():
            await handlers.sweep_due_calls(
                session, directory=config.directory, timing=timing, now=datetime.now(UTC)
            )

    # Accepted webhook deliveries, shared by every replica: a replay is refused by all.
    deliveries = DeliveryLog(
        Redis.from_url(settings.redis_url, socket_connect_timeout=2.0, socket_timeout=2.0),
        settings.delivery_log_prefix,
    )
    callmarker_client = CallmarkerClient(timeout_seconds=settings.callmarker_timeout_seconds)

    async def push_to_callmarker() -> None:
        await handlers.push_callmarker_deliveries(deps, callmarker_client, now=datetime.now(UTC))

    loops = [
        _Loop("call-sweeper", settings.sweep_interval_seconds, sweep),
        _Loop("callmarker-push", settings.callmarker_poll_interval_seconds, push_to_callmarker),
    ]

    async def start_background() -> None:
        await config.refresh()
        config.start()
        for loop in loops:
            await loop.start()

    async def stop_background() -> None:
        for loop in loops:
            await loop.stop()
        await config.stop()
        await callmarker_client.aclose()
        await deliveries.aclose()

    runtime.on_start(start_background)
    runtime.on_stop(stop_background)
    app = runtime.fastapi_app(
        title="Switchboard telephony",
        routers=[
            pbx_router(settings, runtime.broker, deliveries),
            cloud_pbx_router(
                settings,
                runtime.broker,
                deliveries,
                webhook_adapters(settings),
                known=WEBHOOK_ADAPTERS,
            ),
            admin_router(deps, runtime.revocations),
            callmarker_router(deps),
            click_to_call_router(
                authenticator(lambda: settings.auth_secret.get_secret_value(), runtime.revocations),
                originator(settings),
                settings.default_region,
            ),
        ],
    )
    install_error_handlers(app)
    # The live configuration, for operators' debugging and for tests that wait on it.
    app.state.config = config
    return app
