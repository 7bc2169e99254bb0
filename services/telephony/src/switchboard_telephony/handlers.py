"""Telephony's handlers: one per command or consumed message kind, dependencies as arguments.

Consumed messages (raw PBX events, directory events) are handled inside the consumer's
transaction (``session``); commands from the API open their own unit of work from
:class:`Deps`, commit, then refresh the in-memory configuration and wake the outbox relay.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_contracts import (
    PBX_EVENTS_RAW,
    AuditRecorded,
    CallEnded,
    CallTagged,
    DidChanged,
    Envelope,
    IntegrationSettingsChanged,
    OperatorChanged,
    make_envelope,
)
from switchboard_phones import InvalidPhoneNumber
from switchboard_runtime.auth import Principal, secrets_equal
from switchboard_runtime.logging import bind_call_id, get_logger
from switchboard_runtime.messaging import RawSubscription, Subscription, after_commit, publish
from switchboard_runtime.retrying import RetryPolicy
from switchboard_runtime.secret_box import SecretBox
from switchboard_telephony.adapters import (
    callmarker,
    calls_repository,
    directory_repository,
    queries,
)
from switchboard_telephony.adapters.config_cache import ConfigCache
from switchboard_telephony.domain.calls import (
    apply_many,
    canonical_event_key,
    next_deadline,
    tick,
)
from switchboard_telephony.domain.errors import (
    Conflict,
    FieldError,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from switchboard_telephony.domain.integrations import (
    Integration,
    IntegrationSettings,
    TimeLag,
    validate,
)
from switchboard_telephony.domain.model import Directory, PbxEvent, Timing
from switchboard_telephony.settings import TelephonySettings

log = get_logger(__name__)

CALLMARKER_PUSHES = Counter(
    "switchboard_telephony_callmarker_pushes_total",
    "Attempts to push an ended call's data to Callmarker",
    ["outcome"],
)

# Canonical event ids are derived from the call and the event kind, so that even a
# re-emission (say, after a restore) carries the id downstream consumers already saw.
_EVENT_NAMESPACE = uuid.UUID("5b0c6d1e-3f0a-4c55-9d7e-2a1f0e9c7b11")
_TIME_FIELDS = ("started_at", "ringing_at", "transferred_at", "answered_at", "ended_at")
_EXTENSION = re.compile(r"^[0-9]{1,16}$")


@dataclass(frozen=True)
class Deps:
    """What command handlers need, built once in ``bootstrap``."""

    sessions: async_sessionmaker[AsyncSession]
    settings: TelephonySettings
    config: ConfigCache
    #: Seals and opens the integration tokens stored in the database.
    secrets: SecretBox


# --- raw PBX events -------------------------------------------------------------------------


#: Event class → the field holding when it happened (getattr of a field a pydantic model
#: lacks is slow, so each class is looked at once).
_TIME_FIELD: dict[type[Any], str] = {}


def _occurred_at(event: Any) -> datetime:
    cls = type(event)
    name = _TIME_FIELD.get(cls)
    if name is None:
        name = next((n for n in _TIME_FIELDS if n in cls.model_fields), None)
        if name is None:
            raise ValueError(f"{cls.__name__} has no time")
        _TIME_FIELD[cls] = name
    return getattr(event, name)  # type: ignore[no-any-return]


def _envelopes(events: Iterable[Any]) -> list[Envelope[Any]]:
    return [
        make_envelope(
            e,
            producer="telephony",
            occurred_at=_occurred_at(e),
            correlation_id=e.call_id,
            event_id=uuid.uuid5(_EVENT_NAMESPACE, canonical_event_key(e)),
        )
        for e in events
    ]


async def _publish_call_events(
    session: AsyncSession, emitted: Sequence[Any], now: datetime
) -> None:
    """Stage the canonical events and, for each ended call, its Callmarker delivery."""
    await publish(session, *_envelopes(emitted))
    ended = [e for e in emitted if isinstance(e, CallEnded)]
    if ended and await directory_repository.integration_enabled(session, "callmarker"):
        for event in ended:
            await callmarker.stage(session, event.call_id, event.model_dump(mode="json"), now)


async def handle_pbx_event(
    session: AsyncSession,
    event: PbxEvent,
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
) -> None:
    """Feed one raw PBX event to its call's state machine; stage what it emits."""
    await handle_pbx_events(session, [event], directory=directory, timing=timing, now=now)


