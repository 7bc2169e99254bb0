"""The directory facts booking rules read: a clinic, a service's rules, a chosen practitioner
there with their time off, and the practitioners giving a service at a clinic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard_booking.adapters.absences_repository import (
    time_off_from,
    time_off_records,
    window_start_params,
)
from switchboard_booking.adapters.clients_repository import CLIENT_IDS_FOUND
from switchboard_booking.adapters.prepared import Prepared
from switchboard_booking.adapters.tables import (
    clinics,
    practitioner_clinics,
    practitioner_services,
    practitioners,
    services,
    working_hours,
)
from switchboard_booking.domain.absences import Absence, Closure
from switchboard_booking.domain.availability import PractitionerDay, WorkingHours
from switchboard_booking.domain.directory import check_hours
from switchboard_booking.domain.errors import NotFound
from switchboard_booking.domain.model import Question, ServiceInfo


@dataclass(frozen=True)
class ClinicInfo:
    """A clinic as booking rules need it."""

    clinic_id: str
    name: str
    address: str
    time_zone: str
    #: ``None`` when the clinic has set none: open whenever its practitioners work.
    opening_hours: tuple[WorkingHours, ...] | None = None

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's zone."""
        return ZoneInfo(self.time_zone)


# The statements every booking runs are built once, with bind parameters: building and
# keying a SQLAlchemy statement per call costs more CPU than PostgreSQL takes to run it.
_CLINIC_COLUMNS = (
    clinics.c.clinic_id,
    clinics.c.name,
    clinics.c.address,
    clinics.c.time_zone,
    clinics.c.opening_hours,
)
_CLINIC = sa.select(*_CLINIC_COLUMNS).where(clinics.c.clinic_id == sa.bindparam("clinic_id"))


def _clinic_info(row: Any) -> ClinicInfo:
    return ClinicInfo(
        row.clinic_id, row.name, row.address, row.time_zone, opening_hours(row.opening_hours)
    )


async def get_clinic(session: AsyncSession, clinic_id: str) -> ClinicInfo:
    """The clinic, or :class:`NotFound`."""
    row = (await session.execute(_CLINIC, {"clinic_id": clinic_id})).first()
    if row is None:
        raise NotFound(f"no clinic {clinic_id!r}")
    return _clinic_info(row)


def opening_hours(stored: list[dict[str, Any]]) -> tuple[WorkingHours, ...] | None:
    """A clinic's opening hours as stored (``[]``: none set, so ``None``)."""
    return tuple(check_hours(stored, "opens", "closes")) or None


_SERVICE_COLUMNS = (
    services.c.service_id,
    services.c.name.label("service_name"),
    services.c.duration_minutes,
    services.c.meeting_methods,
    services.c.questions,
    services.c.active,
)
_SERVICE = sa.select(*_SERVICE_COLUMNS).where(services.c.service_id == sa.bindparam("service_id"))


def _service_info(row: Any) -> ServiceInfo:
    questions = tuple(
        Question(
            q["question_id"],
            q.get("text", ""),
            bool(q.get("required")),
            q.get("answer_type", "text"),
        )
        for q in row.questions
    )
    return ServiceInfo(
        row.service_id,
        timedelta(minutes=row.duration_minutes),
        tuple(row.meeting_methods),
        questions,
    )


async def get_service(session: AsyncSession, service_id: str) -> tuple[ServiceInfo, str]:
    """The service's rules and its name, or :class:`NotFound`."""
    row = (await session.execute(_SERVICE, {"service_id": service_id})).first()
    if row is None or not row.active:
        raise NotFound(f"no service {service_id!r}")
    return _service_info(row), row.service_name


# One row of each table: the join has nothing to match on (its condition is TRUE).
_CLINIC_AND_SERVICE = (
    sa.select(*_CLINIC_COLUMNS, *_SERVICE_COLUMNS)
    .select_from(clinics.join(services, sa.true()))
    .where(
        clinics.c.clinic_id == sa.bindparam("clinic_id"),
        services.c.service_id == sa.bindparam("service_id"),
        services.c.active,
    )
)


