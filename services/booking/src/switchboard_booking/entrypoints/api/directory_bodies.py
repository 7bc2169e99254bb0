"""Request bodies of the directory (admin only): each thing has a body to create it and a
:class:`~.bodies.Patch` to change some of its fields."""

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from switchboard_booking.domain.model import AnswerType
from switchboard_booking.entrypoints.api.bodies import Body, MeetingMethod, Name, Patch

Weekday = Annotated[int, Field(ge=0, le=6)]
Minutes = Annotated[int, Field(gt=0, le=24 * 60)]
Username = Annotated[str, Field(min_length=1, max_length=100)]
Password = Annotated[str, Field(min_length=1, max_length=200)]
Extension = Annotated[str, Field(max_length=20)]
Role = Literal["admin", "call_centre", "clinic_staff", "manager"]
CallCenterKind = Literal["internal", "external"]

_NEW_ID = "Id to create it under (a readable slug, say); a new one is made when omitted."
_ACTIVE = "Inactive entries stay on record but are no longer offered."
_REMINDER = "Hours before a visit its reminder goes out; 0: no reminders at this clinic."
_ROLE = (
    "admin changes anything; call_centre and clinic_staff book for their call center; "
    "manager reads."
)

# --- clinics ---------------------------------------------------------------------------------


class HoursBody(Body):
    """When a clinic is open on one weekday, in its local time."""

    weekday: Weekday = Field(description="0 = Monday … 6 = Sunday.")
    opens: str = Field(description="HH:MM, local time.")
    closes: str = Field(description="HH:MM, local time.")


class ClinicBody(Body):
    """A clinic of the chain."""

    clinic_id: str | None = Field(default=None, description=_NEW_ID)
    name: Name = Field(description="Unique in the chain.")
    city: str = ""
    address: str = Field(default="", description="Shown in the clients' notifications.")
    time_zone: Name = Field(description="IANA name, such as Europe/Moscow.")
    opening_hours: list[HoursBody] = Field(default_factory=list)
    active: bool = Field(default=True, description=_ACTIVE)
    reminder_hours_before: int = Field(default=24, ge=0, le=336, description=_REMINDER)


class ClinicPatch(Patch):
    """Changes to a clinic (see :class:`ClinicBody`); a field left out keeps its value."""

    name: Name | None = Field(default=None, description="Unique in the chain.")
    city: str | None = None
    address: str | None = None
    time_zone: Name | None = Field(default=None, description="IANA name, such as Europe/Moscow.")
    opening_hours: list[HoursBody] | None = Field(default=None, description="Replaces them all.")
    active: bool | None = None
    reminder_hours_before: int | None = Field(default=None, ge=0, le=336, description=_REMINDER)


# --- services --------------------------------------------------------------------------------


class QuestionBody(Body):
    """A question the operator asks when booking the service."""

    question_id: Name = Field(description="The key of its answer in a booking's answers.")
    text: Name
    required: bool = Field(default=False, description="A booking must answer it.")
    answer_type: AnswerType = Field(
        default="text",
        description="text: anything; number; yes_no: `yes` or `no`; date: YYYY-MM-DD.",
    )


class ServiceBody(Body):
    """A service clients book."""

    service_id: str | None = Field(default=None, description=_NEW_ID)
    name: Name = Field(description="Unique in the chain.")
    duration_minutes: Minutes = Field(description="How long an appointment for it lasts.")
    meeting_methods: list[MeetingMethod] = Field(min_length=1, description="How it may be given.")
    questions: list[QuestionBody] = Field(default_factory=list)
    active: bool = Field(default=True, description=_ACTIVE)


class ServicePatch(Patch):
    """Changes to a service (see :class:`ServiceBody`); a field left out keeps its value."""

    name: Name | None = None
    duration_minutes: Minutes | None = None
    meeting_methods: list[MeetingMethod] | None = None
    questions: list[QuestionBody] | None = Field(default=None, description="Replaces them all.")
    active: bool | None = None


# --- practitioners ---------------------------------------------------------------------------


class WorkingHoursBody(Body):
    """When a practitioner works at one clinic on one weekday, in the clinic's local time."""

    clinic_id: Name = Field(description="One of the practitioner's clinics.")
    weekday: Weekday = Field(description="0 = Monday … 6 = Sunday.")
    starts: str = Field(description="HH:MM, local time.")
    ends: str = Field(description="HH:MM, local time.")


