"""Conversion kept in roll-ups whatever order calls, touches and appointments arrive in
(real PostgreSQL).

A small history with every hard case: an appointment that names only a touch (so no
call), before or after that touch and its call; a touch before its call; a touch relinked
to another call after an appointment was booked from it; cancellations; an appointment
during a call with no touch; a missed call's touch booked from. Applied in several orders,
one event per transaction: after every event the report from the roll-ups equals the
report from the call log, and at the end both equal the figures counted by hand below.
Cut into batches, and as a rebuild's replay (facts first, one set-based pass), the end
state is the same.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.integration]

DAY = datetime(2026, 3, 10, tzinfo=UTC)
GROUPINGS = ("admin", "clinic", "did", "day", "month")
ZERO = dict.fromkeys(
    (
        "incoming",
        "answered",
        "with_touch",
        "with_appointment",
        "cancelled",
        "appointments",
        "appointments_cancelled",
    ),
    0,
)


def _at(hour: int) -> datetime:
    return DAY + timedelta(hours=hour)


def history() -> list[Any]:
    """The envelopes, in publishing order (each entity's events in their order)."""
    from switchboard_contracts import (
        AppointmentBooked,
        AppointmentCancelled,
        CallEnded,
        CallStarted,
        TouchCreated,
        TouchUpdated,
        make_envelope,
    )

    out: list[Any] = []

    def call(call_id: str, hour: int, operator_id: str | None) -> None:
        started = _at(hour)
        answered = operator_id is not None
        common = {
            "direction": "incoming",
            "caller": f"+7999000000{hour}",
            "callee": "101",
            "extension": "101",
            "clinic_id": "clinic-x",
        }
        out.append(
            make_envelope(
                CallStarted(call_id=call_id, started_at=started, did="+74950000001", **common),
                producer="telephony",
                occurred_at=started,
            )
        )
        ended = started + timedelta(minutes=5)
        out.append(
            make_envelope(
                CallEnded(
                    call_id=call_id,
                    ended_at=ended,
                    disposition="answered" if answered else "missed",
                    wait_seconds=10,
                    talk_seconds=290 if answered else 0,
                    total_seconds=300,
                    started_at=started,
                    answered_at=started + timedelta(seconds=10) if answered else None,
                    operator_id=operator_id,
                    **common,
                ),
                producer="telephony",
                occurred_at=ended,
            )
        )

    def touch(touch_id: str, call_id: str, hour: int, *, relinked_to: str | None = None) -> None:
        created = _at(hour) + timedelta(minutes=1)
        out.append(
            make_envelope(
                TouchCreated(touch_id=touch_id, call_id=call_id, created_at=created),
                producer="crm-touch",
                occurred_at=created,
            )
        )
        if relinked_to is not None:
            updated = created + timedelta(hours=1)
            out.append(
                make_envelope(
                    TouchUpdated(touch_id=touch_id, call_id=relinked_to, updated_at=updated),
                    producer="crm-touch",
                    occurred_at=updated,
                )
            )

    def appointment(
        appointment_id: str,
        hour: int,
        *,
        call_id: str | None = None,
        touch_id: str | None = None,
        cancelled: bool = False,
    ) -> None:
        booked = _at(hour) + timedelta(minutes=4)
        event = AppointmentBooked(
            appointment_id=appointment_id,
            client_id="client-1",
            clinic_id="clinic-x",
            practitioner_id="pr-1",
            service_id="sv-1",
            starts_at=booked + timedelta(days=2),
            ends_at=booked + timedelta(days=2, minutes=30),
            call_id=call_id,
            touch_id=touch_id,
            version=1,
        )
        out.append(make_envelope(event, producer="booking", occurred_at=booked))
        if cancelled:
            at = booked + timedelta(days=1)
            out.append(
                make_envelope(
                    AppointmentCancelled(
                        appointment_id=appointment_id,
                        client_id="client-1",
                        clinic_id="clinic-x",
                        cancelled_at=at,
                        version=2,
                    ),
                    producer="booking",
                    occurred_at=at,
                )
            )

    call("a", 9, "op-1")
    call("b", 10, "op-2")
    call("c", 11, None)  # missed
    call("d", 12, "op-1")  # answered, no touch
    touch("t1", "a", 9, relinked_to="b")  # first a's, then b's
    touch("t3", "a", 9)
    touch("t2", "c", 11)
    appointment("x1", 9, touch_id="t1", cancelled=True)  # b's once t1 is b's
    appointment("x2", 9, call_id="a", touch_id="t1")  # names a: a's, whatever t1 names
    appointment("x3", 12, call_id="d")  # d has no touch: not in the funnel
    appointment("x4", 11, touch_id="t2")  # c was missed: not in the funnel
    appointment("x5", 9, touch_id="t3", cancelled=True)  # a's
    return out


#: Counted by hand from the history: a (op-1) has t3 and x2, x5 (x5 cancelled); b (op-2)
#: has t1 (relinked) and x1 (cancelled: all its appointments are); c was missed; d has no
#: touch.
EXPECTED_BY_ADMIN = [
    {
        "key": "op-1",
        **ZERO,
        "incoming": 2,
        "answered": 2,
        "with_touch": 1,
        "with_appointment": 1,
        "appointments": 2,
        "appointments_cancelled": 1,
    },
    {
        "key": "op-2",
        **ZERO,
        "incoming": 1,
        "answered": 1,
        "with_touch": 1,
        "with_appointment": 1,
        "cancelled": 1,
        "appointments": 1,
        "appointments_cancelled": 1,
    },
    {"key": None, **ZERO, "incoming": 1},
]


async def _reports(session: Any) -> dict[str, Any]:
    """Every grouping's total and groups, from the roll-up the report picks and from the
    call log."""
    from switchboard_analytics.adapters.conversion import ROLLUP_GROUPING, conversion_counts
    from switchboard_analytics.adapters.queries import CallLogFilter
    from switchboard_analytics.adapters.rollup_choice import choose_rollup

    flt = CallLogFilter()
    out: dict[str, Any] = {}
    for group_by in GROUPINGS:
        rollup = choose_rollup(flt, ROLLUP_GROUPING[group_by], by_clinic=group_by == "clinic")
        assert rollup is not None
        for source, chosen in (("rollup", rollup), ("call_log", None)):
            total, groups = await conversion_counts(session, flt, group_by, 100, chosen)
            out[f"{group_by}/{source}"] = (total or ZERO, groups)
    return out


def _same_from_both(reports: dict[str, Any], where: str) -> None:
    for group_by in GROUPINGS:
        rolled, logged = reports[f"{group_by}/rollup"], reports[f"{group_by}/call_log"]
        assert rolled == logged, (where, group_by)


async def _apply(
    url: str, envelopes: list[Any], *, deferred: bool = False, batches: random.Random | None = None
) -> dict[str, Any]:
    """Empty the projection, apply ``envelopes`` (one per transaction, or in random
    batches), checking both report paths after each transaction; the end's reports and
    call rows."""
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from switchboard_analytics.adapters.rollup_deltas import fold_changes
    from switchboard_analytics.adapters.tables import PROJECTION_TABLES
    from switchboard_analytics.handlers import Projection, finish_deferred, project_batch
    from switchboard_runtime.db import make_engine

    engine = make_engine(url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {', '.join(t.name for t in PROJECTION_TABLES)}"))
        rng = batches or random.Random(0)
        start = 0
        while start < len(envelopes):
            size = rng.randint(1, 6) if batches is not None else 1
            async with AsyncSession(engine) as session, session.begin():
                await project_batch(
                    session, envelopes[start : start + size], Projection(deferred=deferred)
                )
                if not deferred:
                    # As the folder does after the commit, here inside the transaction.
                    await fold_changes(session)
                    _same_from_both(await _reports(session), f"after event {start}")
            start += size
        if deferred:
            await finish_deferred(async_sessionmaker(engine), Projection())
        async with AsyncSession(engine) as session:
            reports = await _reports(session)
            rows = await session.execute(
                sa.text(
                    "SELECT call_id, has_touch, appointments_booked, appointments_cancelled "
                    "FROM call_log ORDER BY call_id"
                )
            )
            return {"reports": reports, "calls": [tuple(r) for r in rows]}
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def database(settings_env: dict[str, str], run_id: str) -> str:
    import switchboard_analytics
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.db import migrate, migrations_path

    url = AnalyticsSettings(database_suffix=f"_conv_{run_id}").service_database_url
    asyncio.run(migrate(migrations_path(switchboard_analytics.__file__), url))
    return url


@pytest.fixture(scope="module")
def reference(database: str) -> dict[str, Any]:
    """The end state in publishing order, checked against the figures counted by hand."""
    end = asyncio.run(_apply(database, history()))
    assert end["calls"] == [
        ("a", True, 2, 1),
        ("b", True, 1, 1),
        ("c", True, 1, 0),
        ("d", False, 1, 0),
    ]
    total, groups = end["reports"]["admin/rollup"]
    assert [{"key": key, **counts} for key, counts in groups] == EXPECTED_BY_ADMIN
    assert total == {
        "incoming": 4,
        "answered": 3,
        "with_touch": 2,
        "with_appointment": 2,
        "cancelled": 1,
        "appointments": 3,
        "appointments_cancelled": 2,
    }
    _same_from_both(end["reports"], "the end")
    return end


def test_appointments_before_touches_before_calls(database: str, reference: Any) -> None:
    """The reverse of publishing order: every appointment before its touch, every touch
    (and its relink) before its call, a cancellation before its booking."""
    assert asyncio.run(_apply(database, list(reversed(history())))) == reference


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_any_order_gives_the_same_figures(database: str, reference: Any, seed: int) -> None:
    shuffled = history()
    random.Random(seed).shuffle(shuffled)
    assert asyncio.run(_apply(database, shuffled)) == reference


@pytest.mark.parametrize("seed", [5, 6])
def test_batches_give_the_same_figures(database: str, reference: Any, seed: int) -> None:
    shuffled = history()
    rng = random.Random(seed)
    rng.shuffle(shuffled)
    assert asyncio.run(_apply(database, shuffled, batches=rng)) == reference


@pytest.mark.parametrize("seed", [7, 8])
def test_a_rebuilds_replay_gives_the_same_figures(database: str, reference: Any, seed: int) -> None:
    """Facts only, then the set-based pass: the live projection's end state."""
    shuffled = history()
    random.Random(seed).shuffle(shuffled)
    assert asyncio.run(_apply(database, shuffled, deferred=True)) == reference
