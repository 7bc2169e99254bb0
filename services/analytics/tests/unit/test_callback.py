"""The called-back rule, by example and by property (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard_analytics.domain.callback import (
    DEFAULT_WINDOW,
    CallBack,
    CallFacts,
    find_callback,
    is_missed_incoming,
    may_call_back,
    reached_number,
)

T0 = datetime(2026, 3, 12, 7, 0, tzinfo=UTC)
NUMBER = "+79161234567"


def call(
    call_id: str, call_type: str, disposition: str, minutes: float, number: str = NUMBER
) -> CallFacts:
    src, dst = (number, "101") if call_type == "incoming" else ("101", number)
    if call_type == "internal":
        src, dst = "101", number
    return CallFacts(call_id, call_type, disposition, src, dst, T0 + timedelta(minutes=minutes))


MISSED = call("m", "incoming", "missed", 0)


def test_an_outgoing_call_to_the_number_calls_back_whatever_its_outcome() -> None:
    for disposition in ("answered", "missed", "busy", "failed"):
        found = find_callback(MISSED, [call("c", "outgoing", disposition, 120)])
        assert found == CallBack("c", 7200)


def test_an_incoming_call_from_the_number_calls_back_only_when_answered() -> None:
    assert find_callback(MISSED, [call("c", "incoming", "answered", 30)]) == CallBack("c", 1800)
    for disposition in ("missed", "busy", "failed"):
        assert find_callback(MISSED, [call("c", "incoming", disposition, 30)]) is None


def test_internal_calls_and_other_numbers_never_call_back() -> None:
    assert find_callback(MISSED, [call("c", "internal", "answered", 5)]) is None
    assert find_callback(MISSED, [call("c", "outgoing", "answered", 5, "+79160000000")]) is None


def test_the_window_is_after_the_missed_call_and_includes_its_end() -> None:
    day = 24 * 60
    assert find_callback(MISSED, [call("c", "outgoing", "answered", day)]) == CallBack("c", 86400)
    assert find_callback(MISSED, [call("c", "outgoing", "answered", day + 1 / 60)]) is None
    assert find_callback(MISSED, [call("c", "outgoing", "answered", 0)]) is None
    assert find_callback(MISSED, [call("c", "outgoing", "answered", -5)]) is None
    short = timedelta(hours=1)
    assert find_callback(MISSED, [call("c", "outgoing", "answered", 61)], short) is None


def test_the_earliest_call_back_wins_and_ties_go_to_the_smaller_id() -> None:
    calls = [call("late", "outgoing", "answered", 300), call("early", "outgoing", "missed", 10)]
    assert find_callback(MISSED, calls) == CallBack("early", 600)
    tie = [call("b", "outgoing", "answered", 10), call("a", "incoming", "answered", 10)]
    assert find_callback(MISSED, tie) == CallBack("a", 600)


def test_only_missed_incoming_calls_are_called_back() -> None:
    callback = [call("c", "outgoing", "answered", 10)]
    for missed in (
        call("x", "incoming", "busy", 0),
        call("x", "outgoing", "missed", 0),
        call("x", "incoming", "answered", 0),
    ):
        assert not is_missed_incoming(missed)
        assert find_callback(missed, callback) is None
    assert find_callback(MISSED, [MISSED]) is None


def test_the_delay_is_in_whole_seconds_rounded_down() -> None:
    found = find_callback(MISSED, [call("c", "outgoing", "answered", 1.999 / 60)])
    assert found is not None and found.delay_seconds == 1


def test_reached_number() -> None:
    assert reached_number(call("c", "outgoing", "busy", 0)) == NUMBER
    assert reached_number(call("c", "incoming", "answered", 0)) == NUMBER
    assert reached_number(call("c", "incoming", "missed", 0)) is None
    assert reached_number(call("c", "internal", "answered", 0)) is None


# -- properties -------------------------------------------------------------------------

NUMBERS = [NUMBER, "+79160000001", "+79160000002"]
calls_strategy = st.lists(
    st.builds(
        lambda i, t, d, minutes, n: call(f"c{i}", t, d, minutes, n),
        st.integers(0, 10_000),
        st.sampled_from(["incoming", "outgoing", "internal"]),
        st.sampled_from(["answered", "missed", "busy", "failed"]),
        st.integers(-3 * 24 * 60, 3 * 24 * 60),
        st.sampled_from(NUMBERS),
    ),
    max_size=25,
    unique_by=lambda c: c.call_id,
)
windows = st.integers(1, 72).map(lambda hours: timedelta(hours=hours))


def brute_force(missed: CallFacts, calls: list[CallFacts], window: timedelta) -> CallBack | None:
    """The rule as the issue states it, written out again without any of the helpers."""
    if not (missed.call_type == "incoming" and missed.disposition == "missed"):
        return None
    best = None
    for c in calls:
        to_number = c.call_type == "outgoing" and c.dst == missed.src
        from_number = (
            c.call_type == "incoming" and c.disposition == "answered" and c.src == missed.src
        )
        delay = c.started_at - missed.started_at
        if (
            c.call_id != missed.call_id
            and (to_number or from_number)
            and (timedelta(0) < delay <= window)
        ):
            best = min(best or (delay, c.call_id), (delay, c.call_id))
    return None if best is None else CallBack(best[1], int(best[0].total_seconds()))


@settings(max_examples=300, deadline=None)
@given(calls=calls_strategy, window=windows, seed=st.integers())
def test_matches_the_rule_as_stated_in_any_order(
    calls: list[CallFacts], window: timedelta, seed: int
) -> None:
    for missed in [MISSED, *calls]:
        expected = brute_force(missed, calls, window)
        shuffled = list(calls)
        random.Random(seed).shuffle(shuffled)
        assert find_callback(missed, calls, window) == expected
        assert find_callback(missed, shuffled, window) == expected


@settings(max_examples=200, deadline=None)
@given(calls=calls_strategy, small=windows, extra=windows)
def test_a_wider_window_keeps_every_call_back_found(
    calls: list[CallFacts], small: timedelta, extra: timedelta
) -> None:
    found = find_callback(MISSED, calls, small)
    if found is not None:
        assert find_callback(MISSED, calls, small + extra) == found


@settings(max_examples=200, deadline=None)
@given(calls=calls_strategy, window=windows)
def test_what_it_finds_qualifies_and_the_precheck_agrees(
    calls: list[CallFacts], window: timedelta
) -> None:
    found = find_callback(MISSED, calls, window)
    qualifying = [c for c in calls if may_call_back(c, MISSED, window)]
    if found is None:
        assert qualifying == []
        return
    chosen = next(c for c in calls if c.call_id == found.call_id)
    assert reached_number(chosen) == MISSED.src
    assert 0 < found.delay_seconds <= window.total_seconds()
    assert chosen in qualifying
    assert all(c.started_at >= chosen.started_at for c in qualifying)
    # Calls about other numbers change nothing.
    noise = [call(f"n{i}", "outgoing", "answered", i, "+70000000000") for i in range(5)]
    assert find_callback(MISSED, calls + noise, window) == found


def test_default_window_is_a_day() -> None:
    assert timedelta(hours=24) == DEFAULT_WINDOW
