"""Fault injection against the real platform: its own infrastructure, real processes.

* :class:`FaultInfra` — a Kafka/PostgreSQL/Redis instance of ``scripts/infra.sh`` on ports
  of its own (18092/18093, 18432, 18379; state in ``.cache/infra-faults``), so restarting
  a component disturbs nobody else's tests.
* :class:`FaultPlatform` — e2e's :class:`live_platform.Platform` (every service a real
  subprocess, booking seeded) without the console, plus what faults need: ``kill`` (SIGKILL,
  no shutdown code runs), ``restart`` on the same port and environment, and extra replicas.
* :class:`StreamSender` — plays webhook batches through ``live_platform.send_pbx`` while a
  fault happens, retrying what the platform could not take (telephony down, a 5xx while
  Redis or Kafka is away), as a PBX does.
* :func:`assert_exact` — waits until the platform is quiescent and the call log, the calls
  report, the touches and the pop-ups equal :class:`stream.Expected`, then checks again
  once every consumer group has caught up (so a late double count still fails).
* :class:`ReadyzWatcher` — records every service's ``/readyz`` while infrastructure restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from switchboard_booking.entrypoints.seed import next_weekday
from switchboard_runtime.testing import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from live_platform import (
    ARTIFACTS,
    REPO,
    SERVICES,
    Platform,
    _bin,
    free_port,
    send_pbx,
)
from stream import CHAIN, KNOWN_CALLERS, Expected, GeneratedCall

#: Below Linux's ephemeral range (32768-60999): while a component is stopped, the services'
#: reconnect attempts must not be able to take its port as their own source port (or
#: connect a socket to itself on it), which would keep it from starting again.
INFRA_ENV = {
    "SB_INFRA_DIR": str(REPO / ".cache" / "infra-faults"),
    "SB_KAFKA_PORT": "18092",
    "SB_KAFKA_CONTROLLER_PORT": "18093",
    "SB_PG_PORT": "18432",
    "SB_REDIS_PORT": "18379",
}
CONSUMERS = ("telephony", "crm-touch", "analytics", "notify")
#: The consumer group of each consumer's call pipeline (without the topic prefix).
CALL_GROUPS = {
    "telephony": "telephony.pbx-ingest",
    "crm-touch": "crm-touch",
    "analytics": "analytics.calls",
    "notify": "notify",
}


# --- infrastructure ------------------------------------------------------------------------


class FaultInfra:
    """The fault tests' own ``scripts/infra.sh`` instance."""

    def __init__(self) -> None:
        self.env = {**os.environ, **INFRA_ENV}
        self.endpoints: dict[str, str] = {}

    def run(self, command: str) -> None:
        """``scripts/infra.sh <command>`` against this instance (output kept for failures)."""
        done = subprocess.run(
            ["/bin/bash", str(REPO / "scripts" / "infra.sh"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0:
            raise RuntimeError(f"infra.sh {command} failed:\n{done.stdout}\n{done.stderr}")

    def _start(self, command: str) -> None:
        """``command`` (``up`` or ``start-*``), then ``up`` again if a component did not
        start: the port range is inside Linux's ephemeral range, so a client connecting
        while the component is away may briefly hold its port (a TCP self-connect)."""
        for attempt in range(4):
            try:
                self.run(command if attempt == 0 else "up")
                return
            except RuntimeError:
                if attempt == 3:
                    raise
                self._wait_ports_free()

    def _wait_ports_free(self, timeout: float = 90) -> None:
        """Until nothing holds the component ports (TIME_WAIT lasts 60 s on Linux)."""
        ports = [int(INFRA_ENV[k]) for k in INFRA_ENV if k.endswith("_PORT")]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = []
            for port in ports:
                with socket.socket() as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        probe.bind(("127.0.0.1", port))
                    except OSError:
                        busy.append(port)
            # A running component holds its own port: only a port nobody listens on that
            # still cannot be bound is stuck.
            if not [p for p in busy if not _listening(p)]:
                return
            time.sleep(0.5)  # polling period

    def up(self) -> dict[str, str]:
        """Start (or confirm) the instance; returns its ``KAFKA_BOOTSTRAP_SERVERS``,
        ``DATABASE_URL`` and ``REDIS_URL``."""
        self._start("up")
        for line in (Path(INFRA_ENV["SB_INFRA_DIR"]) / "env").read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                self.endpoints[name] = value.strip().strip('"')
        return self.endpoints

    async def stop(self, component: str) -> None:
        """``stop-kafka|postgres|redis``: the component stays away until :meth:`start`."""
        await asyncio.to_thread(self.run, f"stop-{component}")

    async def start(self, component: str) -> None:
        await asyncio.to_thread(self._start, f"start-{component}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# --- the platform --------------------------------------------------------------------------


@dataclass
class FaultPlatform(Platform):
    """Every backend service as a real process (no console gateway: nothing here needs
    the browser), with kill -9, restart and extra replicas."""

    log_dir: Path = ARTIFACTS / "faults-logs"
    token: str = ""
    restarts: dict[str, int] = field(default_factory=dict)

    def start(self, timeout: float = 180.0) -> None:
        """Seed booking, start the five services, wait until every one is ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.allocate_ports()
        self.seed(self._environment())
        self.start_standins()
        for name in SERVICES:
            self.start_process(name)
        deadline = time.monotonic() + timeout
        for name in SERVICES:
            self._wait_ready(name, deadline)

    def _environment(self) -> dict[str, str]:
        env = super()._environment()
        # The state machine settles a call exactly when all its events are accepted within
        # the reorder grace. While Kafka is away the webhook refuses deliveries and the
        # sender retries them once it is back, so a call's events can be accepted as far
        # apart as the outage lasts: the grace must be longer than that. (Telephony's own
        # restarts need no such allowance: a backlog is read with each event's record
        # timestamp, test_call_flow.py::test_a_backlog_read_after_a_restart_longer_than_...)
        env["TELEPHONY_REORDER_GRACE_SECONDS"] = "60"
        return env

    def start_process(self, key: str, service: str | None = None) -> None:
        """Start ``service`` (default: ``key``) as process ``key`` on ``ports[key]`` (a new
        free port for a new key); its log is appended to ``<key>.log``."""
        service = service or key
        if key not in self.ports:
            self.ports[key] = free_port()
        env = self._environment()
        env[f"{service.upper().replace('-', '_')}_HTTP_PORT"] = str(self.ports[key])
        log = (self.log_dir / f"{key}.log").open("ab")
        self.processes[key] = subprocess.Popen(
            [_bin(f"switchboard-{service}"), "serve", "--port", str(self.ports[key])],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def kill(self, key: str) -> None:
        """SIGKILL: the process dies at once, no shutdown code runs (no offset commit, no
        outbox flush, no consumer-group leave)."""
        process = self.processes[key]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def terminate(self, key: str) -> None:
        """SIGTERM and wait for the graceful shutdown (then forget the process)."""
        process = self.processes.pop(key)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise

    def restart(self, key: str, service: str | None = None, timeout: float = 120.0) -> None:
        """Start ``key`` again on the same port and environment and wait until ready."""
        self.restarts[key] = self.restarts.get(key, 0) + 1
        self.start_process(key, service)
        self._wait_ready(key, time.monotonic() + timeout)

    def ensure_running(self, timeout: float = 120.0) -> None:
        """Restart any service that is not running (a failed test must not break the next
        one) and wait until all are ready."""
        for name in SERVICES:
            if self.processes[name].poll() is not None:
                self.start_process(name)
        deadline = time.monotonic() + timeout
        for name in SERVICES:
            self._wait_ready(name, deadline)

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.ports[key]}"


def login(platform: FaultPlatform, username: str = "admin") -> str:
    """A session token from booking's login (the seeded ``admin`` has every right)."""
    response = httpx.post(
        platform.url("booking") + "/api/booking/auth/login",
        json={"username": username, "password": username},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["token"])


def configure_chain(platform: FaultPlatform, token: str) -> None:
    """Telephony's routing for :data:`stream.CHAIN`, as the admin sets it: each clinic's
    DID, and its extensions (idempotent: 409 means already there)."""
    headers = {"Authorization": f"Bearer {token}"}
    base = platform.url("telephony") + "/api/telephony"
    with httpx.Client(headers=headers, timeout=30) as client:
        for clinic in CHAIN:
            bodies = [
                ("/dids", {"did": clinic.did, "clinic_id": clinic.clinic_id}),
                ("/extensions", {"extension": clinic.reception, "clinic_id": clinic.clinic_id}),
                ("/extensions", {"extension": clinic.desk, "clinic_id": clinic.clinic_id}),
            ]
            for path, body in bodies:
                response = client.post(base + path, json=body)
                if response.status_code != 409:
                    response.raise_for_status()


#: Booking's seeded practitioner, service and clinic for appointments made during calls.
BOOKING_SLOT = {
    "service_id": "svc-consult",
    "clinic_id": "clinic-msk-center",
    "practitioner_id": "pr-ivanova",
    "meeting_method": "in_person",
}
_booking_days = itertools.count()


async def book_during_calls(
    platform: FaultPlatform, calls: list[GeneratedCall], how_many: int = 2
) -> dict[str, str]:
    """An operator (Anna) books an appointment during each of the first ``how_many``
    answered calls from a known patient, through booking's API (``call_id`` given, as the
    console does). Returns call id → appointment id.

    Each fault test books on a weekday of its own from the platform's booking day on (a
    weekday after the seed's, so never among the seed's appointments)."""
    chosen = [
        c
        for c in calls
        if c.call_type == "incoming" and c.answered_at is not None and c.src in KNOWN_CALLERS
    ][:how_many]
    assert len(chosen) == how_many, "the stream has too few answered calls from patients"
    day = platform.booking_day
    for _ in range(next(_booking_days)):  # the next weekday, once per earlier test
        day = next_weekday(day)
    async with httpx.AsyncClient(
        base_url=platform.url("booking") + "/api/booking", timeout=30
    ) as client:
        login = await client.post("/auth/login", json={"username": "anna", "password": "anna"})
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"
        booked: dict[str, str] = {}
        for hour, call in enumerate(chosen, start=12):
            found = await client.get("/clients", params={"phone": call.src})
            found.raise_for_status()
            client_id = found.json()["items"][0]["client_id"]
            starts_at = datetime.combine(day, dt_time(hour), tzinfo=ZoneInfo("Europe/Moscow"))
            response = await client.post(
                "/appointments",
                json={
                    **BOOKING_SLOT,
                    "starts_at": starts_at.isoformat(),
                    "client_id": client_id,
                    "call_id": call.call_id,
                },
            )
            assert response.status_code == 201, response.text
            booked[call.call_id] = response.json()["appointment_id"]
    return booked


# --- sending -------------------------------------------------------------------------------


class StreamSender:
    """Sends webhook batches in order, pacing them, retrying each until it is accepted.

    A refused connection (telephony killed) or a 5xx (its Kafka or Redis away) is retried
    with a fresh signature after a pause longer than a second (a delivery signed in the same
    second with the same body would be a replay). ``sent`` counts accepted batches, so a
    test can inject its fault once half the stream is in."""

    def __init__(self, platform: FaultPlatform, batches: list[list[dict[str, Any]]]):
        self.platform = platform
        self.batches = batches
        self.sent = 0
        self.retries = 0
        self.task: asyncio.Task[None] | None = None

    def _send_one(self, batch: list[dict[str, Any]]) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                send_pbx(self.platform, batch)
                return
            except urllib.error.HTTPError as exc:
                if exc.code < 500 or time.monotonic() > deadline:
                    raise
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
            self.retries += 1
            time.sleep(1.1)  # pacing a retry, not synchronising

    async def _run(self, pause: float) -> None:
        for batch in self.batches:
            await asyncio.to_thread(self._send_one, batch)
            self.sent += 1
            await asyncio.sleep(pause)  # pacing the stream like a PBX, not synchronising

    def start(self, pause: float = 0.05) -> None:
        self.task = asyncio.create_task(self._run(pause))

    async def reached(self, share: float, timeout: float = 120) -> None:
        """Wait until ``share`` of the batches were accepted."""
        target = int(len(self.batches) * share)

        async def probe() -> bool:
            if self.task is not None and self.task.done():
                self.task.result()
            return self.sent >= target

        await wait_until(probe, timeout=timeout, interval=0.02, message=f"{target} batches sent")

    async def refused(self, times: int, timeout: float = 60) -> None:
        """Wait until deliveries were refused ``times`` times (and are being retried)."""

        async def probe() -> bool:
            if self.task is not None and self.task.done():
                self.task.result()
            return self.retries >= times

        await wait_until(probe, timeout=timeout, interval=0.02, message=f"{times} refusals")

    async def finish(self, timeout: float = 240) -> None:
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout)


# --- what the platform shows ---------------------------------------------------------------


@dataclass
class Observed:
    """The services' answers for one stream day, shaped like :class:`stream.Expected`."""

    call_log: dict[str, dict[str, Any]]
    reports: dict[str, dict[tuple[Any, ...], dict[str, dict[str, Any]]]]
    touches: list[dict[str, Any]]
    popups: dict[str, str | None]
    day: date


async def _call_log(client: httpx.AsyncClient, platform: FaultPlatform, day: date) -> list[Any]:
    items: list[Any] = []
    params: dict[str, Any] = {"from": day.isoformat(), "to": day.isoformat(), "limit": 500}
    while True:
        response = await client.get(
            platform.url("analytics") + "/api/analytics/calls", params=params
        )
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        params["cursor"] = page["next_cursor"]


def _report_key(group_by: str, row: dict[str, Any]) -> tuple[Any, ...]:
    if group_by == "day":
        return (row["day"],)
    if group_by == "hour":
        return (row["day"], row["hour"])
    return (row["admin_id"], row["day"])


async def _report(
    client: httpx.AsyncClient, platform: FaultPlatform, day: date, group_by: str
) -> dict[tuple[Any, ...], dict[str, dict[str, Any]]]:
    response = await client.get(
        platform.url("analytics") + "/api/analytics/reports/calls",
        params={"from": day.isoformat(), "to": day.isoformat(), "group_by": group_by},
    )
    response.raise_for_status()
    return {
        _report_key(group_by, row): {
            k: row[k] for k in ("incoming", "outgoing", "internal", "total")
        }
        for row in response.json()["rows"]
    }


async def _touches(client: httpx.AsyncClient, platform: FaultPlatform, day: date) -> list[Any]:
    items: list[Any] = []
    params: dict[str, Any] = {
        "from": f"{day.isoformat()}T00:00:00Z",
        "to": f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z",
        "limit": 500,
    }
    while True:
        response = await client.get(platform.url("crm-touch") + "/api/crm/touches", params=params)
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


async def _popups(platform: FaultPlatform, call_ids: Iterable[str]) -> dict[str, str | None]:
    """Each call's pop-up status in notify's Redis state (``<prefix>notify:call:<id>``)."""
    from redis.asyncio import Redis

    prefix = f"{platform.env['TOPIC_PREFIX']}notify:"
    redis = Redis.from_url(platform.env["REDIS_URL"], decode_responses=True)
    try:
        ids = list(call_ids)
        async with redis.pipeline(transaction=False) as pipe:
            for call_id in ids:
                pipe.hget(f"{prefix}call:{call_id}", "status")
            statuses = await pipe.execute()
        return dict(zip(ids, statuses, strict=True))
    finally:
        await redis.aclose()


async def observe(
    platform: FaultPlatform, expected: Expected, day: date, *, popups: bool = True
) -> Observed:
    """Read the call log, the three report groupings, the touches and the pop-ups."""
    headers = {"Authorization": f"Bearer {platform.token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        rows = await _call_log(client, platform, day)
        reports = {
            g: await _report(client, platform, day, g) for g in ("day", "hour", "employee_day")
        }
        touches = await _touches(client, platform, day)
    columns = next(iter(expected.call_log().values())).keys()
    return Observed(
        call_log={row["call_id"]: {k: row[k] for k in columns} for row in rows},
        reports=reports,
        touches=touches,
        popups=await _popups(platform, (c.call_id for c in expected.calls)) if popups else {},
        day=day,
    )


def _averages_match(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Counts equal; averages equal to the hundredth the API rounds to."""
    for kind, figures in want.items():
        for name, value in figures.items():
            actual = got[kind][name]
            if name.startswith("avg_"):
                if (value is None) != (actual is None):
                    return False
                if value is not None and abs(actual - value) > 0.005 + 1e-9:
                    return False
            elif actual != value:
                return False
    return True


def differences(observed: Observed, expected: Expected, *, popups: bool = True) -> list[str]:
    """Every way ``observed`` differs from ``expected`` (empty when exact)."""
    problems: list[str] = []
    want_log = expected.call_log()
    missing = sorted(set(want_log) - set(observed.call_log))
    extra = sorted(set(observed.call_log) - set(want_log))
    if missing or extra:
        problems.append(f"call log: {len(missing)} missing {missing[:5]}, extra {extra[:5]}")
    for call_id, want in want_log.items():
        got = observed.call_log.get(call_id)
        if got is not None and got != want:
            diff = {k: (got[k], v) for k, v in want.items() if got[k] != v}
            problems.append(f"call {call_id} (got, want): {diff}")
    for group_by, rows in observed.reports.items():
        want_rows = expected.report(group_by, observed.day)
        if set(rows) != set(want_rows):
            problems.append(
                f"report {group_by}: keys {sorted(rows, key=str)} != {sorted(want_rows, key=str)}"
            )
            continue
        for key, figures in want_rows.items():
            if not _averages_match(rows[key], figures):
                problems.append(f"report {group_by} {key}: got {rows[key]}, want {figures}")
    per_call: dict[str, int] = {}
    for touch in observed.touches:
        per_call[touch["call_id"]] = per_call.get(touch["call_id"], 0) + 1
    ours = {c.call_id for c in expected.calls}
    twice = sorted(k for k, n in per_call.items() if n > 1)
    if twice:
        problems.append(f"touches: calls with more than one touch {twice[:5]}")
    numbers: dict[str, int] = {}
    for touch in observed.touches:
        if touch["call_id"] in ours:
            numbers[touch["phone"]] = numbers.get(touch["phone"], 0) + 1
    if numbers != dict(expected.touches_per_number()):
        problems.append(
            f"touches per number: got {numbers}, want {dict(expected.touches_per_number())}"
        )
    for touch in observed.touches:
        surname = KNOWN_CALLERS.get(touch["phone"])
        contact = touch.get("contact") or {}
        if surname and (contact.get("kind") != "patient" or surname not in str(contact)):
            problems.append(f"touch of known caller {touch['call_id']}: contact {contact}")
            break
    for touch in observed.touches:
        if touch["call_id"] not in ours:
            continue
        want_appointment = expected.bookings.get(touch["call_id"])
        got = (touch.get("appointment_id"), touch.get("result") == "booked")
        if got != (want_appointment, want_appointment is not None):
            problems.append(
                f"touch of {touch['call_id']}: appointment, booked {got}, want {want_appointment}"
            )
    if popups:
        want_popups = expected.popup_states()
        wrong = {
            k: (observed.popups.get(k), v)
            for k, v in want_popups.items()
            if observed.popups.get(k) != v
        }
        if wrong:
            problems.append(
                f"pop-ups (got, want): {len(wrong)} e.g. {dict(list(wrong.items())[:5])}"
            )
    return problems


async def consumer_lag(platform: FaultPlatform, only: str | None = None) -> dict[str, int]:
    """Messages not yet committed, per consumer group of this platform (committed offset
    versus the partition's end, over every partition the group has committed on); ``only``
    names one group (without the topic prefix)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    bootstrap = platform.env["KAFKA_BOOTSTRAP_SERVERS"]
    prefix = platform.env["TOPIC_PREFIX"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        if only is not None:
            groups = [g for g in groups if g == prefix + only]
        lag: dict[str, int] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            ends = await consumer.end_offsets(list(committed)) if committed else {}
            lag[group] = sum(ends[tp] - meta.offset for tp, meta in committed.items())
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def group_members(platform: FaultPlatform, group: str) -> int:
    """How many members the platform's consumer group ``group`` (without the topic
    prefix) has right now."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=platform.env["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([platform.env["TOPIC_PREFIX"] + group])
    finally:
        await admin.close()
    return sum(len(response.groups[0][5]) for response in described if response.groups)


async def assert_exact(
    platform: FaultPlatform,
    expected: Expected,
    day: date,
    *,
    popups: bool = True,
    timeout: float = 120,
) -> None:
    """Wait until what the services show equals ``expected``, then until every consumer
    group of the platform has committed everything, then check once more."""
    last: list[str] = []

    async def settled() -> bool:
        nonlocal last
        last = differences(
            await observe(platform, expected, day, popups=popups), expected, popups=popups
        )
        return not last

    try:
        await wait_until(settled, timeout=timeout, interval=1.0, message="exact results")
    except TimeoutError:
        raise AssertionError("results never became exact:\n" + "\n".join(last[:30])) from None

    async def caught_up() -> dict[str, int] | None:
        lag = await consumer_lag(platform)
        return lag if lag and not any(lag.values()) else None

    await wait_until(caught_up, timeout=60, interval=0.5, message="consumer groups caught up")
    final = differences(
        await observe(platform, expected, day, popups=popups), expected, popups=popups
    )
    assert not final, "results changed after every consumer caught up:\n" + "\n".join(final[:30])


# --- readiness -----------------------------------------------------------------------------


class ReadyzWatcher:
    """Polls every service's ``/readyz`` in the background, keeping each answer's status
    (``0`` when the connection failed), in order."""

    def __init__(self, platform: FaultPlatform, services: Iterable[str] = SERVICES):
        self.platform = platform
        self.seen: dict[str, list[int]] = {name: [] for name in services}
        self._task: asyncio.Task[None] | None = None

    async def _poll(self, client: httpx.AsyncClient, name: str) -> None:
        seen = self.seen[name]
        while True:
            try:
                status = (await client.get(self.platform.url(name) + "/readyz")).status_code
            except httpx.HTTPError:
                status = 0
            if not seen or seen[-1] != status:
                seen.append(status)
            await asyncio.sleep(0.03)  # polling period

    async def _poll_all(self) -> None:
        async with httpx.AsyncClient(timeout=3) as client:
            await asyncio.gather(*(self._poll(client, name) for name in self.seen))

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll_all())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def wait_all_ready(self, timeout: float = 120) -> None:
        """Until every service's latest answer is 200."""

        async def probe() -> bool:
            return all(seen and seen[-1] == 200 for seen in self.seen.values())

        await wait_until(probe, timeout=timeout, interval=0.1, message=f"all ready: {self.seen}")

    async def wait_not_ready(self, services: Iterable[str], timeout: float = 60) -> None:
        """Until each of ``services`` has answered something other than 200 since the call."""
        marks = {name: len(self.seen[name]) for name in services}

        async def probe() -> bool:
            return all(
                any(s != 200 for s in self.seen[name][max(mark - 1, 0) :])
                for name, mark in marks.items()
            )

        await wait_until(probe, timeout=timeout, interval=0.05, message=f"not ready: {self.seen}")

    def went_down_and_up(self) -> dict[str, bool]:
        """Per service: was it not ready at some point, and ready after that?"""
        out = {}
        for name, seen in self.seen.items():
            down = next((i for i, s in enumerate(seen) if s != 200), None)
            out[name] = down is not None and 200 in seen[down:]
        return out
