"""crm-touch's Kafka subscriber: calls, settings, clients, appointments and clinics in.

One consumer group reads every input topic, so within a replica the events are applied one
after the other (no two handlers race for the same touch); replicas share the partitions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import (
    BOOKING_APPOINTMENTS,
    BOOKING_CLIENTS,
    BOOKING_DIRECTORY,
    TELEPHONY_CALLS,
    TELEPHONY_SETTINGS,
    ContractError,
    Envelope,
    parse_envelope,
)
from switchboard_crm_touch import handlers
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.service import ServiceRuntime

GROUP = "crm-touch"


def parse(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a contract event to its envelope; a bad one is dead-lettered."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def register(runtime: ServiceRuntime, deps: handlers.Deps) -> None:
    """Subscribe crm-touch's handlers to its input topics (idempotent on ``event_id``)."""

    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await handlers.handle_event(session, deps, envelope)

    runtime.subscribe(
        topics=[
            TELEPHONY_SETTINGS,
            BOOKING_DIRECTORY,
            BOOKING_CLIENTS,
            TELEPHONY_CALLS,
            BOOKING_APPOINTMENTS,
        ],
        group=GROUP,
        parse=parse,
        dedupe_key=lambda env: str(env.event_id),
        handle=handle,
    )
