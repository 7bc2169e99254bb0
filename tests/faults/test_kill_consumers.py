"""Each consumer killed with SIGKILL in the middle of a stream of calls, then restarted.

The stream (generated, seeded: :mod:`stream`) goes through telephony's PBX webhook. Once
half of it is in, one service dies at once — no offset commit, no outbox flush, no
goodbye to its consumer group — while its events are still in flight; the PBX keeps
sending (into a dead webhook, for telephony: it retries, as a PBX does); the service starts
again on the same port. Then the call log, the calls report by day, hour and employee, the
touches per caller and every pop-up's state must equal what the calls themselves say:
nothing lost, nothing counted twice.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from harness import (
    CALL_GROUPS,
    CONSUMERS,
    FaultPlatform,
    StreamSender,
    assert_exact,
    book_during_calls,
    consumer_lag,
)
from stream import Expected, generate_calls, pbx_batches

from switchboard_runtime.testing import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="session"),
]

CALLS = 120


@pytest.mark.parametrize("service", CONSUMERS)
async def test_killed_consumer_loses_nothing_and_counts_nothing_twice(
    platform: FaultPlatform, stream_day: date, service: str
) -> None:
    seed = 100 + CONSUMERS.index(service)
    calls = generate_calls(seed=seed, day=stream_day, count=CALLS, prefix=f"kill-{service}")
    sender = StreamSender(platform, pbx_batches(calls, seed=seed))
    sender.start()
    bookings = await book_during_calls(platform, calls)

    await sender.reached(0.5)

    async def in_flight() -> int:
        # Events on its topics it has not committed yet: it dies with work outstanding.
        return (await consumer_lag(platform, CALL_GROUPS[service])).get(
            platform.env["TOPIC_PREFIX"] + CALL_GROUPS[service], 0
        )

    await wait_until(in_flight, timeout=30, interval=0.01, message=f"events in flight to {service}")
    platform.kill(service)
    if service == "telephony":
        # The webhook is gone with it: the PBX's deliveries are refused and retried.
        await sender.refused(2)
    else:
        # The PBX goes on while the service is dead: a quarter of the stream more.
        await sender.reached(0.75)
    await asyncio.to_thread(platform.restart, service)
    await sender.finish()

    await assert_exact(platform, Expected(calls, bookings), stream_day)
