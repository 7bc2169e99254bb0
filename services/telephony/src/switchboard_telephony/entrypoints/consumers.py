"""Telephony's Kafka subscribers: raw PBX events in, canonical call events out; booking's
directory in, the operator projection out."""

from __future__ import annotations

from dataclasses import dataclass
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
from switchboard_runtime.kafka import CatchUp
from switchboard_runtime.service import ServiceRuntime
from switchboard_telephony import handlers
from switchboard_telephony.adapters.config_cache import ConfigCache
from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, PbxEventSource, decode_raw
from switchboard_telephony.domain.model import Timing
from switchboard_telephony.settings import TelephonySettings

GROUP = "telephony.pbx-ingest"
DIRECTORY_GROUP = "telephony.directory"


@dataclass(frozen=True)
class RawEvent:
    """A raw PBX event and its record timestamp, if it has one: when the webhook (or a PBX
    connector writing to the topic) sent it."""

    source: PbxEventSource
    sent_at: datetime | None


def parse_raw(delivery: Delivery) -> RawEvent:
    """Bytes of a raw PBX event to a validated event; a bad one is dead-lettered with a
    reason naming what is wrong (``not_json``, ``unknown_type``, ``missing_call_id`` …)."""
    try:
        source = decode_raw(delivery.value)
    except InvalidPbxEvent as exc:
        raise PermanentError(exc.reason, str(exc)) from exc
    sent_at = (
        datetime.fromtimestamp(delivery.timestamp_ms / 1000, UTC)
        if delivery.timestamp_ms is not None and delivery.timestamp_ms > 0
        else None
    )
    return RawEvent(source, sent_at)


def parse_directory(delivery: Delivery) -> Envelope[Any]:
    """Bytes of a directory event to its envelope; a bad one is dead-lettered."""
    try:
        return parse_envelope(delivery.value)
    except ContractError as exc:
        raise PermanentError("invalid_event", str(exc)) from exc


def register(
    runtime: ServiceRuntime,
    settings: TelephonySettings,
    config: ConfigCache,
    timing: Timing,
    catch_up: CatchUp,
) -> None:
    """Subscribe the state machine to ``pbx.events.raw`` and the operator projection to
    ``booking.directory``.

    Until ``catch_up`` is done (the group has read what waited on the topic when this
    process started), an event counts as received when it was sent (its record timestamp,
    never later than now), not when it is read: events that waited out a restart are not
    later than the reorder grace for it.
    """

    async def handle_raw(session: AsyncSession, raws: list[RawEvent]) -> None:
        # The consumers may start before the background refresher's first load.
        await config.ensure_loaded()
        now = datetime.now(UTC)
        received = [
            now if catch_up.done or raw.sent_at is None else min(raw.sent_at, now) for raw in raws
        ]
        # The time lag is applied first: everything after sees corrected PBX times.
        await handlers.handle_pbx_events(
            session,
            [raw.source.to_pbx_event(config.time_lag) for raw in raws],
            directory=config.directory,
            timing=timing,
            now=now,
            settings=settings,
            received_at=received,
        )

    runtime.subscribe(
        topics=[PBX_EVENTS_RAW],
        group=GROUP,
        parse=parse_raw,
        dedupe_key=lambda raw: raw.source.source_key,
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
