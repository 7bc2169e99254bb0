"""Shared fixtures for telephony's pure-core tests: a directory, timing, event builders."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_telephony.domain.call_state import CallState
from switchboard_telephony.domain.calls import CallEvent, apply, tick
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.domain.pbx_events import PbxEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""When the test calls happen (PBX time, lag corrected)."""
NOW0 = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
"""When the first event of a test call is processed."""

CLINIC_DID = "+74951234567"
DIRECTORY = Directory(
    default_region="RU",
    extensions=frozenset({"100001"}),
    did_to_clinic={CLINIC_DID: "clinic-msk", "+78125550000": "clinic-spb"},
    extension_to_clinic={"101": "clinic-msk", "102": "clinic-msk", "201": "clinic-spb"},
)
TIMING = Timing(reorder_grace=timedelta(seconds=10), no_end_timeout=timedelta(hours=2))


@pytest.fixture
def directory() -> Directory:
    return DIRECTORY


@pytest.fixture
def timing() -> Timing:
    return TIMING


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def now0() -> datetime:
    return NOW0


@pytest.fixture
def ev() -> Callable[..., PbxEvent]:
    """Build a PbxEvent ``seconds`` after T0; the key defaults to ``"<kind>@<seconds>"``."""

    def make(
        kind: str, seconds: float, key: str | None = None, call_id: str = "call-1", **fields: Any
    ) -> PbxEvent:
        return PbxEvent(
            source_key=key or f"{kind}@{seconds}",
            kind=kind,  # type: ignore[arg-type]
            call_id=call_id,
            at=T0 + timedelta(seconds=seconds),
            **fields,
        )

    return make


@pytest.fixture
def feed() -> Callable[..., tuple[CallState, list[CallEvent]]]:
    """Apply events one by one (processing times 1 ms apart from ``now``); all output."""

    def run(
        events: Iterable[PbxEvent],
        state: CallState | None = None,
        now: datetime = NOW0,
        then_tick_at: datetime | None = None,
    ) -> tuple[CallState, list[CallEvent]]:
        out: list[CallEvent] = []
        for i, event in enumerate(events):
            state, emitted = apply(state, event, DIRECTORY, now + timedelta(milliseconds=i), TIMING)
            out += emitted
        assert state is not None
        if then_tick_at is not None:
            state, emitted = tick(state, DIRECTORY, then_tick_at, TIMING)
            out += emitted
        return state, out

    return run
