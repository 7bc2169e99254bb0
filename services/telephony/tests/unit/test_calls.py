"""The call state machine, rule by rule."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTagged,
    CallTransferred,
)
from switchboard_telephony.domain.call_state import CallState
from switchboard_telephony.domain.calls import (
    CallEvent,
    apply,
    call_durations,
    canonical_event_key,
    disposition_for,
    next_deadline,
    normalise_status,
    tick,
)
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.domain.pbx_events import PbxEvent

Ev = Callable[..., PbxEvent]
Feed = Callable[..., tuple[CallState, list[CallEvent]]]


def kinds(events: list[CallEvent]) -> list[str]:
    return [e.event_type for e in events]


def dumps(events: list[CallEvent]) -> list[dict[str, Any]]:
    return [{"type": e.event_type, **e.model_dump()} for e in events]


def incoming_call(ev: Ev, *, status: str | None = "answered") -> dict[str, PbxEvent]:
    """One answered incoming call to the clinic's DID, as the PBX reports it."""
    return {
        "start": ev("started", 0, caller="8 (916) 123-45-67", callee="+7 495 123-45-67"),
        "ring": ev("ringing", 1, extension="101"),
        "answer": ev("answered", 5.2, extension="101", operator_id="op-7"),
        "end": ev("ended", 65.5, end_status=status, recording_url="https://rec/1.mp3"),
    }


# --- the happy path -------------------------------------------------------------------------


def test_in_order_answered_incoming_call(ev: Ev, feed: Feed, t0: datetime, timing: Timing) -> None:
    call = incoming_call(ev)
    state, out = feed(call.values())

    assert kinds(out) == ["CallStarted", "CallRinging", "CallAnswered", "CallEnded"]
    started, ringing, answered, ended = out
    assert started == CallStarted(
        call_id="call-1",
        direction="incoming",
        caller="+79161234567",
        callee="+74951234567",
        extension=None,
        clinic_id="clinic-msk",
        started_at=t0,
        did="+74951234567",
    )
    assert ringing == CallRinging(
        call_id="call-1",
        extension="101",
        ringing_at=t0 + timedelta(seconds=1),
        clinic_id="clinic-msk",
    )
    assert answered == CallAnswered(
        call_id="call-1",
        answered_at=t0 + timedelta(seconds=5.2),
        extension="101",
        operator_id="op-7",
    )
    assert ended == CallEnded(
        call_id="call-1",
        ended_at=t0 + timedelta(seconds=65.5),
        disposition="answered",
        wait_seconds=5,
        talk_seconds=60,
        total_seconds=65,
        recording_url="https://rec/1.mp3",
        end_reason=None,
        direction="incoming",
        caller="+79161234567",
        callee="+74951234567",
        extension="101",
        clinic_id="clinic-msk",
        started_at=t0,
        answered_at=t0 + timedelta(seconds=5.2),
        operator_id="op-7",
    )
    assert state.settled
    assert next_deadline(state, timing) is None
    assert state.emitted_keys == [
        "call-1:CallStarted",
        "call-1:CallRinging:101",
        "call-1:CallAnswered",
        "call-1:CallEnded",
    ]


def test_missed_call_counts_ring_time_as_wait(ev: Ev, feed: Feed) -> None:
    _, out = feed(
        [
            ev("started", 0, caller="+79161234567", callee="101"),
            ev("ringing", 0.5, extension="101"),
            ev("ended", 21.6, end_status="NO ANSWER"),
        ]
    )
    ended = out[-1]
    assert isinstance(ended, CallEnded)
    assert (ended.disposition, ended.wait_seconds, ended.talk_seconds, ended.total_seconds) == (
        "missed",
        22,
        0,
        22,
    )
    assert ended.end_reason == "no_answer"
    assert ended.answered_at is None and ended.operator_id is None
    assert ended.extension == "101"


