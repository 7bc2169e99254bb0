"""Property tests: whatever the PBX does to the order and number of events, calls settle once.

Many calls are generated and turned into their in-order, once-only PBX event lists; feeding
those in order gives the reference output. Then the calls' events are shuffled together and
random ones delivered again, and the output of each call is compared with its reference.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard_contracts import CallAnswered, CallEnded, CallRinging, CallStarted
from switchboard_telephony.domain.call_state import CallState
from switchboard_telephony.domain.calls import (
    CallEvent,
    apply,
    apply_many,
    canonical_event_key,
    next_deadline,
    tick,
)
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.domain.pbx_events import PbxEvent

DIRECTORY = Directory(
    default_region="RU",
    did_to_clinic={"+74951234567": "clinic-msk", "+78125550000": "clinic-spb"},
    extension_to_clinic={"101": "clinic-msk", "102": "clinic-msk", "201": "clinic-spb"},
)
TIMING = Timing(reorder_grace=timedelta(seconds=10), no_end_timeout=timedelta(hours=2))
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
NOW0 = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
STEP = timedelta(milliseconds=1)  # processing time between two deliveries

EXTENSIONS = ["101", "102", "103", "201", "202", "100"]
DIDS = ["+7 (495) 123-45-67", "84951234567", "+78125550000", "74990001122"]
ANSWERED_STATUSES = ["answered", "ANSWER", None]
UNANSWERED_STATUSES = [
    "no_answer",
    "cancel",
    "busy",
    "failed",
    "congestion",
    "CHANUNAVAIL",
    None,
    "answered",
]  # "answered" with no answer event: the PBX lost it
SPINE_TYPES = {"CallStarted", "CallAnswered", "CallEnded"}


@dataclass
class GeneratedCall:
    call_id: str
    events: list[PbxEvent] = field(default_factory=list)
    """The call's PBX events, in the order they happened, once each."""


def external_numbers() -> st.SearchStrategy[str]:
    """Russian mobile/landline numbers, written the ways PBXes write them."""
    formats = ["+7{}", "8{}", "7{}", "+7 ({}) {}-{}-{}", "8 {} {} {} {}"]

    def written(code: str, rest: str, fmt: str) -> str:
        digits = code + rest
        if "(" in fmt or fmt.startswith("8 "):
            return fmt.format(code, rest[:3], rest[3:5], rest[5:])
        return fmt.format(digits)

    return st.builds(
        written,
        st.sampled_from(["495", "499", "812", "916", "926", "903"]),
        st.text("0123456789", min_size=7, max_size=7),
        st.sampled_from(formats),
    )


def seconds(low: float, high: float) -> st.SearchStrategy[timedelta]:
    return st.integers(int(low * 1000), int(high * 1000)).map(lambda ms: timedelta(milliseconds=ms))


@st.composite
def calls(draw: st.DrawFn, call_id: str) -> GeneratedCall:
    """One call: random numbers, 1-3 ringing extensions, answered or not, maybe transferred."""
    call = GeneratedCall(call_id)
    keys = iter(range(100))

    def event(kind: str, at: datetime, **fields: Any) -> None:
        call.events.append(
            PbxEvent(
                source_key=f"{call_id}/{next(keys)}",
                kind=kind,  # type: ignore[arg-type]
                call_id=call_id,
                at=at,
                **fields,
            )
        )

    direction = draw(st.sampled_from(["incoming", "outgoing", "internal"]))
    rung = draw(st.lists(st.sampled_from(EXTENSIONS), min_size=1, max_size=3, unique=True))
    external = draw(external_numbers())
    did = draw(st.sampled_from(DIDS))
    if direction == "incoming":
        caller, callee = external, draw(st.sampled_from([did, rung[0]]))
        did_apart = draw(st.sampled_from([None, did]))
    elif direction == "outgoing":
        caller, callee, did_apart = draw(st.sampled_from(EXTENSIONS)), external, None
    else:
        caller, callee, did_apart = "100", rung[0], None

    at = T0 + draw(seconds(0, 86_000))
    event(
        "started",
        at,
        caller=caller,
        callee=callee,
        did=did_apart,
        extension=draw(st.sampled_from([None, rung[0]])),
    )
    for extension in rung:
        at += draw(seconds(0.01, 3))
        event("ringing", at, extension=extension, caller=draw(st.sampled_from([None, caller])))

    answered = draw(st.booleans())
    if answered:
        at += draw(seconds(0.5, 30))
        picked_up_by = draw(st.sampled_from(rung))
        event(
            "answered",
            at,
            extension=picked_up_by,
            operator_id=draw(st.sampled_from([None, f"op-{picked_up_by}"])),
        )
        others = [e for e in EXTENSIONS if e not in rung]
        if draw(st.booleans()):
            target = draw(st.sampled_from(others))
            at += draw(seconds(1, 120))
            event("transferred", at, extension=picked_up_by, to_extension=target)
            at += draw(seconds(0.01, 2))
            event("ringing", at, extension=target)
        status = draw(st.sampled_from(ANSWERED_STATUSES))
        recording = draw(st.sampled_from([None, f"https://rec.example/{call_id}.mp3"]))
    else:
        status = draw(st.sampled_from(UNANSWERED_STATUSES))
        recording = None
    at += draw(seconds(0.5, 900))
    event("ended", at, end_status=status, recording_url=recording)
    return call


