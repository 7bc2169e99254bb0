"""``retry_transaction`` against a real PostgreSQL deadlock.

Two transactions lock the same two rows in opposite orders; PostgreSQL aborts one of them
with ``40P01``. Undecorated, that is an error for the caller; decorated, the aborted
transaction runs again whole and both writes land exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_runtime.db import (
    ensure_database,
    is_retryable,
    make_engine,
    make_metadata,
    make_session_factory,
    retry_transaction,
)
from switchboard_runtime.settings import ServiceSettings, service_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

metadata = make_metadata()
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)


class RetrySettings(ServiceSettings):
    service_name: ClassVar[str] = "runtime-retry"
    model_config = service_config("RETRY_")


@pytest.fixture
async def sessions(settings_env: dict[str, str]) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = RetrySettings().service_database_url
    await ensure_database(url)
    engine = make_engine(url, pool_size=4)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            sa.insert(counters), [{"name": "a", "value": 0}, {"name": "b", "value": 0}]
        )
    yield make_session_factory(engine)
    await engine.dispose()


def crossing_transfers(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[Callable[[str, str], Awaitable[None]], dict[str, int]]:
    """A transaction that increments ``first`` then, once the other transaction holds its
    first row too, ``second``: two of them in opposite orders deadlock for sure."""
    holding = {"a": asyncio.Event(), "b": asyncio.Event()}
    runs = {"a": 0, "b": 0}

    async def transfer(first: str, second: str) -> None:
        runs[first] += 1
        async with sessions() as session, session.begin():
            bump = sa.update(counters).values(value=counters.c.value + 1)
            await session.execute(bump.where(counters.c.name == first))
            holding[first].set()
            await asyncio.wait_for(holding[second].wait(), timeout=10)
            await session.execute(bump.where(counters.c.name == second))

    return transfer, runs


async def _values(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(sa.select(counters.c.name, counters.c.value))
        return {name: value for name, value in rows.all()}


async def test_a_deadlock_fails_one_caller_without_the_retry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transfer, _ = crossing_transfers(sessions)
    results = await asyncio.gather(transfer("a", "b"), transfer("b", "a"), return_exceptions=True)

    errors: list[Any] = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1, results
    assert isinstance(errors[0], DBAPIError) and is_retryable(errors[0])
    assert getattr(errors[0].orig, "sqlstate", None) == "40P01"
    # Only the surviving transaction's two increments are there.
    assert await _values(sessions) == {"a": 1, "b": 1}


async def test_the_deadlocked_transaction_runs_again_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    transfer, runs = crossing_transfers(sessions)
    retried = retry_transaction(first_delay=0.001)(transfer)

    await asyncio.gather(retried("a", "b"), retried("b", "a"))

    # Both transfers landed, each exactly once; one of them needed a second run.
    assert await _values(sessions) == {"a": 2, "b": 2}
    assert sorted(runs.values()) == [1, 2]


async def test_other_errors_are_not_retried(sessions: async_sessionmaker[AsyncSession]) -> None:
    calls = 0

    @retry_transaction(first_delay=0.001)
    async def duplicate() -> None:
        nonlocal calls
        calls += 1
        async with sessions() as session, session.begin():
            await session.execute(sa.insert(counters).values(name="a", value=9))

    with pytest.raises(IntegrityError):
        await duplicate()
    assert calls == 1