# --- canonical values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(
            {"caller": "+79161234567", "callee": "101"},
            ("incoming", "+79161234567", "101", "101", "clinic-msk", None),
            id="incoming-to-extension",
        ),
        pytest.param(
            {"caller": "+79161234567", "callee": "101", "did": "8 812 555 00 00"},
            ("incoming", "+79161234567", "101", "101", "clinic-spb", "+78125550000"),
            id="incoming-did-given-apart-wins-over-extension-clinic",
        ),
        pytest.param(
            {"caller": "79161234567", "callee": "74951234567", "extension": "102"},
            ("incoming", "+79161234567", "+74951234567", "102", "clinic-msk", "+74951234567"),
            id="incoming-to-did-with-ringing-extension",
        ),
        pytest.param(
            {"caller": "+79161234567", "callee": "+79990000000"},
            ("incoming", "+79161234567", "+79990000000", None, None, "+79990000000"),
            id="incoming-to-unknown-did",
        ),
        pytest.param(
            {"caller": "anonymous", "callee": "+74951234567"},
            ("incoming", "", "+74951234567", None, "clinic-msk", "+74951234567"),
            id="withheld-caller",
        ),
        pytest.param(
            {"caller": "201", "callee": "8 916 123 45 67"},
            ("outgoing", "201", "+79161234567", "201", "clinic-spb", None),
            id="outgoing",
        ),
        pytest.param(
            {"caller": "+74951234567", "callee": "89161234567", "extension": "102"},
            ("outgoing", "+74951234567", "+79161234567", "102", "clinic-msk", None),
            id="outgoing-presented-as-the-clinic-did",
        ),
        pytest.param(
            {"caller": "101", "callee": "201", "extension": "201"},
            ("internal", "101", "201", "101", "clinic-msk", None),
            id="internal-extension-is-the-caller",
        ),
    ],
)
def test_started_canonical_values(
    ev: Ev, feed: Feed, start: dict[str, str], expected: tuple[Any, ...]
) -> None:
    _, out = feed([ev("started", 0, **start)])
    (started,) = out
    assert isinstance(started, CallStarted)
    assert (
        started.direction,
        started.caller,
        started.callee,
        started.extension,
        started.clinic_id,
        started.did,
    ) == expected


@pytest.mark.parametrize(
    ("answered", "status", "expected"),
    [
        (True, "answered", "answered"),
        (True, "busy", "answered"),
        (True, None, "answered"),
        (False, "answered", "answered"),
        (False, "ANSWER", "answered"),
        (False, "busy", "busy"),
        (False, "BUSY", "busy"),
        (False, "failed", "failed"),
        (False, "congestion", "failed"),
        (False, "unavailable", "failed"),
        (False, "CHANUNAVAIL", "failed"),
        (False, "no_answer", "missed"),
        (False, "no-answer", "missed"),
        (False, "NO ANSWER", "missed"),
        (False, "cancel", "missed"),
        (False, None, "missed"),
        (False, "", "missed"),
        (False, "something-new", "missed"),
    ],
)
def test_disposition_mapping(answered: bool, status: str | None, expected: str) -> None:
    assert disposition_for(answered, status) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("No Answer", "no_answer"),
        ("no-answer", "no_answer"),
        ("CHANUNAVAIL", "chanunavail"),
    ],
)
def test_normalise_status(status: str | None, expected: str | None) -> None:
    assert normalise_status(status) == expected


@pytest.mark.parametrize(
    ("status", "disposition"),
    [("busy", "busy"), ("congestion", "failed"), ("cancel", "missed"), ("no_answer", "missed")],
)
def test_unanswered_end_status_gives_disposition_and_reason(
    ev: Ev, feed: Feed, status: str, disposition: str
) -> None:
    _, out = feed(
        [ev("started", 0, caller="+79161234567", callee="101"), ev("ended", 3, end_status=status)]
    )
    ended = out[-1]
    assert isinstance(ended, CallEnded)
    assert ended.disposition == disposition
    assert ended.end_reason == status


@pytest.mark.parametrize(
    ("answer_s", "end_s", "expected"),
    [
        (5.0, 65.0, (5, 60, 65)),
        (4.6, 65.0, (5, 60, 65)),  # round() each part, total is their sum
        (4.4, 64.8, (4, 60, 64)),
        (-2.0, 30.0, (0, 32, 32)),  # answer stamped before the start: clock skew
        (5.0, 3.0, (5, 0, 5)),  # end stamped before the answer
        (None, 12.3, (12, 0, 12)),
        (None, -1.0, (0, 0, 0)),
    ],
)
def test_call_durations(
    t0: datetime, answer_s: float | None, end_s: float, expected: tuple[int, int, int]
) -> None:
    answered_at = None if answer_s is None else t0 + timedelta(seconds=answer_s)
    assert call_durations(t0, answered_at, t0 + timedelta(seconds=end_s)) == expected


def test_answer_without_extension_is_the_calls_extension(ev: Ev, feed: Feed) -> None:
    _, out = feed(
        [
            ev("started", 0, caller="+79161234567", callee="102"),
            ev("answered", 3),
        ]
    )
    answered = out[1]
    assert isinstance(answered, CallAnswered) and answered.extension == "102"
    _, internal = feed(
        [
            ev("started", 0, call_id="call-2", caller="101", callee="201"),
            ev("answered", 3, call_id="call-2"),
        ]
    )
    answered = internal[1]
    assert isinstance(answered, CallAnswered) and answered.extension == "201"