@dataclass
class Run:
    out: dict[str, list[CallEvent]]
    states: dict[str, CallState]
    ended_at_delivery: dict[str, int]
    """Per call, the index of the delivery whose processing emitted CallEnded."""


def feed(deliveries: list[PbxEvent], *, round_trip: bool = False, batch: int = 0) -> Run:
    """Apply every delivery to its call's state, then tick every call once grace is over.

    With ``batch``, deliveries go in batches of that many through ``apply_many``, as the
    service's consumer hands them over (a CallEnded counts as emitted at its batch's first
    delivery); ``round_trip`` stores the states as JSON between events (or batches).
    """
    states: dict[str, CallState] = {}
    out: dict[str, list[CallEvent]] = defaultdict(list)
    ended_at: dict[str, int] = {}
    step = batch or 1
    for first in range(0, len(deliveries), step):
        chunk = deliveries[first : first + step]
        if batch:
            touched, emitted = apply_many(
                states,
                chunk,
                DIRECTORY,
                [NOW0 + (first + i) * STEP for i in range(len(chunk))],
                TIMING,
            )
        else:
            (event,) = chunk
            state, emitted = apply(
                states.get(event.call_id), event, DIRECTORY, NOW0 + first * STEP, TIMING
            )
            touched = {event.call_id: state}
        for call_id, state in touched.items():
            if round_trip:  # as if stored in JSONB between events
                state = CallState.from_dict(json.loads(json.dumps(state.to_dict())))
            states[call_id] = state
        for event in emitted:
            out[event.call_id].append(event)
            if isinstance(event, CallEnded):
                ended_at[event.call_id] = first
    after_grace = NOW0 + len(deliveries) * STEP + TIMING.reorder_grace + timedelta(seconds=1)
    for call_id, state in states.items():
        states[call_id], emitted = tick(state, DIRECTORY, after_grace, TIMING)
        out[call_id] += emitted
        if any(isinstance(e, CallEnded) for e in emitted):
            ended_at[call_id] = len(deliveries)
    return Run(dict(out), states, ended_at)


def dumps(events: list[CallEvent]) -> list[dict[str, Any]]:
    return [{"type": e.event_type, **e.model_dump()} for e in events]


def references(generated: list[GeneratedCall]) -> dict[str, list[CallEvent]]:
    reference = {}
    for call in generated:
        reference[call.call_id] = feed(call.events).out[call.call_id]
        assert_well_formed(reference[call.call_id])
    return reference


def assert_well_formed(out: list[CallEvent]) -> None:
    """One CallStarted first, one CallEnded last, at most one CallAnswered between them."""
    assert isinstance(out[0], CallStarted)
    assert isinstance(out[-1], CallEnded)
    assert sum(isinstance(e, CallStarted) for e in out) == 1
    assert sum(isinstance(e, CallEnded) for e in out) == 1
    assert sum(isinstance(e, CallAnswered) for e in out) <= 1
    keys = [canonical_event_key(e) for e in out]
    assert len(keys) == len(set(keys))


def with_duplicates(
    data: st.DataObject, deliveries: list[PbxEvent], *, anywhere: bool
) -> tuple[list[PbxEvent], int]:
    """Deliver random events again: anywhere, or only after their first delivery."""
    copies = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(deliveries) - 1), st.integers(0, 10**6)),
            max_size=len(deliveries),
        ),
        label="duplicates",
    )
    result = list(deliveries)
    for source, where in copies:
        event = deliveries[source]
        low = 0 if anywhere else result.index(event) + 1
        result.insert(low + where % (len(result) + 1 - low), event)
    return result, len(copies)


