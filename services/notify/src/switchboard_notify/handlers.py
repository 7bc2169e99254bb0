"""Notify's handlers: one per consumed event kind, and the "I'll take it" command.

Consumed events change the shared pop-up state in Redis (:class:`PopupStore`), which fans
the change out to every replica. The consumer calls them inside its batch transaction, so
directory rows and the idempotency marks commit together; the Redis side is idempotent (a
replayed event finds its change already made and publishes nothing).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_contracts import (
    CallAnswered,
    CallClaimed,
    CallEnded,
    CallerIdentified,
    CallRinging,
    CallStarted,
    ClinicChanged,
    Envelope,
    Event,
    OperatorChanged,
    TouchUpdated,
    WorklistChanged,
)
from switchboard_notify.adapters import directory
from switchboard_notify.adapters.current_calls import CurrentCallStore
from switchboard_notify.adapters.popup_store import CloseResult, PopupStore
from switchboard_notify.domain import current_call, popups
from switchboard_notify.settings import NotifySettings
from switchboard_runtime.logging import bind_call_id, get_logger
from switchboard_runtime.messaging import Subscription, publish
from switchboard_runtime.retrying import RetryPolicy

log = get_logger(__name__)

# CallClaimed ids derive from the call: a retried take never publishes a second claim.
_CLAIM_NAMESPACE = uuid.UUID("9f4c2a61-0b7e-4d3a-8e15-6c2d9b7a4f30")

# Recording a won take: five tries over about 1.5 s (0.1 s, doubling), short enough for the
# operator's request to wait on, then the loss is logged.
CLAIM_RETRY = RetryPolicy(first_delay=0.1, attempts=5, log_event="notify.claim_retried")


class RedisUnavailable(ConnectionError):
    """Redis did not answer. A builtin ``ConnectionError``, so the runtime's consumer
    treats it as the infrastructure being away and retries (bounded back-off) rather than
    dead-lettering the event."""


@dataclass(frozen=True)
class Deps:
    """What the handlers need, built once by ``bootstrap``."""

    store: PopupStore
    current_calls: CurrentCallStore
    settings: NotifySettings


E = TypeVar("E", bound=Event)
NotifyHandler = Callable[[AsyncSession, Envelope[E], Deps], Awaitable[None]]


def _redis_is_infrastructure(handler: NotifyHandler[E]) -> NotifyHandler[E]:
    """Redis errors become :class:`RedisUnavailable`: retried, never dead-lettered."""

    @functools.wraps(handler)
    async def wrapped(session: AsyncSession, envelope: Envelope[E], deps: Deps) -> None:
        try:
            await handler(session, envelope, deps)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise RedisUnavailable(repr(exc)) from exc

    return wrapped


@_redis_is_infrastructure
async def on_call_started(
    session: AsyncSession, envelope: Envelope[CallStarted], deps: Deps
) -> None:
    """An incoming call ringing on an extension opens its pop-up there; outgoing and
    internal calls are remembered as never popping up."""
    event = envelope.payload
    with bind_call_id(event.call_id):
        if event.direction != "incoming":
            await deps.store.ignore(event.call_id)
            return
        if not event.extension:
            return  # not ringing anywhere yet (IVR, queue): a CallRinging will follow
        clinic = popups.clinic_ref(
            event.clinic_id, await directory.clinic_name(session, event.clinic_id)
        )
        call = popups.call_details(
            caller=event.caller,
            clinic=clinic,
            ringing_since=event.started_at,
            region=deps.settings.default_region,
        )
        if await deps.store.ring(event.call_id, event.extension, call, full=True):
            log.info("notify.popup_opened", extension=event.extension)


@_redis_is_infrastructure
async def on_call_ringing(
    session: AsyncSession, envelope: Envelope[CallRinging], deps: Deps
) -> None:
    """The call rings on (another) extension: its pop-up opens there too."""
    event = envelope.payload
    with bind_call_id(event.call_id):
        clinic = popups.clinic_ref(
            event.clinic_id, await directory.clinic_name(session, event.clinic_id)
        )
        call = popups.call_details(
            caller=None,
            clinic=clinic,
            ringing_since=event.ringing_at,
            region=deps.settings.default_region,
        )
        # A ringing that arrives after the answer finds the call closed: nothing reopens.
        if await deps.store.ring(event.call_id, event.extension, call, full=False):
            log.info("notify.popup_opened", extension=event.extension)


async def _handler_of(
    session: AsyncSession, operator_id: str | None, extension: str | None
) -> dict[str, Any] | None:
    name = None
    if operator_id:
        record = await directory.operator(session, operator_id)
        name = record.name if record else None
    return popups.handled_by(operator_id, name, extension)


async def _become_current(
    session: AsyncSession,
    deps: Deps,
    call_id: str,
    operator_id: str | None,
    extension: str | None,
    answered_at: datetime,
) -> None:
    # The PBX may not say who picked up; an extension with one operator does.
    operator_id = operator_id or await directory.sole_operator_on(session, extension)
    if operator_id is None:
        return
    answer = current_call.answer_info(answered_at, extension, "answered")
    if await deps.current_calls.answer(call_id, operator_id, answer):
        log.info("notify.current_call", operator_id=operator_id, state="on_call")


@_redis_is_infrastructure
async def on_call_answered(
    session: AsyncSession, envelope: Envelope[CallAnswered], deps: Deps
) -> None:
    """Someone picked up: the pop-up closes for everyone, saying who, and the call becomes
    the current call of the operator who answered."""
    event = envelope.payload
    with bind_call_id(event.call_id):
        by = await _handler_of(session, event.operator_id, event.extension)
        result = await deps.store.close(
            event.call_id, popups.closed_info("answered", event.answered_at, by)
        )
        if result.outcome == 1:
            log.info("notify.popup_closed", reason="answered")
        await _become_current(
            session, deps, event.call_id, event.operator_id, event.extension, event.answered_at
        )


@_redis_is_infrastructure
async def on_call_ended(session: AsyncSession, envelope: Envelope[CallEnded], deps: Deps) -> None:
    """The call ended: the pop-up closes for everyone (answered if that is the first news),
    and the current call of whoever answered goes to wrap-up."""
    event = envelope.payload
    with bind_call_id(event.call_id):
        answered = event.disposition == "answered"
        by = await _handler_of(session, event.operator_id, event.extension) if answered else None
        close = popups.closed_info(
            "answered" if answered else "ended", event.ended_at, by, event.disposition
        )
        result = await deps.store.close(event.call_id, close)
        if result.outcome == 1:
            log.info("notify.popup_closed", reason=close["reason"])
        if not answered:
            return
        await _become_current(
            session,
            deps,
            event.call_id,
            event.operator_id,
            event.extension,
            event.answered_at or event.ended_at,
        )
        end = current_call.end_info(event.ended_at, event.talk_seconds)
        if await deps.current_calls.end(event.call_id, end):
            log.info("notify.current_call", state="wrap_up")


@_redis_is_infrastructure
async def on_caller_identified(
    _session: AsyncSession, envelope: Envelope[CallerIdentified], deps: Deps
) -> None:
    """Who is calling (or nobody): in the pop-up from the start, or an update in place."""
    event = envelope.payload
    with bind_call_id(event.call_id):
        ident = popups.identification(event.contact, event.phone, deps.settings.default_region)
        if await deps.store.identify(event.call_id, ident, event.identified_at):
            log.info("notify.popup_identified", identification=ident["identification"])


@_redis_is_infrastructure
async def on_touch_updated(
    _session: AsyncSession, envelope: Envelope[TouchUpdated], deps: Deps
) -> None:
    """Who the call is with changed (a merge, a lead claimed, an operator chose a
    candidate); a result set after the call ended finishes its wrap-up. A TouchUpdated
    without a contact changes no pop-up."""
    event = envelope.payload
    if not event.call_id:
        return
    with bind_call_id(event.call_id):
        if await deps.current_calls.result(event.call_id, event.result):
            log.info("notify.current_call_cleared", reason="result_set")
        if event.contact is None:
            return
        ident = popups.identification(event.contact, None, deps.settings.default_region)
        ident.pop("caller")  # keep the number CallerIdentified gave
        if await deps.store.identify(event.call_id, ident, event.updated_at):
            log.info("notify.popup_identified", identification=ident["identification"])


@_redis_is_infrastructure
async def on_operator_changed(
    session: AsyncSession, envelope: Envelope[OperatorChanged], deps: Deps
) -> None:
    """Who sits on which extension: connected consoles follow a move or end on
    deactivation."""
    event = envelope.payload
    if await directory.upsert_operator(session, envelope):
        await deps.store.announce_operator(
            {
                "operator_id": event.operator_id,
                "name": event.name,
                "extension": event.extension or None,
                "active": event.active,
            }
        )


@_redis_is_infrastructure
async def on_worklist_changed(
    _session: AsyncSession, envelope: Envelope[WorklistChanged], deps: Deps
) -> None:
    """The call-back worklist changed (analytics): every console is told to read it again."""
    event = envelope.payload
    await deps.store.announce_worklist(
        {"call_id": event.call_id, "change": event.change, "clinic_id": event.clinic_id}
    )


async def on_clinic_changed(
    session: AsyncSession, envelope: Envelope[ClinicChanged], _deps: Deps
) -> None:
    """The clinic name a pop-up shows."""
    await directory.upsert_clinic(session, envelope)


#: notify's whole subscription (group ``notify``). CallTransferred, CallTagged and
#: CallCenterChanged show nothing (a call that moves rings again: CallRinging); TouchCreated's
#: contact came first as CallerIdentified, published whether or not touches are made.
SUBSCRIPTION: Subscription[Deps] = Subscription(
    group="notify",
    handlers={
        CallStarted: on_call_started,
        CallRinging: on_call_ringing,
        CallAnswered: on_call_answered,
        CallEnded: on_call_ended,
        CallerIdentified: on_caller_identified,
        TouchUpdated: on_touch_updated,
        OperatorChanged: on_operator_changed,
        ClinicChanged: on_clinic_changed,
        WorklistChanged: on_worklist_changed,
    },
)
SUBSCRIPTIONS = (SUBSCRIPTION,)


async def settle_unidentified_forever(store: PopupStore, bound_seconds: float) -> None:
    """Every replica, a few times per bound: pop-ups still unidentified past the bound show
    the number as unknown (Redis decides which, atomically, so replicas never collide)."""
    period = min(0.25, bound_seconds / 4)
    while True:
        try:
            settled = await store.settle_unidentified(popups.unidentified())
            if settled:
                log.info("notify.popups_unidentified", count=settled)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The hub reports Redis being away; try again on the next round.
            log.debug("notify.settle_unavailable", error=repr(exc))
        await asyncio.sleep(period)


# --- "I'll take it" ---------------------------------------------------------------------


@dataclass(frozen=True)
class TakeOutcome:
    """What a take did: ``status`` is ``taken``, ``already_closed`` or ``not_found``."""

    status: str
    close: dict[str, Any] | None


async def take_call(
    *,
    call_id: str,
    operator_id: str,
    name: str,
    extensions: frozenset[str],
    store: PopupStore,
    current_calls: CurrentCallStore,
    sessions: async_sessionmaker[AsyncSession],
) -> TakeOutcome:
    """Close the pop-up for everyone because ``operator_id`` takes the call, record them as
    the call's admin (``CallClaimed`` on ``notify.claims``, through the outbox) and make it
    their current call.

    Only an operator on an extension the call is ringing on may take it; for anyone else
    the call does not exist (``not_found``), so nothing about it leaks.
    """
    now = datetime.now(UTC)
    with bind_call_id(call_id):
        extension = next(iter(extensions)) if len(extensions) == 1 else None
        by = popups.handled_by(operator_id, name, extension)
        try:
            result: CloseResult = await store.take(
                call_id, popups.closed_info("taken", now, by), extensions
            )
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise RedisUnavailable(repr(exc)) from exc
        if result.outcome < 0:
            return TakeOutcome("not_found", None)
        if result.outcome == 0 and not _taken_by(result.close, operator_id):
            return TakeOutcome("already_closed", result.close)
        claim = CallClaimed(
            call_id=call_id, operator_id=operator_id, claimed_at=now, extension=result.extension
        )
        await _record_claim(sessions, claim, now)
        log.info("notify.popup_closed", reason="taken")
        answer = current_call.answer_info(now, result.extension, "taken")
        try:
            await current_calls.answer(call_id, operator_id, answer)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The take stands; the panel comes with the phone's answer or not at all.
            log.warning("notify.current_call_unavailable", error=repr(exc))
        return TakeOutcome("taken", result.close)


def _taken_by(close: dict[str, Any] | None, operator_id: str) -> bool:
    # A take retried after a success Redis confirmed too late finds its own close.
    if not close or close.get("reason") != "taken":
        return False
    return (close.get("handled_by") or {}).get("operator_id") == operator_id


async def _record_claim(
    sessions: async_sessionmaker[AsyncSession], claim: CallClaimed, at: datetime
) -> None:
    # The take already won in Redis; a database that is briefly away must not lose the
    # claim, so retry a few times before giving up loudly.
    async def record() -> None:
        async with sessions() as session, session.begin():
            await publish(
                session,
                claim,
                occurred_at=at,
                event_id=uuid.uuid5(_CLAIM_NAMESPACE, claim.call_id),
            )

    try:
        await CLAIM_RETRY.call(record)
    except Exception as exc:
        log.error("notify.claim_not_recorded", error=repr(exc))
