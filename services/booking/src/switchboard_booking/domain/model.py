"""Booking's core model: who acts, appointments, and the rules about changing them.

Plain dataclasses and functions, no I/O. Handlers load these from the database, call the
rules, and write back what they return.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from switchboard_booking.domain.availability import Interval, WorkingHours, within_working_hours
from switchboard_booking.domain.errors import Conflict, Forbidden, InvalidRequest

Role = Literal["admin", "call_centre", "clinic_staff", "manager"]
AppointmentStatus = Literal["booked", "cancelled"]
MEETING_METHODS = ("in_person", "video", "phone")
AnswerType = Literal["text", "number", "yes_no", "date"]

#: Roles that may book, move and cancel appointments and edit clients.
BOOKING_ROLES: tuple[Role, ...] = ("admin", "call_centre", "clinic_staff")


@dataclass(frozen=True)
class Actor:
    """The operator a command is performed for (from the verified session)."""

    operator_id: str
    role: Role
    call_center_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Admins may change any appointment and manage the directory."""
        return self.role == "admin"


def ensure_may_book(actor: Actor) -> None:
    """Only operators who book (admins, call-centre operators, clinic staff) may book.

    A non-admin must belong to a call center: every appointment records the call center
    that owns it.
    """
    if actor.role not in BOOKING_ROLES:
        raise Forbidden(f"the {actor.role} role cannot book or change appointments")
    if not actor.is_admin and actor.call_center_id is None:
        raise Forbidden("the operator belongs to no call center")


def ensure_may_edit_clients(actor: Actor) -> None:
    """Creating, updating and merging clients is for the booking roles."""
    if actor.role not in BOOKING_ROLES:
        raise Forbidden(f"the {actor.role} role cannot change clients")


def ensure_admin(actor: Actor) -> None:
    """The directory is managed by admins."""
    if not actor.is_admin:
        raise Forbidden("only an admin may change the directory")


def reads_logins(actor: Actor) -> bool:
    """Admins keep the directory and managers read all of it; the operators who book see
    who is who (names, roles, call centers, extensions), not login names."""
    return actor.role in ("admin", "manager")


def can_change(actor: Actor, owner_call_center_id: str | None) -> bool:
    """The ownership rule: admins change any appointment; a booking operator only those
    made by their own call center."""
    if actor.is_admin:
        return True
    return (
        actor.role in BOOKING_ROLES
        and actor.call_center_id is not None
        and actor.call_center_id == owner_call_center_id
    )


@dataclass(frozen=True)
class ServiceInfo:
    """What booking rules need to know about a service."""

    service_id: str
    duration: timedelta
    meeting_methods: tuple[str, ...]
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Question:
    """An appointment question a service asks when booking."""

    question_id: str
    text: str
    required: bool = False
    #: What an answer must look like: free text, a number, ``yes``/``no``, an ISO date.
    answer_type: AnswerType = "text"


@dataclass(frozen=True)
class Appointment:
    """One appointment: who, where, when, which call center owns it, and its notes."""

    appointment_id: str
    client_id: str
    clinic_id: str
    practitioner_id: str
    service_id: str
    meeting_method: str
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus = "booked"
    #: 1 when booked; every change (a move, the cancellation) is the next version.
    version: int = 1
    call_center_id: str | None = None
    operator_id: str | None = None
    attendee_client_ids: tuple[str, ...] = ()
    attendee_notes: str = ""
    private_notes: str = ""
    answers: Mapping[str, str] = field(default_factory=dict)
    call_id: str | None = None
    touch_id: str | None = None
    cancellation_reason_id: str | None = None
    cancellation_note: str = ""
    cancelled_at: datetime | None = None

    @property
    def interval(self) -> Interval:
        """The time the practitioner is held."""
        return Interval(self.starts_at, self.ends_at)

    def ensure_changeable_by(self, actor: Actor) -> None:
        """403 unless ``actor`` may change this appointment; 409 once it is cancelled."""
        ensure_may_book(actor)
        if not can_change(actor, self.call_center_id):
            raise Forbidden("this appointment belongs to another call center")
        if self.status != "booked":
            raise Conflict("the appointment is cancelled")

    def moved(
        self,
        actor: Actor,
        starts_at: datetime,
        ends_at: datetime,
        practitioner_id: str | None = None,
    ) -> Appointment:
        """The appointment at its new time (and practitioner); ownership stays unchanged."""
        self.ensure_changeable_by(actor)
        return replace(
            self,
            starts_at=starts_at,
            ends_at=ends_at,
            practitioner_id=practitioner_id or self.practitioner_id,
            version=self.version + 1,
        )

    def cancelled(
        self, actor: Actor, at: datetime, reason_id: str | None, note: str = ""
    ) -> Appointment:
        """The appointment cancelled by ``actor``."""
        self.ensure_changeable_by(actor)
        return replace(
            self,
            status="cancelled",
            cancelled_at=at,
            cancellation_reason_id=reason_id,
            cancellation_note=note,
            version=self.version + 1,
        )


