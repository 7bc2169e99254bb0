"""Fixtures of the fault tests: their own infrastructure and the platform as processes.

* ``fault_infra`` (session) — ``scripts/infra.sh up`` on the fault ports (see
  :mod:`harness`), ``down`` at the end; the run's databases and topics are dropped first.
* ``fault_platform`` (session) — every service as a real process on that infrastructure,
  booking seeded, telephony's routing for :data:`stream.CHAIN` configured, a session token
  in ``.token``. Shared by every fault test; each test uses a day of its own (``stream_day``)
  so their call logs, reports and touches never mix.
* ``platform`` — ``fault_platform`` after making sure every service runs and is ready (a
  test that failed half-way must not break the next one).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from harness import FaultInfra, FaultPlatform, configure_chain, login

from switchboard_runtime.testing.infra import Endpoints
from switchboard_runtime.testing.plugin import cleanup_run

_FIRST_DAY = date(2026, 10, 5)
# Days three apart: no call of one test is within the 24 h call-back window of another's.
_days = itertools.count()


@pytest.fixture(scope="session")
def fault_infra() -> Iterator[FaultInfra]:
    """Kafka, PostgreSQL and Redis of the fault tests alone (restarting them is the point)."""
    infra = FaultInfra()
    infra.up()
    try:
        yield infra
    finally:
        infra.run("down")


@pytest.fixture(scope="session")
def fault_platform(fault_infra: FaultInfra, run_id: str) -> Iterator[FaultPlatform]:
    """The five services as processes on the fault infrastructure, seeded and routed."""
    endpoints = fault_infra.endpoints
    env = {
        **endpoints,
        "TOPIC_PREFIX": f"t{run_id}.faults.",
        "DATABASE_SUFFIX": f"_faults_{run_id}",
        "LOG_JSON": "false",
    }
    platform = FaultPlatform(env=env)
    try:
        platform.start()
        platform.token = login(platform)
        configure_chain(platform, platform.token)
        yield platform
    finally:
        platform.stop()
        asyncio.run(
            cleanup_run(
                Endpoints(
                    endpoints["KAFKA_BOOTSTRAP_SERVERS"],
                    endpoints["DATABASE_URL"],
                    endpoints["REDIS_URL"],
                    source="faults",
                ),
                run_id,
            )
        )


@pytest.fixture
def platform(fault_platform: FaultPlatform) -> FaultPlatform:
    """The shared platform, every service running and ready."""
    fault_platform.ensure_running()
    return fault_platform


@pytest.fixture
def stream_day() -> date:
    """A clinic-local day no other fault test of this run uses."""
    return _FIRST_DAY + timedelta(days=3 * next(_days))
