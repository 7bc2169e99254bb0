"""The simulator speaking each PBX's format: translated back, the day is still the day.

For every format a small simulated day is said natively (:func:`native_day`), each message
is translated by that PBX's adapter exactly as the connector or the endpoint would, and the
state machine reads the result: every call must come out as it happened (the simulator's
truth), but for what the PBX cannot say.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from switchboard_contracts import CallEnded, CallStarted, CallTransferred
from switchboard_telephony.adapters.pbx import mango, twilio
from switchboard_telephony.adapters.pbx.base import WebhookDelivery
from switchboard_telephony.adapters.pbx.freeswitch import FreeswitchTranslator
from switchboard_telephony.adapters.pbx_generic import parse_generic
from switchboard_telephony.domain.calls import apply, tick
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.simulator import simulate_day
from switchboard_telephony.simulator_day import DEFAULT_CHAIN, SimulatedDay, SimulationConfig
from switchboard_telephony.simulator_formats import FORMATS, native_call_id, native_day

DAY = date(2026, 11, 25)
HOOKS = "https://hooks.clinic.example/api/telephony/pbx"
DIRECTORY = Directory(
    default_region="RU",
    extensions=frozenset(e for c in DEFAULT_CHAIN for e in (c.reception, *c.extensions)),
    did_to_clinic={c.did: c.clinic_id for c in DEFAULT_CHAIN},
    extension_to_clinic={
        e: c.clinic_id for c in DEFAULT_CHAIN for e in (c.reception, *c.extensions)
    },
)
TIMING = Timing(reorder_grace=timedelta(seconds=10), no_end_timeout=timedelta(hours=2))


@pytest.fixture(scope="module")
def day() -> SimulatedDay:
    return simulate_day(SimulationConfig(day=DAY, calls=240, seed=5, transfer_rate=0.3))


def translator(fmt: str) -> Any:
    """What turns one of ``fmt``'s deliveries into generic events, as telephony does."""
    if fmt == "freeswitch":
        fs = FreeswitchTranslator()
        return lambda d: fs.feed(
            {k.lower(): v for k, v in d.event["payload"]["headers"]}, d.send_at
        )
    if fmt == "mango":
        adapter: Any = mango.MangoAdapter(SecretStr("k"), SecretStr("s"))

        def to_request(d: Any) -> Any:
            return mango.signed_request(
                f"{HOOKS}/mango", "k", "s", d.event["path"], d.event["payload"]
            )

    else:
        adapter = twilio.TwilioAdapter(SecretStr("t"))

        def to_request(d: Any) -> Any:
            payload = d.event["payload"]
            return twilio.signed_request(
                f"{HOOKS}/twilio", "t", payload["params"], payload["query"]
            )

    def translate(d: Any) -> list[dict[str, Any]]:
        request = to_request(d)
        path = urlsplit(request.url).path.split(f"/pbx/{fmt}", 1)[1].strip("/")
        headers = {k.lower(): v for k, v in request.headers.items()}
        delivery = WebhookDelivery(request.url, path, headers, request.body)
        adapter.verify(delivery)
        return list(adapter.translate(delivery))

    return translate


def replay(day: SimulatedDay, fmt: str) -> dict[str, list[Any]]:
    """Every call's canonical events, from ``fmt``'s deliveries of the day."""
    translate = translator(fmt) if fmt != "generic" else lambda d: [d.event]
    states: dict[str, Any] = {}
    emitted: dict[str, list[Any]] = defaultdict(list)
    deliveries = native_day(day, fmt)
    for delivery in deliveries:
        for raw in translate(delivery):
            event, source = parse_generic(raw)
            pbx = event.to_pbx_event(source, timedelta(0))
            state, out = apply(states.get(pbx.call_id), pbx, DIRECTORY, delivery.send_at, TIMING)
            states[pbx.call_id] = state
            emitted[pbx.call_id] += out
    end = deliveries[-1].send_at + timedelta(seconds=11)
    for call_id, state in states.items():
        emitted[call_id] += tick(state, DIRECTORY, end, TIMING)[1]
    return emitted


def close(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 1.0  # Mango and Twilio write whole seconds


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_tells_the_day_as_it_happened(day: SimulatedDay, fmt: str) -> None:
    emitted = replay(day, fmt)
    assert len(emitted) == len(day.calls)
    for call in day.calls:
        events = emitted[native_call_id(fmt, call.call_id)]
        names = [type(e).__name__ for e in events]
        assert names.count("CallStarted") == 1 and names.count("CallEnded") == 1, names
        started, ended = events[0], events[-1]
        assert isinstance(started, CallStarted) and isinstance(ended, CallEnded)
        assert (started.direction, started.clinic_id) == (call.kind, call.clinic_id), fmt
        assert close(started.started_at, call.started_at)
        assert close(ended.ended_at, call.ended_at)
        assert close(ended.answered_at, call.answered_at)
        disposition = call.disposition
        if fmt == "twilio" and disposition == "busy":
            disposition = "missed"  # the parent's "completed" does not say busy
        assert ended.disposition == disposition, (fmt, call)
        assert ended.end_reason != "timeout"
        if call.kind == "incoming":
            assert started.caller == call.caller
        moves = [e.to_extension for e in events if isinstance(e, CallTransferred)]
        assert moves == ([call.transferred_to] if call.transferred_to else [])
        if fmt == "generic" and call.answered_at is not None:
            assert ended.operator_id == call.operator_id


def test_webhook_formats_lie_as_the_generic_deliveries_do(day: SimulatedDay) -> None:
    for fmt in ("mango", "twilio"):
        deliveries = native_day(day, fmt)
        duplicates = [d for d in deliveries if d.duplicate]
        assert duplicates and any(d.late for d in deliveries)
        assert [d.send_at for d in deliveries] == sorted(d.send_at for d in deliveries)
        assert native_day(day, fmt) == deliveries  # same seed, same deliveries
    stream = native_day(day, "freeswitch")
    assert not any(d.duplicate or d.late for d in stream)
