"""Booking benchmark: bookings per second through the HTTP API against the real database,
and the outcome of the 50-way race for one slot.

Runs the booking service as deployed, its own process (``switchboard-booking serve``:
uvicorn, lifespan, migrations, outbox relay, notification planner and worker) on a
throw-away database and topic prefix, and the HTTP client here, in another process; books
distinct practitioner/slot pairs (so nothing conflicts) with N requests in flight, then
fires 50 concurrent requests from two call centers at overlapping slots of one
practitioner. The CPU of each process is measured apart: the service's per booking is the
figure the target is about. Beside them, the same run measures the floor: the statements
no booking can do without (one transaction inserting the appointment under the no-overlap
constraint and its outbox row), over bare asyncpg at the same concurrency. The timed
bookings are sent with aiohttp, whose client costs about a third of httpx's CPU per request:
on two cores the client's CPU is taken from the service. Prints the
figures with the machine and writes them to ``bench/results/booking.json``.

    uv run python bench/booking/run.py [--bookings 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from common import (  # noqa: E402 - bench/ is not a package
    Service,
    machine,
    proc_cpu_seconds,
    write_result,
)

API = "/api/booking"
MSK = ZoneInfo("Europe/Moscow")
PRACTITIONERS = 20
SLOT_MINUTES = 15


async def _setup(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, str, list[str]]:
    """A clinic, a 15-minute service and practitioners working around the clock."""
    clinic = (
        await client.post(
            f"{API}/clinics",
            headers=admin,
            json={"name": "Bench clinic", "time_zone": "Europe/Moscow"},
        )
    ).json()["clinic_id"]
    service = (
        await client.post(
            f"{API}/services",
            headers=admin,
            json={
                "name": "Bench service",
                "duration_minutes": SLOT_MINUTES,
                "meeting_methods": ["in_person"],
            },
        )
    ).json()["service_id"]
    ids = []
    for n in range(PRACTITIONERS):
        response = await client.post(
            f"{API}/practitioners",
            headers=admin,
            json={
                "name": f"Bench practitioner {n}",
                "clinic_ids": [clinic],
                "service_ids": [service],
                "working_hours": [
                    {"clinic_id": clinic, "weekday": d, "starts": "00:00", "ends": "23:59"}
                    for d in range(7)
                ],
            },
        )
        response.raise_for_status()
        ids.append(response.json()["practitioner_id"])
    return clinic, service, ids


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post(
        f"{API}/auth/login", json={"username": username, "password": username}
    )
    response.raise_for_status()
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _system_cpu_seconds(pid: int) -> float:
    """The CPU seconds the kernel spent for the process (socket sends and receives: what
    each round trip costs besides the Python)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


