"""Analytics' Kafka subscribers."""

from __future__ import annotations

from typing import Any

from switchboard_analytics import handlers
from switchboard_contracts import TELEPHONY_CALLS, ContractError, Envelope, parse_envelope
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.service import ServiceRuntime

GROUP = "analytics.calls"


def parse(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a contract event to its envelope; a bad one is dead-lettered."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def register(runtime: ServiceRuntime) -> None:
    """Project ``telephony.calls`` into the call log."""
    runtime.subscribe(
        topics=[TELEPHONY_CALLS],
        group=GROUP,
        parse=parse,
        dedupe_key=lambda env: str(env.event_id),
        handle=handlers.project_call_event,
    )
