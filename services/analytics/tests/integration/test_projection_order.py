"""The projection's end state depends on the events, never on their order (real PostgreSQL).

Hypothesis shuffles one generated history of call, touch, tag, appointment and directory
events (with
duplicates) into any order at all, even against the per-key order Kafka keeps, and
applies it event by event through the handlers, or cut into batches as the consumer
applies them. Every order must give the same tables, and every roll-up must equal a
GROUP BY over the call log it was maintained from.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.integration]

SNAPSHOT = {
    "call_log": "call_id",
    "operators": "operator_id",
    "clinics": "clinic_id",
    "touches": "touch_id",
    "call_tags": "call_id, source",
    "dids": "did",
    "appointments": "appointment_id",
}
# Roll-up: (its key columns, the same keys computed from the call log).
_HOUR, _DAY = "date_trunc('hour', local_started_at)", "local_started_at::date"
_MONTH = "date_trunc('month', local_started_at)::date"
_CLINIC, _ADMIN = "coalesce(clinic_id, '')", "coalesce(admin_id, '')"
_DID = "coalesce(did, '')"
ROLLUPS = {
    "calls_by_day_total": (["local_day"], [_DAY]),
    "calls_by_hour_total": (["local_hour"], [_HOUR]),
    "calls_by_day_clinic": (["clinic_id", "local_day"], [_CLINIC, _DAY]),
    "calls_by_hour_clinic": (["clinic_id", "local_hour"], [_CLINIC, _HOUR]),
    "calls_by_month": (["admin_id", "local_month", "clinic_id"], [_ADMIN, _MONTH, _CLINIC]),
    "calls_by_day": (["admin_id", "local_day", "clinic_id"], [_ADMIN, _DAY, _CLINIC]),
    "calls_by_hour": (["admin_id", "local_hour", "clinic_id"], [_ADMIN, _HOUR, _CLINIC]),
    "calls_by_month_did": (["did", "local_month", "clinic_id"], [_DID, _MONTH, _CLINIC]),
    "calls_by_day_did": (["did", "local_day", "clinic_id"], [_DID, _DAY, _CLINIC]),
    "calls_by_hour_did": (["did", "local_hour", "clinic_id"], [_DID, _HOUR, _CLINIC]),
}
#: Service level roll-ups (no call dimensions): the same keys as these.
KPI_ROLLUPS = {
    "kpi_by_day_total": "calls_by_day_total",
    "kpi_by_hour_total": "calls_by_hour_total",
    "kpi_by_day_clinic": "calls_by_day_clinic",
    "kpi_by_hour_clinic": "calls_by_hour_clinic",
    "kpi_by_month": "calls_by_month",
    "kpi_by_day": "calls_by_day",
    "kpi_by_hour": "calls_by_hour",
    "kpi_by_month_did": "calls_by_month_did",
    "kpi_by_day_did": "calls_by_day_did",
    "kpi_by_hour_did": "calls_by_hour_did",
}
#: ``domain.kpi``'s bounds, written out: a call's bucket is the last bound not above it.
_WAITS = [*range(121), 150, 180, 240, 300, 600]
_DELAYS = [0, 300, 600, 900, 1800, 2700, 3600, 5400, 7200, 10800, 14400, 21600, 28800,
           43200, 57600, 72000, 86400]  # fmt: skip


def _unpacked(packed: Any, size: int) -> list[int] | None:
    """The counts of a roll-up's packed histogram (migration 0019: count ``i`` in the
    ``i``-th group of ten digits from the right), or None."""
    if packed is None:
        return None
    number = int(packed)
    return [number // 10 ** (10 * i) % 10**10 for i in range(size)]


def _cumulative(value: str, bounds: list[int], where: str) -> str:
    """Per bound: the calls (``where``) with ``value`` below the next bound; NULL for none."""
    uppers = [*bounds[1:], None]
    counts = ", ".join(
        f"count(*) FILTER (WHERE {where}"
        + (f" AND coalesce({value}, 0) < {upper})" if upper is not None else ")")
        for upper in uppers
    )
    return f"CASE WHEN count(*) FILTER (WHERE {where}) > 0 THEN ARRAY[{counts}] END"


DIMENSIONS = ["call_type", "disposition", "called_back"]
CONVERSION = [
    "with_touch",
    "with_appointment",
    "cancelled",
    "appointments",
    "appointments_cancelled",
]
# The conversion measures counted from the call log's columns (domain/conversion.py).
_TOUCHED = "call_type = 'incoming' AND disposition = 'answered' AND has_touch"
_BOOKED = f"{_TOUCHED} AND appointments_booked > 0"
CONVERSION_FROM_LOG = (
    f"count(*) FILTER (WHERE {_TOUCHED}), count(*) FILTER (WHERE {_BOOKED}), "
    f"count(*) FILTER (WHERE {_BOOKED} AND appointments_cancelled = appointments_booked), "
    f"coalesce(sum(appointments_booked) FILTER (WHERE {_BOOKED}), 0), "
    f"coalesce(sum(appointments_cancelled) FILTER (WHERE {_BOOKED}), 0)"
)


def _positions(n: int) -> str:
    return ", ".join(str(i) for i in range(1, n + 1))


async def _apply_in_order(
    url: str, envelopes: list[Any], deferred: bool = False, batches: random.Random | None = None
) -> dict[str, Any]:
    """Empty the projection, apply ``envelopes`` one transaction each, return every table.

    ``deferred``: as a rebuild's replay does, facts only, then one set-based pass.
    ``batches``: cut the envelopes into batches of random sizes (1 to 60), one transaction
    and one ``project_batch`` each, as the consumer applies a Kafka batch.
    """
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from switchboard_analytics.adapters.rollup_deltas import fold_all
    from switchboard_analytics.adapters.tables import PROJECTION_TABLES
    from switchboard_analytics.handlers import (
        Projection,
        finish_deferred,
        project_batch,
        project_event,
    )
    from switchboard_runtime.db import make_engine

    engine = make_engine(url, pool_size=2)
    projection = Projection(deferred=deferred)
    try:
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in PROJECTION_TABLES)
            await conn.execute(sa.text(f"TRUNCATE {names}"))
        if batches is None:
            for envelope in envelopes:
                async with AsyncSession(engine) as session, session.begin():
                    await project_event(session, envelope, projection)
        else:
            start = 0
            while start < len(envelopes):
                size = batches.randint(1, 60)
                async with AsyncSession(engine) as session, session.begin():
                    await project_batch(session, envelopes[start : start + size], projection)
                start += size
        if deferred:
            await finish_deferred(async_sessionmaker(engine), Projection())
        await fold_all(async_sessionmaker(engine))
        out: dict[str, Any] = {}
        async with engine.connect() as conn:
            for table, order in SNAPSHOT.items():
                rows = await conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY {order}"))
                out[table] = [dict(r._mapping) for r in rows]
            for table, (keys, expressions) in ROLLUPS.items():
                width = len(keys) + len(DIMENSIONS)
                kept = await conn.execute(
                    sa.text(
                        f"SELECT {', '.join(keys + DIMENSIONS)}, calls, talk_seconds, "
                        f"wait_seconds, {', '.join(CONVERSION)} FROM {table} "
                        f"WHERE calls <> 0 OR talk_seconds <> 0 OR wait_seconds <> 0 "
                        f"OR {' OR '.join(f'{m} <> 0' for m in CONVERSION)} "
                        f"ORDER BY {_positions(width)}"
                    )
                )
                grouped = await conn.execute(
                    sa.text(
                        f"SELECT {', '.join(expressions + DIMENSIONS)}, count(*), "
                        f"sum(talk_seconds), sum(wait_seconds), {CONVERSION_FROM_LOG} "
                        "FROM call_log "
                        f"WHERE ended_at IS NOT NULL GROUP BY {_positions(width)} "
                        f"ORDER BY {_positions(width)}"
                    )
                )
                out[table] = [tuple(r) for r in kept]
                assert out[table] == [tuple(r) for r in grouped], f"{table} != GROUP BY"
            for table, like in KPI_ROLLUPS.items():
                keys, expressions = ROLLUPS[like]
                incoming = "call_type = 'incoming'"
                answered = f"{incoming} AND disposition = 'answered'"
                called_back = f"{incoming} AND disposition = 'missed' AND called_back"
                measures = (
                    "calls, incoming, answered, missed, called_back, answered_wait_seconds, "
                    "waits, callback_delays"
                )
                kept = await conn.execute(
                    sa.text(
                        f"SELECT {', '.join(keys)}, {measures} FROM {table} WHERE calls <> 0 "
                        f"ORDER BY {_positions(len(keys))}"
                    )
                )
                grouped = await conn.execute(
                    sa.text(
                        f"SELECT {', '.join(expressions)}, count(*), "
                        f"count(*) FILTER (WHERE {incoming}), "
                        f"count(*) FILTER (WHERE {answered}), "
                        f"count(*) FILTER (WHERE {incoming} AND disposition = 'missed'), "
                        f"count(*) FILTER (WHERE {called_back}), "
                        f"coalesce(sum(coalesce(wait_seconds, 0)) FILTER (WHERE {answered}), 0), "
                        f"{_cumulative('wait_seconds', _WAITS, answered)}, "
                        f"{_cumulative('callback_delay_seconds', _DELAYS, called_back)} "
                        "FROM call_log WHERE ended_at IS NOT NULL "
                        f"GROUP BY {_positions(len(keys))} ORDER BY {_positions(len(keys))}"
                    )
                )
                out[table] = [
                    (*r[:-2], _unpacked(r[-2], len(_WAITS)), _unpacked(r[-1], len(_DELAYS)))
                    for r in kept
                ]
                assert out[table] == [tuple(r) for r in grouped], f"{table} != GROUP BY"
        return out
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def history(kit: Any) -> tuple[Any, list[Any]]:
    """A small generated world's events, in publishing order, with some duplicates."""
    world = kit.generate_world(seed=5, size=40)
    plan = kit.plan_phases(world, seed=11)
    return world, [e for phase in plan.phases for e in phase] + plan.duplicates[:10]