async def throughput(
    client: aiohttp.ClientSession,
    service_pid: int,
    headers: list[dict[str, str]],
    clinic: str,
    service: str,
    practitioners: list[str],
    client_id: str,
    bookings: int,
    concurrency: int,
    days_ahead: int,
) -> dict[str, Any]:
    """Book ``bookings`` distinct slots from ``days_ahead`` days on, ``concurrency`` requests
    in flight."""
    start_day = datetime.now(MSK).date() + timedelta(days=days_ahead)
    per_day = PRACTITIONERS * (24 * 60 // SLOT_MINUTES - 1)
    jobs = []
    for i in range(bookings):
        day, rest = divmod(i, per_day)
        slot, practitioner = divmod(rest, PRACTITIONERS)
        starts = datetime.combine(
            start_day + timedelta(days=day), datetime.min.time(), tzinfo=MSK
        ) + timedelta(minutes=SLOT_MINUTES * slot)
        jobs.append((practitioners[practitioner], starts.astimezone(UTC).isoformat()))
    queue: asyncio.Queue[tuple[int, tuple[str, str]]] = asyncio.Queue()
    for item in enumerate(jobs):
        queue.put_nowait(item)
    latencies: list[float] = []
    codes: Counter[int] = Counter()

    async def worker() -> None:
        while not queue.empty():
            i, (practitioner, starts_at) = queue.get_nowait()
            began = time.perf_counter()
            async with client.post(
                f"{API}/appointments",
                headers=headers[i % 2],
                json={
                    "service_id": service,
                    "clinic_id": clinic,
                    "practitioner_id": practitioner,
                    "meeting_method": "in_person",
                    "starts_at": starts_at,
                    "client_id": client_id,
                    "attendee_notes": "bench",
                    "private_notes": "bench",
                },
            ) as response:
                await response.read()
            latencies.append(time.perf_counter() - began)
            codes[response.status] += 1

    began, cpu_began = time.perf_counter(), time.process_time()
    service_cpu_began = proc_cpu_seconds(service_pid)
    service_system_began = _system_cpu_seconds(service_pid)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    service_cpu = proc_cpu_seconds(service_pid) - service_cpu_began
    service_system = _system_cpu_seconds(service_pid) - service_system_began
    latencies.sort()
    return {
        "bookings": bookings,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "bookings_per_second": round(codes[201] / elapsed, 1),
        # CPU per booking of the service's process (API, relay, notification planner and
        # worker): what the machine's load changes less than the rate. The HTTP client's
        # apart: it is not the service's work.
        "cpu_ms_per_booking": round(service_cpu * 1000 / bookings, 2),
        # Of which in the kernel.
        "system_cpu_ms_per_booking": round(service_system * 1000 / bookings, 2),
        "client_cpu_ms_per_booking": round(cpu * 1000 / bookings, 2),
        "status_codes": dict(codes),
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "max": round(latencies[-1] * 1000, 1),
        },
    }


async def race(
    client: httpx.AsyncClient,
    headers: list[dict[str, str]],
    database_url: str,
    clinic: str,
    service: str,
    practitioner: str,
    client_id: str,
) -> dict[str, Any]:
    """50 concurrent requests (two call centers) for overlapping slots of one practitioner."""
    from switchboard_booking.adapters.tables import appointments

    day = datetime.now(MSK).date() + timedelta(days=1)
    base = datetime.combine(day, datetime.min.time(), tzinfo=MSK) + timedelta(hours=10)
    # A 15-minute service starting 10:00 … 10:10: every pair overlaps.
    bodies = [
        {
            "service_id": service,
            "clinic_id": clinic,
            "practitioner_id": practitioner,
            "meeting_method": "in_person",
            "client_id": client_id,
            "starts_at": (base + timedelta(minutes=5 * (i % 3))).astimezone(UTC).isoformat(),
        }
        for i in range(50)
    ]
    began = time.perf_counter()
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/appointments", headers=headers[i % 2], json=body)
            for i, body in enumerate(bodies)
        ),
    )
    elapsed = time.perf_counter() - began
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(appointments)
            .where(
                appointments.c.practitioner_id == practitioner,
                appointments.c.starts_at >= base - timedelta(hours=1),
                appointments.c.starts_at < base + timedelta(hours=1),
            )
        )
    await engine.dispose()
    codes = Counter(r.status_code for r in responses)
    return {
        "requests": 50,
        "status_codes": dict(codes),
        "appointments_in_db": stored,
        "seconds": round(elapsed, 3),
        "ok": codes == Counter({201: 1, 409: 49}) and stored == 1,
    }


async def postgres_active_ms(database_url: str, *, settled: bool = False) -> float:
    """The time PostgreSQL's backends of the benchmark's database have spent running
    statements (``pg_stat_database.active_time``, in ms). ``settled``: once none of the
    service's backends is left (each reports what it had not yet as it exits)."""
    import asyncpg

    url = sa.engine.make_url(database_url)
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        if settled:
            # Waits (up to 10 s each) for what is left of them to exit.
            await conn.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                url.database,
            )
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return float(
            await conn.fetchval(
                "SELECT active_time FROM pg_stat_database WHERE datname = $1", url.database
            )
        )
    finally:
        await conn.close()