class PractitionerBody(Body):
    """A practitioner, where they work, what they give and when."""

    practitioner_id: str | None = Field(default=None, description=_NEW_ID)
    name: Name
    languages: list[str] = Field(
        default_factory=list, description="Language codes they consult in (ru, en…)."
    )
    clinic_ids: list[str] = Field(default_factory=list, description="Where they work.")
    service_ids: list[str] = Field(default_factory=list, description="What they give.")
    working_hours: list[WorkingHoursBody] = Field(
        default_factory=list, description="Each at one of their clinics."
    )
    active: bool = Field(default=True, description=_ACTIVE)


class PractitionerPatch(Patch):
    """Changes to a practitioner (see :class:`PractitionerBody`); a field left out keeps
    its value, a list given replaces the old one whole."""

    name: Name | None = None
    languages: list[str] | None = None
    clinic_ids: list[str] | None = None
    service_ids: list[str] | None = None
    working_hours: list[WorkingHoursBody] | None = Field(
        default=None, description="Each at one of the practitioner's clinics."
    )
    active: bool | None = None


# --- call centers ----------------------------------------------------------------------------


class CallCenterBody(Body):
    """A call center; the appointments its operators book belong to it."""

    call_center_id: str | None = Field(default=None, description=_NEW_ID)
    name: Name = Field(description="Unique in the chain.")
    kind: CallCenterKind = Field(description="The chain's own (internal) or a partner's.")
    active: bool = Field(default=True, description=_ACTIVE)


class CallCenterPatch(Patch):
    """Changes to a call center (see :class:`CallCenterBody`); a field left out keeps its
    value."""

    name: Name | None = None
    kind: CallCenterKind | None = None
    active: bool | None = None


# --- operators -------------------------------------------------------------------------------


class OperatorBody(Body):
    """Someone who logs in to the console."""

    operator_id: str | None = Field(default=None, description=_NEW_ID)
    name: Name
    username: Username = Field(description="Login name; stored lower-cased, unique.")
    password: Password = Field(description="Stored as a scrypt hash, never shown again.")
    role: Role = Field(description=_ROLE)
    call_center_id: str | None = Field(
        default=None, description="The call center they book for (none for managers, say)."
    )
    extension: Extension | None = Field(
        default=None, description="Their PBX extension; several operators may share one."
    )
    active: bool = Field(default=True, description="Inactive operators cannot log in.")


class OperatorPatch(Patch):
    """Changes to an operator (see :class:`OperatorBody`); a field left out keeps its
    value, ``null`` clears the call center or the extension."""

    clearable: ClassVar[frozenset[str]] = frozenset({"call_center_id", "extension"})

    name: Name | None = None
    username: Username | None = None
    password: Password | None = Field(default=None, description="A new password.")
    role: Role | None = Field(default=None, description=_ROLE)
    call_center_id: str | None = Field(default=None, description="null: no call center.")
    extension: Extension | None = Field(default=None, description="null: no extension.")
    active: bool | None = None


# --- cancellation reasons --------------------------------------------------------------------


class ReasonBody(Body):
    """A reason operators may give when cancelling."""

    reason_id: str | None = Field(default=None, description=_NEW_ID)
    label: Name = Field(description="As operators and the cancellation event show it.")
    active: bool = Field(default=True, description="Deactivate rather than delete.")


class ReasonPatch(Patch):
    """Changes to a cancellation reason; a field left out keeps its value."""

    label: Name | None = None
    active: bool | None = None


# --- time off --------------------------------------------------------------------------------

Reason = Annotated[str, Field(max_length=500, description="Why (shown to admins and operators).")]


class AbsenceBody(Body):
    """A practitioner away: either ``starts_at`` and ``ends_at`` (instants with a UTC offset,
    a half day say) or ``starts_on`` and ``ends_on`` (dates, inclusive, read in the zone of
    each clinic the practitioner works at; ``ends_on`` left out: one day)."""

    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = Field(default=None, description="After starts_at.")
    starts_on: date | None = None
    ends_on: date | None = Field(default=None, description="On or after starts_on.")
    reason: Reason = ""


class ClosureBody(Body):
    """Days a clinic is closed (a public holiday), its local dates, inclusive."""

    starts_on: date
    ends_on: date | None = Field(
        default=None, description="On or after starts_on; one day when left out."
    )
    reason: Reason = ""