def draw_calls(data: st.DataObject) -> list[GeneratedCall]:
    count = data.draw(st.integers(1, 6), label="calls")
    return [data.draw(calls(f"call-{i}"), label=f"call-{i}") for i in range(count)]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_arrival_order_settles_each_call_as_in_order_delivery_does(
    data: st.DataObject,
) -> None:
    """Shuffled and duplicated: CallStarted, CallAnswered and CallEnded are identical to the
    reference; ringing and transfers are reference events, each once, between start and end;
    every one that arrived before the call's CallEnded went out, later ones count as late."""
    generated = draw_calls(data)
    reference = references(generated)
    everything = [e for call in generated for e in call.events]
    shuffled = data.draw(st.permutations(everything), label="arrival order")
    deliveries, copies = with_duplicates(data, shuffled, anywhere=True)

    run = feed(
        deliveries,
        round_trip=data.draw(st.booleans(), label="JSONB round trip"),
        batch=data.draw(st.integers(0, len(deliveries)), label="batch size (0: one by one)"),
    )

    first_delivery: dict[str, int] = {}
    for i, event in enumerate(deliveries):
        first_delivery.setdefault(event.source_key, i)
    for call in generated:
        out, ref = run.out[call.call_id], reference[call.call_id]
        state = run.states[call.call_id]
        assert_well_formed(out)
        assert dumps([e for e in out if e.event_type in SPINE_TYPES]) == dumps(
            [e for e in ref if e.event_type in SPINE_TYPES]
        )
        middle = dumps(out[1:-1])
        ref_middle = {canonical_event_key(e): e for e in ref if e.event_type not in SPINE_TYPES}
        assert all(
            m in dumps(list(ref_middle.values())) for m in middle if m["type"] != "CallAnswered"
        )
        emitted_keys = {canonical_event_key(e) for e in out}
        missing = 0
        for event in call.events:
            key = _middle_key(event)
            if key is None:
                continue
            if first_delivery[event.source_key] < run.ended_at_delivery[call.call_id]:
                assert key in emitted_keys, f"{key} arrived in time but was not emitted"
            if key not in emitted_keys:
                missing += 1
        assert state.late_events == missing
        assert state.settled and next_deadline(state, TIMING) is None
    assert sum(s.duplicate_events for s in run.states.values()) == copies


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_late_start_any_order_gives_exactly_the_in_order_output(data: st.DataObject) -> None:
    """The worst PBX habit, an answer and an end long before their start: when each call's
    start arrives after its other events (which come in any order, duplicated), the whole
    output, ringing and transfers included, is identical to in-order delivery."""
    generated = draw_calls(data)
    reference = references(generated)
    everything = [e for call in generated for e in call.events]
    deliveries = list(data.draw(st.permutations(everything), label="arrival order"))
    for call in generated:
        start = call.events[0]
        deliveries.remove(start)
        last_other = max(deliveries.index(e) for e in call.events[1:])
        where = data.draw(st.integers(last_other + 1, len(deliveries)), label="start position")
        deliveries.insert(where, start)
    deliveries, _ = with_duplicates(data, deliveries, anywhere=False)

    run = feed(deliveries, batch=data.draw(st.integers(0, len(deliveries)), label="batch size"))

    for call in generated:
        assert dumps(run.out[call.call_id]) == dumps(reference[call.call_id])


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_spine_order_any_with_duplicates_gives_exactly_the_in_order_output(
    data: st.DataObject,
) -> None:
    """Calls without ringing or transfers: any order of start, answer and end, duplicated,
    gives exactly the in-order output."""
    generated = draw_calls(data)
    for call in generated:
        call.events = [e for e in call.events if e.kind in ("started", "answered", "ended")]
    reference = references(generated)
    everything = [e for call in generated for e in call.events]
    shuffled = data.draw(st.permutations(everything), label="arrival order")
    deliveries, _ = with_duplicates(data, shuffled, anywhere=True)

    run = feed(deliveries)

    for call in generated:
        assert dumps(run.out[call.call_id]) == dumps(reference[call.call_id])


def _middle_key(event: PbxEvent) -> str | None:
    """The canonical key of the CallRinging/CallTransferred a PBX event gives, if any."""
    if event.kind == "ringing":
        return f"{event.call_id}:CallRinging:{event.extension}"
    if event.kind == "transferred":
        return f"{event.call_id}:CallTransferred:{event.to_extension}@{event.at.isoformat()}"
    return None


@settings(max_examples=50, deadline=None)
@given(call=calls("call-x"))
def test_generated_reference_is_realistic(call: GeneratedCall) -> None:
    """A sanity check of the generator's reference: rings precede the answer."""
    out = feed(call.events).out["call-x"]
    answered = [i for i, e in enumerate(out) if isinstance(e, CallAnswered)]
    rings = [i for i, e in enumerate(out) if isinstance(e, CallRinging)]
    if answered:
        assert rings and min(rings) < answered[0]
