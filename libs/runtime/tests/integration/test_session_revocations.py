"""Ended sessions in a real Redis, as two replicas of a service see them, one of them
remembering sessions found not ended for a while (``remember_seconds``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from switchboard_runtime.auth import Principal, issue_token, read_session
from switchboard_runtime.sessions import SessionRevocations
from switchboard_runtime.testing.infra import Endpoints

SECRET = "integration-secret-of-thirty-two-bytes"
ANNA = Principal(operator_id="op-anna", name="Anna", role="call_centre", call_center_id="cc-1")


@pytest.fixture
async def redis(infra: Endpoints) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


async def test_a_remembered_session_ends_at_once_here_and_within_the_time_elsewhere(
    redis: Redis,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    clock = [1_000.0]
    # This replica remembers for 1 s; the other asks Redis every time.
    here = SessionRevocations(redis, prefix, now=lambda: clock[0], remember_seconds=1.0)
    elsewhere = SessionRevocations(redis, prefix)
    first, second = (read_session(issue_token(ANNA, SECRET), SECRET) for _ in range(2))

    assert not await here.is_ended(first) and not await here.is_ended(second)
    # Ended through the other replica: still taken as not ended here, until the second
    # that was remembered has passed.
    await elsewhere.end(first)
    assert await elsewhere.is_ended(first)
    clock[0] += 0.5
    assert not await here.is_ended(first)
    clock[0] += 0.5
    assert await here.is_ended(first)

    # Ended through this replica: refused here at once.
    assert not await here.is_ended(second)
    await here.end(second)
    assert await here.is_ended(second)


async def test_ending_all_an_operators_sessions_here_forgets_what_was_remembered(
    redis: Redis,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    session = read_session(issue_token(ANNA, SECRET), SECRET)
    # end_all ends what was issued up to its clock's "now": a second after the login.
    clock = [session.issued_at + 1]
    here = SessionRevocations(redis, prefix, now=lambda: clock[0], remember_seconds=5.0)
    assert not await here.is_ended(session)
    await here.end_all(ANNA.operator_id)
    # Within the 5 s it would have been remembered.
    assert await here.is_ended(session)