async def _missing(session: AsyncSession, clinic_id: str, service_id: str) -> NoReturn:
    # The clinic or the service is missing: the separate reads say which.
    await get_clinic(session, clinic_id)
    await get_service(session, service_id)
    raise NotFound(f"no service {service_id!r}")


async def get_clinic_and_service(
    session: AsyncSession, clinic_id: str, service_id: str
) -> tuple[ClinicInfo, ServiceInfo]:
    """The clinic and the service's rules in one statement (every booking reads both), or
    :class:`NotFound` naming the one missing."""
    params = {"clinic_id": clinic_id, "service_id": service_id}
    row = (await session.execute(_CLINIC_AND_SERVICE, params)).first()
    if row is None:
        await _missing(session, clinic_id, service_id)
    return _clinic_info(row), _service_info(row)


@dataclass(frozen=True)
class PractitionerAt:
    """A practitioner as a booking at one clinic for one service needs them."""

    works_at_clinic: bool
    gives_service: bool
    #: Their working hours at that clinic.
    hours: tuple[WorkingHours, ...]


@dataclass(frozen=True)
class Chosen:
    """What booking (or moving) an appointment with a chosen practitioner reads first."""

    clinic: ClinicInfo
    service: ServiceInfo
    #: ``None`` when there is no such active practitioner.
    at: PractitionerAt | None
    #: Their absences and the clinic's closures around the slot.
    absences: list[Absence]
    closures: list[Closure]
    #: Those of the clients asked for that exist.
    clients_found: tuple[str, ...]


# The clinic and the service, and the chosen practitioner's links and hours at the clinic
# (no such practitioner: NULLs, and no hours), their time off around the slot (its end:
# the service's duration after the start) and the clients found: what a booking for a
# chosen practitioner reads first, in one row and one round trip; compiled once
# (adapters.prepared).
_SLOT_SERVICE = services.alias("slot_service")
_SLOT_ENDS_AT = sa.bindparam("starts_at", type_=sa.DateTime(timezone=True)) + sa.func.make_interval(
    0,
    0,
    0,
    0,
    0,
    sa.select(_SLOT_SERVICE.c.duration_minutes)
    .where(_SLOT_SERVICE.c.service_id == sa.bindparam("service_id"))
    .correlate(None)
    .scalar_subquery(),
    type_=sa.Interval,
)
# The practitioner's hours at the clinic as an array of records: one row, not one per
# weekday (each repeating the clinic's and the service's columns, decoded again).
_HOURS_THERE = sa.func.array(
    sa.select(sa.func.row(working_hours.c.weekday, working_hours.c.starts, working_hours.c.ends))
    .where(
        working_hours.c.practitioner_id == practitioners.c.practitioner_id,
        working_hours.c.clinic_id == clinics.c.clinic_id,
    )
    .order_by(working_hours.c.id)
    .scalar_subquery()
)
_CLINIC_SERVICE_AND_PRACTITIONER = Prepared.of(
    sa.select(
        *_CLINIC_COLUMNS,
        *_SERVICE_COLUMNS,
        practitioners.c.active.label("practitioner_active"),
        sa.exists()
        .where(
            practitioner_clinics.c.practitioner_id == practitioners.c.practitioner_id,
            practitioner_clinics.c.clinic_id == clinics.c.clinic_id,
        )
        .label("works"),
        sa.exists()
        .where(
            practitioner_services.c.practitioner_id == practitioners.c.practitioner_id,
            practitioner_services.c.service_id == services.c.service_id,
        )
        .label("gives"),
        _HOURS_THERE.label("hours"),
        time_off_records(_SLOT_ENDS_AT).label("time_off"),
        CLIENT_IDS_FOUND.label("clients_found"),
    )
    .select_from(
        clinics.join(services, sa.true()).outerjoin(
            practitioners, practitioners.c.practitioner_id == sa.bindparam("practitioner_id")
        )
    )
    .where(
        clinics.c.clinic_id == sa.bindparam("clinic_id"),
        services.c.service_id == sa.bindparam("service_id"),
        services.c.active,
    )
)


