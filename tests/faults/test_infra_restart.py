"""Kafka, PostgreSQL and Redis restarted in the middle of a stream of calls.

Each test restarts one component of the fault tests' own infrastructure
(``scripts/infra.sh stop-<component>``, then ``start-<component>`` once the services
report not ready) once part of the stream is in, while a watcher
polls every service's ``/readyz``. The services must notice (``/readyz`` not ready while
the component is away), reconnect on their own (ready again, nobody restarts them), and
the call log, the calls report and the touches must still be exact.

Kafka is restarted twice: once as quickly as it goes, and once kept away longer than the
producers' request timeout, so the publishes in flight fail (the outbox relays', the
webhook's) and must be retried rather than lost or left waiting.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest
from harness import (
    CONSUMERS,
    FaultInfra,
    FaultPlatform,
    ReadyzWatcher,
    StreamSender,
    _popups,
    assert_exact,
    book_during_calls,
)
from stream import Expected, generate_calls, pbx_batches

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.asyncio(loop_scope="session"),
]

CALLS = 120

#: Whose readiness depends on the component: every service uses Kafka and PostgreSQL;
#: notify keeps pop-ups in Redis.
AFFECTED = {
    "kafka": ("telephony", "booking", "crm-touch", "analytics", "notify"),
    "postgres": ("telephony", "booking", "crm-touch", "analytics", "notify"),
    "redis": ("notify",),
}

#: The producers' request timeout (``switchboard_runtime.kafka.make_broker``): a Kafka
#: outage longer than this fails the publishes in flight (the outbox relays' and the
#: webhook's), which must then be retried, not lost.
PRODUCER_TIMEOUT_S = 30.0


@pytest.mark.parametrize(
    ("component", "away_at_least"),
    [("kafka", 0.0), ("kafka", PRODUCER_TIMEOUT_S + 5), ("postgres", 0.0), ("redis", 0.0)],
    ids=["kafka", "kafka-longer-than-producer-timeout", "postgres", "redis"],
)
async def test_services_reconnect_and_results_stay_exact(
    platform: FaultPlatform,
    fault_infra: FaultInfra,
    stream_day: date,
    component: str,
    away_at_least: float,
) -> None:
    seed = 200 + list(AFFECTED).index(component) + (10 if away_at_least else 0)
    # Call ids of their own: telephony would take another case's ids for duplicates.
    prefix = f"restart-{component}" + ("-long" if away_at_least else "")
    calls = generate_calls(seed=seed, day=stream_day, count=CALLS, prefix=prefix)
    watcher = ReadyzWatcher(platform)
    watcher.start()
    sender = StreamSender(platform, pbx_batches(calls, seed=seed))
    try:
        await watcher.wait_all_ready()
        sender.start()
        bookings = await book_during_calls(platform, calls)
        await sender.reached(0.4)
        # Stopped until the services have said they are not ready, then started again: a
        # Redis restart takes milliseconds, quicker than any readiness poll would notice.
        await fault_infra.stop(component)
        stopped = time.monotonic()
        try:
            await watcher.wait_not_ready(AFFECTED[component])
            # The outage itself: how long the component stays away (not a synchronisation).
            await asyncio.sleep(max(0.0, stopped + away_at_least - time.monotonic()))
        finally:
            await fault_infra.start(component)
        await sender.finish()
        await watcher.wait_all_ready()
    finally:
        await watcher.stop()

    # Nobody restarted a service: the same processes carried on.
    assert all(platform.processes[name].poll() is None for name in CONSUMERS)
    went = watcher.went_down_and_up()
    assert all(went[name] for name in AFFECTED[component]), watcher.seen

    # The local Redis keeps no data across a restart, so notify's pop-ups of calls before
    # it are gone (consoles keep theirs, README "Redis restarts"); what is checked there
    # is that nothing is left open.
    await assert_exact(platform, Expected(calls, bookings), stream_day, popups=component != "redis")
    if component == "redis":
        states = await _popups(platform, (c.call_id for c in calls))
        assert "open" not in states.values(), states
