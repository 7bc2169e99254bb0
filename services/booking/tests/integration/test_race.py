"""No double booking, ever: 50 concurrent requests from two call centers for overlapping
slots of one practitioner → exactly one appointment, 49 x 409, and events that match."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from switchboard_booking.adapters.tables import appointments, clients
from switchboard_runtime.outbox import OUTBOX
from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

API = "/api/booking"


async def test_fifty_concurrent_bookings_of_one_practitioner_make_one_appointment(
    booking: Any,
    topic_reader: Any,
) -> None:
    appointments_topic = await topic_reader("booking.appointments")
    day = booking.monday()
    client = (
        await booking.post(
            "anna",
            f"{API}/clients",
            {"first_name": "Race", "last_name": "Client", "email": "race@example.com"},
        )
    ).json()
    # Starts 10:00 … 10:25 for a 30-minute service: every pair of requests overlaps.
    requests = [(("anna", "petr")[i % 2], booking.msk(day, 10, 5 * (i % 6))) for i in range(50)]

    async def attempt(user: str, starts_at: str) -> Any:
        return await booking.post(
            user,
            f"{API}/appointments",
            {
                "service_id": "svc-consult",
                "clinic_id": "clinic-msk-center",
                "practitioner_id": "pr-petrov",
                "meeting_method": "in_person",
                "starts_at": starts_at,
                "client_id": client["client_id"],
            },
        )

    responses = await asyncio.gather(*(attempt(u, s) for u, s in requests))
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 409: 49}, codes
    [winner] = [r.json() for r in responses if r.status_code == 201]
    holder = {
        "call_center_id": winner["call_center_id"],
        "call_center_name": winner["call_center_name"],
    }
    for response in responses:
        if response.status_code == 409:
            assert response.json()["held_by"] == holder
            assert "Race" not in response.text and "race@" not in response.text

    sessions = booking.app.state.runtime.sessions
    window = (
        datetime.fromisoformat(booking.msk(day, 0)),
        datetime.fromisoformat(booking.msk(day, 23, 59)),
    )
    async with sessions() as session:
        stored = (
            (
                await session.execute(
                    sa.select(appointments.c.appointment_id).where(
                        appointments.c.practitioner_id == "pr-petrov",
                        appointments.c.starts_at.between(*window),
                    )
                )
            )
            .scalars()
            .all()
        )
    assert stored == [winner["appointment_id"]]

    async def outbox_drained() -> bool:
        async with sessions() as session:
            return not await session.scalar(sa.select(sa.func.count()).select_from(OUTBOX))

    await wait_until(outbox_drained, timeout=20, message="outbox drained")
    await appointments_topic.wait_for(
        lambda recs: bool(
            booking.events(recs, "AppointmentBooked", appointment_id=winner["appointment_id"])
        ),
        message="the winner's AppointmentBooked",
    )
    for _ in range(5):  # whatever else was published is in by now; read it all
        await appointments_topic.poll()
    booked = [
        (key, env)
        for key, env in booking.events(
            appointments_topic.records, "AppointmentBooked", practitioner_id="pr-petrov"
        )
        if window[0] <= datetime.fromisoformat(env["payload"]["starts_at"]) <= window[1]
    ]
    assert [key for key, _ in booked] == [winner["appointment_id"]]
    assert booked[0][1]["payload"]["call_center_id"] == winner["call_center_id"]


async def test_a_booking_for_a_client_a_merge_removes_meanwhile_is_refused(booking: Any) -> None:
    client_id = (
        await booking.post(
            "anna",
            f"{API}/clients",
            {"first_name": "Merged", "last_name": "Away", "email": "merged@example.com"},
        )
    ).json()["client_id"]
    sessions = booking.app.state.runtime.sessions

    async def booking_waits_on_a_lock() -> bool:
        async with sessions() as session:
            waiting = await session.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(waiting)

    async with sessions() as merge, merge.begin():
        # What a merge does to its duplicate, not committed yet: lock the row, delete it.
        await merge.execute(
            sa.select(clients.c.client_id).where(clients.c.client_id == client_id).with_for_update()
        )
        await merge.execute(sa.delete(clients).where(clients.c.client_id == client_id))
        attempt = asyncio.create_task(
            booking.post(
                "anna",
                f"{API}/appointments",
                {
                    "service_id": "svc-consult",
                    "clinic_id": "clinic-msk-center",
                    "practitioner_id": "pr-petrov",
                    "meeting_method": "in_person",
                    "starts_at": booking.msk(booking.monday(), 15),
                    "client_id": client_id,
                },
            )
        )
        # The booking found the client (the delete is not committed) and its write waits
        # for the merge.
        await wait_until(booking_waits_on_a_lock, message="the booking waiting on the merge")
    response = await attempt
    assert response.status_code == 422, response.text
    async with sessions() as session:
        stored = await session.scalar(
            sa.select(sa.func.count())
            .select_from(appointments)
            .where(appointments.c.client_id == client_id)
        )
    assert stored == 0