async def clinic_service_and_practitioner(
    session: AsyncSession,
    clinic_id: str,
    service_id: str,
    practitioner_id: str,
    starts_at: datetime,
    client_ids: Sequence[str] = (),
) -> Chosen:
    """The clinic, the service's rules, the practitioner there, their time off around a
    slot from ``starts_at`` and the clients of ``client_ids`` found, in one statement; or
    :class:`NotFound` naming the clinic or service missing."""
    params = {
        "clinic_id": clinic_id,
        "service_id": service_id,
        "practitioner_id": practitioner_id,
        "ids": [practitioner_id],
        "client_ids": list(client_ids),
        **window_start_params(starts_at),
    }
    rows = await _CLINIC_SERVICE_AND_PRACTITIONER.rows(session, params)
    if not rows:
        await _missing(session, clinic_id, service_id)
    [first] = rows
    at = None
    if first.practitioner_active:
        hours = tuple(WorkingHours(weekday, starts, ends) for weekday, starts, ends in first.hours)
        at = PractitionerAt(bool(first.works), bool(first.gives), hours)
    absences, closures = time_off_from(first.time_off, [practitioner_id])
    return Chosen(
        _clinic_info(first),
        _service_info(first),
        at,
        absences[practitioner_id],
        closures,
        tuple(first.clients_found),
    )


def _practitioner_days_query(*, chosen: bool) -> sa.Select[Any]:
    # Each practitioner's hours at the clinic joined on (none: one row of NULL hours),
    # rather than a second query for the hours.
    p, wh = practitioners.c, working_hours.c
    clinic_id: sa.BindParameter[str] = sa.bindparam("clinic_id")
    query = (
        sa.select(p.practitioner_id, p.languages, wh.weekday, wh.starts, wh.ends)
        .join(practitioner_clinics, practitioner_clinics.c.practitioner_id == p.practitioner_id)
        .join(practitioner_services, practitioner_services.c.practitioner_id == p.practitioner_id)
        .outerjoin(
            working_hours,
            sa.and_(wh.practitioner_id == p.practitioner_id, wh.clinic_id == clinic_id),
        )
        .where(
            practitioner_clinics.c.clinic_id == clinic_id,
            practitioner_services.c.service_id == sa.bindparam("service_id"),
            p.active,
        )
        .order_by(p.practitioner_id, wh.id)
    )
    if chosen:
        query = query.where(p.practitioner_id.in_(sa.bindparam("ids", expanding=True)))
    return query


_PRACTITIONER_DAYS = {chosen: _practitioner_days_query(chosen=chosen) for chosen in (False, True)}


async def practitioner_days(
    session: AsyncSession,
    clinic_id: str,
    service_id: str,
    practitioner_ids: Sequence[str] | None = None,
) -> list[PractitionerDay]:
    """Active practitioners working at the clinic and giving the service, with their hours
    there (``busy`` left empty; see :func:`..appointments_repository.busy_intervals`)."""
    params: dict[str, Any] = {"clinic_id": clinic_id, "service_id": service_id}
    if practitioner_ids is not None:
        params["ids"] = list(practitioner_ids)
    query = _PRACTITIONER_DAYS[practitioner_ids is not None]
    languages: dict[str, frozenset[str]] = {}
    hours: dict[str, list[WorkingHours]] = {}
    for r in (await session.execute(query, params)).all():
        languages[r.practitioner_id] = frozenset(r.languages)
        found = hours.setdefault(r.practitioner_id, [])
        if r.weekday is not None:
            found.append(WorkingHours(r.weekday, r.starts, r.ends))
    return [
        PractitionerDay(pid, tuple(found), languages=languages[pid]) for pid, found in hours.items()
    ]
