"""Clinic opening hours, practitioners' absences and clinics' closed days, against real
PostgreSQL, for a clinic in Europe/Berlin across both DST changes of 2026 (29 March: 02:00
jumps to 03:00; 25 October: 02:00-03:00 happens twice). The test's clock stands on
1 March 2026, so every day here is ahead of it whatever today is.

Expected slots are worked out here another way than booking does: every quarter hour of
UTC is read as Berlin wall-clock time and kept when its start and end fall inside both
the practitioner's and the clinic's hours on that day and clear of what is off.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from booking_standins import Clock
from conftest import Booking

BERLIN = ZoneInfo("Europe/Berlin")
API = "/api/booking"
SPRING = date(2026, 3, 29)  # Sunday: no 02:00-03:00
AUTUMN = date(2026, 10, 25)  # Sunday: 02:00-03:00 twice
EASTER = date(2026, 4, 5)  # Sunday, and Easter Monday after it
SERVICE_MINUTES = 30
#: The practitioner's hours and the clinic's narrower ones, per weekday (0 = Monday).
WORKS = {6: (time(1, 0), time(12, 0)), 0: (time(8, 0), time(18, 0))}
OPENS = {6: (time(1, 30), time(11, 0)), 0: (time(9, 0), time(17, 0))}


@dataclass
class World:
    """A booking replica on the test's clock, and a Berlin clinic of the test's own."""

    client: httpx.AsyncClient
    headers: Callable[[str], dict[str, str]]
    clinic_id: str
    service_id: str
    practitioner_id: str

    async def call(self, user: str, method: str, url: str, body: Any = None) -> httpx.Response:
        return await self.client.request(method, API + url, json=body, headers=self.headers(user))

    async def slots(self, day: date) -> list[datetime]:
        answer = await self.call(
            "anna",
            "GET",
            f"/availability?clinic_id={self.clinic_id}&service_id={self.service_id}"
            f"&date={day}&practitioner_id={self.practitioner_id}",
        )
        assert answer.status_code == 200, answer.text
        return [datetime.fromisoformat(s["starts_at"]) for s in answer.json()["slots"]]

    async def book(self, user: str, starts_at: datetime) -> httpx.Response:
        return await self.call(
            user,
            "POST",
            "/appointments",
            {
                "clinic_id": self.clinic_id,
                "service_id": self.service_id,
                "practitioner_id": self.practitioner_id,
                "meeting_method": "in_person",
                "starts_at": starts_at.isoformat(),
                "new_client": {
                    "first_name": "Time",
                    "last_name": f"Off {uuid.uuid4().hex[:6]}",
                    "email": f"off-{uuid.uuid4().hex[:8]}@example.org",
                },
            },
        )

    async def to_reschedule(self) -> dict[str, dict[str, Any]]:
        answer = await self.call(
            "anna", "GET", f"/appointments/to-reschedule?clinic_id={self.clinic_id}"
        )
        assert answer.status_code == 200, answer.text
        return {item["appointment_id"]: item for item in answer.json()["items"]}


def _hours(table: dict[int, tuple[time, time]], opens: str, closes: str) -> list[dict[str, Any]]:
    return [
        {"weekday": d, opens: a.strftime("%H:%M"), closes: b.strftime("%H:%M")}
        for d, (a, b) in table.items()
    ]


@pytest_asyncio.fixture(loop_scope="session")
async def world(booking: Booking, running_service: Any) -> AsyncIterator[World]:
    from switchboard_booking.bootstrap import build_app
    from switchboard_booking.settings import BookingSettings

    clock = Clock(now=datetime(2026, 3, 1, tzinfo=UTC))
    app = build_app(BookingSettings(log_json=False, notifications_worker=False), clock=clock)
    async with running_service(app) as client:
        tag = uuid.uuid4().hex[:8]

        async def created(url: str, body: dict[str, Any], key: str) -> str:
            answer = await client.post(API + url, json=body, headers=booking.as_("admin"))
            assert answer.status_code == 201, answer.text
            return str(answer.json()[key])

        clinic_id = await created(
            "/clinics",
            {
                "name": f"Berlin {tag}",
                "time_zone": "Europe/Berlin",
                "opening_hours": _hours(OPENS, "opens", "closes"),
                "reminder_hours_before": 0,
            },
            "clinic_id",
        )
        service_id = await created(
            "/services",
            {
                "name": f"Check-up {tag}",
                "duration_minutes": SERVICE_MINUTES,
                "meeting_methods": ["in_person"],
            },
            "service_id",
        )
        practitioner_id = await created(
            "/practitioners",
            {
                "name": f"Dr Berlin {tag}",
                "clinic_ids": [clinic_id],
                "service_ids": [service_id],
                "working_hours": [
                    {**h, "clinic_id": clinic_id} for h in _hours(WORKS, "starts", "ends")
                ],
            },
            "practitioner_id",
        )
        yield World(client, booking.as_, clinic_id, service_id, practitioner_id)


def expected_slots(
    day: date,
    off: list[tuple[datetime, datetime]] = (),  # type: ignore[assignment]
) -> list[datetime]:
    """Every quarter hour of UTC around ``day`` read in Berlin wall-clock time."""
    works, opens = WORKS[day.weekday()], OPENS[day.weekday()]
    earliest, latest = max(works[0], opens[0]), min(works[1], opens[1])
    out = []
    at = datetime.combine(day - timedelta(days=1), time(), tzinfo=UTC)
    while at < datetime.combine(day + timedelta(days=2), time(), tzinfo=UTC):
        end = at + timedelta(minutes=SERVICE_MINUTES)
        start_local, end_local = at.astimezone(BERLIN), end.astimezone(BERLIN)
        if (
            start_local.date() == day == end_local.date()
            and earliest <= start_local.time()
            and end_local.time() <= latest
            and not any(at < b and a < end for a, b in off)
        ):
            out.append(at)
        at += timedelta(minutes=15)
    return out


def berlin(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, fold=fold), tzinfo=BERLIN).astimezone(UTC)


async def test_slots_keep_to_clinic_hours_across_the_spring_gap(world: World) -> None:
    slots = await world.slots(SPRING)
    assert slots == expected_slots(SPRING)
    # 01:30 CET to 11:00 CEST is 8.5 hours, not the 9.5 the wall clock suggests.
    assert len(slots) == (510 - SERVICE_MINUTES) // 15 + 1
    assert slots[0] == berlin(SPRING, 1, 30) and slots[-1] == berlin(SPRING, 10, 30)
    assert not [s for s in slots if s.astimezone(BERLIN).hour == 2], "02:xx does not exist"
    # The practitioner works from 01:00 and until 12:00; the clinic is not open then.
    refused = await world.book("anna", berlin(SPRING, 1, 0))
    assert refused.status_code == 422 and "opening hours" in refused.json()["detail"]


async def test_half_day_absence_in_the_repeated_hour_and_a_booking_left_to_reschedule(
    world: World,
) -> None:
    slots = await world.slots(AUTUMN)
    assert slots == expected_slots(AUTUMN)
    # 01:30 CEST to 11:00 CET is 10.5 hours; both 02:15s are offered.
    assert len(slots) == (630 - SERVICE_MINUTES) // 15 + 1
    assert {berlin(AUTUMN, 2, 15, fold=0), berlin(AUTUMN, 2, 15, fold=1)} <= set(slots)

    booked = await world.book("anna", berlin(AUTUMN, 9, 0))
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["appointment_id"]
    visit = (berlin(AUTUMN, 9, 0), berlin(AUTUMN, 9, 30))
    assert await world.slots(AUTUMN) == expected_slots(AUTUMN, [visit])
    assert appointment_id not in await world.to_reschedule()

    # The practitioner takes the morning off after the visit was booked.
    away = (datetime(2026, 10, 25, 8, tzinfo=BERLIN), datetime(2026, 10, 25, 12, tzinfo=BERLIN))
    added = await world.call(
        "admin",
        "POST",
        f"/practitioners/{world.practitioner_id}/absences",
        {"starts_at": away[0].isoformat(), "ends_at": away[1].isoformat(), "reason": "Course"},
    )
    assert added.status_code == 201, added.text
    slots = await world.slots(AUTUMN)
    assert slots == expected_slots(AUTUMN, [visit, away])
    assert len(slots) == (450 - SERVICE_MINUTES) // 15 + 1  # 01:30 CEST to 08:00 CET

    stranded = (await world.to_reschedule())[appointment_id]
    assert (stranded["reason"], stranded["note"]) == ("absence", "Course")
    still = await world.call("anna", "GET", f"/appointments/{appointment_id}")
    assert still.json()["status"] == "booked", "listed, never moved or cancelled"
    assert datetime.fromisoformat(still.json()["starts_at"]) == visit[0]
    refused = await world.book("anna", berlin(AUTUMN, 10, 0))
    assert refused.status_code == 422 and "away" in refused.json()["detail"]

    listed = await world.call("admin", "GET", f"/practitioners/{world.practitioner_id}/absences")
    [absence] = [a for a in listed.json()["items"] if a["absence_id"] == added.json()["absence_id"]]
    removed = await world.call(
        "admin",
        "DELETE",
        f"/practitioners/{world.practitioner_id}/absences/{absence['absence_id']}",
    )
    assert removed.status_code == 204
    assert appointment_id not in await world.to_reschedule()
    assert await world.slots(AUTUMN) == expected_slots(AUTUMN, [visit])


async def test_closed_days_and_narrower_hours_strand_what_was_booked(world: World) -> None:
    monday = EASTER + timedelta(days=1)
    on_easter_monday = await world.book("anna", berlin(monday, 10, 0))
    late = await world.book("anna", berlin(monday + timedelta(weeks=1), 16, 30))
    assert on_easter_monday.status_code == late.status_code == 201, late.text

    closed = await world.call(
        "admin",
        "POST",
        f"/clinics/{world.clinic_id}/closures",
        {"starts_on": str(EASTER), "ends_on": str(monday), "reason": "Easter"},
    )
    assert closed.status_code == 201, closed.text
    assert await world.slots(EASTER) == [] and await world.slots(monday) == []
    assert await world.slots(EASTER + timedelta(weeks=1)) == expected_slots(
        EASTER + timedelta(weeks=1)
    )
    refused = await world.book("anna", berlin(monday, 11, 0))
    assert refused.status_code == 422 and "closed" in refused.json()["detail"]
    moved = await world.call(
        "anna",
        "POST",
        f"/appointments/{late.json()['appointment_id']}/reschedule",
        {"starts_at": berlin(monday, 11, 0).isoformat()},
    )
    assert moved.status_code == 422 and "closed" in moved.json()["detail"]

    # Mondays now close at 16:00: the 16:30 visit is outside the clinic's hours.
    narrower = {**OPENS, 0: (time(9, 0), time(16, 0))}
    patched = await world.call(
        "admin",
        "PATCH",
        f"/clinics/{world.clinic_id}",
        {"opening_hours": _hours(narrower, "opens", "closes")},
    )
    assert patched.status_code == 200, patched.text
    stranded = await world.to_reschedule()
    assert stranded[on_easter_monday.json()["appointment_id"]]["reason"] == "clinic_closed"
    assert stranded[on_easter_monday.json()["appointment_id"]]["note"] == "Easter"
    assert stranded[late.json()["appointment_id"]]["reason"] == "outside_opening_hours"

    # A whole-day absence by local date, too.
    day_off = await world.call(
        "admin",
        "POST",
        f"/practitioners/{world.practitioner_id}/absences",
        {"starts_on": str(SPRING + timedelta(weeks=1)), "reason": "Holiday"},
    )
    assert day_off.status_code == 201, day_off.text
    assert await world.slots(SPRING + timedelta(weeks=1)) == []
    # A Monday off, booked in Berlin's wall-clock time: the Monday refused, the Sunday
    # before (its last working hour ends 13 hours before the Monday begins) kept.
    day_off_monday = monday + timedelta(weeks=2)
    monday_off = await world.call(
        "admin",
        "POST",
        f"/practitioners/{world.practitioner_id}/absences",
        {"starts_on": str(day_off_monday), "reason": "Holiday"},
    )
    assert monday_off.status_code == 201, monday_off.text
    refused = await world.book("anna", berlin(day_off_monday, 9, 0))
    assert refused.status_code == 422 and "away" in refused.json()["detail"]
    sunday = await world.book("anna", berlin(day_off_monday - timedelta(days=1), 10, 30))
    assert sunday.status_code == 201, sunday.text


async def test_bad_input_unknown_ids_and_roles(world: World) -> None:
    absences = f"/practitioners/{world.practitioner_id}/absences"
    for body in (
        {"starts_at": "2026-05-02T12:00:00+02:00", "ends_at": "2026-05-02T08:00:00+02:00"},
        {"starts_on": "2026-05-03", "ends_on": "2026-05-01"},
        {"starts_on": "2026-05-03", "starts_at": "2026-05-02T08:00:00+02:00"},
        {"starts_at": "2026-05-02T08:00:00+02:00"},
        {"starts_at": "2026-05-02T08:00:00", "ends_at": "2026-05-02T09:00:00"},
        {"starts_on": "1999-05-03"},
        {},
    ):
        answer = await world.call("admin", "POST", absences, body)
        assert answer.status_code == 422, (body, answer.text)
    closures = f"/clinics/{world.clinic_id}/closures"
    answer = await world.call(
        "admin", "POST", closures, {"starts_on": "2026-05-03", "ends_on": "2026-05-01"}
    )
    assert answer.status_code == 422
    for hours in (
        {"weekday": 1, "opens": "18:00", "closes": "09:00"},
        {"weekday": 1, "opens": "25:00", "closes": "26:00"},
        {"weekday": 7, "opens": "09:00", "closes": "18:00"},
    ):
        answer = await world.call(
            "admin", "PATCH", f"/clinics/{world.clinic_id}", {"opening_hours": [hours]}
        )
        assert answer.status_code == 422, (hours, answer.text)

    for method, url, body in (
        ("POST", "/practitioners/nobody/absences", {"starts_on": "2026-05-03"}),
        ("GET", "/practitioners/nobody/absences", None),
        ("DELETE", f"{absences}/nothing", None),
        ("POST", "/clinics/nowhere/closures", {"starts_on": "2026-05-03"}),
        ("DELETE", f"{closures}/nothing", None),
    ):
        answer = await world.call("admin", method, url, body)
        assert answer.status_code == 404, (url, answer.text)

    for user in ("anna", "maria"):
        for method, url, body in (
            ("POST", absences, {"starts_on": "2026-05-03"}),
            ("GET", absences, None),
            ("POST", closures, {"starts_on": "2026-05-03"}),
            ("GET", closures, None),
        ):
            answer = await world.call(user, method, url, body)
            assert answer.status_code == 403, (user, url, answer.text)
    answer = await world.call("maria", "GET", "/appointments/to-reschedule")
    assert answer.status_code == 403
