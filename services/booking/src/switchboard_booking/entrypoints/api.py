"""Booking's HTTP API under ``/api/booking``: parse and validate, call a handler or a
query, map domain errors to status codes (in :func:`install_error_handlers`, only there).

No ``from __future__ import annotations`` here: FastAPI must see the dependency types
built inside :func:`booking_router` as real objects, not strings.
"""

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, ClassVar, Literal, Self

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_booking import handlers
from switchboard_booking.adapters import queries
from switchboard_booking.adapters.tables import (
    call_centers,
    cancellation_reasons,
    clinics,
    services,
)
from switchboard_booking.domain import commands
from switchboard_booking.domain.availability import pooled
from switchboard_booking.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    SlotTaken,
)
from switchboard_booking.domain.model import Actor
from switchboard_booking.settings import BookingSettings
from switchboard_phones import search_digits
from switchboard_runtime.auth import SESSION_COOKIE, Principal, authenticator, issue_token
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)

#: The one mapping of domain errors to HTTP status codes (most specific class first).
ERROR_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (SlotTaken, status.HTTP_409_CONFLICT),
    (Conflict, status.HTTP_409_CONFLICT),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (AuthenticationFailed, status.HTTP_401_UNAUTHORIZED),
    (InvalidRequest, 422),
)


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors and database constraint violations with a clear 4xx."""

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        code = next((c for cls, c in ERROR_STATUS if isinstance(exc, cls)), 400)
        body: dict[str, Any] = {"detail": exc.message}
        if isinstance(exc, SlotTaken):
            body["held_by"] = {
                "call_center_id": exc.held_by_call_center_id,
                "call_center_name": exc.held_by_call_center_name,
            }
        return JSONResponse(body, status_code=code)

    async def integrity_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IntegrityError)
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate == "23505":
            return JSONResponse(
                {"detail": "a record with that name already exists"},
                status_code=status.HTTP_409_CONFLICT,
            )
        if sqlstate == "23503":
            return JSONResponse(
                {"detail": "refers to a record that does not exist"},
                status_code=422,
            )
        log.warning("booking.integrity_error", sqlstate=sqlstate)
        return JSONResponse(
            {"detail": "the change conflicts with existing data"},
            status_code=status.HTTP_409_CONFLICT,
        )

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(IntegrityError, integrity_error)


# --- request bodies ------------------------------------------------------------------------


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


Name = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]


class LoginBody(Body):
    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=200)]


class NewClientBody(Body):
    first_name: Name
    last_name: Name
    email: Annotated[str, Field(max_length=320)] | None = None
    mobile: Annotated[str, Field(max_length=40)] | None = None
    sms_consent: bool = False
    date_of_birth: date | None = None
    phones: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=10)

    def command(self) -> commands.NewClient:
        return commands.NewClient(**{**self.model_dump(), "phones": tuple(self.phones)})


class ClientPatchBody(Body):
    first_name: Name | None = None
    last_name: Name | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    mobile: Annotated[str, Field(max_length=40)] | None = None
    sms_consent: bool | None = None
    date_of_birth: date | None = None
    phones: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, max_length=10)


class MergeBody(Body):
    primary_client_id: Name
    duplicate_client_id: Name


class AttendeeBody(Body):
    client_id: str | None = None
    new_client: NewClientBody | None = None


class BookBody(Body):
    service_id: Name
    clinic_id: Name
    meeting_method: Literal["in_person", "video", "phone"] = "in_person"
    starts_at: AwareDatetime
    practitioner_id: str | None = Field(default=None, description="Omit for anyone available.")
    language: str | None = Field(default=None, description="With anyone available.")
    client_id: str | None = None
    new_client: NewClientBody | None = None
    attendees: list[AttendeeBody] = Field(default_factory=list, max_length=20)
    attendee_notes: Text = ""
    private_notes: Text = ""
    answers: dict[str, Text] = Field(default_factory=dict)
    call_id: Annotated[str, Field(max_length=200)] | None = None
    touch_id: Annotated[str, Field(max_length=200)] | None = None

    def command(self) -> commands.BookAppointment:
        return commands.BookAppointment(
            **self.model_dump(exclude={"new_client", "attendees"}),
            new_client=self.new_client.command() if self.new_client else None,
            attendees=tuple(
                commands.Attendee(a.client_id, a.new_client.command() if a.new_client else None)
                for a in self.attendees
            ),
        )


class RescheduleBody(Body):
    starts_at: AwareDatetime
    practitioner_id: str | None = None


class CancelBody(Body):
    reason_id: str | None = None
    note: Text = ""


class HoursBody(Body):
    weekday: Annotated[int, Field(ge=0, le=6)]
    opens: str
    closes: str


class ClinicBody(Body):
    clinic_id: str | None = None
    name: Name
    city: str = ""
    address: str = ""
    time_zone: Name
    opening_hours: list[HoursBody] = Field(default_factory=list)
    active: bool = True


class ClinicPatch(Patch):
    name: Name | None = None
    city: str | None = None
    address: str | None = None
    time_zone: Name | None = None
    opening_hours: list[HoursBody] | None = None
    active: bool | None = None


class QuestionBody(Body):
    question_id: Name
    text: Name
    required: bool = False


class ServiceBody(Body):
    service_id: str | None = None
    name: Name
    duration_minutes: Annotated[int, Field(gt=0, le=24 * 60)]
    meeting_methods: list[Literal["in_person", "video", "phone"]] = Field(min_length=1)
    questions: list[QuestionBody] = Field(default_factory=list)
    active: bool = True


class ServicePatch(Patch):
    name: Name | None = None
    duration_minutes: Annotated[int, Field(gt=0, le=24 * 60)] | None = None
    meeting_methods: list[Literal["in_person", "video", "phone"]] | None = None
    questions: list[QuestionBody] | None = None
    active: bool | None = None


class WorkingHoursBody(Body):
    clinic_id: Name
    weekday: Annotated[int, Field(ge=0, le=6)]
    starts: str
    ends: str


class PractitionerBody(Body):
    practitioner_id: str | None = None
    name: Name
    languages: list[str] = Field(default_factory=list)
    clinic_ids: list[str] = Field(default_factory=list)
    service_ids: list[str] = Field(default_factory=list)
    working_hours: list[WorkingHoursBody] = Field(default_factory=list)
    active: bool = True


class PractitionerPatch(Patch):
    name: Name | None = None
    languages: list[str] | None = None
    clinic_ids: list[str] | None = None
    service_ids: list[str] | None = None
    working_hours: list[WorkingHoursBody] | None = None
    active: bool | None = None


class CallCenterBody(Body):
    call_center_id: str | None = None
    name: Name
    kind: Literal["internal", "external"]
    active: bool = True


class CallCenterPatch(Patch):
    name: Name | None = None
    kind: Literal["internal", "external"] | None = None
    active: bool | None = None


class OperatorBody(Body):
    operator_id: str | None = None
    name: Name
    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["admin", "call_centre", "clinic_staff", "manager"]
    call_center_id: str | None = None
    extension: Annotated[str, Field(max_length=20)] | None = None
    active: bool = True


class OperatorPatch(Patch):
    clearable: ClassVar[frozenset[str]] = frozenset({"call_center_id", "extension"})

    name: Name | None = None
    username: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    password: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    role: Literal["admin", "call_centre", "clinic_staff", "manager"] | None = None
    call_center_id: str | None = None
    extension: Annotated[str, Field(max_length=20)] | None = None
    active: bool | None = None


class ReasonBody(Body):
    reason_id: str | None = None
    label: Name
    active: bool = True


class ReasonPatch(Patch):
    label: Name | None = None
    active: bool | None = None


def _set(body: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body actually carries."""
    return body.model_dump(exclude_unset=True)


