"""Telephony's Kafka subscribers: raw PBX events in, canonical call events out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_contracts import PBX_EVENTS_RAW
from switchboard_runtime.consumer import Delivery, PermanentError
from switchboard_runtime.service import ServiceRuntime
from switchboard_telephony import handlers
from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, decode_raw
from switchboard_telephony.domain.model import Directory, PbxEvent, Timing
from switchboard_telephony.settings import TelephonySettings

GROUP = "telephony.pbx-ingest"


def register(
    runtime: ServiceRuntime, settings: TelephonySettings, directory: Directory, timing: Timing
) -> None:
    """Subscribe the state machine to ``pbx.events.raw``."""
    lag = timedelta(minutes=settings.time_lag_minutes)

    def parse(delivery: Delivery) -> PbxEvent:
        try:
            return decode_raw(delivery.value).to_pbx_event(lag)
        except InvalidPbxEvent as exc:
            raise PermanentError(exc.reason, str(exc)) from exc

    async def handle(session: AsyncSession, event: PbxEvent) -> None:
        await handlers.handle_pbx_event(
            session,
            event,
            directory=directory,
            timing=timing,
            now=datetime.now(UTC),
            settings=settings,
        )

    runtime.subscribe(
        topics=[PBX_EVENTS_RAW],
        group=GROUP,
        parse=parse,
        dedupe_key=lambda e: e.source_key,
        handle=handle,
    )
