"""Notify's Kafka subscriber: call, touch and directory events, one consumer group.

Every replica joins the same group, so each event is applied by exactly one of them (at
least once; replays are idempotent); Redis makes the outcome visible to all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import (
    BOOKING_DIRECTORY,
    CRM_TOUCHES,
    TELEPHONY_CALLS,
    ContractError,
    Envelope,
    parse_envelope,
)
from switchboard_notify import handlers
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.service import ServiceRuntime

GROUP = "notify"


def parse(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a contract event to its envelope; a bad one is dead-lettered."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def register(runtime: ServiceRuntime, deps: handlers.Deps) -> None:
    """Subscribe the handlers to the call, touch and directory topics."""

    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await handlers.handle_event(session, envelope, deps)

    runtime.subscribe(
        # Literal names (not a variable): the deployment tests read them statically to check
        # that every dead-letter topic has a KafkaTopic.
        topics=[TELEPHONY_CALLS, CRM_TOUCHES, BOOKING_DIRECTORY],
        group=GROUP,
        parse=parse,
        dedupe_key=lambda env: str(env.event_id),
        handle=handle,
    )
