"""The pool's ping of idle connections, against a real PostgreSQL.

A pooled connection whose server process went away while it sat idle (PostgreSQL
restarted, an administrator ended it) must not reach the next caller: the pool pings a
connection idle for ``ping_after_idle_seconds`` and hands out a new one instead. A
connection in steady use is not pinged (the ping is three round trips).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from switchboard_runtime.db import ensure_database, make_engine, make_session_factory
from switchboard_runtime.settings import ServiceSettings, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BACKEND_PID = sa.text("SELECT pg_backend_pid()")


class PingSettings(ServiceSettings):
    service_name: ClassVar[str] = "runtime-ping"
    model_config = service_config("PING_")


@pytest.fixture
async def url(settings_env: dict[str, str]) -> str:
    url = PingSettings().service_database_url
    await ensure_database(url)
    return url


@pytest.fixture
async def admin(url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(url, pool_size=1)
    yield engine
    await engine.dispose()


async def _terminate(admin: AsyncEngine, pid: int) -> None:
    async with admin.connect() as conn:
        assert await conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await conn.commit()


async def test_an_idle_connection_whose_server_went_away_is_replaced(
    url: str, admin: AsyncEngine
) -> None:
    # Every connection counts as idle long enough (0 s), as after a restart's outage.
    engine = make_engine(url, pool_size=1, ping_after_idle_seconds=0)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(BACKEND_PID)
        await _terminate(admin, first)

        async with engine.connect() as conn:
            second = await conn.scalar(BACKEND_PID)
            assert await conn.scalar(sa.text("SELECT 41 + 1")) == 42
        assert second != first
    finally:
        await engine.dispose()


TRANSACTION = ["BEGIN;", "ROLLBACK;"]
#: asyncpg's ping: an empty statement in a transaction of its own.
PING = ["BEGIN;", ";", "ROLLBACK;"]


@pytest.mark.parametrize(
    ("ping_after_idle_seconds", "expected"),
    # Three checkouts (the driver is watched from the first one's transaction on).
    [(3600, TRANSACTION * 3), (0, TRANSACTION + (PING + TRANSACTION) * 2)],
    ids=["in-steady-use-not-pinged", "idle-pinged"],
)
async def test_only_an_idle_connection_is_pinged(
    url: str, ping_after_idle_seconds: float, expected: list[str]
) -> None:
    engine = make_engine(url, pool_size=1, ping_after_idle_seconds=ping_after_idle_seconds)
    # What the driver sends outside prepared statements (transactions, the ping).
    sent: list[str] = []
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            raw.add_query_logger(lambda record: sent.append(record.query))
            await conn.scalar(BACKEND_PID)
        for _ in range(2):
            async with engine.connect() as conn:
                assert (await conn.get_raw_connection()).driver_connection is raw
                await conn.scalar(BACKEND_PID)
        assert sent == expected
    finally:
        await engine.dispose()


#: A plan that PostgreSQL compiles to machine code whenever JIT is on (any cost is enough).
JIT_PLAN = "EXPLAIN (ANALYZE) SELECT sum(g) FROM generate_series(1, 1000) AS g"


async def _jit_used(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SET jit_above_cost = 0"))
        plan = (await conn.execute(sa.text(JIT_PLAN))).scalars().all()
    return any(line.startswith("JIT:") for line in plan)


async def test_statements_are_not_compiled_to_machine_code(url: str) -> None:
    """JIT cost every analytics report reaching its threshold 20 to 75 ms and saved none
    (``db.NO_JIT``); a plain connection to the same server compiles the same plan."""
    plain = create_async_engine(url)
    engine = make_engine(url, pool_size=1)
    try:
        assert await _jit_used(plain)
        assert not await _jit_used(engine)
    finally:
        await plain.dispose()
        await engine.dispose()


#: Run as a prepared statement, as asyncpg runs every statement.
COUNT_KIND = sa.text("SELECT count(*) FROM plan_probe WHERE kind = :kind")
PLANS = sa.text(
    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
    " WHERE statement LIKE 'SELECT count(*) FROM plan_probe%'"
)


async def _plans_after_eight_runs(url: str, custom_plans: bool) -> tuple[int, int]:
    engine = make_engine(url, pool_size=1)
    try:
        async with make_session_factory(engine, custom_plans=custom_plans)() as session:
            await session.execute(
                sa.text(
                    "CREATE TEMPORARY TABLE plan_probe AS SELECT g % 1000 AS kind"
                    " FROM generate_series(1, 10000) AS g"
                )
            )
            for kind in range(8):
                assert await session.scalar(COUNT_KIND, {"kind": kind}) == 10
            generic, custom = (await session.execute(PLANS)).one()
            return generic, custom
    finally:
        await engine.dispose()


async def test_read_sessions_plan_each_statement_for_its_parameters(url: str) -> None:
    """From the sixth run on PostgreSQL may keep a prepared statement's generic plan,
    chosen without the parameters (``db.CustomPlanSession``); the sessions made for
    reads plan every run for its values, and the others still may reuse one."""
    assert await _plans_after_eight_runs(url, custom_plans=True) == (0, 8)
    generic, custom = await _plans_after_eight_runs(url, custom_plans=False)
    assert generic > 0 and generic + custom == 8
