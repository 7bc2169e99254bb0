"""Request bodies of login, clients and appointments, and what every body shares.

Each is a pydantic model whose docstring and field descriptions are what ``/docs``
shows; the directory's are in :mod:`.directory_bodies`.
"""

from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from switchboard_booking.domain import commands


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a 422 rather than ignored."""

    model_config = ConfigDict(extra="forbid")


class Patch(Body):
    """A PATCH body: a field left out keeps its value. ``null`` clears a field only where
    the thing may lack it (``clearable``); elsewhere it is a 422 naming the field, not a
    value the database refuses."""

    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_clearable(self) -> Self:
        nulls = sorted(
            name
            for name in self.model_fields_set
            if getattr(self, name) is None and name not in self.clearable
        )
        if nulls:
            raise ValueError(
                f"{', '.join(nulls)} cannot be null (leave a field out to keep its value)"
            )
        return self


def given(body: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body actually carries."""
    return body.model_dump(exclude_unset=True)


Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]
Email = Annotated[str, Field(max_length=320)]
Phone = Annotated[str, Field(max_length=40)]
MeetingMethod = Literal["in_person", "video", "phone"]
Language = Literal["ru", "en"]

# --- auth ------------------------------------------------------------------------------------


class LoginBody(Body):
    """An operator's credentials."""

    username: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="Login name (case and surrounding spaces do not matter)."
    )
    password: Annotated[str, Field(min_length=1, max_length=200)]


class PasswordChangeBody(Body):
    """An operator choosing a new password: their credentials and the new one."""

    username: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="Login name (case and surrounding spaces do not matter)."
    )
    current_password: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The password now: the temporary one after an admin's reset."
    )
    new_password: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="At least BOOKING_PASSWORD_MIN_LENGTH (10) characters, not the "
        "username, not the current password."
    )


class PasswordResetBody(Body):
    """An admin resetting an operator's password."""

    password: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="The temporary password to give (the password policy applies); "
        "omitted: one is generated. Either way it is answered once and never shown again.",
    )


# --- clients ---------------------------------------------------------------------------------


class NewClientBody(Body):
    """A client to register: first and last name, and an email or a mobile at least."""

    first_name: Name
    last_name: Name
    email: Email | None = Field(default=None, description="Stored lower-cased.")
    mobile: Phone | None = Field(
        default=None,
        description="Any format; stored in E.164. Without a country code it is read in "
        "the chain's default region.",
    )
    sms_consent: bool = Field(
        default=False, description="The client agrees to SMS notifications (needs a mobile)."
    )
    date_of_birth: date | None = None
    phones: list[Phone] = Field(
        default_factory=list, max_length=10, description="Further numbers, any format."
    )
    language: Language | None = Field(
        default=None, description="Their notifications' language; the chain's default if omitted."
    )
    email_consent: bool = Field(
        default=True, description="Emails may be sent (false once they unsubscribed)."
    )

    def command(self) -> commands.NewClient:
        """As the domain command."""
        return commands.NewClient(**{**self.model_dump(), "phones": tuple(self.phones)})


class ClientPatchBody(Body):
    """Changes to a client's details: a field left out (or ``null``) keeps its value; the
    result must still be a valid client. ``phones`` replaces the further numbers whole."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    mobile: Phone | None = Field(default=None, description="Any format; stored in E.164.")
    sms_consent: bool | None = None
    date_of_birth: date | None = None
    phones: list[Phone] | None = Field(
        default=None, max_length=10, description="The further numbers, replacing the old ones."
    )
    language: Language | None = Field(default=None, description="Their notifications' language.")
    email_consent: bool | None = Field(
        default=None, description="Emails may be sent (false once they unsubscribed)."
    )


class MergeBody(Body):
    """Two records of one person: the duplicate is folded into the primary (details,
    phones, appointments, attendances, notifications) and then deleted."""

    primary_client_id: Name = Field(description="The record that stays.")
    duplicate_client_id: Name = Field(description="The record that goes.")


# --- appointments ----------------------------------------------------------------------------


class AttendeeBody(Body):
    """Someone else attending the appointment: give exactly one of ``client_id`` and
    ``new_client``."""

    client_id: str | None = Field(default=None, description="An existing client.")
    new_client: NewClientBody | None = Field(
        default=None, description="A client registered with the booking."
    )


class BookBody(Body):
    """An appointment to book for the caller's call center: give exactly one of
    ``client_id`` and ``new_client``. The slot must fit the practitioner's working hours
    and be free; otherwise 422, or 409 with who holds it."""

    service_id: Name
    clinic_id: Name
    meeting_method: MeetingMethod = Field(
        default="in_person", description="One of the service's meeting methods."
    )
    starts_at: AwareDatetime = Field(description="Start, with its UTC offset.")
    practitioner_id: str | None = Field(default=None, description="Omit for anyone available.")
    language: str | None = Field(default=None, description="With anyone available.")
    client_id: str | None = Field(default=None, description="An existing client.")
    new_client: NewClientBody | None = Field(
        default=None, description="A client registered with the booking."
    )
    attendees: list[AttendeeBody] = Field(
        default_factory=list, max_length=20, description="Others attending with the client."
    )
    attendee_notes: Text = Field(
        default="", description="Shown to the client and attendees in their notifications."
    )
    private_notes: Text = Field(
        default="", description="For the booking call center (and admins) only."
    )
    answers: dict[str, Text] = Field(
        default_factory=dict,
        description="Answers to the service's questions, by question id; required "
        "questions must be answered.",
    )
    call_id: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="The call during which it was booked."
    )
    touch_id: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="The touch of that call."
    )

    def command(self) -> commands.BookAppointment:
        """As the domain command."""
        return commands.BookAppointment(
            **self.model_dump(exclude={"new_client", "attendees"}),
            new_client=self.new_client.command() if self.new_client else None,
            attendees=tuple(
                commands.Attendee(a.client_id, a.new_client.command() if a.new_client else None)
                for a in self.attendees
            ),
        )


class RescheduleBody(Body):
    """A new time (and optionally practitioner) for a booked appointment."""

    starts_at: AwareDatetime = Field(description="New start, with its UTC offset.")
    practitioner_id: str | None = Field(
        default=None, description="Omit to keep the appointment's practitioner."
    )


class CancelBody(Body):
    """Why an appointment is cancelled."""

    reason_id: str | None = Field(
        default=None,
        description="One of the active cancellation reasons; required where the chain "
        "requires a reason.",
    )
    note: Text = Field(default="", description="Free text kept with the cancellation.")