async def handle_pbx_events(
    session: AsyncSession,
    events: Sequence[PbxEvent],
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
    received_at: Sequence[datetime] | None = None,
) -> None:
    """Feed a batch of raw PBX events, in arrival order, to their calls' state machines.

    The batch's calls are locked and loaded in one statement and saved in one, and what
    the state machines emit is staged together: the same result as one event at a time,
    in a handful of round trips instead of several per event. ``received_at`` (one per
    event) is when each event counts as received, ``now`` when not given.
    """
    stored = await calls_repository.load_many_for_update(session, [e.call_id for e in events])
    # The state machine writes no log line: no call id to bind per event.
    states, emitted = apply_many(
        stored,
        events,
        directory,
        [now] * len(events) if received_at is None else received_at,
        timing,
    )
    await calls_repository.save_many(
        session, [(cid, state, next_deadline(state, timing)) for cid, state in states.items()]
    )
    await _publish_call_events(session, emitted, now)
    if emitted:
        log.info("telephony.call_events", calls=len(states), events=len(emitted))


async def sweep_due_calls(
    session: AsyncSession,
    *,
    directory: Directory,
    timing: Timing,
    now: datetime,
) -> int:
    """Let the state machine act on calls whose deadline passed (held events, timeouts)."""
    due = await calls_repository.due(session, now)
    for call_id, state in due:
        with bind_call_id(call_id):
            state, emitted = tick(state, directory, now, timing)
            await calls_repository.save(session, call_id, state, next_deadline(state, timing))
            await _publish_call_events(session, emitted, now)
    return len(due)


# --- booking's directory --------------------------------------------------------------------


async def on_operator_changed(
    session: AsyncSession, envelope: Envelope[OperatorChanged], deps: Deps
) -> None:
    """Project who has which extension; the configuration cache reloads once it commits."""
    if await directory_repository.save_operator(session, envelope):
        after_commit(session, deps.config.wake)


#: The directory subscription (group ``telephony.directory``); clinics and call centers
#: tell telephony nothing.
DIRECTORY_SUBSCRIPTION: Subscription[Deps] = Subscription(
    group="telephony.directory", handlers={OperatorChanged: on_operator_changed}
)
#: Raw PBX input (not contract events): its consumer, with its own parser, is the PBX
#: ingest in entrypoints/consumers.py.
PBX_INGEST = RawSubscription(group="telephony.pbx-ingest", topics=(PBX_EVENTS_RAW,))
SUBSCRIPTIONS = (PBX_INGEST, DIRECTORY_SUBSCRIPTION)


# --- DIDs and extensions (admin) ------------------------------------------------------------


def canonical_did(raw: str, default_region: str) -> str:
    """A DID in E.164, or :class:`InvalidRequest` (an extension is not a DID)."""
    directory = Directory(default_region=default_region)
    try:
        number = directory.canonical(raw)
    except InvalidPhoneNumber:
        raise InvalidRequest([FieldError("did", "is not a phone number")]) from None
    if directory.is_extension(number):
        raise InvalidRequest(
            [FieldError("did", "is an extension; a DID is a public number (E.164)")]
        )
    return number


def canonical_extension(raw: str) -> str:
    """A bare extension (digits only), or :class:`InvalidRequest`."""
    extension = raw.strip()
    if not _EXTENSION.match(extension):
        raise InvalidRequest([FieldError("extension", "must be 1 to 16 digits")])
    return extension