# --- routers -------------------------------------------------------------------------------


def booking_router(
    sessions: async_sessionmaker[AsyncSession], settings: BookingSettings, wake: Callable[[], None]
) -> APIRouter:
    """Every booking endpoint; all but login need a session."""
    current = authenticator(lambda: settings.auth_secret.get_secret_value())

    def actor(principal: Principal = Depends(current)) -> Actor:  # noqa: B008
        return Actor(principal.operator_id, principal.role, principal.call_center_id)

    CurrentActor = Annotated[Actor, Depends(actor)]
    public = APIRouter(prefix="/api/booking", tags=["auth"])
    router = APIRouter(prefix="/api/booking", dependencies=[Depends(current)])

    @public.post("/auth/login")
    async def log_in(body: LoginBody, response: Response) -> dict[str, Any]:
        principal = await handlers.login(sessions, body.username, body.password)
        token = issue_token(principal, settings.auth_secret.get_secret_value())
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="lax", max_age=12 * 3600, path="/"
        )
        return {"token": token, "operator": asdict(principal)}

    @public.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
    async def log_out(response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    @router.get("/auth/me", tags=["auth"])
    async def me(principal: Principal = Depends(current)) -> dict[str, Any]:  # noqa: B008
        return asdict(principal)

    # --- clients ---------------------------------------------------------------------------

    @router.post("/clients", status_code=status.HTTP_201_CREATED, tags=["clients"])
    async def create_client(body: NewClientBody, who: CurrentActor) -> dict[str, Any]:
        client_id = await handlers.register_client(sessions, settings, who, body.command())
        wake()
        async with sessions() as session:
            return asdict(await queries.get_client(session, client_id))

    @router.get("/clients", tags=["clients"])
    async def search_clients(
        name: Annotated[str | None, Query(max_length=200)] = None,
        phone: Annotated[str | None, Query(max_length=40)] = None,
        email: Annotated[str | None, Query(max_length=320)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        digits = search_digits(phone, settings.default_region) if phone else None
        if phone and not digits:
            raise InvalidRequest("phone must contain digits")
        if not (name or "").strip() and not digits and not (email or "").strip():
            raise InvalidRequest("search by name, phone or email")
        async with sessions() as session:
            rows = await queries.search_clients(
                session, name=name, phone=digits, email=email, limit=limit
            )
        return {"items": [asdict(r) for r in rows]}

    @router.get("/clients/merge-preview", tags=["clients"])
    async def merge_preview(
        primary_client_id: str, duplicate_client_id: str, who: CurrentActor
    ) -> dict[str, Any]:
        return await handlers.preview_merge(
            sessions, who, commands.MergeClients(primary_client_id, duplicate_client_id)
        )

    @router.post("/clients/merge", tags=["clients"])
    async def merge(body: MergeBody, who: CurrentActor) -> dict[str, Any]:
        moved = await handlers.merge_clients(
            sessions,
            settings,
            who,
            commands.MergeClients(body.primary_client_id, body.duplicate_client_id),
        )
        wake()
        async with sessions() as session:
            client = await queries.get_client(session, body.primary_client_id)
        return {"client": asdict(client), "appointments_moved": moved}

    @router.get("/clients/{client_id}", tags=["clients"])
    async def get_client(client_id: str, who: CurrentActor) -> dict[str, Any]:
        from datetime import UTC, datetime

        async with sessions() as session:
            client = await queries.get_client(session, client_id)
            appointments = await queries.client_appointments(
                session, client_id, who, datetime.now(UTC)
            )
        return {**asdict(client), **appointments}

    @router.patch("/clients/{client_id}", tags=["clients"])
    async def update_client(
        client_id: str, body: ClientPatchBody, who: CurrentActor
    ) -> dict[str, Any]:
        values = _set(body)
        if "phones" in values and values["phones"] is not None:
            values["phones"] = tuple(values["phones"])
        await handlers.update_client(
            sessions, settings, who, commands.UpdateClient(client_id=client_id, **values)
        )
        wake()
        async with sessions() as session:
            return asdict(await queries.get_client(session, client_id))

    @router.get("/clients/{client_id}/notifications", tags=["clients"])
    async def client_notifications(client_id: str) -> dict[str, Any]:
        async with sessions() as session:
            await queries.get_client(session, client_id)
            return {"items": await queries.client_notifications(session, client_id)}

    # --- appointments ----------------------------------------------------------------------

    @router.get("/availability", tags=["appointments"])
    async def availability(
        clinic_id: str,
        service_id: str,
        day: Annotated[date, Query(alias="date")],
        practitioner_id: str | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        clinic, slots = await handlers.availability(
            sessions,
            settings,
            clinic_id=clinic_id,
            service_id=service_id,
            day=day,
            practitioner_id=practitioner_id,
            language=language,
        )
        return {
            "clinic_id": clinic.clinic_id,
            "time_zone": clinic.time_zone,
            "date": day.isoformat(),
            "slots": [asdict(s) for s in slots],
            "anyone_available": [asdict(s) for s in pooled(slots)],
        }

    @router.post("/appointments", status_code=status.HTTP_201_CREATED, tags=["appointments"])
    async def book(body: BookBody, who: CurrentActor) -> dict[str, Any]:
        appointment_id = await handlers.book_appointment(sessions, settings, who, body.command())
        wake()
        async with sessions() as session:
            return asdict(await queries.appointment_view(session, appointment_id, who))

    @router.get("/appointments", tags=["appointments"])
    async def list_day(
        who: CurrentActor,
        day: Annotated[date, Query(alias="date")],
        clinic_id: str | None = None,
        practitioner_id: str | None = None,
        include_cancelled: bool = False,
    ) -> dict[str, Any]:
        if clinic_id is None and practitioner_id is None:
            raise InvalidRequest("give clinic_id or practitioner_id")
        async with sessions() as session:
            rows = await queries.day_appointments(
                session,
                day=day,
                clinic_id=clinic_id,
                practitioner_id=practitioner_id,
                actor=who,
                include_cancelled=include_cancelled,
            )
        return {"date": day.isoformat(), "items": [asdict(r) for r in rows]}

    @router.get("/appointments/{appointment_id}", tags=["appointments"])
    async def get_appointment(appointment_id: str, who: CurrentActor) -> dict[str, Any]:
        async with sessions() as session:
            return asdict(await queries.appointment_view(session, appointment_id, who))

    @router.post("/appointments/{appointment_id}/reschedule", tags=["appointments"])
    async def reschedule(
        appointment_id: str, body: RescheduleBody, who: CurrentActor
    ) -> dict[str, Any]:
        await handlers.reschedule_appointment(
            sessions,
            settings,
            who,
            commands.RescheduleAppointment(appointment_id, body.starts_at, body.practitioner_id),
        )
        wake()
        async with sessions() as session:
            return asdict(await queries.appointment_view(session, appointment_id, who))

    @router.post("/appointments/{appointment_id}/cancel", tags=["appointments"])
    async def cancel(appointment_id: str, body: CancelBody, who: CurrentActor) -> dict[str, Any]:
        await handlers.cancel_appointment(
            sessions,
            settings,
            who,
            commands.CancelAppointment(appointment_id, body.reason_id, body.note),
        )
        wake()
        async with sessions() as session:
            return asdict(await queries.appointment_view(session, appointment_id, who))

    # --- directory -------------------------------------------------------------------------

    async def listing(table: Any, order_by: str) -> dict[str, Any]:
        async with sessions() as session:
            return {"items": await queries.list_table(session, table, order_by)}

    async def one(table: Any, key: str, value: str) -> dict[str, Any]:
        async with sessions() as session:
            rows = [r for r in await queries.list_table(session, table, key) if r[key] == value]
        if not rows:
            raise NotFound(f"no {key.removesuffix('_id').replace('_', ' ')} {value!r}")
        return rows[0]

    def hours_dump(values: dict[str, Any]) -> dict[str, Any]:
        for name in ("opening_hours", "working_hours"):
            if values.get(name) is not None:
                values[name] = [dict(h) for h in values[name]]
        return values

    @router.get("/clinics", tags=["directory"])
    async def list_clinics() -> dict[str, Any]:
        return await listing(clinics, "name")

    @router.post("/clinics", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_clinic(body: ClinicBody, who: CurrentActor) -> dict[str, Any]:
        cid = await handlers.save_clinic(
            sessions, settings, who, None, hours_dump(body.model_dump())
        )
        wake()
        return await one(clinics, "clinic_id", cid)

    @router.patch("/clinics/{clinic_id}", tags=["directory"])
    async def update_clinic(clinic_id: str, body: ClinicPatch, who: CurrentActor) -> dict[str, Any]:
        await handlers.save_clinic(sessions, settings, who, clinic_id, hours_dump(_set(body)))
        wake()
        return await one(clinics, "clinic_id", clinic_id)

    @router.get("/services", tags=["directory"])
    async def list_services() -> dict[str, Any]:
        return await listing(services, "name")

    @router.post("/services", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_service(body: ServiceBody, who: CurrentActor) -> dict[str, Any]:
        sid = await handlers.save_service(sessions, who, None, body.model_dump())
        return await one(services, "service_id", sid)

    @router.patch("/services/{service_id}", tags=["directory"])
    async def update_service(
        service_id: str, body: ServicePatch, who: CurrentActor
    ) -> dict[str, Any]:
        await handlers.save_service(sessions, who, service_id, _set(body))
        return await one(services, "service_id", service_id)

    @router.get("/practitioners", tags=["directory"])
    async def list_practitioners() -> dict[str, Any]:
        async with sessions() as session:
            return {"items": await queries.list_practitioners(session)}

    async def practitioner(pid: str) -> dict[str, Any]:
        async with sessions() as session:
            rows = await queries.list_practitioners(session, pid)
        if not rows:
            raise NotFound(f"no practitioner {pid!r}")
        return rows[0]

    @router.post("/practitioners", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_practitioner(body: PractitionerBody, who: CurrentActor) -> dict[str, Any]:
        pid = await handlers.save_practitioner(sessions, who, None, hours_dump(body.model_dump()))
        return await practitioner(pid)

    @router.patch("/practitioners/{practitioner_id}", tags=["directory"])
    async def update_practitioner(
        practitioner_id: str, body: PractitionerPatch, who: CurrentActor
    ) -> dict[str, Any]:
        await handlers.save_practitioner(sessions, who, practitioner_id, hours_dump(_set(body)))
        return await practitioner(practitioner_id)

    @router.get("/call-centers", tags=["directory"])
    async def list_call_centers() -> dict[str, Any]:
        return await listing(call_centers, "name")

    @router.post("/call-centers", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_call_center(body: CallCenterBody, who: CurrentActor) -> dict[str, Any]:
        cid = await handlers.save_call_center(sessions, settings, who, None, body.model_dump())
        wake()
        return await one(call_centers, "call_center_id", cid)

    @router.patch("/call-centers/{call_center_id}", tags=["directory"])
    async def update_call_center(
        call_center_id: str, body: CallCenterPatch, who: CurrentActor
    ) -> dict[str, Any]:
        await handlers.save_call_center(sessions, settings, who, call_center_id, _set(body))
        wake()
        return await one(call_centers, "call_center_id", call_center_id)

    @router.get("/cancellation-reasons", tags=["directory"])
    async def list_reasons() -> dict[str, Any]:
        return await listing(cancellation_reasons, "label")

    @router.post("/cancellation-reasons", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_reason(body: ReasonBody, who: CurrentActor) -> dict[str, Any]:
        rid = await handlers.save_cancellation_reason(sessions, who, None, body.model_dump())
        return await one(cancellation_reasons, "reason_id", rid)

    @router.patch("/cancellation-reasons/{reason_id}", tags=["directory"])
    async def update_reason(reason_id: str, body: ReasonPatch, who: CurrentActor) -> dict[str, Any]:
        await handlers.save_cancellation_reason(sessions, who, reason_id, _set(body))
        return await one(cancellation_reasons, "reason_id", reason_id)

    @router.get("/operators", tags=["directory"])
    async def list_operators() -> dict[str, Any]:
        async with sessions() as session:
            return {"items": await queries.list_operators(session)}

    async def operator(oid: str) -> dict[str, Any]:
        async with sessions() as session:
            rows = [r for r in await queries.list_operators(session) if r["operator_id"] == oid]
        if not rows:
            raise NotFound(f"no operator {oid!r}")
        return rows[0]

    @router.post("/operators", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_operator(body: OperatorBody, who: CurrentActor) -> dict[str, Any]:
        oid = await handlers.save_operator(sessions, settings, who, None, body.model_dump())
        wake()
        return await operator(oid)

    @router.patch("/operators/{operator_id}", tags=["directory"])
    async def update_operator(
        operator_id: str, body: OperatorPatch, who: CurrentActor
    ) -> dict[str, Any]:
        await handlers.save_operator(sessions, settings, who, operator_id, _set(body))
        wake()
        return await operator(operator_id)

    combined = APIRouter()
    combined.include_router(public)
    combined.include_router(router)
    return combined
