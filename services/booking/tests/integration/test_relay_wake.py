"""The outbox relay is woken when a handler's events are committed, and only then: not
when a savepoint inside the transaction is released, not when the transaction rolls back."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from switchboard_booking.domain.commands import BookAppointment, NewClient
from switchboard_booking.domain.errors import SlotTaken
from switchboard_booking.domain.model import Actor
from switchboard_booking.handlers.appointments import book_appointment
from switchboard_booking.handlers.shared import Deps, publish
from switchboard_contracts import ClientsMerged

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ANNA = Actor("op-anna", "call_centre", "cc-central")


def _booking(starts_at: datetime, last_name: str) -> BookAppointment:
    return BookAppointment(
        service_id="svc-consult",
        clinic_id="clinic-msk-center",
        meeting_method="in_person",
        starts_at=starts_at,
        practitioner_id="pr-ivanova",
        new_client=NewClient(first_name="Wake", last_name=last_name, mobile="+79160000077"),
    )


async def test_the_relay_is_woken_after_commit_and_never_for_a_rolled_back_booking(
    booking: Any,
) -> None:
    runtime = booking.app.state.runtime
    woken: list[str] = []
    deps = Deps(runtime.sessions, runtime.settings, wake_relay=lambda: woken.append("wake"))
    day = booking.monday()
    starts_at = datetime.combine(day, time(12), tzinfo=ZoneInfo("Europe/Moscow")).astimezone(UTC)

    await book_appointment(deps, ANNA, _booking(starts_at, "First"))
    assert woken, "the committed booking did not wake the relay"

    # The new client's ClientRegistered is staged, the appointment's savepoint is refused,
    # the whole booking rolls back.
    woken.clear()
    with pytest.raises(SlotTaken):
        await book_appointment(deps, ANNA, _booking(starts_at + timedelta(minutes=15), "Second"))
    assert woken == []


class _Abort(Exception):
    pass


async def test_a_released_savepoint_does_not_wake_the_relay(booking: Any) -> None:
    runtime = booking.app.state.runtime
    woken: list[str] = []
    deps = Deps(runtime.sessions, runtime.settings, wake_relay=lambda: woken.append("wake"))
    event = ClientsMerged(
        primary_client_id="never-a", duplicate_client_id="never-b", merged_at=datetime.now(UTC)
    )
    async with runtime.sessions() as session:
        with pytest.raises(_Abort):
            async with session.begin():
                await publish(session, deps, [event])
                async with session.begin_nested():
                    pass
                assert woken == []
                raise _Abort
    assert woken == []
