"""Telephony's PBX ingest: raw PBX events in (adapter-specific bytes, not contract events),
canonical call events out. The directory subscription is a table in ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.kafka import CatchUp
from switchboard_runtime.service import ServiceRuntime
from switchboard_telephony import handlers
from switchboard_telephony.adapters.config_cache import ConfigCache
from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, PbxEventSource, decode_raw
from switchboard_telephony.domain.config import Timing


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A raw PBX event and its record timestamp (Unix milliseconds), if it has one: when
    the webhook (or a PBX connector writing to the topic) sent it."""

    source: PbxEventSource
    timestamp_ms: int | None

    @property
    def sent_at(self) -> datetime | None:
        """When the event was sent (its record timestamp); None when the record has none."""
        # Read only until the consumer has caught up: not made for every event.
        if self.timestamp_ms is None or self.timestamp_ms <= 0:
            return None
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


def parse_raw(delivery: Delivery) -> RawEvent:
    """Bytes of a raw PBX event to a validated event; a bad one is dead-lettered with a
    reason naming what is wrong (``not_json``, ``unknown_type``, ``missing_call_id`` …)."""
    try:
        source = decode_raw(delivery.value)
    except InvalidPbxEvent as exc:
        raise PermanentError(exc.reason, str(exc)) from exc
    return RawEvent(source, delivery.timestamp_ms)


def _received(raw: RawEvent, now: datetime) -> datetime:
    """When ``raw`` counts as received before the catch-up: when it was sent, never later
    than ``now``."""
    sent_at = raw.sent_at
    return now if sent_at is None else min(sent_at, now)


def register_pbx_ingest(
    runtime: ServiceRuntime, config: ConfigCache, timing: Timing, catch_up: CatchUp
) -> None:
    """Subscribe the state machine to ``pbx.events.raw``.

    Until ``catch_up`` is done (the group has read what waited on the topic when this
    process started), an event counts as received when it was sent (its record timestamp,
    never later than now), not when it is read: events that waited out a restart are not
    later than the reorder grace for it.
    """

    async def handle_raw(session: AsyncSession, raws: list[RawEvent]) -> None:
        # The consumers may start before the background refresher's first load.
        await config.ensure_loaded()
        now = datetime.now(UTC)
        received = [now] * len(raws) if catch_up.done else [_received(raw, now) for raw in raws]
        # The time lag is applied first: everything after sees corrected PBX times.
        time_lag = config.time_lag
        await handlers.handle_pbx_events(
            session,
            [raw.source.to_pbx_event(time_lag) for raw in raws],
            directory=config.directory,
            timing=timing,
            now=now,
            received_at=received,
        )

    runtime.subscribe(
        topics=list(handlers.PBX_INGEST.topics),
        group=handlers.PBX_INGEST.group,
        parse=parse_raw,
        dedupe_key=lambda raw: raw.source.source_key,
        handle_batch=handle_raw,
    )
