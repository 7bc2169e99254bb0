"""Ownership, cancellation reasons, client profiles and merging."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from switchboard_booking.domain.availability import WorkingHours
from switchboard_booking.domain.clients import merged_profile, new_profile
from switchboard_booking.domain.directory import check_time_zone
from switchboard_booking.domain.errors import Conflict, Forbidden, InvalidRequest
from switchboard_booking.domain.model import (
    Actor,
    Appointment,
    Question,
    ServiceInfo,
    can_change,
    check_answers,
    check_cancellation_reason,
    check_slot,
    ensure_distinct_for_merge,
    ensure_may_book,
)

T = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
ADMIN = Actor("op-admin", "admin")
ANNA = Actor("op-anna", "call_centre", "cc-central")
BORIS = Actor("op-boris", "call_centre", "cc-central")
PETR = Actor("op-petr", "call_centre", "cc-partner")
MARIA = Actor("op-maria", "manager")


def appointment(**changes: object) -> Appointment:
    values: dict[str, object] = dict(
        appointment_id="a1",
        client_id="c1",
        clinic_id="k1",
        practitioner_id="p1",
        service_id="s1",
        meeting_method="in_person",
        starts_at=T,
        ends_at=T + timedelta(minutes=30),
        call_center_id="cc-central",
        operator_id="op-anna",
        attendee_client_ids=("c2",),
        attendee_notes="Bring your X-ray",
        private_notes="VIP, difficult caller",
        answers={"symptoms": "cough"},
    )
    values.update(changes)
    return Appointment(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (ADMIN, True),
        (ANNA, True),
        (BORIS, True),
        (PETR, False),
        (MARIA, False),
        (Actor("op-x", "clinic_staff", "cc-central"), True),
        (Actor("op-y", "call_centre", None), False),
    ],
)
def test_ownership_rule(actor: Actor, allowed: bool) -> None:
    assert can_change(actor, "cc-central") is allowed
    if allowed:
        appointment().ensure_changeable_by(actor)
    else:
        with pytest.raises(Forbidden):
            appointment().ensure_changeable_by(actor)


def test_an_appointment_without_a_call_center_is_admin_only() -> None:
    assert can_change(ADMIN, None)
    assert not can_change(ANNA, None)


def test_managers_and_operators_without_a_call_center_cannot_book() -> None:
    ensure_may_book(ANNA)
    ensure_may_book(ADMIN)
    with pytest.raises(Forbidden):
        ensure_may_book(MARIA)
    with pytest.raises(Forbidden):
        ensure_may_book(Actor("op-z", "call_centre", None))


def test_a_cancelled_appointment_cannot_change_again() -> None:
    cancelled = appointment().cancelled(ANNA, T, "client-request")
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == T
    with pytest.raises(Conflict):
        cancelled.moved(ANNA, T + timedelta(hours=1), T + timedelta(hours=2))


def test_moving_keeps_the_owner() -> None:
    moved = appointment().moved(ADMIN, T + timedelta(hours=1), T + timedelta(hours=2), "p2")
    assert (moved.practitioner_id, moved.call_center_id) == ("p2", "cc-central")


def test_cancellation_reason_rule() -> None:
    reasons = frozenset({"client-request"})
    assert (
        check_cancellation_reason("client-request", required=True, active_reason_ids=reasons)
        == "client-request"
    )
    with pytest.raises(InvalidRequest, match="required"):
        check_cancellation_reason(None, required=True, active_reason_ids=reasons)
    with pytest.raises(InvalidRequest, match="required"):
        check_cancellation_reason("  ", required=True, active_reason_ids=reasons)
    assert check_cancellation_reason(None, required=False, active_reason_ids=reasons) is None
    with pytest.raises(InvalidRequest, match="unknown"):
        check_cancellation_reason("made-up", required=False, active_reason_ids=reasons)


def test_slot_checks() -> None:
    service = ServiceInfo("s1", timedelta(minutes=30), ("in_person",))
    hours = (WorkingHours(0, time(9), time(13)),)
    msk = ZoneInfo("Europe/Moscow")
    ok = dict(
        starts_at=T,
        service=service,
        meeting_method="in_person",
        tz=msk,
        hours=hours,
        gives_service=True,
        works_at_clinic=True,
        now=T - timedelta(days=1),
    )
    assert check_slot(**ok) == T + timedelta(minutes=30)  # type: ignore[arg-type]
    for change, message in [
        ({"meeting_method": "video"}, "meeting method"),
        ({"starts_at": T + timedelta(hours=3, minutes=45)}, "working hours"),
        ({"now": T + timedelta(minutes=1)}, "past"),
        ({"gives_service": False}, "service"),
        ({"works_at_clinic": False}, "clinic"),
    ]:
        with pytest.raises(InvalidRequest, match=message):
            check_slot(**{**ok, **change})  # type: ignore[arg-type]


def test_answers_must_match_the_questions() -> None:
    questions = (Question("symptoms", "Symptoms?", required=True), Question("allergies", "?"))
    assert check_answers(questions, {"symptoms": " cough "}) == {"symptoms": "cough"}
    with pytest.raises(InvalidRequest, match="not answered"):
        check_answers(questions, {"allergies": "none"})
    with pytest.raises(InvalidRequest, match="unknown"):
        check_answers(questions, {"symptoms": "x", "shoe_size": "42"})


@pytest.mark.parametrize(
    ("answer_type", "good", "bad"),
    [
        ("number", ["38.5", "38,5", "-2", "7"], ["high", "1e999", "nan"]),
        ("yes_no", ["yes", "no"], ["Yes", "maybe", "1"]),
        ("date", ["2026-03-29"], ["29.03.2026", "2026-02-30", "20260329"]),
        ("text", ["anything at all", "42"], []),
    ],
)
def test_answers_must_be_of_their_questions_type(
    answer_type: str, good: list[str], bad: list[str]
) -> None:
    questions = (Question("q", "?", answer_type=answer_type),)  # type: ignore[arg-type]
    for answer in good:
        assert check_answers(questions, {"q": f" {answer} "}) == {"q": answer}
    for answer in bad:
        with pytest.raises(InvalidRequest, match="wrong kind: q"):
            check_answers(questions, {"q": answer})
    # An optional question left blank is not of the wrong kind.
    assert check_answers(questions, {"q": ""}) == {"q": ""}


def test_client_profile_rules() -> None:
    profile = new_profile(
        first_name=" Olga ",
        last_name="Kuznetsova",
        email="Olga@Example.com",
        mobile="8 (916) 123-45-67",
        sms_consent=True,
        region="RU",
        phones=("+7 495 123-45-67", "89161234567"),
    )
    assert profile.mobile == "+79161234567" and profile.email == "olga@example.com"
    assert profile.first_name == "Olga"
    assert profile.phones == ("+74951234567",)
    with pytest.raises(InvalidRequest, match="email or a mobile"):
        new_profile(
            first_name="A", last_name="B", email=None, mobile=None, sms_consent=False, region="RU"
        )
    # A bad number is refused with the field it came in.
    with pytest.raises(InvalidRequest, match=r"^mobile: not a"):
        new_profile(
            first_name="A", last_name="B", email=None, mobile="12", sms_consent=False, region="RU"
        )
    with pytest.raises(InvalidRequest, match=r"^phones: not a"):
        new_profile(
            first_name="A",
            last_name="B",
            email="a@example.com",
            mobile=None,
            sms_consent=False,
            region="RU",
            phones=("not a number",),
        )
    with pytest.raises(InvalidRequest, match="first_name"):
        new_profile(
            first_name=" ",
            last_name="B",
            email="a@b.co",
            mobile=None,
            sms_consent=False,
            region="RU",
        )
    with pytest.raises(InvalidRequest, match="phone"):
        new_profile(
            first_name="A", last_name="B", email=None, mobile="12", sms_consent=False, region="RU"
        )
    with pytest.raises(InvalidRequest, match="SMS"):
        new_profile(
            first_name="A",
            last_name="B",
            email="a@b.co",
            mobile=None,
            sms_consent=True,
            region="RU",
        )


def test_merge_keeps_the_primary_and_fills_gaps() -> None:
    primary = new_profile(
        first_name="Olga",
        last_name="K",
        email="olga@example.com",
        mobile=None,
        sms_consent=False,
        region="RU",
    )
    duplicate = new_profile(
        first_name="Olya",
        last_name="K",
        email="other@example.com",
        mobile="+79161234567",
        sms_consent=True,
        region="RU",
        phones=("+74951234567",),
    )
    result = merged_profile(primary, duplicate)
    assert result.first_name == "Olga" and result.email == "olga@example.com"
    assert result.mobile == "+79161234567" and result.sms_consent
    assert result.phones == ("+74951234567",)
    with pytest.raises(InvalidRequest):
        ensure_distinct_for_merge("c1", "c1")


def test_time_zones_are_iana_names() -> None:
    assert str(check_time_zone("Asia/Yekaterinburg")) == "Asia/Yekaterinburg"
    for bad in ("Mars/Olympus", "", "../etc/passwd", "UTC+3"):
        with pytest.raises(InvalidRequest):
            check_time_zone(bad)
