"""Handlers of the integrations: the admin's Calltouch and Callmarker settings, and
Callmarker's side (its tags on calls, and pushing each ended call's data to it).

Each opens its own unit of work from :class:`~.shared.Deps`; a settings change refreshes
this replica's configuration cache once committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from switchboard_contracts import AuditRecorded, CallTagged, IntegrationSettingsChanged
from switchboard_runtime.auth import Principal, secrets_equal
from switchboard_runtime.logging import bind_call_id, get_logger
from switchboard_runtime.messaging import publish
from switchboard_runtime.retrying import RetryPolicy
from switchboard_telephony.adapters import (
    callmarker,
    calls_repository,
    directory_repository,
    queries,
)
from switchboard_telephony.domain.errors import NotFound, Unauthorized
from switchboard_telephony.domain.integrations import (
    Integration,
    IntegrationSettings,
    TimeLag,
    validate,
)
from switchboard_telephony.handlers.shared import Deps
from switchboard_telephony.settings import TelephonySettings

__all__ = [
    "CALLMARKER_PUSHES",
    "IntegrationUpdate",
    "IntegrationView",
    "callmarker_delivery_status",
    "callmarker_retry",
    "check_callmarker_token",
    "push_callmarker_deliveries",
    "read_integration",
    "save_integration",
    "tag_call",
]

# Every handler module logs under the package's name (log filters select on it).
log = get_logger(__package__)

CALLMARKER_PUSHES = Counter(
    "switchboard_telephony_callmarker_pushes_total",
    "Attempts to push an ended call's data to Callmarker",
    ["outcome"],
)


@dataclass(frozen=True, slots=True)
class IntegrationView:
    """What the API shows of an integration's settings (the token only as ``token_set``)."""

    settings: IntegrationSettings
    updated_at: datetime | None
    pbx_time_lag: TimeLag


@dataclass(frozen=True, slots=True)
class IntegrationUpdate:
    """An admin's new settings. ``token`` is applied only when ``token_given`` (the API
    omits it to keep the stored token; ``None`` then clears it)."""

    enabled: bool
    call_data_url: str | None
    request_data_url: str | None
    integration_id: str | None
    time_lag_minutes: int | None
    token: str | None
    token_given: bool


async def read_integration(deps: Deps, integration: Integration) -> IntegrationView:
    """An integration's settings as stored, and the time lag in force."""
    async with deps.sessions() as session:
        settings, updated_at = await directory_repository.load_integration(
            session, integration, deps.secrets
        )
    return IntegrationView(settings, updated_at, deps.config.snapshot.time_lag)


async def save_integration(
    deps: Deps,
    integration: Integration,
    update: IntegrationUpdate,
    actor: Principal,
    audit: AuditRecorded | None = None,
) -> IntegrationView:
    """Validate and store an integration's settings; publish ``IntegrationSettingsChanged``
    (never the token) and ``audit``, with the names of the fields changed, when anything
    changed."""
    async with deps.sessions() as session, session.begin():
        current, updated_at = await directory_repository.load_integration(
            session, integration, deps.secrets, for_update=True
        )
        wanted = validate(
            IntegrationSettings(
                integration=integration,
                enabled=update.enabled,
                call_data_url=update.call_data_url,
                request_data_url=update.request_data_url,
                integration_id=update.integration_id,
                token=update.token if update.token_given else current.token,
                time_lag_minutes=update.time_lag_minutes,
            )
        )
        changed = wanted != current or updated_at is None
        if changed:
            updated_at = await directory_repository.save_integration(
                session, wanted, deps.secrets, updated_by=actor.operator_id
            )
            event = IntegrationSettingsChanged(
                integration=integration, enabled=wanted.enabled, changed_at=updated_at
            )
            await publish(session, event, occurred_at=updated_at)
            if audit is not None:
                changed_fields = [
                    f.name
                    for f in fields(wanted)
                    if getattr(wanted, f.name) != getattr(current, f.name)
                ]
                details = {**audit.details, "changed": changed_fields, "enabled": wanted.enabled}
                await publish(session, audit.model_copy(update={"details": details}))
    if changed:
        await deps.config.refresh_after_change()
        log.info(
            "telephony.integration_settings_saved",
            integration=integration,
            enabled=wanted.enabled,
            by_operator_id=actor.operator_id,
        )
    return IntegrationView(wanted, updated_at, deps.config.snapshot.time_lag)


