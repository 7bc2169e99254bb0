"""``switchboard-booking seed``: a demo clinic chain, created idempotently.

Everything goes through the same handlers as the API (so the rules hold and the events
are staged in the outbox); what already exists is left alone, so running it twice
changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_booking.adapters.tables import (
    appointments,
    call_centers,
    cancellation_reasons,
    clients,
    clinics,
    operators,
    practitioners,
    services,
)
from switchboard_booking.domain.commands import BookAppointment, NewClient
from switchboard_booking.domain.errors import DomainError
from switchboard_booking.domain.model import Actor
from switchboard_booking.handlers import directory
from switchboard_booking.handlers.appointments import book_appointment
from switchboard_booking.handlers.clients import register_client
from switchboard_booking.handlers.shared import Deps
from switchboard_booking.settings import BookingSettings

SEED_ADMIN = Actor("op-admin", "admin", None)

CLINICS: list[dict[str, Any]] = [
    {
        "clinic_id": "clinic-msk-center",
        "name": "Moscow Center",
        "city": "Moscow",
        "address": "Tverskaya 1",
        "time_zone": "Europe/Moscow",
    },
    {
        "clinic_id": "clinic-msk-north",
        "name": "Moscow North",
        "city": "Moscow",
        "address": "Leningradsky 50",
        "time_zone": "Europe/Moscow",
    },
    {
        "clinic_id": "clinic-ekb",
        "name": "Yekaterinburg",
        "city": "Yekaterinburg",
        "address": "Lenina 10",
        "time_zone": "Asia/Yekaterinburg",
    },
]
for _clinic in CLINICS:
    _clinic["opening_hours"] = [
        {"weekday": d, "opens": "08:00", "closes": "20:00"} for d in range(0, 6)
    ]

SERVICES: list[dict[str, Any]] = [
    {
        "service_id": "svc-consult",
        "name": "General consultation",
        "duration_minutes": 30,
        "meeting_methods": ["in_person", "video", "phone"],
        "questions": [],
    },
    {
        "service_id": "svc-dental",
        "name": "Dental check-up",
        "duration_minutes": 45,
        "meeting_methods": ["in_person"],
        "questions": [],
    },
    {
        "service_id": "svc-paediatric",
        "name": "Paediatric visit",
        "duration_minutes": 30,
        "meeting_methods": ["in_person", "video"],
        "questions": [
            {
                "question_id": "symptoms",
                "text": "What are the symptoms?",
                "required": True,
                "answer_type": "text",
            }
        ],
    },
]


def _hours(clinic_id: str, days: range, starts: str, ends: str) -> list[dict[str, Any]]:
    return [{"clinic_id": clinic_id, "weekday": d, "starts": starts, "ends": ends} for d in days]


PRACTITIONERS: list[dict[str, Any]] = [
    {
        "practitioner_id": "pr-ivanova",
        "name": "Dr Elena Ivanova",
        "languages": ["ru", "en"],
        "clinic_ids": ["clinic-msk-center", "clinic-msk-north"],
        "service_ids": ["svc-consult", "svc-paediatric"],
        "working_hours": _hours("clinic-msk-center", range(0, 5), "09:00", "18:00")
        + _hours("clinic-msk-north", range(5, 6), "10:00", "14:00"),
    },
    {
        "practitioner_id": "pr-petrov",
        "name": "Dr Ivan Petrov",
        "languages": ["ru"],
        "clinic_ids": ["clinic-msk-center"],
        "service_ids": ["svc-dental", "svc-consult"],
        "working_hours": _hours("clinic-msk-center", range(0, 5), "10:00", "19:00"),
    },
    {
        "practitioner_id": "pr-smith",
        "name": "Dr John Smith",
        "languages": ["en", "ru"],
        "clinic_ids": ["clinic-msk-north"],
        "service_ids": ["svc-consult"],
        "working_hours": _hours("clinic-msk-north", range(0, 6), "08:00", "16:00"),
    },
    {
        "practitioner_id": "pr-sokolova",
        "name": "Dr Olga Sokolova",
        "languages": ["ru", "de"],
        "clinic_ids": ["clinic-ekb"],
        "service_ids": ["svc-consult", "svc-paediatric"],
        "working_hours": _hours("clinic-ekb", range(0, 5), "08:00", "17:00"),
    },
    {
        "practitioner_id": "pr-kuznetsov",
        "name": "Dr Pavel Kuznetsov",
        "languages": ["ru"],
        "clinic_ids": ["clinic-ekb"],
        "service_ids": ["svc-dental", "svc-consult"],
        "working_hours": _hours("clinic-ekb", range(1, 6), "09:00", "18:00"),
    },
]

CALL_CENTERS: list[dict[str, Any]] = [
    {"call_center_id": "cc-central", "name": "Central", "kind": "internal"},
    {"call_center_id": "cc-partner", "name": "Partner", "kind": "external"},
]

#: (operator fields, password): the logins printed after seeding.
OPERATORS: list[dict[str, Any]] = [
    {
        "operator_id": "op-admin",
        "name": "Administrator",
        "username": "admin",
        "password": "admin",
        "role": "admin",
        "call_center_id": None,
        "extension": None,
    },
    {
        "operator_id": "op-anna",
        "name": "Anna Smirnova",
        "username": "anna",
        "password": "anna",
        "role": "call_centre",
        "call_center_id": "cc-central",
        "extension": "101",
    },
    {
        "operator_id": "op-boris",
        "name": "Boris Volkov",
        "username": "boris",
        "password": "boris",
        "role": "call_centre",
        "call_center_id": "cc-central",
        "extension": "101",
    },
    {
        "operator_id": "op-petr",
        "name": "Petr Orlov",
        "username": "petr",
        "password": "petr",
        "role": "call_centre",
        "call_center_id": "cc-partner",
        "extension": "201",
    },
    {
        "operator_id": "op-maria",
        "name": "Maria Lebedeva",
        "username": "maria",
        "password": "maria",
        "role": "manager",
        "call_center_id": None,
        "extension": None,
    },
]

REASONS: list[dict[str, Any]] = [
    {"reason_id": "client-request", "label": "Client asked to cancel"},
    {"reason_id": "practitioner-unavailable", "label": "Practitioner unavailable"},
    {"reason_id": "booked-by-mistake", "label": "Booked by mistake"},
    {"reason_id": "other", "label": "Other"},
]

CLIENTS = [
    NewClient(
        "Olga",
        "Kuznetsova",
        email="olga.k@example.com",
        mobile="+7 916 123-45-67",
        sms_consent=True,
    ),
    NewClient("Sergey", "Morozov", mobile="8 (912) 555-01-02"),
    NewClient("Emma", "Brown", email="emma.brown@example.com"),
]


def next_weekday(today: date) -> date:
    """The first Monday-to-Friday day after ``today`` (the seeded doctors' working days)."""
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _exists(session: AsyncSession, table: sa.Table, key: str, value: str) -> bool:
    return bool(await session.scalar(sa.select(sa.exists().where(table.c[key] == value))))


async def seed(
    sessions: async_sessionmaker[AsyncSession],
    settings: BookingSettings,
    *,
    scenario_day: date | None = None,
) -> dict[str, int]:
    """Create whatever of the demo chain is missing; returns how many of each were added.

    The demo appointments are on ``scenario_day`` (default: the next weekday in Moscow).
    No relay is woken: the events wait in the outbox for the service's relay to poll."""
    deps = Deps(sessions, settings)
    added = {
        "clinics": 0,
        "services": 0,
        "call_centers": 0,
        "operators": 0,
        "practitioners": 0,
        "cancellation_reasons": 0,
        "clients": 0,
        "appointments": 0,
    }

    async def missing(table: sa.Table, key: str, value: str) -> bool:
        async with sessions() as session:
            return not await _exists(session, table, key, value)

    # The first admin cannot log in before it exists: the seed acts as that admin.
    for item in CLINICS:
        if await missing(clinics, "clinic_id", item["clinic_id"]):
            await directory.save_clinic(deps, SEED_ADMIN, None, dict(item))
            added["clinics"] += 1
    for item in SERVICES:
        if await missing(services, "service_id", item["service_id"]):
            await directory.save_service(deps, SEED_ADMIN, None, dict(item))
            added["services"] += 1
    for item in CALL_CENTERS:
        if await missing(call_centers, "call_center_id", item["call_center_id"]):
            await directory.save_call_center(deps, SEED_ADMIN, None, dict(item))
            added["call_centers"] += 1
    for item in OPERATORS:
        if await missing(operators, "operator_id", item["operator_id"]):
            await directory.save_operator(deps, SEED_ADMIN, None, dict(item))
            added["operators"] += 1
    for item in PRACTITIONERS:
        if await missing(practitioners, "practitioner_id", item["practitioner_id"]):
            await directory.save_practitioner(deps, SEED_ADMIN, None, dict(item))
            added["practitioners"] += 1
    for item in REASONS:
        if await missing(cancellation_reasons, "reason_id", item["reason_id"]):
            await directory.save_cancellation_reason(deps, SEED_ADMIN, None, dict(item))
            added["cancellation_reasons"] += 1
    client_ids = []
    for data in CLIENTS:
        async with sessions() as session:
            found = await session.scalar(
                sa.select(clients.c.client_id).where(
                    clients.c.first_name == data.first_name, clients.c.last_name == data.last_name
                )
            )
        if found is None:
            found = await register_client(deps, SEED_ADMIN, data)
            added["clients"] += 1
        client_ids.append(found)
    async with sessions() as session:
        has_appointments = await session.scalar(
            sa.select(sa.exists().where(appointments.c.client_id.in_(client_ids)))
        )
    if not has_appointments:
        day = scenario_day or next_weekday(datetime.now(ZoneInfo("Europe/Moscow")).date())
        added["appointments"] = await _seed_appointments(deps, client_ids, day)
    return added


async def _seed_appointments(
    deps: Deps,
    client_ids: list[str],
    day: date,
) -> int:
    """The scenario: on ``day`` Dr Ivanova has a Partner booking at 10:00 and a Central
    booking at 11:00, so each call center sees the other's appointment greyed out."""
    msk = ZoneInfo("Europe/Moscow")

    def at(hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=msk).astimezone(UTC)

    bookings = [
        (
            Actor("op-petr", "call_centre", "cc-partner"),
            client_ids[0],
            10,
            "Please bring previous test results",
            "Partner campaign lead",
        ),
        (Actor("op-anna", "call_centre", "cc-central"), client_ids[1], 11, "", "Called twice"),
    ]
    count = 0
    for actor, client_id, hour, shared, private in bookings:
        try:
            await book_appointment(
                deps,
                actor,
                BookAppointment(
                    service_id="svc-consult",
                    clinic_id="clinic-msk-center",
                    meeting_method="in_person",
                    starts_at=at(hour),
                    practitioner_id="pr-ivanova",
                    client_id=client_id,
                    attendee_notes=shared,
                    private_notes=private,
                ),
            )
            count += 1
        except DomainError:
            continue  # the slot is taken already (or in the past): leave it.
    return count


def print_logins() -> None:
    """Print the demo logins."""
    print("Demo logins (username / password — role, call center, extension):")
    for op in OPERATORS:
        print(
            f"  {op['username']} / {op['password']} — {op['role']}, "
            f"{op['call_center_id'] or '-'}, {op['extension'] or '-'}"
        )
