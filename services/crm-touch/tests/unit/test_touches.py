"""The touch life cycle: call facts from events in any order, one decision per call,
operator updates, booking links, contact moves, and the pop-up's key details."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard_contracts import CallAnswered, CallEnded, CallStarted
from switchboard_crm_touch.domain.errors import InvalidRequest
from switchboard_crm_touch.domain.identification import Contact, identify
from switchboard_crm_touch.domain.touches import (
    CallFacts,
    NextVisit,
    Touch,
    TouchDecision,
    absorb,
    decide,
    has_progress,
    key_details,
    lead_display_name,
    new_touch,
    other_party,
    with_appointment,
    with_call,
    with_contact_moved,
    with_update,
)

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CALLER = "+79161234567"


def _started(direction: str = "incoming", **kw: Any) -> CallStarted:
    values: dict[str, Any] = {
        "call_id": "c1",
        "direction": direction,
        "caller": CALLER if direction == "incoming" else "101",
        "callee": "101" if direction != "outgoing" else CALLER,
        "extension": "101",
        "clinic_id": "clinic-msk",
        "started_at": T0,
    }
    if direction == "internal":
        values.update(caller="102", callee="101")
    values.update(kw)
    return CallStarted(**values)


def _answered() -> CallAnswered:
    return CallAnswered(
        call_id="c1", answered_at=T0 + timedelta(seconds=7), extension="101", operator_id="op-anna"
    )


def _ended(disposition: str = "answered", with_story: bool = True) -> CallEnded:
    story: dict[str, Any] = (
        {
            "direction": "incoming",
            "caller": CALLER,
            "callee": "101",
            "extension": "101",
            "clinic_id": "clinic-msk",
            "started_at": T0,
            "answered_at": T0 + timedelta(seconds=7) if disposition == "answered" else None,
            "operator_id": "op-anna" if disposition == "answered" else None,
        }
        if with_story
        else {}
    )
    talk = 90 if disposition == "answered" else 0
    return CallEnded(
        call_id="c1",
        ended_at=T0 + timedelta(seconds=7 + talk),
        disposition=disposition,
        wait_seconds=7,
        talk_seconds=talk,
        total_seconds=7 + talk,
        **story,
    )


def _fold(events: list[Any]) -> CallFacts | None:
    facts = None
    for event in events:
        facts = absorb(facts, event)
    return facts


# --- call facts and the one decision per call ----------------------------------------------

FULL = [_started(), _answered(), _ended()]


@given(
    st.lists(st.sampled_from(FULL), min_size=3, max_size=8).filter(
        lambda e: set(map(type, e)) == {CallStarted, CallAnswered, CallEnded}
    )
)
def test_facts_do_not_depend_on_order_or_duplicates(events: list[Any]) -> None:
    assert _fold(events) == _fold(FULL)


def test_facts_of_a_complete_call() -> None:
    facts = _fold(FULL)
    assert facts == CallFacts(
        call_id="c1",
        direction="incoming",
        caller=CALLER,
        callee="101",
        extension="101",
        clinic_id="clinic-msk",
        started_at=T0,
        answered_at=T0 + timedelta(seconds=7),
        answered_extension="101",
        operator_id="op-anna",
        ended_at=T0 + timedelta(seconds=97),
        disposition="answered",
        wait_seconds=7,
        talk_seconds=90,
        total_seconds=97,
    )


def test_an_end_without_its_story_dates_the_start_from_the_durations() -> None:
    facts = absorb(None, _ended(with_story=False))
    assert facts.started_at == T0
    assert facts.direction is None
    assert decide(facts, enabled=True) is TouchDecision.WAIT


def _simulate(events: list[Any], enabled_at: list[bool]) -> int:
    """What the handler does: decide once (anything but WAIT is final); count touches."""
    facts, decision, created = None, None, 0
    for event, enabled in zip(events, enabled_at, strict=True):
        facts = absorb(facts, event)
        if decision is None:
            verdict = decide(facts, enabled=enabled)
            if verdict is TouchDecision.CREATE:
                created += 1
            if verdict is not TouchDecision.WAIT:
                decision = verdict
    return created


@given(
    data=st.data(),
    direction=st.sampled_from(["incoming", "outgoing", "internal"]),
    ended_story=st.booleans(),
)
def test_any_order_and_any_duplicates_make_at_most_one_touch(
    data: st.DataObject, direction: str, ended_story: bool
) -> None:
    base = [
        _started(direction),
        _answered(),
        _ended(with_story=ended_story and direction == "incoming"),
    ]
    events = data.draw(st.lists(st.sampled_from(base), min_size=1, max_size=10))
    enabled = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    created = _simulate(events, enabled)
    assert created <= 1
    if direction == "internal":
        assert created == 0
    if all(enabled) and direction != "internal" and any(isinstance(e, CallStarted) for e in events):
        assert created == 1


def test_decisions() -> None:
    assert decide(absorb(None, _started()), enabled=True) is TouchDecision.CREATE
    assert decide(absorb(None, _started("outgoing")), enabled=True) is TouchDecision.CREATE
    assert decide(absorb(None, _started("internal")), enabled=True) is TouchDecision.INTERNAL
    assert decide(absorb(None, _started()), enabled=False) is TouchDecision.DISABLED
    assert decide(absorb(None, _answered()), enabled=True) is TouchDecision.WAIT
    assert decide(absorb(None, _ended()), enabled=True) is TouchDecision.CREATE


def test_the_other_party() -> None:
    assert other_party(absorb(None, _started())) == CALLER
    assert other_party(absorb(None, _started("outgoing"))) == CALLER
    assert other_party(absorb(None, _started("internal"))) is None
    assert other_party(CallFacts(call_id="x")) is None


# --- the touch ------------------------------------------------------------------------------


def _touch(**kw: Any) -> Touch:
    facts = absorb(None, _started())
    found = identify(CALLER, [Contact("a", "patient", "Anna")])
    return replace(new_touch("t1", facts, CALLER, found), **kw)


def test_a_new_touch_carries_the_call_and_the_contact() -> None:
    touch = _touch()
    assert (touch.touch_id, touch.call_id, touch.phone, touch.contact_id) == (
        "t1",
        "c1",
        CALLER,
        "a",
    )
    assert (touch.direction, touch.extension, touch.clinic_id) == ("incoming", "101", "clinic-msk")
    assert touch.created_at == T0 and touch.status == "new" and touch.result is None
    assert not touch.ambiguous and not has_progress(touch)


def test_a_touch_for_an_unidentified_number_has_no_contact() -> None:
    touch = new_touch("t1", absorb(None, _started()), "anonymous", None)
    assert touch.contact_id is None and touch.candidate_ids == ()


def test_an_ambiguous_touch_keeps_the_candidates() -> None:
    found = identify(
        CALLER,
        [Contact("a", "patient", "A", T0), Contact("b", "patient", "B", T0 + timedelta(hours=1))],
    )
    touch = new_touch("t1", absorb(None, _started()), CALLER, found)
    assert touch.contact_id == "b" and touch.candidate_ids == ("b", "a") and touch.ambiguous


def test_the_call_fills_operator_outcome_and_durations() -> None:
    touch = with_call(_touch(), _fold(FULL))  # type: ignore[arg-type]
    assert (touch.operator_id, touch.disposition) == ("op-anna", "answered")
    assert (touch.wait_seconds, touch.talk_seconds, touch.total_seconds) == (7, 90, 97)
    assert touch.result is None and has_progress(touch)


@pytest.mark.parametrize("disposition", ["missed", "busy", "failed"])
def test_an_unanswered_call_is_no_answer_unless_a_result_is_set(disposition: str) -> None:
    facts = _fold([_started(), _ended(disposition)])
    assert with_call(_touch(), facts).result == "no_answer"  # type: ignore[arg-type]
    assert with_call(_touch(result="booked"), facts).result == "booked"  # type: ignore[arg-type]


def test_new_touch_applies_what_is_already_known() -> None:
    touch = new_touch("t1", _fold([_ended(), _answered()]), CALLER, None)  # type: ignore[arg-type]
    assert touch.disposition == "answered" and touch.operator_id == "op-anna"
    assert has_progress(touch)


def test_operator_updates() -> None:
    touch = with_update(
        _touch(), status="in_progress", result="information", notes="  called back "
    )
    assert (touch.status, touch.result, touch.notes) == (
        "in_progress",
        "information",
        "called back",
    )
    assert with_update(touch, result=None).result is None
    assert with_update(touch, status="new").status == "new"  # reopening is allowed
    assert with_update(touch) == touch


@pytest.mark.parametrize(
    "change",
    [{"status": "closed"}, {"result": "sold"}, {"notes": "x" * 4001}, {"contact_id": "zzz"}],
)
def test_invalid_operator_updates(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        with_update(_touch(), **change)


def test_choosing_the_candidate_settles_ambiguity() -> None:
    touch = _touch(contact_id="b", candidate_ids=("b", "a"))
    assert touch.ambiguous
    chosen = with_update(touch, contact_id="a")
    assert chosen.contact_id == "a" and not chosen.ambiguous
    # A later merge does not make it ambiguous again.
    assert not with_contact_moved(chosen, "b", "c").ambiguous


def test_booking_links_the_first_appointment_and_sets_booked() -> None:
    touch = with_appointment(_touch(result="information"), "ap1")
    assert (touch.appointment_id, touch.result) == ("ap1", "booked")
    assert with_appointment(touch, "ap2").appointment_id == "ap1"


def test_moving_the_contact_renames_contact_and_candidates() -> None:
    touch = _touch(contact_id="dup", candidate_ids=("dup", "other"))
    moved = with_contact_moved(touch, "dup", "primary")
    assert moved.contact_id == "primary" and moved.candidate_ids == ("primary", "other")
    assert moved.ambiguous
    # Merging the two candidates into one leaves one: no longer ambiguous.
    both = with_contact_moved(moved, "other", "primary")
    assert both.candidate_ids == ("primary",) and not both.ambiguous
    assert with_contact_moved(touch, "x", "y") == touch
    assert with_contact_moved(touch, "dup", "dup") == touch


def test_lead_names_and_key_details() -> None:
    assert lead_display_name("+74951234567") == "Lead +7 495 123-45-67"
    visit = NextVisit(starts_at=T0, clinic_name="Clinic on Arbat", time_zone="Europe/Moscow")
    assert key_details({}, kind="patient", next_visit=visit, previous_calls=2) == {
        "Next visit": "2026-03-02 10:00, Clinic on Arbat",
        "Previous calls": "2",
    }
    assert key_details(
        {"Previous calls": "booking's"}, kind="lead", next_visit=NextVisit(T0), previous_calls=1
    ) == {
        "Status": "Lead: no patient record yet",
        "Next visit": "2026-03-02 07:00 UTC",
        "Previous calls": "booking's",
    }
    assert key_details(
        {}, kind="patient", next_visit=NextVisit(T0, None, "Not/AZone"), previous_calls=0
    ) == {"Next visit": "2026-03-02 07:00 UTC"}