@pytest.fixture(scope="module")
def database(settings_env: dict[str, str], run_id: str) -> str:
    import switchboard_analytics
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.db import migrate, migrations_path

    url = AnalyticsSettings(database_suffix=f"_ord_{run_id}").service_database_url
    asyncio.run(migrate(migrations_path(switchboard_analytics.__file__), url))
    return url


@pytest.fixture(scope="module")
def reference(history: tuple[Any, list[Any]], database: str) -> dict[str, Any]:
    """The tables after the history in publishing order, checked against the world."""
    world, envelopes = history
    tables = asyncio.run(_apply_in_order(database, envelopes))
    rows = {row["call_id"]: row for row in tables["call_log"]}
    assert set(rows) == {c.call_id for c in world.calls}
    for call in world.calls:
        row, want = rows[call.call_id], world.row(call)
        for column in (
            "admin_id",
            "contact_name",
            "time_zone",
            "tags",
            "called_back",
            "callback_call_id",
            "callback_delay_seconds",
            "disposition",
        ):
            assert row[column] == want[column], (call.call_id, column)
        assert row["did"] == call.did, call.call_id
        booked = world.appointments(call)
        assert (
            row["has_touch"],
            row["appointments_booked"],
            row["appointments_cancelled"],
        ) == (call.touch is not None, len(booked), sum(1 for b in booked if b.cancelled_at))
    assert {d["did"]: d["description"] for d in tables["dids"]} == world.did_descriptions
    return tables


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=st.randoms(use_true_random=False))
def test_any_order_gives_the_same_tables_and_rollups_equal_group_by(
    history: tuple[Any, list[Any]],
    database: str,
    reference: dict[str, Any],
    order: random.Random,
) -> None:
    _, envelopes = history
    shuffled = list(envelopes)
    order.shuffle(shuffled)
    assert asyncio.run(_apply_in_order(database, shuffled)) == reference


@pytest.mark.parametrize("seed", [1, 2])
def test_facts_first_then_one_set_based_pass_gives_the_same_tables(
    history: tuple[Any, list[Any]], database: str, reference: dict[str, Any], seed: int
) -> None:
    """The rebuild's replay mode: store facts per event, derive the rest at the end."""
    _, envelopes = history
    shuffled = list(envelopes)
    random.Random(seed).shuffle(shuffled)
    assert asyncio.run(_apply_in_order(database, shuffled, deferred=True)) == reference


@pytest.mark.parametrize(("seed", "deferred"), [(3, False), (4, False), (5, True)])
def test_any_cut_into_batches_gives_the_same_tables(
    history: tuple[Any, list[Any]],
    database: str,
    reference: dict[str, Any],
    seed: int,
    deferred: bool,
) -> None:
    """The consumer applies each Kafka batch at once: a shuffled history cut into batches
    (a call's events out of order inside one batch, duplicates in the same batch) gives
    the tables of one event at a time."""
    _, envelopes = history
    shuffled = list(envelopes)
    rng = random.Random(seed)
    rng.shuffle(shuffled)
    tables = asyncio.run(_apply_in_order(database, shuffled, deferred=deferred, batches=rng))
    assert tables == reference
