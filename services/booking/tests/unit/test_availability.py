"""Slot availability: working hours, duration, existing appointments, pooling, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard_booking.domain.availability import (
    Interval,
    PractitionerDay,
    WorkingHours,
    free_slots,
    pooled,
    within_working_hours,
    working_intervals,
)

MSK = ZoneInfo("Europe/Moscow")
MONDAY = date(2026, 3, 2)
NINE_TO_ONE = (WorkingHours(0, time(9), time(13)),)


def utc(hour: int, minute: int = 0) -> datetime:
    """A Moscow wall-clock time on MONDAY, in UTC (Moscow is UTC+3)."""
    return datetime(2026, 3, 2, hour, minute, tzinfo=MSK).astimezone(UTC)


def test_slots_fill_working_hours_in_the_clinic_time_zone() -> None:
    slots = free_slots(
        MONDAY,
        MSK,
        timedelta(minutes=60),
        [PractitionerDay("p1", NINE_TO_ONE)],
        step=timedelta(minutes=60),
    )
    assert [s.starts_at for s in slots] == [utc(9), utc(10), utc(11), utc(12)]
    assert slots[0].starts_at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert all(s.ends_at - s.starts_at == timedelta(minutes=60) for s in slots)


def test_existing_appointments_remove_overlapping_slots_only() -> None:
    busy = (Interval(utc(10, 15), utc(10, 45)),)
    slots = free_slots(
        MONDAY,
        MSK,
        timedelta(minutes=30),
        [PractitionerDay("p1", NINE_TO_ONE, busy)],
        step=timedelta(minutes=15),
    )
    starts = [s.starts_at for s in slots]
    assert utc(9, 45) in starts  # ends 10:15, touching the appointment is fine
    assert utc(10, 45) in starts
    for blocked in (utc(10), utc(10, 15), utc(10, 30)):
        assert blocked not in starts


def test_no_slot_on_a_day_off_or_in_the_past() -> None:
    tuesday = MONDAY + timedelta(days=1)
    assert (
        free_slots(
            tuesday,
            MSK,
            timedelta(minutes=30),
            [PractitionerDay("p1", NINE_TO_ONE)],
            step=timedelta(minutes=30),
        )
        == []
    )
    later = free_slots(
        MONDAY,
        MSK,
        timedelta(minutes=30),
        [PractitionerDay("p1", NINE_TO_ONE)],
        step=timedelta(minutes=30),
        not_before=utc(12, 10),
    )
    assert [s.starts_at for s in later] == [utc(12, 30)]


def test_pooled_slots_list_every_free_practitioner_and_language_filters() -> None:
    a = PractitionerDay("a", NINE_TO_ONE, (Interval(utc(9), utc(10)),), frozenset({"ru"}))
    b = PractitionerDay("b", NINE_TO_ONE, (), frozenset({"ru", "en"}))
    slots = free_slots(MONDAY, MSK, timedelta(minutes=60), [a, b], step=timedelta(minutes=60))
    pool = pooled(slots)
    assert pool[0].starts_at == utc(9) and pool[0].practitioner_ids == ("b",)
    assert pool[1].practitioner_ids == ("a", "b")
    english = free_slots(
        MONDAY, MSK, timedelta(minutes=60), [a, b], step=timedelta(hours=1), language="en"
    )
    assert {s.practitioner_id for s in english} == {"b"}


def test_working_hours_follow_dst_in_the_clinic_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    hours = (WorkingHours(6, time(9), time(10)),)  # Sundays
    before = working_intervals(date(2026, 3, 22), berlin, hours)[0]
    after = working_intervals(date(2026, 3, 29), berlin, hours)[0]  # the day clocks go forward
    assert before.starts_at.hour == 8 and after.starts_at.hour == 7


def test_within_working_hours() -> None:
    assert within_working_hours(Interval(utc(12), utc(13)), MSK, NINE_TO_ONE)
    assert not within_working_hours(Interval(utc(12, 30), utc(13, 30)), MSK, NINE_TO_ONE)
    assert not within_working_hours(Interval(utc(8, 30), utc(9, 30)), MSK, NINE_TO_ONE)


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[PractitionerDay], timedelta, timedelta]:
    people = []
    for index in range(draw(st.integers(1, 3))):
        hours = []
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, 22 * 60))
            end = draw(st.integers(start + 1, 24 * 60 - 1))
            hours.append(WorkingHours(0, time(start // 60, start % 60), time(end // 60, end % 60)))
        busy = []
        for _ in range(draw(st.integers(0, 6))):
            start = draw(st.integers(-120, 26 * 60))
            length = draw(st.integers(5, 240))
            base = datetime(2026, 3, 2, tzinfo=MSK)
            busy.append(
                Interval(base + timedelta(minutes=start), base + timedelta(minutes=start + length))
            )
        people.append(PractitionerDay(f"p{index}", tuple(hours), tuple(busy)))
    duration = timedelta(minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60, 90])))
    step = timedelta(minutes=draw(st.sampled_from([5, 10, 15, 30])))
    return people, duration, step


@settings(max_examples=300, deadline=None)
@given(schedules())
def test_no_offered_slot_overlaps_an_appointment_or_leaves_working_hours(
    case: tuple[list[PractitionerDay], timedelta, timedelta],
) -> None:
    people, duration, step = case
    by_id = {p.practitioner_id: p for p in people}
    slots = free_slots(MONDAY, MSK, duration, people, step=step)
    for slot in slots:
        person = by_id[slot.practitioner_id]
        interval = Interval(slot.starts_at, slot.ends_at)
        assert slot.ends_at - slot.starts_at == duration
        assert not any(interval.overlaps(b) for b in person.busy)
        assert any(w.contains(interval) for w in working_intervals(MONDAY, MSK, person.hours))
    # And nothing free is withheld: every step-aligned start that fits is offered.
    offered = {(s.practitioner_id, s.starts_at) for s in slots}
    for person in people:
        for stretch in working_intervals(MONDAY, MSK, person.hours):
            start = stretch.starts_at
            while start + duration <= stretch.ends_at:
                free = not any(Interval(start, start + duration).overlaps(b) for b in person.busy)
                assert ((person.practitioner_id, start) in offered) == free
                start += step
