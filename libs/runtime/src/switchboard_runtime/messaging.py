"""The message layer: a service says what it handles and what it publishes; this module
does the rest the same way everywhere.

**Consuming.** A service declares each consumer group as a :class:`Subscription`, a table
of contract event class → handler (``HANDLERS = {CallStarted: on_call_started, ...}``), or
one batch handler for a list of event classes when it applies whole batches. From it the
runtime derives the topics (from the contracts), parses each envelope once, dead-letters
what it cannot read (reason ``invalid_event``), records the ``event_id`` for idempotency
and calls the handler with one signature everywhere::

    async def on_call_started(
        session: AsyncSession, envelope: Envelope[CallStarted], deps: Deps
    ) -> None

(a batch handler gets ``list[Envelope[Any]]``). Events of the subscribed topics that the
table does not name are skipped. The subscription is importable data: the deployment
tests, the AsyncAPI export and the READMEs read it.

**Publishing.** :func:`publish` stages events in the outbox in the caller's transaction,
with topic and key from the contracts, and wakes the relay once that transaction commits.
The session must come from the service's :class:`~switchboard_runtime.service.ServiceRuntime`
(its sessions know the settings and the relay).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from switchboard_contracts import (
    ContractError,
    Envelope,
    Event,
    make_envelope,
    message_key,
    parse_envelope,
    topic_for,
)
from switchboard_contracts.export import Consumer
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.outbox import add_events, outbox_json
from switchboard_runtime.settings import ServiceSettings

__all__ = [
    "BatchEventHandler",
    "EventHandler",
    "OutboxContext",
    "RawSubscription",
    "Subscription",
    "after_commit",
    "event_id_key",
    "outbox_row",
    "parse_contract_event",
    "platform_consumers",
    "publish",
    "session_settings",
]

D = TypeVar("D")

EventHandler = Callable[[AsyncSession, Envelope[Any], D], Awaitable[None]]
"""``(session, envelope, deps)``: applies one event inside the batch's transaction."""
BatchEventHandler = Callable[[AsyncSession, list[Envelope[Any]], D], Awaitable[None]]
"""``(session, envelopes, deps)``: applies a batch's fresh events, in arrival order."""