# --- Callmarker -----------------------------------------------------------------------------


async def check_callmarker_token(deps: Deps, token: str | None) -> None:
    """:class:`Unauthorized` unless Callmarker is enabled and ``token`` is its token
    (compared in constant time)."""
    async with deps.sessions() as session:
        marker, _ = await directory_repository.load_integration(session, "callmarker", deps.secrets)
    if not (marker.enabled and marker.token and secrets_equal(token, marker.token)):
        raise Unauthorized("missing or wrong Callmarker token")


async def tag_call(deps: Deps, call_id: str, tags: Sequence[str]) -> list[str]:
    """Attach Callmarker's tags to a call (replacing its earlier ones) and publish
    ``CallTagged``; nothing is published when the tags did not change."""
    wanted = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    now = datetime.now(UTC)
    async with deps.sessions() as session, session.begin():
        if not await queries.call_exists(session, call_id):
            raise NotFound(f"call {call_id} is unknown")
        if await queries.call_tags_of(session, call_id, "callmarker") == wanted:
            return wanted
        await calls_repository.save_tags(session, call_id, "callmarker", wanted, now)
        event = CallTagged(call_id=call_id, tags=wanted, source="callmarker", tagged_at=now)
        await publish(session, event, occurred_at=now)
    with bind_call_id(call_id):
        log.info("telephony.call_tagged", source="callmarker", count=len(wanted))
    return wanted


async def callmarker_delivery_status(deps: Deps) -> queries.DeliveryStatus:
    """How the Callmarker push is doing."""
    async with deps.sessions() as session:
        return await queries.callmarker_delivery_status(session)


def callmarker_retry(settings: TelephonySettings) -> RetryPolicy:
    """When a failed Callmarker delivery is tried again: its row's next attempt is this
    policy's delay ahead (the schedule lives in the database, so it survives restarts).

    The waits are long (2 s doubling up to 10 min by default, from the settings) because
    Callmarker being down is an outage of another company's service, and never run out: an
    undelivered row stays until delivered. ±20 % jitter spreads a backlog's retries.
    """
    return RetryPolicy(
        first_delay=settings.callmarker_backoff_initial_seconds,
        max_delay=settings.callmarker_backoff_max_seconds,
        jitter=0.2,
    )


async def push_callmarker_deliveries(
    deps: Deps, client: callmarker.CallmarkerClient, *, now: datetime
) -> int:
    """Send due Callmarker deliveries; returns how many were attempted.

    Does nothing while Callmarker is disabled (deliveries wait). The URL, token and ID are
    read at each round, so fixing a wrong URL also delivers the backlog.
    """
    settings = deps.settings
    async with deps.sessions() as session, session.begin():
        marker, _ = await directory_repository.load_integration(session, "callmarker", deps.secrets)
        if not (marker.enabled and marker.request_data_url and marker.token):
            return 0
        due = await callmarker.claim_due(
            session,
            now,
            limit=settings.callmarker_batch_size,
            lease=timedelta(seconds=settings.callmarker_timeout_seconds * 3 + 5),
        )
    await asyncio.gather(*(_push_one(deps, client, marker, delivery) for delivery in due))
    return len(due)


async def _push_one(
    deps: Deps,
    client: callmarker.CallmarkerClient,
    marker: IntegrationSettings,
    delivery: callmarker.PendingDelivery,
) -> None:
    assert marker.request_data_url and marker.token
    settings = deps.settings
    error: str | None = None
    try:
        await client.push(
            marker.request_data_url,
            token=marker.token,
            integration_id=marker.integration_id or "",
            call_id=delivery.call_id,
            data=delivery.payload,
        )
    except callmarker.PushFailed as exc:
        error = str(exc)
    now = datetime.now(UTC)
    async with deps.sessions() as session, session.begin():
        if error is None:
            await callmarker.mark_delivered(session, delivery.call_id, now)
        else:
            delay = callmarker_retry(settings).delay(delivery.attempts + 1)
            await callmarker.mark_failed(
                session,
                delivery.call_id,
                next_attempt_at=now + timedelta(seconds=delay),
                error=error,
            )
    CALLMARKER_PUSHES.labels("delivered" if error is None else "failed").inc()
    if error is not None:
        with bind_call_id(delivery.call_id):
            log.warning(
                "telephony.callmarker_push_failed",
                attempts=delivery.attempts + 1,
                error=error,
            )