async def floor(
    database_url: str,
    ids: dict[str, str],
    bookings: int,
    concurrency: int,
    days_ahead: int,
) -> dict[str, Any]:
    """The floor under the booking rate: per booking one transaction with the appointment
    ``INSERT`` (the no-overlap constraint checked) and its outbox row, nothing read, no
    HTTP, over bare asyncpg with ``concurrency`` connections; distinct slots, as above."""
    import asyncpg

    from switchboard_booking.adapters.tables import NO_OVERLAP_CONSTRAINT

    insert = (
        "INSERT INTO appointments (appointment_id, client_id, clinic_id, practitioner_id,"
        " service_id, meeting_method, starts_at, ends_at, status, version, attendee_notes,"
        " private_notes, answers) VALUES ($1, $2, $3, $4, $5, 'in_person', $6, $7, 'booked',"
        f" 1, '', '', '{{}}') ON CONFLICT ON CONSTRAINT {NO_OVERLAP_CONSTRAINT} DO NOTHING"
        " RETURNING appointment_id"
    )
    stage = "INSERT INTO outbox (event_id, topic, key, value) VALUES ($1, 'bench.floor', $2, $3)"
    start = datetime.combine(
        datetime.now(MSK).date() + timedelta(days=days_ahead), datetime.min.time(), tzinfo=MSK
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(bookings):
        queue.put_nowait(i)
    latencies: list[float] = []
    written = 0
    pool = await asyncpg.create_pool(
        database_url.replace("+asyncpg", ""), min_size=concurrency, max_size=concurrency
    )

    async def worker() -> None:
        nonlocal written
        while not queue.empty():
            i = queue.get_nowait()
            starts = start + timedelta(minutes=SLOT_MINUTES * i)
            began = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                appointment_id = await conn.fetchval(
                    insert,
                    uuid.uuid4().hex,
                    ids["client"],
                    ids["clinic"],
                    ids["practitioner"],
                    ids["service"],
                    starts,
                    starts + timedelta(minutes=SLOT_MINUTES),
                )
                await conn.execute(stage, uuid.uuid4(), appointment_id, b"{}")
            latencies.append(time.perf_counter() - began)
            written += appointment_id is not None

    try:
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    finally:
        await pool.close()
    latencies.sort()
    return {
        "bookings": bookings,
        "concurrency": concurrency,
        "bookings_per_second": round(written / elapsed, 1),
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
        },
    }


async def _profiler(pid: int, out: Path) -> asyncio.subprocess.Process:
    """py-spy sampling the service's process (collapsed stacks in ``out``) until SIGINT:
    the measured bookings only (less its first moments, while it attaches), not the
    setup's logins and seeding."""
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"),
        *("record", "--pid", str(pid), "--rate", "100", "--format", "raw", "--nonblocking"),
        *("--output", str(out)),
        stdout=asyncio.subprocess.DEVNULL,
    )
    return spy


