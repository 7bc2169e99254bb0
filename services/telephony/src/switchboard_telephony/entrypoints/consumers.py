"""Telephony's Kafka subscribers: raw PBX events in, canonical call events out; booking's
directory in, the operator projection out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import (
    BOOKING_DIRECTORY,
    PBX_EVENTS_RAW,
    ContractError,
    Envelope,
    parse_envelope,
)
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.service import ServiceRuntime
from switchboard_telephony import handlers
from switchboard_telephony.adapters.config_cache import ConfigCache
from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, PbxEventSource, decode_raw
from switchboard_telephony.domain.model import Timing
from switchboard_telephony.settings import TelephonySettings

GROUP = "telephony.pbx-ingest"
DIRECTORY_GROUP = "telephony.directory"


def parse_raw(delivery: Delivery) -> PbxEventSource:
    """Bytes of a raw PBX event to a validated event; a bad one is dead-lettered with a
    reason naming what is wrong (``not_json``, ``unknown_type``, ``missing_call_id`` …)."""
    try:
        return decode_raw(delivery.value)
    except InvalidPbxEvent as exc:
        raise PermanentError(exc.reason, str(exc)) from exc


def parse_directory(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a directory event to its envelope; a bad one is dead-lettered."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def register(
    runtime: ServiceRuntime, settings: TelephonySettings, config: ConfigCache, timing: Timing
) -> None:
    """Subscribe the state machine to ``pbx.events.raw`` and the operator projection to
    ``booking.directory``."""

    async def handle_raw(session: AsyncSession, sources: list[PbxEventSource]) -> None:
        # The consumers may start before the background refresher's first load.
        await config.ensure_loaded()
        # The time lag is applied first: everything after sees corrected PBX times.
        await handlers.handle_pbx_events(
            session,
            [source.to_pbx_event(config.time_lag) for source in sources],
            directory=config.directory,
            timing=timing,
            now=datetime.now(UTC),
            settings=settings,
        )

    runtime.subscribe(
        topics=[PBX_EVENTS_RAW],
        group=GROUP,
        parse=parse_raw,
        dedupe_key=lambda source: source.source_key,
        handle_batch=handle_raw,
    )

    async def handle_directory(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await handlers.handle_directory_event(session, envelope, on_change=config.wake)

    runtime.subscribe(
        topics=[BOOKING_DIRECTORY],
        group=DIRECTORY_GROUP,
        parse=parse_directory,
        dedupe_key=lambda envelope: str(envelope.event_id),
        handle=handle_directory,
    )