# --- duplicates and repeated facts ----------------------------------------------------------


def test_duplicates_are_dropped_and_counted(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    _, once = feed(call.values())
    events = [
        call["start"],
        call["start"],
        call["ring"],
        call["answer"],
        call["ring"],
        call["answer"],
        call["end"],
        call["end"],
        call["start"],
    ]
    state, out = feed(events)
    assert dumps(out) == dumps(once)
    assert state.duplicate_events == 5
    assert state.late_events == 0


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_earliest_answer_wins_whatever_arrives_first(
    ev: Ev, feed: Feed, order: tuple[int, int]
) -> None:
    answers = [
        ev("answered", 4, key="a-early", extension="101"),
        ev("answered", 6, key="a-late", extension="102"),
    ]
    start = ev("started", 0, caller="+79161234567", callee="101")
    end = ev("ended", 30, end_status="answered")
    _, out = feed([answers[order[0]], answers[order[1]], start, end])
    # The later answer, elsewhere, is the call moving there (see the moves below).
    assert kinds(out) == ["CallStarted", "CallAnswered", "CallTransferred", "CallEnded"]
    answered, moved = out[1], out[2]
    assert isinstance(answered, CallAnswered) and answered.extension == "101"
    assert isinstance(moved, CallTransferred) and moved.to_extension == "102"


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_earliest_end_wins_whatever_arrives_first(
    ev: Ev, feed: Feed, order: tuple[int, int]
) -> None:
    ends = [
        ev("ended", 20, key="e-early", end_status="busy"),
        ev("ended", 25, key="e-late", end_status="no_answer"),
    ]
    start = ev("started", 0, caller="+79161234567", callee="101")
    _, out = feed([ends[order[0]], ends[order[1]], start])
    ended = out[-1]
    assert isinstance(ended, CallEnded)
    assert (ended.disposition, ended.total_seconds) == ("busy", 20)


def test_a_second_start_after_callstarted_is_ignored(ev: Ev, feed: Feed) -> None:
    state, out = feed(
        [
            ev("started", 1, key="s1", caller="+79161234567", callee="101"),
            ev("started", 0, key="s2", caller="+79990000000", callee="102"),
        ]
    )
    assert kinds(out) == ["CallStarted"]
    assert isinstance(out[0], CallStarted) and out[0].caller == "+79161234567"
    assert state.ignored_events == 1


# --- out of order ---------------------------------------------------------------------------


def test_answer_before_start_is_held_until_the_start(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    state, out = feed([call["answer"]])
    assert out == []
    assert not state.settled
    state, out = feed([call["start"]], state=state)
    assert kinds(out) == ["CallStarted", "CallAnswered"]


SPINE = ("start", "answer", "end")


@pytest.mark.parametrize("order", list(itertools.permutations(SPINE)), ids="-".join)
@pytest.mark.parametrize("duplication", ["none", "twice-in-a-row", "all-again", "reversed-again"])
@pytest.mark.parametrize("status", ["answered", None])
def test_every_order_of_start_answer_end_gives_the_in_order_output(
    ev: Ev, feed: Feed, order: tuple[str, ...], duplication: str, status: str | None
) -> None:
    call = incoming_call(ev, status=status)
    _, reference = feed([call[name] for name in SPINE])

    events = [call[name] for name in order]
    if duplication == "twice-in-a-row":
        events = [e for e in events for _ in range(2)]
    elif duplication == "all-again":
        events = events + events
    elif duplication == "reversed-again":
        events = events + events[::-1]
    state, out = feed(events)

    assert kinds(reference) == ["CallStarted", "CallAnswered", "CallEnded"]
    assert dumps(out) == dumps(reference)
    assert state.settled


@pytest.mark.parametrize("order", list(itertools.permutations(SPINE)), ids="-".join)
def test_ringing_that_arrives_before_the_start_is_released_in_time_order(
    ev: Ev, feed: Feed, order: tuple[str, ...]
) -> None:
    call = incoming_call(ev)
    second_ring = ev("ringing", 2, extension="102")
    _, reference = feed([call["start"], call["ring"], second_ring, call["answer"], call["end"]])
    _, out = feed([second_ring, call["ring"], *(call[name] for name in order)])
    assert dumps(out) == dumps(reference)
    assert kinds(out) == ["CallStarted", "CallRinging", "CallRinging", "CallAnswered", "CallEnded"]


def test_end_with_no_start_is_synthesised_after_grace(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, t0: datetime, now0: datetime
) -> None:
    end = ev("ended", 40, caller="+79161234567", callee="+74951234567", end_status="cancel")
    ring = ev("ringing", 3, extension="101")
    state, out = feed([end, ring])
    assert out == []
    assert next_deadline(state, timing) == now0 + timing.reorder_grace

    state, out = tick(state, directory, now0 + timing.reorder_grace - timedelta(seconds=1), timing)
    assert out == []

    state, out = tick(state, directory, now0 + timing.reorder_grace, timing)
    assert kinds(out) == ["CallStarted", "CallRinging", "CallEnded"]
    started, _, ended = out
    assert isinstance(started, CallStarted) and isinstance(ended, CallEnded)
    assert started.started_at == t0 + timedelta(seconds=3)  # the earliest known time
    assert (started.direction, started.caller, started.callee, started.clinic_id) == (
        "incoming",
        "+79161234567",
        "+74951234567",
        "clinic-msk",
    )
    assert started.extension == "101"  # from the ringing event
    assert ended.disposition == "missed" and ended.wait_seconds == 37
    assert state.start_synthesised and state.settled
    assert next_deadline(state, timing) is None


def test_call_with_nothing_usable_waits_for_something_usable(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, now0: datetime
) -> None:
    """A ringing with no extension says too little to invent a call from."""
    state, out = feed([ev("ringing", 1), ev("transferred", 2, extension="101")])
    assert out == [] and state.ignored_events == 2
    assert next_deadline(state, timing) is None
    state, out = tick(state, directory, now0 + timing.no_end_timeout * 2, timing)
    assert out == [] and not state.settled
    state, out = feed(
        [ev("answered", 3, extension="101")], state=state, now=now0 + timedelta(minutes=1)
    )
    assert kinds(out) == ["CallStarted", "CallAnswered"]  # first seen long ago: grace is over


def test_start_after_the_synthesised_one_is_ignored(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, now0: datetime
) -> None:
    call = incoming_call(ev)
    state, _ = feed([call["answer"]])
    state, out = tick(state, directory, now0 + timing.reorder_grace, timing)
    assert kinds(out) == ["CallStarted", "CallAnswered"]
    state, out = feed([call["start"], call["end"]], state=state, now=now0 + timedelta(minutes=1))
    assert kinds(out) == ["CallEnded"]
    assert state.ignored_events == 1


def test_event_arriving_after_grace_but_before_the_sweeper_is_used(
    ev: Ev, feed: Feed, timing: Timing, now0: datetime
) -> None:
    """The start arriving late (but before tick ran) is used, not a synthesised one."""
    call = incoming_call(ev)
    state, _ = feed([call["answer"]])
    state, out = feed([call["start"]], state=state, now=now0 + timing.reorder_grace * 3)
    assert kinds(out) == ["CallStarted", "CallAnswered"]
    assert not state.start_synthesised
    assert isinstance(out[0], CallStarted) and out[0].caller == "+79161234567"


def test_answered_end_before_answer_waits_for_the_answer(
    ev: Ev, feed: Feed, timing: Timing, now0: datetime
) -> None:
    call = incoming_call(ev)
    state, out = feed([call["start"], call["end"]])
    assert kinds(out) == ["CallStarted"]
    # held for the grace period from when the end arrived
    assert next_deadline(state, timing) == now0 + timedelta(milliseconds=1) + timing.reorder_grace
    state, out = feed([call["answer"]], state=state, now=now0 + timedelta(seconds=2))
    assert kinds(out) == ["CallAnswered", "CallEnded"]
    assert isinstance(out[1], CallEnded) and out[1].wait_seconds == 5


@pytest.mark.parametrize("status", ["answered", None])
def test_end_waiting_for_an_answer_goes_out_after_grace(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, now0: datetime, status: str | None
) -> None:
    call = incoming_call(ev, status=status)
    state, _ = feed([call["start"], call["end"]])
    state, out = tick(state, directory, now0 + timing.reorder_grace, timing)
    assert out == []
    state, out = tick(state, directory, now0 + timing.reorder_grace * 2, timing)
    (ended,) = out
    assert isinstance(ended, CallEnded)
    if status == "answered":
        # answered, but the answer time never came: the whole call counts as talk
        assert (ended.disposition, ended.wait_seconds, ended.talk_seconds) == ("answered", 0, 66)
    else:
        assert (ended.disposition, ended.wait_seconds, ended.talk_seconds) == ("missed", 66, 0)
    assert ended.answered_at is None
    assert "CallAnswered" not in [k.split(":")[1] for k in state.emitted_keys]
    # the answer is late now
    state, out = feed([call["answer"]], state=state, now=now0 + timedelta(minutes=1))
    assert out == [] and state.late_events == 1


def test_unanswered_end_is_not_held(ev: Ev, feed: Feed, timing: Timing) -> None:
    state, out = feed(
        [ev("started", 0, caller="+79161234567", callee="101"), ev("ended", 9, end_status="busy")]
    )
    assert kinds(out) == ["CallStarted", "CallEnded"]
    assert next_deadline(state, timing) is None


# --- timeout and late events ----------------------------------------------------------------


def test_call_with_no_end_times_out(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, t0: datetime
) -> None:
    now = t0 + timedelta(seconds=1)
    state, _ = feed([ev("started", 0, caller="+79161234567", callee="101")], now=now)
    assert next_deadline(state, timing) == now + timing.no_end_timeout

    state, out = tick(state, directory, now + timing.no_end_timeout - timedelta(seconds=1), timing)
    assert out == []
    closed_at = now + timing.no_end_timeout + timedelta(seconds=3)
    state, out = tick(state, directory, closed_at, timing)
    (ended,) = out
    assert isinstance(ended, CallEnded)
    assert (ended.disposition, ended.end_reason, ended.ended_at) == ("failed", "timeout", closed_at)
    assert ended.wait_seconds == ended.total_seconds == round((closed_at - t0).total_seconds())
    assert state.settled and next_deadline(state, timing) is None


def test_answered_call_with_no_end_times_out_as_failed(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, t0: datetime
) -> None:
    state, _ = feed(
        [
            ev("started", 0, caller="+79161234567", callee="101"),
            ev("answered", 10, extension="101", operator_id="op-1"),
        ],
        now=t0,
    )
    state, out = tick(state, directory, t0 + timing.no_end_timeout, timing)
    (ended,) = out
    assert isinstance(ended, CallEnded)
    assert (ended.disposition, ended.end_reason, ended.operator_id) == ("failed", "timeout", "op-1")
    assert (ended.wait_seconds, ended.talk_seconds) == (10, 7190)


def test_timeout_counts_from_when_the_call_was_first_seen(
    ev: Ev, feed: Feed, directory: Directory, timing: Timing, t0: datetime
) -> None:
    """After a consumer backlog an old start is processed late; its end is right behind."""
    seen = t0 + timedelta(hours=3)
    state, _ = feed([ev("started", 0, caller="+79161234567", callee="101")], now=seen)
    assert next_deadline(state, timing) == seen + timing.no_end_timeout
    state, out = tick(state, directory, seen + timedelta(seconds=1), timing)
    assert out == []
    state, out = feed(
        [ev("ended", 30, end_status="no_answer")], state=state, now=seen + timedelta(seconds=2)
    )
    assert kinds(out) == ["CallEnded"] and isinstance(out[0], CallEnded)
    assert out[0].end_reason == "no_answer"


def test_end_arriving_after_the_timeout_deadline_but_before_tick_wins(
    ev: Ev, feed: Feed, timing: Timing, t0: datetime
) -> None:
    state, _ = feed([ev("started", 0, caller="+79161234567", callee="101")], now=t0)
    state, out = feed(
        [ev("ended", 7300, end_status="no_answer")],
        state=state,
        now=t0 + timing.no_end_timeout + timedelta(minutes=5),
    )
    assert isinstance(out[-1], CallEnded) and out[-1].end_reason == "no_answer"


def test_events_after_the_end_are_late(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    state, _ = feed(call.values())
    state, out = feed(
        [
            ev("ringing", 70, extension="102"),
            ev("ended", 80, key="second-end"),
            ev("answered", 4, key="other-answer"),
        ],
        state=state,
    )
    assert out == []
    assert state.late_events == 3
    state, out = feed([call["end"]], state=state)  # a duplicate stays a duplicate
    assert out == [] and state.late_events == 3 and state.duplicate_events == 1


# --- ringing and transfers ------------------------------------------------------------------


def test_each_extension_rings_once(ev: Ev, feed: Feed) -> None:
    state, out = feed(
        [
            ev("started", 0, caller="+79161234567", callee="+74951234567"),
            ev("ringing", 1, extension="101"),
            ev("ringing", 1, key="ring-102", extension="102"),
            ev("ringing", 15, key="ring-again", extension="101"),  # rings again after a timeout
            ev("ringing", 16, key="ring-via-callee", callee="201"),
        ]
    )
    rung = [(e.extension, e.clinic_id) for e in out if isinstance(e, CallRinging)]
    assert rung == [("101", "clinic-msk"), ("102", "clinic-msk"), ("201", "clinic-msk")]
    assert state.ignored_events == 1


def test_ringing_without_any_extension_is_ignored(ev: Ev, feed: Feed) -> None:
    state, out = feed(
        [ev("started", 0, caller="+79161234567", callee="+74951234567"), ev("ringing", 1)]
    )
    assert kinds(out) == ["CallStarted"] and state.ignored_events == 1


def test_ringing_after_the_answer_still_goes_out_before_the_end(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    _, out = feed([call["start"], call["answer"], ev("ringing", 2, extension="102"), call["end"]])
    assert kinds(out) == ["CallStarted", "CallAnswered", "CallRinging", "CallEnded"]


def test_transfer(ev: Ev, feed: Feed, t0: datetime) -> None:
    call = incoming_call(ev)
    transfer = ev("transferred", 30, extension="101", to_extension="102")
    _, out = feed(
        [
            call["start"],
            call["ring"],
            call["answer"],
            transfer,
            ev("ringing", 31, extension="102"),
            ev("answered", 35, key="a2", extension="102"),
            ev("transferred", 30, key="t-dup-content", extension="101", to_extension="102"),
            call["end"],
        ]
    )
    assert kinds(out) == [
        "CallStarted",
        "CallRinging",
        "CallAnswered",
        "CallTransferred",
        "CallRinging",
        "CallEnded",
    ]
    assert out[3] == CallTransferred(
        call_id="call-1",
        from_extension="101",
        to_extension="102",
        transferred_at=t0 + timedelta(seconds=30),
    )


@pytest.mark.parametrize("answer_first", [True, False])
def test_transfer_source_is_the_same_whatever_arrives_first(
    ev: Ev, feed: Feed, answer_first: bool
) -> None:
    call = incoming_call(ev)
    transfer = ev("transferred", 30, to_extension="201")
    middle = [call["answer"], transfer] if answer_first else [transfer, call["answer"]]
    _, out = feed([*middle, call["start"]])
    transferred = out[-1]
    assert isinstance(transferred, CallTransferred) and transferred.from_extension == "101"


def test_transfer_source_defaults_to_the_answering_extension(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    _, out = feed(
        [
            call["start"],
            call["answer"],
            ev("transferred", 30, to_extension="201"),
            ev("transferred", 40, key="no-target", extension="201"),
        ]
    )
    assert kinds(out) == ["CallStarted", "CallAnswered", "CallTransferred"]
    transferred = out[2]
    assert isinstance(transferred, CallTransferred)
    assert (transferred.from_extension, transferred.to_extension) == ("101", "201")


def _moved_by_answers(ev: Ev) -> list[PbxEvent]:
    """A call answered at 101 and picked up again at 102, then 103 (one answer per leg)."""
    call = incoming_call(ev)
    return [
        call["start"],
        call["ring"],
        call["answer"],
        ev("ringing", 30, extension="102"),
        ev("answered", 33, key="a-102", extension="102"),
        ev("answered", 50, key="a-103", extension="103"),
        call["end"],
    ]


def test_a_later_answer_elsewhere_is_the_call_moving_there(
    ev: Ev, feed: Feed, t0: datetime
) -> None:
    _, out = feed(_moved_by_answers(ev))
    assert kinds(out) == [
        "CallStarted",
        "CallRinging",
        "CallAnswered",
        "CallRinging",
        "CallTransferred",
        "CallTransferred",
        "CallEnded",
    ]
    answered, ended = out[2], out[-1]
    assert isinstance(answered, CallAnswered) and answered.extension == "101"
    moves = [(e.from_extension, e.to_extension, e.transferred_at) for e in out[4:6]]  # type: ignore[union-attr]
    assert moves == [
        ("101", "102", t0 + timedelta(seconds=33)),
        ("102", "103", t0 + timedelta(seconds=50)),
    ]
    assert isinstance(ended, CallEnded) and ended.extension == "101"


def test_moves_read_the_same_as_explicit_transfers(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    explicit = [
        call["start"],
        call["ring"],
        call["answer"],
        ev("ringing", 30, extension="102"),
        ev("transferred", 33, extension="101", to_extension="102"),
        ev("transferred", 50, to_extension="103"),
        call["end"],
    ]
    assert dumps(feed(explicit)[1]) == dumps(feed(_moved_by_answers(ev))[1])


def test_moves_are_the_same_whatever_arrives_first_before_the_start(ev: Ev, feed: Feed) -> None:
    events = _moved_by_answers(ev)
    start, rest = events[0], events[1:]
    in_order = dumps(feed(events)[1])
    for shuffled in itertools.permutations(rest[1:4]):
        assert dumps(feed([rest[0], *shuffled, *rest[4:], start])[1]) == in_order


def test_an_answer_again_where_the_call_is_says_nothing_new(ev: Ev, feed: Feed) -> None:
    call = incoming_call(ev)
    state, out = feed(
        [
            call["start"],
            call["answer"],
            ev("answered", 20, key="again", extension="101"),
            ev("transferred", 30, extension="101", to_extension="102"),
            ev("answered", 34, key="at-102", extension="102"),
            ev("answered", 40, key="no-extension"),
        ]
    )
    assert kinds(out) == ["CallStarted", "CallAnswered", "CallTransferred"]
    assert state.ignored_events == 2


# --- keys, state, guards --------------------------------------------------------------------


def test_canonical_event_keys(ev: Ev, feed: Feed, t0: datetime) -> None:
    call = incoming_call(ev)
    transfer = ev("transferred", 30, extension="101", to_extension="102")
    _, out = feed([call["start"], call["ring"], call["answer"], transfer, call["end"]])
    assert [canonical_event_key(e) for e in out] == [
        "call-1:CallStarted",
        "call-1:CallRinging:101",
        "call-1:CallAnswered",
        f"call-1:CallTransferred:102@{(t0 + timedelta(seconds=30)).isoformat()}",
        "call-1:CallEnded",
    ]
    with pytest.raises(TypeError):
        canonical_event_key(
            CallTagged(call_id="c", tags=["x"], source="callmarker", tagged_at=t0)  # type: ignore[arg-type]
        )


def test_state_survives_a_json_round_trip_at_every_step(
    ev: Ev, timing: Timing, directory: Directory, now0: datetime
) -> None:
    call = incoming_call(ev)
    events = [
        call["end"],
        call["ring"],
        call["answer"],
        ev("transferred", 30, to_extension="102"),
        call["answer"],
        call["start"],
    ]
    plain: CallState | None = None
    stored: CallState | None = None
    plain_out: list[CallEvent] = []
    stored_out: list[CallEvent] = []
    for i, event in enumerate(events):
        now = now0 + timedelta(seconds=i)
        plain, out = apply(plain, event, directory, now, timing)
        plain_out += out
        stored, out = apply(stored, event, directory, now, timing)
        stored_out += out
        stored = CallState.from_dict(json.loads(json.dumps(stored.to_dict())))
        assert stored == plain
        assert next_deadline(stored, timing) == next_deadline(plain, timing)
    assert dumps(stored_out) == dumps(plain_out)


def test_apply_and_tick_leave_the_given_state_alone(
    ev: Ev, directory: Directory, timing: Timing, now0: datetime
) -> None:
    call = incoming_call(ev)
    state, _ = apply(None, call["answer"], directory, now0, timing)
    before = state.to_dict()
    apply(state, call["start"], directory, now0, timing)
    tick(state, directory, now0 + timedelta(hours=3), timing)
    assert state.to_dict() == before


def test_guards(ev: Ev, directory: Directory, timing: Timing, now0: datetime) -> None:
    state, _ = apply(None, ev("started", 0), directory, now0, timing)
    with pytest.raises(ValueError, match="call"):
        apply(state, ev("ended", 1, call_id="other"), directory, now0, timing)
    with pytest.raises(ValueError, match="aware"):
        apply(state, ev("ended", 1), directory, now0.replace(tzinfo=None), timing)
    with pytest.raises(ValueError, match="aware"):
        PbxEvent(source_key="k", kind="started", call_id="c", at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="kind"):
        PbxEvent(source_key="k", kind="hung_up", call_id="c", at=now0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format"):
        CallState.from_dict({**state.to_dict(), "format": 99})


# A call's state as format 1 stored it (before format 2; written by that version's code):
# started, rung, answered twice (a duplicate), transferred, a second start (ignored), ended.
FORMAT_1_STATE: dict[str, Any] = {
    "format": 1,
    "call_id": "call-1",
    "first_seen_at": "2026-03-02T09:00:30+00:00",
    "seen_keys": [
        "answered@5.2",
        "ended@65.5",
        "ringing@1",
        "started-again",
        "started@0",
        "transferred@30",
    ],
    "started": {
        "event": {
            "source_key": "started@0",
            "kind": "started",
            "call_id": "call-1",
            "at": "2026-03-02T09:00:00+00:00",
            "caller": "8 (916) 123-45-67",
            "callee": "+7 495 123-45-67",
        },
        "received_at": "2026-03-02T09:00:30+00:00",
    },
    "answered": {
        "event": {
            "source_key": "answered@5.2",
            "kind": "answered",
            "call_id": "call-1",
            "at": "2026-03-02T09:00:05.200000+00:00",
            "extension": "101",
            "operator_id": "op-7",
        },
        "received_at": "2026-03-02T09:00:31+00:00",
    },
    "ended": {
        "event": {
            "source_key": "ended@65.5",
            "kind": "ended",
            "call_id": "call-1",
            "at": "2026-03-02T09:01:05.500000+00:00",
            "end_status": "answered",
            "recording_url": "https://rec/1.mp3",
        },
        "received_at": "2026-03-02T09:00:33+00:00",
    },
    "ringing": {
        "101": {
            "event": {
                "source_key": "ringing@1",
                "kind": "ringing",
                "call_id": "call-1",
                "at": "2026-03-02T09:00:01+00:00",
                "extension": "101",
            },
            "received_at": "2026-03-02T09:00:30+00:00",
        }
    },
    "transfers": {
        "102@2026-03-02T09:00:30+00:00": {
            "event": {
                "source_key": "transferred@30",
                "kind": "transferred",
                "call_id": "call-1",
                "at": "2026-03-02T09:00:30+00:00",
                "extension": "101",
                "to_extension": "102",
            },
            "received_at": "2026-03-02T09:00:32+00:00",
        }
    },
    "started_event": {
        "call_id": "call-1",
        "direction": "incoming",
        "caller": "+79161234567",
        "callee": "+74951234567",
        "extension": None,
        "clinic_id": "clinic-msk",
        "started_at": "2026-03-02T09:00:00Z",
        "did": "+74951234567",
    },
    "answered_event": {
        "call_id": "call-1",
        "answered_at": "2026-03-02T09:00:05.200000Z",
        "extension": "101",
        "operator_id": "op-7",
    },
    "ended_event": {
        "call_id": "call-1",
        "ended_at": "2026-03-02T09:01:05.500000Z",
        "disposition": "answered",
        "wait_seconds": 5,
        "talk_seconds": 60,
        "total_seconds": 65,
        "recording_url": "https://rec/1.mp3",
        "end_reason": None,
        "direction": "incoming",
        "caller": "+79161234567",
        "callee": "+74951234567",
        "extension": "101",
        "clinic_id": "clinic-msk",
        "started_at": "2026-03-02T09:00:00Z",
        "answered_at": "2026-03-02T09:00:05.200000Z",
        "operator_id": "op-7",
    },
    "emitted_keys": [
        "call-1:CallStarted",
        "call-1:CallRinging:101",
        "call-1:CallAnswered",
        "call-1:CallTransferred:102@2026-03-02T09:00:30+00:00",
        "call-1:CallEnded",
    ],
    "start_synthesised": False,
    "duplicate_events": 1,
    "late_events": 0,
    "ignored_events": 1,
}


def test_a_state_stored_in_format_1_reads_as_the_same_call(
    ev: Ev, directory: Directory, timing: Timing, now0: datetime
) -> None:
    events = [
        ev("ringing", 1, extension="101"),
        ev("started", 0, caller="8 (916) 123-45-67", callee="+7 495 123-45-67"),
        ev("answered", 5.2, extension="101", operator_id="op-7"),
        ev("answered", 5.2, extension="101", operator_id="op-7"),
        ev("transferred", 30, extension="101", to_extension="102"),
        ev("started", 0.5, key="started-again", caller="+79160000000"),
        ev("ended", 65.5, end_status="answered", recording_url="https://rec/1.mp3"),
    ]
    state: CallState | None = None
    for i, event in enumerate(events):
        state, _ = apply(state, event, directory, now0 + timedelta(seconds=i // 2), timing)
    assert state is not None

    assert CallState.from_dict(FORMAT_1_STATE) == state
    stored = json.dumps(state.to_dict())
    assert CallState.from_dict(json.loads(stored)) == state
    # The current format names the call once, and is a third shorter than format 1 even
    # with a call id this short.
    assert stored.count("call-1") == 1
    assert len(stored) < len(json.dumps(FORMAT_1_STATE)) * 2 / 3


def test_envelope_ids_are_uuid5_of_the_event_key_whenever_made(
    ev: Ev, feed: Feed, t0: datetime
) -> None:
    from switchboard_telephony.handlers import call_envelopes

    _, out = feed(incoming_call(ev).values())
    namespace = uuid.UUID("5b0c6d1e-3f0a-4c55-9d7e-2a1f0e9c7b11")  # telephony's, fixed
    expected = [
        uuid.uuid5(namespace, f"call-1:{kind}")
        for kind in ("CallStarted", "CallRinging:101", "CallAnswered", "CallEnded")
    ]
    assert [e.event_id for e in call_envelopes(out)] == expected
    # A re-emission (another run, another time) carries the same ids.
    assert [e.event_id for e in call_envelopes(out, t0 + timedelta(days=1))] == expected
