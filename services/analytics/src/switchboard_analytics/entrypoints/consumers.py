"""Analytics' Kafka subscriber: calls, touches and the directory, in one consumer group."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_analytics import handlers
from switchboard_contracts import (
    BOOKING_DIRECTORY,
    CRM_TOUCHES,
    TELEPHONY_CALLS,
    ContractError,
    Envelope,
    parse_envelope,
)
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.service import ServiceRuntime

GROUP = "analytics.calls"
#: Every topic the projection reads. One group, so one consumer applies them one batch at
#: a time: the roll-ups are shared by calls of every partition.
TOPICS = (TELEPHONY_CALLS, CRM_TOUCHES, BOOKING_DIRECTORY)


def parse(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a contract event to its envelope; a bad one is dead-lettered."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def dedupe_key(envelope: Envelope[Any]) -> str:
    """Events are applied once each, by ``event_id``."""
    return str(envelope.event_id)


def register(runtime: ServiceRuntime, projection: handlers.Projection) -> None:
    """Project the topics into the call log, the roll-ups and their side tables."""

    async def handle_batch(session: AsyncSession, envelopes: list[Envelope[Any]]) -> None:
        await handlers.project_batch(session, envelopes, projection)

    runtime.subscribe(
        topics=[TELEPHONY_CALLS, CRM_TOUCHES, BOOKING_DIRECTORY],
        group=GROUP,
        parse=parse,
        dedupe_key=dedupe_key,
        handle_batch=handle_batch,
    )