async def add_did(
    deps: Deps,
    did: str,
    clinic_id: str,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.DidRow:
    """Route a public number to a clinic (409 if it is already routed)."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.insert_did(session, number, clinic_id, description):
            raise Conflict(f"DID {number} is already configured")
        await _publish_audit(session, audit, number)
        row = await queries.get_did(session, number)
        assert row is not None
        await publish_did(session, row)
    await deps.config.refresh_after_change()
    return row


async def change_did(
    deps: Deps,
    did: str,
    clinic_id: str,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.DidRow:
    """Route a configured public number to another clinic, or redescribe it."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.update_did(session, number, clinic_id, description):
            raise NotFound(f"DID {number} is not configured")
        await _publish_audit(session, audit, number)
        row = await queries.get_did(session, number)
        assert row is not None
        await publish_did(session, row)
    await deps.config.refresh_after_change()
    return row


async def remove_did(deps: Deps, did: str, audit: AuditRecorded | None = None) -> None:
    """Stop routing a public number."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session, session.begin():
        row = await queries.get_did(session, number)
        if row is None or not await directory_repository.delete_did(session, number):
            raise NotFound(f"DID {number} is not configured")
        await _publish_audit(session, audit, number)
        await publish_did(session, row, removed_at=datetime.now(UTC))
    await deps.config.refresh_after_change()


async def publish_did(
    session: AsyncSession, row: queries.DidRow, removed_at: datetime | None = None
) -> None:
    """Tell the platform a number's state (analytics labels its reports with it); a
    removed number's last clinic and description, so its past calls keep their label."""
    changed_at = removed_at or row.updated_at
    event = DidChanged(
        did=row.did,
        clinic_id=row.clinic_id,
        description=row.description,
        active=removed_at is None,
        changed_at=changed_at,
    )
    await publish(session, event, occurred_at=changed_at)


async def _publish_audit(session: AsyncSession, audit: AuditRecorded | None, key: str) -> None:
    """Publish a change's audit record, naming the number or extension as stored."""
    if audit is not None:
        await publish(session, audit.model_copy(update={"subject_id": key}))


async def find_did(deps: Deps, did: str) -> queries.DidRow:
    """One configured DID."""
    number = canonical_did(did, deps.settings.default_region)
    async with deps.sessions() as session:
        row = await queries.get_did(session, number)
    if row is None:
        raise NotFound(f"DID {number} is not configured")
    return row


async def add_extension(
    deps: Deps,
    extension: str,
    clinic_id: str | None,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.ExtensionRow:
    """Configure an extension (409 if it already is)."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.insert_extension(session, ext, clinic_id, description):
            raise Conflict(f"extension {ext} is already configured")
        await _publish_audit(session, audit, ext)
        row = await queries.get_extension(session, ext)
    await deps.config.refresh_after_change()
    assert row is not None
    return row


async def change_extension(
    deps: Deps,
    extension: str,
    clinic_id: str | None,
    description: str | None,
    audit: AuditRecorded | None = None,
) -> queries.ExtensionRow:
    """Change a configured extension's clinic or description."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.update_extension(session, ext, clinic_id, description):
            raise NotFound(f"extension {ext} is not configured")
        await _publish_audit(session, audit, ext)
        row = await queries.get_extension(session, ext)
    await deps.config.refresh_after_change()
    assert row is not None
    return row


async def remove_extension(deps: Deps, extension: str, audit: AuditRecorded | None = None) -> None:
    """Remove a configured extension (operators who have it keep it: booking owns that)."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session, session.begin():
        if not await directory_repository.delete_extension(session, ext):
            raise NotFound(f"extension {ext} is not configured")
        await _publish_audit(session, audit, ext)
    await deps.config.refresh_after_change()


async def find_extension(deps: Deps, extension: str) -> queries.ExtensionRow:
    """One extension, configured or known from an operator."""
    ext = canonical_extension(extension)
    async with deps.sessions() as session:
        row = await queries.get_extension(session, ext)
    if row is None:
        raise NotFound(f"extension {ext} is neither configured nor any operator's")
    return row


# --- integration settings (admin) -----------------------------------------------------------


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