async def main(bookings: int, concurrency: int, profile: Path | None = None) -> dict[str, Any]:
    """Run both measurements on a throw-away database and topic prefix."""
    from switchboard_runtime.testing.infra import resolve_endpoints
    from switchboard_runtime.testing.plugin import cleanup_run

    endpoints = resolve_endpoints(REPO)
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
        "DATABASE_URL": endpoints.database_url,
        "REDIS_URL": endpoints.redis_url,
        "TOPIC_PREFIX": f"t{run}.",
        "DATABASE_SUFFIX": f"_{run}",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
    }
    os.environ.update(env)
    from switchboard_booking.settings import BookingSettings

    database_url = BookingSettings().service_database_url
    booking = Service("booking", env, log_tag="booking")
    try:
        async with httpx.AsyncClient(base_url=booking.url, timeout=120) as client:
            await booking.ready(client)
            # The demo chain's operators (admin, anna, petr), through the real entrypoint.
            command = Path(sys.executable).parent / "switchboard-booking"
            seeding = await asyncio.create_subprocess_exec(
                str(command), "seed", env=env, stdout=asyncio.subprocess.DEVNULL
            )
            if await seeding.wait():
                raise RuntimeError("switchboard-booking seed failed")
            admin = await _login(client, "admin")
            headers = [await _login(client, "anna"), await _login(client, "petr")]
            clinic, service, practitioners = await _setup(client, admin)
            client_id = (
                await client.post(
                    f"{API}/clients",
                    headers=admin,
                    json={"first_name": "Bench", "last_name": "Client", "mobile": "+79160000000"},
                )
            ).json()["client_id"]
            timed = aiohttp.ClientSession(
                base_url=booking.url,
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=120),
            )
            async with timed:
                args = (timed, booking.process.pid, headers, clinic, service, practitioners)
                active_began = await postgres_active_ms(database_url)
                await throughput(
                    *args, client_id, min(50, bookings), concurrency, days_ahead=400
                )  # warm-up
                spy = await _profiler(booking.process.pid, profile) if profile else None
                measured = await throughput(*args, client_id, bookings, concurrency, days_ahead=2)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    await spy.wait()
                # How it grows: as many bookings again at 2x and 5x the requests in flight.
                growth = [
                    await throughput(
                        *args, client_id, bookings, concurrency * factor, days_ahead=100 * n
                    )
                    for n, factor in enumerate((2, 5), start=1)
                ]
            outcome = await race(
                client, headers, database_url, clinic, service, practitioners[0], client_id
            )
        # After the service stopped (its relay would try to publish the floor's rows).
        booking.stop()
        # PostgreSQL's time per request of the service: warm-up, bookings and race, with
        # the planner's and the relay's statements they caused.
        requests = min(50, bookings) + bookings * (1 + len(growth)) + outcome["requests"]
        active_ms = await postgres_active_ms(database_url, settled=True) - active_began
        measured["postgres_active_ms_per_request"] = round(active_ms / requests, 2)
        bare = await floor(
            database_url,
            {
                "client": client_id,
                "clinic": clinic,
                "practitioner": practitioners[1],
                "service": service,
            },
            bookings,
            concurrency,
            days_ahead=800,
        )
    finally:
        booking.stop()
        await cleanup_run(endpoints, run)
        endpoints.close()
    return {
        "benchmark": "booking",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "infrastructure": endpoints.source,
        "throughput": measured,
        "growth": growth,
        "race": outcome,
        "floor": bare,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--profile", type=Path, help="py-spy's collapsed stacks of the service, measured part"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "booking.json")
    args = parser.parse_args()
    result = asyncio.run(main(args.bookings, args.concurrency, args.profile))
    m, t, r, f = result["machine"], result["throughput"], result["race"], result["floor"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}")
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(
        f"booking throughput: {t['bookings_per_second']} bookings/s "
        f"({t['bookings']} bookings, {t['concurrency']} in flight, {t['seconds']} s; "
        f"p50 {t['latency_ms']['p50']} ms, p95 {t['latency_ms']['p95']} ms; "
        f"CPU per booking: service process {t['cpu_ms_per_booking']} ms "
        f"({t['system_cpu_ms_per_booking']} ms of it in the kernel), "
        f"HTTP client {t['client_cpu_ms_per_booking']} ms; "
        f"PostgreSQL active per request {t['postgres_active_ms_per_request']} ms; "
        f"status codes {t['status_codes']})"
    )
    for g in result["growth"]:
        print(
            f"  at {g['concurrency']} in flight: {g['bookings_per_second']} bookings/s, "
            f"p50 {g['latency_ms']['p50']} ms, p95 {g['latency_ms']['p95']} ms, "
            f"status codes {g['status_codes']}"
        )
    print(
        f"floor, same run (appointment INSERT + outbox row, one transaction, bare asyncpg): "
        f"{f['bookings_per_second']} bookings/s "
        f"(p50 {f['latency_ms']['p50']} ms, p95 {f['latency_ms']['p95']} ms)"
    )
    print(
        f"race: 50 concurrent requests → {r['status_codes']}, "
        f"{r['appointments_in_db']} appointment in the database "
        f"({'OK' if r['ok'] else 'WRONG'})"
    )
    write_result(args.out, result)
    # A double booking is a failure of the benchmark itself (not a missed figure).
    sys.exit(0 if r["ok"] else 1)
