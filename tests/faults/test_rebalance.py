"""A second analytics replica joins its consumer group mid-stream and leaves again.

Partitions move to the newcomer while calls flow (a rebalance: uncommitted batches of the
first replica are handed over and may be delivered again), then back when it stops
(SIGTERM, a graceful leave). The call log and the calls report must still count every call
exactly once.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from harness import FaultPlatform, StreamSender, assert_exact, book_during_calls, group_members
from stream import Expected, generate_calls, pbx_batches

from switchboard_runtime.testing import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="session"),
]

CALLS = 160
GROUP = "analytics.calls"


async def test_replica_joining_and_leaving_mid_stream_counts_every_call_once(
    platform: FaultPlatform, stream_day: date
) -> None:
    seed = 300
    calls = generate_calls(seed=seed, day=stream_day, count=CALLS, prefix="rebalance")
    sender = StreamSender(platform, pbx_batches(calls, seed=seed))
    sender.start()
    bookings = await book_during_calls(platform, calls)

    await sender.reached(0.25)
    await asyncio.to_thread(platform.restart, "analytics-2", "analytics")
    try:
        await wait_until(
            lambda: _members_at_least(platform, 2),
            timeout=60,
            interval=0.2,
            message="two analytics replicas in the consumer group",
        )
        await sender.reached(0.6)
    finally:
        await asyncio.to_thread(platform.terminate, "analytics-2")
    await wait_until(
        lambda: _members_at_most(platform, 1),
        timeout=60,
        interval=0.2,
        message="the second replica left the consumer group",
    )
    await sender.finish()

    await assert_exact(platform, Expected(calls, bookings), stream_day)


async def _members_at_least(platform: FaultPlatform, count: int) -> bool:
    return await group_members(platform, GROUP) >= count


async def _members_at_most(platform: FaultPlatform, count: int) -> bool:
    return await group_members(platform, GROUP) <= count
