"""The PBX simulator: the properties a clinic would check in a simulated day."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from switchboard_telephony.adapters.pbx_generic import parse_generic
from switchboard_telephony.domain.calls import apply, tick
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.simulator import simulate_day
from switchboard_telephony.simulator_day import DEFAULT_CHAIN, SimulatedDay, SimulationConfig

DAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def day() -> SimulatedDay:
    return simulate_day(SimulationConfig(day=DAY, calls=2000, seed=7))


def digits(number: str) -> str:
    """The last ten digits: one Russian number however it is written."""
    return re.sub(r"\D", "", number)[-10:]


def test_the_same_seed_gives_the_same_day_and_another_seed_another() -> None:
    config = SimulationConfig(day=DAY, calls=300, seed=3)
    assert simulate_day(config).deliveries == simulate_day(config).deliveries
    other = simulate_day(SimulationConfig(day=DAY, calls=300, seed=4))
    assert other.events != simulate_day(config).events


def test_the_day_has_the_calls_asked_for_in_every_kind(day: SimulatedDay) -> None:
    kinds = Counter(c.kind for c in day.calls)
    assert len(day.calls) == 2000
    assert kinds["internal"] == round(2000 * 0.06)
    assert kinds["outgoing"] == round(2000 * 0.14)
    assert kinds["incoming"] == 2000 - kinds["internal"] - kinds["outgoing"]
    assert len({c.call_id for c in day.calls}) == 2000
    assert any(c.transferred_to for c in day.calls)


def test_arrivals_are_concentrated_in_business_hours(day: SimulatedDay) -> None:
    incoming = [c for c in day.calls if c.kind == "incoming"]
    hours = Counter(day.local_start(c).hour for c in incoming)
    in_hours = sum(n for h, n in hours.items() if 8 <= h < 20)
    assert in_hours / len(incoming) > 0.9
    # The late-morning peak is far above the small hours, and the lunch dip shows.
    assert hours[10] + hours[11] > 20 * (hours[2] + hours[3] + hours[4] + 1)
    assert hours[13] < hours[11]
    # Everything is on the simulated day in each clinic's own time zone.
    assert {day.local_start(c).date() for c in day.calls} == {DAY}


def test_missed_calls_are_near_the_configured_rate_and_all_night_calls_are_missed(
    day: SimulatedDay,
) -> None:
    incoming = [c for c in day.calls if c.kind == "incoming"]
    missed = [c for c in incoming if c.disposition != "answered"]
    assert abs(len(missed) / len(incoming) - 0.15) < 0.01
    night = [c for c in incoming if not 8 <= day.local_start(c).hour < 20]
    assert night and all(c.disposition != "answered" for c in night)
    assert any(c.disposition == "busy" for c in missed)


def test_every_call_has_one_start_and_one_end_in_time_order(day: SimulatedDay) -> None:
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    times: dict[str, dict[str, datetime]] = defaultdict(dict)
    seen: set[str] = set()
    for event in day.events:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        kind = event["type"].removeprefix("call.")
        kinds[event["call_id"]][kind] += 1
        times[event["call_id"]][kind] = datetime.fromisoformat(event["timestamp"])
    assert set(kinds) == {c.call_id for c in day.calls}
    for call in day.calls:
        assert kinds[call.call_id]["started"] == 1
        assert kinds[call.call_id]["ended"] == 1
        assert kinds[call.call_id]["answered"] == (1 if call.disposition == "answered" else 0)
        assert times[call.call_id]["started"] <= times[call.call_id]["ended"]


def test_call_backs_follow_a_missed_call_from_the_same_number(day: SimulatedDay) -> None:
    calls = {c.call_id: c for c in day.calls}
    callbacks = [c for c in day.calls if c.callback_of]
    assert callbacks
    for callback in callbacks:
        missed = calls[callback.callback_of]  # type: ignore[index]
        assert missed.kind == "incoming" and missed.disposition != "answered"
        assert callback.kind == "outgoing"
        assert digits(callback.callee) == digits(missed.caller)
        assert callback.started_at > missed.ended_at
        assert callback.clinic_id == missed.clinic_id
    # As written by the PBX too: the call-back's "to" is the missed caller's number.
    started = {e["call_id"]: e for e in day.events if e["type"] == "call.started"}
    for callback in callbacks:
        missed_start = started[callback.callback_of]  # type: ignore[index]
        assert digits(started[callback.call_id]["to"]) == digits(missed_start["from"])
    missed_calls = [c for c in day.calls if c.kind == "incoming" and c.disposition != "answered"]
    assert 0.4 < len(callbacks) / len(missed_calls) <= 0.7


def test_duplicates_and_late_events_come_at_the_configured_rates(day: SimulatedDay) -> None:
    originals = [d for d in day.deliveries if not d.duplicate]
    duplicates = [d for d in day.deliveries if d.duplicate]
    assert abs(len(duplicates) / len(originals) - 0.03) < 0.006
    ids = Counter(d.event["event_id"] for d in day.deliveries)
    assert sum(n - 1 for n in ids.values()) == len(duplicates)
    late = [d for d in originals if d.late]
    assert abs(len(late) / len(originals) - 0.03) < 0.006
    # Some late events really arrive after later events of their call.
    position = {id(d): i for i, d in enumerate(day.deliveries)}
    out_of_order = 0
    by_call: dict[str, list[Any]] = defaultdict(list)
    for d in originals:
        by_call[d.event["call_id"]].append(d)
    for deliveries in by_call.values():
        ordered = sorted(deliveries, key=lambda d: datetime.fromisoformat(d.event["timestamp"]))
        sent = [position[id(d)] for d in ordered]
        out_of_order += sent != sorted(sent)
    assert out_of_order > 10
    sends = [d.send_at for d in day.deliveries]
    assert sends == sorted(sends)


def test_a_shared_extension_is_answered_by_several_admins(day: SimulatedDay) -> None:
    arbat = next(c for c in DEFAULT_CHAIN if c.reception == "101")
    answered_at_101 = {
        c.operator_id for c in day.calls if c.extension == "101" and c.kind == "incoming"
    } - {None}
    assert answered_at_101 == set(arbat.admins)


def test_every_event_is_valid_for_the_webhook(day: SimulatedDay) -> None:
    for event in day.events[:3000]:
        parse_generic(event)


def test_the_state_machine_reads_the_day_as_it_happened() -> None:
    day = simulate_day(SimulationConfig(day=DAY, calls=400, seed=11))
    directory = Directory(
        default_region="RU",
        extensions=frozenset(e for c in DEFAULT_CHAIN for e in (c.reception, *c.extensions)),
        did_to_clinic={c.did: c.clinic_id for c in DEFAULT_CHAIN},
        extension_to_clinic={
            e: c.clinic_id for c in DEFAULT_CHAIN for e in (c.reception, *c.extensions)
        },
    )
    timing = Timing(reorder_grace=timedelta(seconds=10), no_end_timeout=timedelta(hours=2))
    states: dict[str, Any] = {}
    emitted: dict[str, list[Any]] = defaultdict(list)
    for delivery in day.deliveries:
        event, raw = parse_generic(delivery.event)
        pbx = event.to_pbx_event(raw, timedelta(0))
        state, out = apply(states.get(pbx.call_id), pbx, directory, delivery.send_at, timing)
        states[pbx.call_id] = state
        emitted[pbx.call_id] += out
    end = day.deliveries[-1].send_at + timedelta(seconds=11)
    for call_id, state in states.items():
        emitted[call_id] += tick(state, directory, end, timing)[1]
    direction = {"incoming": "incoming", "outgoing": "outgoing", "internal": "internal"}
    for call in day.calls:
        events = emitted[call.call_id]
        names = [type(e).__name__ for e in events]
        assert names.count("CallStarted") == 1 and names.count("CallEnded") == 1
        started, ended = events[0], events[-1]
        assert type(started).__name__ == "CallStarted" and type(ended).__name__ == "CallEnded"
        assert started.direction == direction[call.kind]
        assert started.clinic_id == call.clinic_id
        assert ended.disposition == call.disposition
        assert ended.end_reason != "timeout"
        if call.kind == "incoming":
            assert started.caller == call.caller
        if call.answered_at is not None:
            assert ended.operator_id == call.operator_id


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="missed_rate"):
        SimulationConfig(day=DAY, missed_rate=1.5)
    with pytest.raises(ValueError, match="open_hour"):
        SimulationConfig(day=DAY, open_hour=20, close_hour=8)


async def test_simulate_counts_every_event_it_sends_in_its_progress() -> None:
    """``simulate`` shows done / total: the playback advances the progress per send."""
    from switchboard_runtime.progress import Progress
    from switchboard_telephony.entrypoints.pbx_commands import play

    day = simulate_day(SimulationConfig(day=DAY, calls=40, seed=5))
    sent: list[int] = []

    async def send(events: list[Any]) -> int:
        sent.append(len(events))
        return len(events)

    class Lines:
        lines: list[dict[str, Any]] = []

        def info(self, event: str, **fields: Any) -> None:
            self.lines.append({"event": event, **fields})

    log = Lines()
    total = len(day.deliveries)
    with Progress("simulate", total=total, terminal=False, every=0, logger=log) as progress:
        report = await play(day.deliveries, send, speedup=0, batch=25, progress=progress)
    assert report.sent == total == progress.done
    # One line per send (every=0), each with the events sent so far, and the last one.
    running = [sum(sent[: n + 1]) for n in range(len(sent))]
    assert [line["done"] for line in log.lines] == [*running, total]
    assert all(line["total"] == total for line in log.lines)
    assert log.lines[-1]["event"] == "progress.done"