def parse_contract_event(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a contract event to its envelope; one that does not parse is a
    :class:`PermanentError` (``invalid_event``), so it is dead-lettered with the reason."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def event_id_key(envelope: Envelope[Any]) -> str:
    """The idempotency key of a contract event: its ``event_id``."""
    return str(envelope.event_id)


@dataclass(frozen=True)
class Subscription(Generic[D]):
    """One consumer group of a service and the contract events it handles.

    Give ``handlers`` (event class → :data:`EventHandler`), or ``events`` with one
    ``batch`` handler (:data:`BatchEventHandler`) for services that apply whole batches.
    """

    group: str
    handlers: Mapping[type[Event], EventHandler[D]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    batch: BatchEventHandler[D] | None = None
    events: tuple[type[Event], ...] = ()

    def __post_init__(self) -> None:
        if bool(self.handlers) == (self.batch is not None):
            raise ValueError("a subscription has handlers or one batch handler, not both")
        if self.batch is not None and not self.events:
            raise ValueError("a batch subscription names the events it handles")

    @property
    def event_types(self) -> tuple[type[Event], ...]:
        """Every event class this subscription handles."""
        return tuple(self.handlers) if self.handlers else self.events

    @property
    def topics(self) -> tuple[str, ...]:
        """The logical topics that carry those events (from the contracts), sorted."""
        return tuple(sorted({topic_for(cls.event_type) for cls in self.event_types}))

    def bind(
        self, deps: D
    ) -> tuple[
        Callable[[AsyncSession, Envelope[Any]], Awaitable[None]] | None,
        Callable[[AsyncSession, list[Envelope[Any]]], Awaitable[None]] | None,
    ]:
        """The per-value or per-batch function the consumer calls, with ``deps`` bound."""
        if self.batch is not None:
            batch = self.batch
            wanted = frozenset(self.events)

            async def handle_batch(session: AsyncSession, envelopes: list[Envelope[Any]]) -> None:
                chosen = [e for e in envelopes if type(e.payload) in wanted]
                if chosen:
                    await batch(session, chosen, deps)

            return None, handle_batch
        table = dict(self.handlers)

        async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
            handler = table.get(type(envelope.payload))
            if handler is not None:
                await handler(session, envelope, deps)

        return handle, None


# --- publishing --------------------------------------------------------------------------

_OUTBOX_KEY = "switchboard.outbox"


@dataclass(frozen=True)
class OutboxContext:
    """What :func:`publish` needs from the session's service: its settings (topic prefix,
    producer name) and the relay's ``wake``. The runtime puts it in every session's
    ``info``."""

    settings: ServiceSettings
    wake: Callable[[], None]


_ACTIONS_KEY = "switchboard.after_commit"


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Call ``action`` once the session's current transaction commits (never on rollback):
    wake a relay or a cache only when the change is visible to others.

    Only the outermost commit counts: releasing a savepoint makes nothing visible."""
    sync = session.sync_session
    if _ACTIONS_KEY not in sync.info:
        sa_event.listen(sync, "after_commit", _run_after_commit)
        sa_event.listen(sync, "after_transaction_end", _forget_after_end)
    sync.info.setdefault(_ACTIONS_KEY, []).append(action)


def _run_after_commit(sync: Session) -> None:
    if sync.in_nested_transaction():
        return  # a savepoint was released: the outer transaction may still roll back
    for action in sync.info.pop(_ACTIONS_KEY, []):
        action()
    sync.info[_ACTIONS_KEY] = []


def _forget_after_end(sync: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (committed or not)
        sync.info[_ACTIONS_KEY] = []


async def publish(
    session: AsyncSession,
    *events: Event | Envelope[Any],
    occurred_at: datetime | None = None,
    correlation_id: str | None = None,
    event_id: UUID | None = None,
) -> list[Envelope[Any]]:
    """Stage ``events`` in the outbox of ``session``'s transaction, each on its topic with
    its key (from the contracts); the relay is woken once the transaction commits.

    An :class:`Event` is wrapped in a new envelope (producer: the service; ``occurred_at``
    now unless given; ``correlation_id`` the call id when it has one; ``event_id`` new
    unless given — give one only with a single event); an :class:`Envelope` is staged as
    it is. Returns the envelopes staged.
    """
    context = session.info.get(_OUTBOX_KEY)
    if not isinstance(context, OutboxContext):
        raise RuntimeError("publish() needs a session from the service's runtime")
    if event_id is not None and len(events) != 1:
        raise ValueError("an explicit event_id names one event")
    now = occurred_at or datetime.now(UTC)
    envelopes = [
        item
        if isinstance(item, Envelope)
        else make_envelope(
            item,
            producer=context.settings.service_name,
            occurred_at=now,
            correlation_id=correlation_id,
            event_id=event_id,
        )
        for item in events
    ]
    await add_events(
        session,
        context.settings,
        [(topic_for(e.event_type), message_key(e.payload), e) for e in envelopes],
    )
    after_commit(session, context.wake)
    return envelopes


def outbox_row(settings: ServiceSettings, envelope: Envelope[Any]) -> dict[str, Any]:
    """The outbox row :func:`publish` stages for ``envelope`` (``event_id``, the physical
    ``topic``, ``key``, ``value``), for a statement that writes it itself beside the
    change it announces (booking's one-statement write)."""
    return {
        "event_id": envelope.event_id,
        "topic": settings.topic(topic_for(envelope.event_type)),
        "key": message_key(envelope.payload),
        "value": outbox_json(envelope),
    }


def session_settings(session: AsyncSession) -> ServiceSettings:
    """The settings of the service whose runtime made ``session``."""
    context = session.info.get(_OUTBOX_KEY)
    if not isinstance(context, OutboxContext):
        raise RuntimeError("this session does not come from a service's runtime")
    return context.settings


def outbox_session_info(settings: ServiceSettings, wake: Callable[[], None]) -> dict[str, Any]:
    """The ``info`` every session of a service starts with, for :func:`publish`."""
    return {_OUTBOX_KEY: OutboxContext(settings, wake)}


@dataclass(frozen=True)
class RawSubscription:
    """A consumer group reading topics whose messages are not contract events (raw PBX
    input): the service subscribes it with a parser of its own, and declares it here so
    that it is data like every other subscription."""

    group: str
    topics: tuple[str, ...]


#: The services that consume from Kafka (each has a ``handlers`` module with ``SUBSCRIPTIONS``).
CONSUMING_SERVICES: tuple[str, ...] = ("telephony", "booking", "crm-touch", "analytics", "notify")


def platform_consumers(services: Iterable[str] = CONSUMING_SERVICES) -> list[Consumer]:
    """Every consumer group of ``services`` (e.g. ``"crm-touch"``), read from the
    ``SUBSCRIPTIONS`` of each one's ``handlers`` module: what the deployment's topics and
    the AsyncAPI document are checked and written from."""
    found = []
    for service in services:
        module = importlib.import_module(f"switchboard_{service.replace('-', '_')}.handlers")
        for sub in module.SUBSCRIPTIONS:
            if isinstance(sub, RawSubscription):
                found.append(Consumer(service, sub.group, topics=sub.topics))
            else:
                types = tuple(cls.event_type for cls in sub.event_types)
                found.append(Consumer(service, sub.group, event_types=types, topics=()))
    return found