def check_slot(
    *,
    starts_at: datetime,
    service: ServiceInfo,
    meeting_method: str,
    tz: ZoneInfo,
    hours: Sequence[WorkingHours],
    gives_service: bool,
    works_at_clinic: bool,
    now: datetime,
    opening_hours: Sequence[WorkingHours] | None = None,
    away: Sequence[Interval] = (),
) -> datetime:
    """Validate a requested slot; returns its end (start + the service's duration).

    ``tz`` is the clinic's time zone, ``hours`` the practitioner's working hours there,
    ``opening_hours`` the clinic's (``None``: none set) and ``away`` when the practitioner
    is absent or the clinic closed.
    """
    if not works_at_clinic:
        raise InvalidRequest("the practitioner does not work at this clinic")
    if not gives_service:
        raise InvalidRequest("the practitioner does not give this service")
    if meeting_method not in service.meeting_methods:
        raise InvalidRequest(
            f"meeting method {meeting_method!r} is not offered for this service "
            f"(offered: {', '.join(service.meeting_methods)})"
        )
    if starts_at < now:
        raise InvalidRequest("starts_at is in the past")
    ends_at = starts_at + service.duration
    when = Interval(starts_at, ends_at)
    if not within_working_hours(when, tz, hours):
        raise InvalidRequest("the slot is outside the practitioner's working hours")
    if not within_working_hours(when, tz, hours, opening_hours):
        raise InvalidRequest("the slot is outside the clinic's opening hours")
    if any(when.overlaps(off) for off in away):
        raise InvalidRequest("the practitioner is away or the clinic is closed then")
    return ends_at


def check_answers(questions: Sequence[Question], answers: Mapping[str, str]) -> dict[str, str]:
    """Answers must name the service's questions, every required one must be answered, and
    each answer given must be of its question's type."""
    known = {q.question_id for q in questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidRequest(f"unknown appointment questions: {', '.join(unknown)}")
    missing = [
        q.question_id
        for q in questions
        if q.required and not (answers.get(q.question_id) or "").strip()
    ]
    if missing:
        raise InvalidRequest(f"required appointment questions not answered: {', '.join(missing)}")
    given = {k: v.strip() for k, v in answers.items()}
    wrong = [
        f"{q.question_id} ({_ANSWER_SHAPES[q.answer_type]})"
        for q in questions
        if given.get(q.question_id) and not _answer_fits(q.answer_type, given[q.question_id])
    ]
    if wrong:
        raise InvalidRequest(f"appointment answers of the wrong kind: {', '.join(wrong)}")
    return given


_ANSWER_SHAPES: dict[str, str] = {
    "text": "any text",
    "number": "a number",
    "yes_no": "yes or no",
    "date": "a date as YYYY-MM-DD",
}


def _answer_fits(answer_type: AnswerType, answer: str) -> bool:
    if answer_type == "number":
        try:
            return math.isfinite(float(answer.replace(",", ".")))
        except ValueError:
            return False
    if answer_type == "yes_no":
        return answer in ("yes", "no")
    if answer_type == "date":
        try:
            date.fromisoformat(answer)
        except ValueError:
            return False
        return len(answer) == 10
    return True


def check_cancellation_reason(
    reason_id: str | None, *, required: bool, active_reason_ids: frozenset[str]
) -> str | None:
    """The cancellation-reason rule: when the chain requires one, a reason from the
    configured (active) list must be given; a given reason must always be on that list."""
    if reason_id is None or not reason_id.strip():
        if required:
            raise InvalidRequest("a cancellation reason is required")
        return None
    if reason_id not in active_reason_ids:
        raise InvalidRequest(f"unknown cancellation reason {reason_id!r}")
    return reason_id


def ensure_distinct_for_merge(primary_client_id: str, duplicate_client_id: str) -> None:
    """A client cannot be merged into itself."""
    if primary_client_id == duplicate_client_id:
        raise InvalidRequest("a client cannot be merged into itself")
