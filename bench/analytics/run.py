"""Analytics benchmark: a year of a clinic chain's calls, the live projection's throughput,
and report and call log latency, roll-ups against GROUP BY over the raw call log.

On a throw-away database and topic prefix:

1. **Baseline**: N calls over one year (2025) in 12 clinics across 7 time zones, 150
   operators, touches, tags and call-backs, generated in time order and bulk-loaded with
   PostgreSQL ``COPY`` (secondary indexes built afterwards), then the roll-ups filled from
   the call log with the service's own set-based roll-up statement.
2. **Projection throughput**: canonical events of further calls (CallStarted, CallAnswered,
   CallEnded, TouchCreated, CallTagged …) are published to Kafka, then the service starts
   and its consumer drains them into the call log and the roll-ups (on top of the N
   calls). Events/s = events / the time from the first batch's start (``processed_at``)
   to every event committed and every roll-up change folded, both on PostgreSQL's clock.
3. **Visibility**: single calls published one at a time; seconds from CallEnded published
   to the call showing in ``GET /api/analytics/calls``.
4. **Reports**: ``GET /api/analytics/reports/calls`` over the whole year for every
   ``group_by``, from the roll-ups (``source=auto``) and by GROUP BY over the call log
   (``source=call_log``), p50/p95 and the ratio of the p50s.
5. **Call log**: the first page (newest first), and filtered first pages.
6. **Rebuild**: ``rebuild`` replays the topics (the events of step 2 and 3) into fresh
   tables and swaps them in, with the service running: events/s of a replay. Baselines in
   the same run: a bare aiokafka consumer reading the same topics from offset 0, and the
   same read storing every record with PostgreSQL ``COPY``.

Prints the figures and the machine and writes ``bench/results/analytics.json``.

    uv run python bench/analytics/run.py --quick          # ~1 minute
    uv run python bench/analytics/run.py                  # 10 million calls
    uv run python bench/analytics/run.py --calls 2000000 --projection-calls 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from common import delete_topics, machine, write_result  # noqa: E402 - bench/ is not a package

YEAR = 2025
CLINICS = [
    ("msk-1", "Moscow Arbat", "Europe/Moscow", 5),
    ("msk-2", "Moscow Sokol", "Europe/Moscow", 4),
    ("msk-3", "Moscow Tushino", "Europe/Moscow", 3),
    ("msk-4", "Moscow Lublino", "Europe/Moscow", 3),
    ("spb-1", "Saint Petersburg", "Europe/Moscow", 4),
    ("kzn-1", "Kazan", "Europe/Moscow", 2),
    ("smr-1", "Samara", "Europe/Samara", 2),
    ("ekb-1", "Yekaterinburg", "Asia/Yekaterinburg", 3),
    ("ekb-2", "Chelyabinsk", "Asia/Yekaterinburg", 1),
    ("nsk-1", "Novosibirsk", "Asia/Novosibirsk", 2),
    ("kgd-1", "Kaliningrad", "Europe/Kaliningrad", 1),
    ("vvo-1", "Vladivostok", "Asia/Vladivostok", 1),
]
OPERATORS = 150
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 6, 14, 20, 22, 21, 18, 19, 21, 20, 18, 15, 10, 6, 4, 2, 1, 1]
NAMES = [
    "Анна",
    "Мария",
    "Ольга",
    "Елена",
    "Ирина",
    "Наталья",
    "Иван",
    "Пётр",
    "Сергей",
    "Алексей",
    "Дмитрий",
    "Николай",
    "John",
    "Emma",
    "Liam",
    "Sofia",
]
SURNAMES = [
    "Иванова",
    "Петрова",
    "Смирнова",
    "Кузнецова",
    "Попова",
    "Соколова",
    "Lebedeva",
    "Novikova",
    "Morozova",
    "Volkova",
]
TAGS = ["booking", "price", "complaint", "angry", "repeat", "spam"]
CALLBACK_WINDOW = timedelta(hours=24)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values) * 1000, 1),
        "p95": round(percentile(values, 0.95) * 1000, 1),
        "n": len(values),
    }


# ---------------------------------------------------------------------------------------
# Baseline data


COPY_COLUMNS = (
    "call_id", "started_at", "answered_at", "ended_at", "call_type", "src", "dst",
    "extension", "clinic_id", "operator_id", "disposition", "wait_seconds", "talk_seconds",
    "total_seconds", "recording_url", "end_reason", "time_zone", "tags",
    "assigned_operator_id", "contact_id", "contact_kind", "contact_name", "called_back",
    "callback_call_id", "callback_delay_seconds", "did",
)  # fmt: skip
_I = {name: i for i, name in enumerate(COPY_COLUMNS)}


class Chain:
    """The generated chain: clinics, their operators and extensions, a pool of numbers."""

    def __init__(self, rng: random.Random, numbers: int):
        self.rng = rng
        self.clinics = CLINICS
        self.weights = [c[3] for c in CLINICS]
        self.operators: dict[str, list[str]] = {c[0]: [] for c in CLINICS}
        self.operator_names: dict[str, str] = {}
        for n in range(OPERATORS):
            clinic = rng.choices(CLINICS, weights=self.weights)[0][0]
            operator_id = f"op-{n:04d}"
            self.operators[clinic].append(operator_id)
            self.operator_names[operator_id] = f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}"
        for clinic in self.operators:
            if not self.operators[clinic]:
                self.operators[clinic].append("op-0000")
        self.numbers = numbers

    def number(self) -> str:
        """A caller's number from the pool (so that some call more than once)."""
        return f"+7916{self.rng.randrange(self.numbers):07d}"


def generate_calls(chain: Chain, count: int, prefix: str, year: int) -> Iterator[list[tuple]]:
    """``count`` calls over ``year`` in time order, as COPY records, one day per yield.

    Missed incoming calls are called back (an outgoing call within hours) about half the
    time; the called-back columns are filled in by a time-ordered pass over the calls,
    the way the rule says (earliest call to or from the number within 24 h).
    """
    rng = chain.rng
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    per_day = count / days
    zones = {c[0]: ZoneInfo(c[2]) for c in chain.clinics}
    serial = 0
    pending: dict[str, list[list[Any]]] = {}  # number -> missed calls not yet called back
    carried: list[tuple[datetime, list[Any]]] = []  # call-backs falling on a later day
    buffer: list[list[Any]] = []  # the previous day's rows: may still be called back
    for day_number in range(days):
        day = date(year, 1, 1) + timedelta(days=day_number)
        # ``serial`` counts every call so far, call-backs included.
        target = round(per_day * (day_number + 1)) - serial
        calls: list[tuple[datetime, list[Any]]] = []
        for _ in range(max(0, target)):
            clinic = rng.choices(chain.clinics, weights=chain.weights)[0]
            clinic_id, zone = clinic[0], zones[clinic[0]]
            local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
                hours=rng.choices(range(24), weights=HOUR_WEIGHTS)[0],
                seconds=rng.randrange(3600),
            )
            started = local.astimezone(UTC)
            serial += 1
            row = _call(chain, f"{prefix}{serial:09d}", clinic_id, clinic[2], started)
            calls.append((started, row))
            missed = row[_I["call_type"]] == "incoming" and row[_I["disposition"]] == "missed"
            if missed and rng.random() < 0.5:
                serial += 1
                back = started + timedelta(seconds=rng.randrange(300, 20 * 3600))
                callback = _call(
                    chain,
                    f"{prefix}{serial:09d}",
                    clinic_id,
                    clinic[2],
                    back,
                    call_type="outgoing",
                    number=row[_I["src"]],
                )
                carried.append((back, callback))
        next_day = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        calls += [c for c in carried if c[0] < next_day]
        carried = [c for c in carried if c[0] >= next_day]
        calls.sort(key=lambda c: (c[0], c[1][0]))
        for started, row in calls:
            number = _reached(row)
            if number is not None and number in pending:
                still = []
                for missed in pending[number]:
                    delay = started - missed[_I["started_at"]]
                    if timedelta(0) < delay <= CALLBACK_WINDOW:
                        missed[_I["called_back"]] = True
                        missed[_I["callback_call_id"]] = row[0]
                        missed[_I["callback_delay_seconds"]] = int(delay.total_seconds())
                    elif delay <= timedelta(0):
                        still.append(missed)
                if still:
                    pending[number] = still
                else:
                    del pending[number]
            if row[_I["call_type"]] == "incoming" and row[_I["disposition"]] == "missed":
                pending.setdefault(row[_I["src"]], []).append(row)
        if day_number % 7 == 0:  # forget missed calls nobody can call back any more
            horizon = next_day - timedelta(days=2)
            pending = {
                n: kept
                for n, rows in pending.items()
                if (kept := [r for r in rows if r[_I["started_at"]] > horizon])
            }
        if buffer:
            yield [tuple(r) for r in buffer]
        buffer = [row for _, row in calls]
    yield [tuple(r) for r in buffer]


def _reached(row: list[Any]) -> str | None:
    if row[_I["call_type"]] == "outgoing":
        return row[_I["dst"]]
    if row[_I["call_type"]] == "incoming" and row[_I["disposition"]] == "answered":
        return row[_I["src"]]
    return None


def _call(
    chain: Chain,
    call_id: str,
    clinic_id: str,
    zone: str,
    started: datetime,
    call_type: str | None = None,
    number: str | None = None,
) -> list[Any]:
    rng = chain.rng
    call_type = call_type or rng.choices(("incoming", "outgoing", "internal"), (6, 3, 1))[0]
    extension = f"{100 + rng.randrange(60)}"
    number = number or chain.number()
    if call_type == "incoming":
        src, dst = number, extension
        disposition = rng.choices(("answered", "missed", "busy", "failed"), (70, 24, 3, 3))[0]
    elif call_type == "outgoing":
        src, dst = extension, number
        disposition = rng.choices(("answered", "missed", "busy", "failed"), (65, 25, 7, 3))[0]
    else:
        src, dst = extension, f"{100 + rng.randrange(60)}"
        disposition = rng.choices(("answered", "missed"), (85, 15))[0]
    answered = disposition == "answered"
    wait = rng.randrange(0, 60) if answered else rng.randrange(0, 120)
    talk = int(rng.expovariate(1 / 180)) + 5 if answered else 0
    operator = rng.choice(chain.operators[clinic_id]) if answered else None
    assigned = (
        rng.choice(chain.operators[clinic_id]) if not answered and rng.random() < 0.4 else None
    )
    contact = None
    if call_type != "internal" and rng.random() < 0.6:
        n = rng.randrange(400_000)
        contact = (
            f"client-{n}",
            "patient" if n % 5 else "lead",
            f"{NAMES[n % len(NAMES)]} {SURNAMES[n % len(SURNAMES)]} {n}",
        )
    tags = sorted(rng.sample(TAGS, rng.randrange(1, 3))) if answered and rng.random() < 0.1 else []
    answered_at = started + timedelta(seconds=wait) if answered else None
    return [
        call_id, started, answered_at, started + timedelta(seconds=wait + talk), call_type,
        src, dst, extension, clinic_id, operator, disposition, wait, talk, wait + talk,
        f"https://pbx.example/rec/{call_id}.mp3" if answered else None, None, zone, tags,
        assigned, contact[0] if contact else None, contact[1] if contact else None,
        contact[2] if contact else None, False, None, None,
        did_of(clinic_id, call_id) if call_type == "incoming" else None,
    ]  # fmt: skip


#: Each clinic advertises three public numbers (campaigns); descriptions as admins write.
DID_CAMPAIGNS = ("main line", "metro posters", "search ads")


def did_of(clinic_id: str, call_id: str) -> str:
    """The public number an incoming call came in on: one of its clinic's three, in turn
    (from the call id, so that the random stream, and the rest, stay as before)."""
    index = next(i for i, c in enumerate(CLINICS) if c[0] == clinic_id)
    return f"+7495{index:03d}{int(call_id[-2:], 36) % len(DID_CAMPAIGNS):04d}"


def bookings_of(row: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The appointments of a call, as ``appointments`` rows (id, call, touch, booked,
    cancelled): about a third of the answered incoming calls with a touch book, mostly
    during the call, else from the touch a day later; a fifth of them are cancelled. From
    the call id, so that the random stream, and the rest, stay as before."""
    if (
        row[_I["call_type"]] != "incoming"
        or row[_I["disposition"]] != "answered"
        or not (row[_I["contact_id"]] or row[_I["assigned_operator_id"]])
    ):
        return []
    draw = zlib.crc32(row[0].encode())
    if draw % 100 >= 35:
        return []
    call_id, ended = row[0], row[_I["ended_at"]]
    during = (draw // 100) % 4 != 0
    booked = ended - timedelta(seconds=1) if during else ended + timedelta(days=1)
    cancelled = booked + timedelta(days=2) if (draw // 400) % 5 == 0 else None
    return [(f"a-{call_id}", call_id if during else None, f"t-{call_id}", booked, cancelled)]


def touch_of(row: Sequence[Any]) -> tuple[Any, ...] | None:
    """The call's touch, as a ``touches`` row, if it has a contact or an assigned operator
    (the touch ``call_envelopes`` publishes)."""
    if not (row[_I["contact_id"]] or row[_I["assigned_operator_id"]]):
        return None
    return (
        f"t-{row[0]}", row[0], row[_I["contact_id"]], row[_I["contact_kind"]],
        row[_I["contact_name"]], row[_I["assigned_operator_id"]],
        row[_I["started_at"]] + timedelta(seconds=1),
    )  # fmt: skip


TOUCH_COLUMNS = (
    "touch_id", "call_id", "contact_id", "contact_kind", "contact_name", "operator_id",
    "version_at",
)  # fmt: skip
APPOINTMENT_COLUMNS = ("appointment_id", "call_id", "touch_id", "booked_at", "cancelled_at")
#: What the call log keeps of a call's touch and appointments (the projection's columns).
CONVERSION_COLUMNS = ("has_touch", "appointments_booked", "appointments_cancelled")


async def load_baseline(settings: Any, chain: Chain, count: int) -> dict[str, Any]:
    """COPY ``count`` calls into the call log, build its indexes, fill the roll-ups."""
    import asyncpg

    from switchboard_analytics.adapters import rollup_deltas
    from switchboard_analytics.adapters.rollup_tables import ROLLUP_TABLES
    from switchboard_analytics.adapters.tables import call_log, clinics, dids, operators
    from switchboard_runtime.db import make_engine

    dsn = settings.service_database_url.replace("postgresql+asyncpg", "postgresql")
    engine = make_engine(settings.service_database_url, pool_size=2)
    secondary = [index for index in call_log.indexes]
    timings: dict[str, Any] = {}
    async with engine.begin() as conn:
        for index in secondary:
            await conn.execute(sa.text(f"DROP INDEX IF EXISTS {index.name}"))
        await conn.execute(
            sa.insert(clinics),
            [
                {
                    "clinic_id": c[0],
                    "name": c[1],
                    "time_zone": c[2],
                    "active": True,
                    "version_at": datetime.now(UTC),
                }
                for c in CLINICS
            ],
        )
        await conn.execute(
            sa.insert(operators),
            [
                {
                    "operator_id": op,
                    "name": name,
                    "role": "call_centre",
                    "active": True,
                    "version_at": datetime.now(UTC),
                }
                for op, name in chain.operator_names.items()
            ],
        )
        await conn.execute(
            sa.insert(dids),
            [
                {
                    "did": f"+7495{i:03d}{k:04d}",
                    "clinic_id": c[0],
                    "description": f"{c[1]}, {campaign}",
                    "active": True,
                    "version_at": datetime.now(UTC),
                }
                for i, c in enumerate(CLINICS)
                for k, campaign in enumerate(DID_CAMPAIGNS)
            ],
        )
    began = time.perf_counter()
    loaded = 0
    connection = await asyncpg.connect(dsn)
    try:
        for records in generate_calls(chain, count, "b", YEAR):
            touch_rows = [t for r in records if (t := touch_of(r)) is not None]
            booking_rows = [b for r in records for b in bookings_of(r)]
            # Each call row with its conversion columns, as the projection keeps them.
            booked = {b[1] or b[2][2:]: b for b in booking_rows}
            rows = [
                (*r, bool(r[_I["contact_id"]] or r[_I["assigned_operator_id"]]),
                 int(r[0] in booked), int(r[0] in booked and booked[r[0]][4] is not None))
                for r in records
            ]  # fmt: skip
            await connection.copy_records_to_table(
                "call_log", records=rows, columns=[*COPY_COLUMNS, *CONVERSION_COLUMNS]
            )
            await connection.copy_records_to_table(
                "touches", records=touch_rows, columns=list(TOUCH_COLUMNS)
            )
            await connection.copy_records_to_table(
                "appointments", records=booking_rows, columns=list(APPOINTMENT_COLUMNS)
            )
            loaded += len(records)
    finally:
        await connection.close()
    timings["generate_and_copy_seconds"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    async with engine.begin() as conn:
        # The names a search by contact name looks up, as the projection's touches add them.
        await conn.execute(
            sa.text(
                "INSERT INTO contact_names (name) SELECT DISTINCT contact_name FROM touches"
                " WHERE contact_name <> '' ON CONFLICT DO NOTHING"
            )
        )
        await conn.execute(sa.text("SET LOCAL maintenance_work_mem = '1GB'"))
        for index in secondary:
            await conn.execute(sa.schema.CreateIndex(index))
    timings["index_seconds"] = round(time.perf_counter() - began, 1)
    began = time.perf_counter()
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as session, session.begin():
        await session.execute(sa.text("SET LOCAL work_mem = '256MB'"))
        await rollup_deltas.rebuild_rollups(session)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM ANALYZE"))
        sizes = {
            name: int(await conn.scalar(sa.text(f"SELECT count(*) FROM {name}")) or 0)
            for name in ("call_log", *(t.name for t in ROLLUP_TABLES))
        }
        database_size = await conn.scalar(
            sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        )
    timings["rollups_and_analyze_seconds"] = round(time.perf_counter() - began, 1)
    await engine.dispose()
    return {"calls": loaded, "rows": sizes, "database_size": database_size, **timings}


# ---------------------------------------------------------------------------------------
# Events for the live projection


def call_envelopes(chain: Chain, count: int, prefix: str) -> list[Any]:
    """Canonical events of ``count`` further calls of the same year (touches and tags
    included), in the order telephony and crm-touch would publish them."""
    from switchboard_contracts import (
        AppointmentBooked,
        AppointmentCancelled,
        CallAnswered,
        CallEnded,
        CallStarted,
        CallTagged,
        TouchContact,
        TouchCreated,
        make_envelope,
    )

    rng = chain.rng
    envelopes = []
    for records in generate_calls(chain, count, prefix, YEAR):
        for record in records:
            row = dict(zip(COPY_COLUMNS, record, strict=True))
            started, ended = row["started_at"], row["ended_at"]
            events: list[Any] = [
                CallStarted(
                    call_id=row["call_id"], direction=row["call_type"], caller=row["src"],
                    callee=row["dst"], extension=row["extension"], clinic_id=row["clinic_id"],
                    started_at=started,
                )
            ]  # fmt: skip
            if row["answered_at"] is not None:
                events.append(
                    CallAnswered(call_id=row["call_id"], answered_at=row["answered_at"],
                                 extension=row["extension"], operator_id=row["operator_id"])
                )  # fmt: skip
            events.append(
                CallEnded(
                    call_id=row["call_id"], ended_at=ended, disposition=row["disposition"],
                    wait_seconds=row["wait_seconds"], talk_seconds=row["talk_seconds"],
                    total_seconds=row["total_seconds"], recording_url=row["recording_url"],
                    direction=row["call_type"], caller=row["src"], callee=row["dst"],
                    extension=row["extension"], clinic_id=row["clinic_id"],
                    started_at=started, answered_at=row["answered_at"],
                    operator_id=row["operator_id"],
                )
            )  # fmt: skip
            if row["contact_id"] or row["assigned_operator_id"]:
                contact = (
                    TouchContact(id=row["contact_id"], kind=row["contact_kind"],
                                 display_name=row["contact_name"])
                    if row["contact_id"] else None
                )  # fmt: skip
                events.append(
                    TouchCreated(touch_id=f"t-{row['call_id']}", call_id=row["call_id"],
                                 contact=contact, operator_id=row["assigned_operator_id"],
                                 created_at=started + timedelta(seconds=1), phone=row["src"])
                )  # fmt: skip
            for appointment_id, call_id, touch_id, booked, cancelled in bookings_of(record):
                events.append(
                    AppointmentBooked(
                        appointment_id=appointment_id, client_id=row["contact_id"] or "walk-in",
                        clinic_id=row["clinic_id"], practitioner_id="pr-1", service_id="sv-1",
                        starts_at=booked + timedelta(days=3),
                        ends_at=booked + timedelta(days=3, minutes=30),
                        touch_id=touch_id, call_id=call_id, version=1,
                    )
                )  # fmt: skip
                if cancelled is not None:
                    events.append(
                        AppointmentCancelled(
                            appointment_id=appointment_id, client_id=row["contact_id"] or "walk-in",
                            clinic_id=row["clinic_id"], cancelled_at=cancelled, version=2,
                        )
                    )  # fmt: skip
            if row["tags"]:
                events.append(
                    CallTagged(call_id=row["call_id"], tags=row["tags"], source="callmarker",
                               tagged_at=ended + timedelta(minutes=rng.randrange(1, 30)))
                )  # fmt: skip
            for event in events:
                at = (
                    getattr(event, "started_at", None)
                    or getattr(event, "cancelled_at", None)
                    or started
                )
                envelopes.append(make_envelope(event, producer="bench", occurred_at=at))
    return envelopes


async def publish(settings: Any, envelopes: list[Any]) -> None:
    """Send envelopes to this run's topics, keyed as the contracts say."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True,
        linger_ms=5, max_batch_size=256 * 1024,
    )  # fmt: skip
    await producer.start()
    try:
        pending = []
        for envelope in envelopes:
            pending.append(
                await producer.send(
                    settings.topic(envelope.topic), envelope.to_bytes(), key=envelope.key.encode()
                )
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def replay_baselines(settings: Any) -> dict[str, Any]:
    """The rebuild's baselines: read the replayed topics from offset 0, bare and with COPY.

    Same topics, same records as ``rebuild`` reads: a bare aiokafka consumer (reads, nothing
    else), then the same read storing every record with one PostgreSQL ``COPY`` per fetched
    batch into a scratch table (dropped afterwards).
    """
    import asyncpg
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient
    from sqlalchemy.engine import make_url

    from switchboard_analytics.rebuild import REPLAY_ORDER

    topics = [settings.topic(t) for t in REPLAY_ORDER]
    # The partitions of each replayed topic that exists, as the rebuild finds them.
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = await admin.describe_topics([t for t in topics if t in existing])
    finally:
        await admin.close()
    partitions = {d["topic"]: [p["partition"] for p in d["partitions"]] for d in described}

    async def read_all(store: Any) -> tuple[int, float]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
            group_id=None, auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        try:
            tps = [TopicPartition(t, n) for t, ns in partitions.items() for n in ns]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            expected = sum(ends.values())
            seen, began = 0, time.perf_counter()
            while seen < expected:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                records = [r for rs in batches.values() for r in rs]
                seen += len(records)
                if records and store is not None:
                    await store(records)
            return seen, time.perf_counter() - began
        finally:
            await consumer.stop()

    url = make_url(settings.service_database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    await conn.execute("CREATE TABLE bench_replay_copy (topic text, key text, body jsonb NOT NULL)")

    async def copy(records: list[Any]) -> None:
        await conn.copy_records_to_table(
            "bench_replay_copy",
            records=[(r.topic, r.key.decode() if r.key else None, r.value.decode())
                     for r in records],
        )  # fmt: skip

    try:
        bare_events, bare_seconds = await read_all(None)
        copy_events, copy_seconds = await read_all(copy)
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_replay_copy")
        await conn.close()
    return {
        "bare_consumer": {
            "events": bare_events, "seconds": round(bare_seconds, 3),
            "events_per_second": round(bare_events / bare_seconds, 1),
        },
        "copy": {
            "events": copy_events, "seconds": round(copy_seconds, 3),
            "events_per_second": round(copy_events / copy_seconds, 1),
        },
    }  # fmt: skip


async def projection_throughput(app: Any, expected: int, timeout: float) -> dict[str, Any]:
    """Wait until the consumer processed ``expected`` events and the roll-ups have every
    change it recorded folded in; the rate over the time from the first batch's start to
    the moment both are seen committed.

    ``processed_at`` is its transaction's start (``now()``): the first stamp is when the
    projection began, but the last misses the last batch's own time (a whole backlog
    drained in one batch spans nothing). The end is PostgreSQL's clock when the count
    is first complete and no change is left to fold, polled every 100 ms: the time is
    overstated by at most a poll.
    """
    deadline = time.monotonic() + timeout
    began = time.perf_counter()
    while True:
        async with app.state.runtime.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*), min(processed_at), clock_timestamp(),"
                        " (SELECT count(*) FROM rollup_changes) FROM processed_events"
                    )
                )
            ).one()
        if row[0] >= expected and row[3] == 0:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"projected {row[0]} of {expected} events")
        await asyncio.sleep(0.1)
    span = (row[2] - row[1]).total_seconds()
    return {
        "events": int(row[0]),
        "seconds": round(span, 2),
        "events_per_second": round(row[0] / span, 1),
        "wall_seconds_since_start": round(time.perf_counter() - began, 1),
    }


async def visibility(
    app: Any, client: httpx.AsyncClient, headers: dict[str, str], chain: Chain, count: int
) -> dict[str, float]:
    """Seconds from publishing a CallEnded to the call showing in the call log."""
    from switchboard_contracts import CallEnded, CallStarted, make_envelope

    settings = app.state.runtime.settings
    seconds = []
    for n in range(count):
        call_id = f"vis-{uuid.uuid4().hex[:10]}"
        started = datetime(YEAR, 12, 31, 12, 0, tzinfo=UTC) + timedelta(minutes=n)
        number = f"+7999{n:07d}"
        start = CallStarted(
            call_id=call_id,
            direction="incoming",
            caller=number,
            callee="101",
            extension="101",
            clinic_id="msk-1",
            started_at=started,
        )
        end = CallEnded(call_id=call_id, ended_at=started + timedelta(seconds=30),
                        disposition="missed", wait_seconds=30, talk_seconds=0, total_seconds=30,
                        direction="incoming", caller=number, callee="101", extension="101",
                        clinic_id="msk-1", started_at=started)  # fmt: skip
        await publish(settings, [make_envelope(start, producer="bench", occurred_at=started)])
        published = time.perf_counter()
        await publish(settings, [make_envelope(end, producer="bench", occurred_at=started)])
        # What a console's refresh of the call log around that time asks for.
        window = {
            "from": started.isoformat(),
            "to": (started + timedelta(seconds=1)).isoformat(),
            "limit": 50,
        }
        while True:
            response = await client.get("/api/analytics/calls", params=window, headers=headers)
            if any(item["call_id"] == call_id for item in response.json()["items"]):
                break
            await asyncio.sleep(0.01)
        seconds.append(time.perf_counter() - published)
    return _ms(seconds)


async def timed(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], headers: dict[str, str], reps: int
) -> list[float]:
    """``reps`` timings of one GET (after one unmeasured warm-up)."""
    response = await client.get(url, params=params, headers=headers)
    response.raise_for_status()
    out = []
    for _ in range(reps):
        began = time.perf_counter()
        response = await client.get(url, params=params, headers=headers)
        out.append(time.perf_counter() - began)
        response.raise_for_status()
    return out


async def report_floor(
    client: httpx.AsyncClient, headers: dict[str, str], reps: int
) -> dict[str, Any]:
    """The least a report costs through the API: the calls report by day for one day
    before any call (a roll-up read that finds nothing, its one zero-filled row). A filter
    mix whose GROUP BY over the call log takes less than 20 times this cannot be answered
    20 times faster, by a roll-up or anything else behind the same route."""
    params = {"group_by": "day", "from": f"{YEAR - 5}-01-01", "to": f"{YEAR - 5}-01-01"}
    url = "/api/analytics/reports/calls"
    answer = (await client.get(url, params=params, headers=headers)).json()
    assert len(answer["rows"]) == 1, answer
    times = await timed(client, url, params, headers, reps)
    return {"source": answer["source"], "api_ms": _ms(times)}


#: Filters a roll-up answers, in mixes a manager uses (each over the year, every group_by).
ROLLUP_FILTERS: dict[str, dict[str, Any]] = {
    "clinic": {"clinic": "msk-1"},
    "admin": {"admin": "op-0007"},
    "missed_not_called_back_in_march": {
        "missed": "true", "called_back": "false", "from": f"{YEAR}-03-01", "to": f"{YEAR}-03-31",
    },
    "clinic_incoming_answered": {
        "clinic": "msk-2", "call_type": "incoming", "disposition": "answered",
    },
    "two_clinics_two_admins_outgoing": {
        "clinic": ["msk-1", "spb-1"], "admin": ["op-0001", "op-0002"], "call_type": "outgoing",
    },
    "working_hours_of_a_day_not_missed": {
        "from": f"{YEAR}-06-02T09:00", "to": f"{YEAR}-06-02T18:00", "missed": "false",
    },
}  # fmt: skip
#: Filters only the call log answers (numbers, durations, tags): GROUP BY over matching calls.
CALL_LOG_FILTERS: dict[str, dict[str, Any]] = {
    "phone_contains": {"phone": "916 123"},
    "talk_over_10_minutes": {"talk_min": 600},
    "total_over_10_minutes": {"total_min": 600},
    "tag": {"tag": "complaint"},
}


async def reports(
    app: Any, client: httpx.AsyncClient, headers: dict[str, str], reps: int, raw_reps: int
) -> dict[str, Any]:
    """Every group_by over the year: the first page (what the console shows first) from
    the roll-ups against GROUP BY over the call log, through the API (JSON included) and
    the query alone (SQL and reading the rows); then the same with filters."""
    from switchboard_analytics.adapters.queries import CallLogFilter
    from switchboard_analytics.adapters.reports import report_page
    from switchboard_analytics.adapters.rollup_choice import choose_rollup
    from switchboard_analytics.domain.periods import parse_period

    url = "/api/analytics/reports/calls"
    out: dict[str, Any] = {}
    year = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    flt = CallLogFilter(period=parse_period(year["from"], year["to"]))

    async def query(group_by: str, rollup: Any, times: int) -> list[float]:
        seconds = []
        for _ in range(times + 1):
            async with app.state.runtime.sessions() as session:
                began = time.perf_counter()
                await report_page(session, flt, group_by, rollup, limit=500)
                seconds.append(time.perf_counter() - began)
        return seconds[1:]

    for group_by in ("day", "hour", "employee_day", "employee_month"):
        params = {"group_by": group_by, **year}
        first = (await client.get(url, params=params, headers=headers)).json()
        rows, cursor = len(first["rows"]), first["next_cursor"]
        while cursor:  # how many groups the whole report has
            page = await client.get(
                url, params={**params, "cursor": cursor, "limit": 5000}, headers=headers
            )
            body = page.json()
            rows, cursor = rows + len(body["rows"]), body["next_cursor"]
        rollup = await timed(client, url, params, headers, reps)
        raw = await timed(client, url, {**params, "source": "call_log"}, headers, raw_reps)
        rollup_query = await query(group_by, choose_rollup(flt, group_by), reps)
        raw_query = await query(group_by, None, raw_reps)
        filtered = {}
        for name, extra in ROLLUP_FILTERS.items():
            case = {**params, **extra}
            answer = (await client.get(url, params=case, headers=headers)).json()
            api = await timed(client, url, case, headers, reps)
            # The GROUP BY's median (not its slowest) against the answer's p95.
            log = await timed(client, url, {**case, "source": "call_log"}, headers, raw_reps)
            filtered[name] = {
                "source": answer["source"], "first_page_rows": len(answer["rows"]),
                "api_ms": _ms(api), "api_call_log_group_by_ms": _ms(log),
                "api_ratio_p95": round(statistics.median(log) / percentile(api, 0.95), 1),
            }  # fmt: skip
        log_only = {}
        for name, extra in CALL_LOG_FILTERS.items():
            case = {**params, **extra}
            answer = (await client.get(url, params=case, headers=headers)).json()
            log_only[name] = {
                "source": answer["source"], "first_page_rows": len(answer["rows"]),
                "api_ms": _ms(await timed(client, url, case, headers, max(3, reps // 5))),
            }  # fmt: skip
        out[group_by] = {
            "rows": rows,
            "first_page_rows": len(first["rows"]),
            "rollup_table": first["source"],
            "api_rollup_ms": _ms(rollup),
            "api_call_log_group_by_ms": _ms(raw),
            "api_ratio_p50": round(statistics.median(raw) / statistics.median(rollup), 1),
            "api_ratio_p95": round(percentile(raw, 0.95) / percentile(rollup, 0.95), 1),
            "query_rollup_ms": _ms(rollup_query),
            "query_call_log_group_by_ms": _ms(raw_query),
            "query_ratio_p50": round(
                statistics.median(raw_query) / statistics.median(rollup_query), 1
            ),
            "filtered": filtered,
            "call_log_only_filters": log_only,
        }
    return out


ONE_DID = "+74950000001"  # Moscow Arbat's metro posters
#: The manager reports over the year: (name, URL, parameters). Each is timed from the
#: roll-ups (``source=auto``) beside the same report by GROUP BY over the call log
#: (``source=call_log``); those with a filter only the call log answers are timed alone.
MANAGER_REPORTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    *(
        (f"service-level {g}", "/api/analytics/reports/service-level", {"group_by": g})
        for g in ("day", "hour", "employee_day", "employee_month", "did")
    ),
    ("calls did", "/api/analytics/reports/calls", {"group_by": "did"}),
    ("calls day, one number", "/api/analytics/reports/calls", {"group_by": "day", "did": ONE_DID}),
    ("when", "/api/analytics/reports/when", {}),
    ("when, one number", "/api/analytics/reports/when", {"did": ONE_DID}),
    *(
        (f"conversion {g}", "/api/analytics/reports/conversion", {"group_by": g})
        for g in ("did", "clinic", "admin", "day", "month")
    ),
    ("conversion day, talk over 10 min", "/api/analytics/reports/conversion",
     {"group_by": "day", "talk_min": 600}),
    ("conversion clinic, a tag", "/api/analytics/reports/conversion",
     {"group_by": "clinic", "tag": "complaint"}),
)  # fmt: skip


async def manager_reports(
    client: httpx.AsyncClient, headers: dict[str, str], reps: int, raw_reps: int
) -> dict[str, Any]:
    """Service level, the heatmap, conversion and the reports by number over the year:
    API p50/p95 beside the same-run GROUP BY over the call log."""
    year = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    baseline = await timed(
        client,
        "/api/analytics/reports/calls",
        {**year, "group_by": "day", "source": "call_log"},
        headers,
        raw_reps,
    )
    out: dict[str, Any] = {"calls_day_call_log_group_by_ms": _ms(baseline)}
    for name, url, extra in MANAGER_REPORTS:
        params = {**year, **extra}
        answer = (await client.get(url, params=params, headers=headers)).json()
        api = await timed(client, url, params, headers, reps)
        entry: dict[str, Any] = {"source": answer.get("source", "call_log"), "api_ms": _ms(api)}
        if entry["source"] != "call_log":
            log = await timed(client, url, {**params, "source": "call_log"}, headers, raw_reps)
            entry["api_call_log_group_by_ms"] = _ms(log)
            entry["api_ratio_p95"] = round(percentile(log, 0.95) / percentile(api, 0.95), 1)
        out[name] = entry
    return out


async def call_log_pages(
    client: httpx.AsyncClient, headers: dict[str, str], reps: int
) -> dict[str, Any]:
    """The call log's first page, unfiltered and with typical filters."""
    cases = {
        "first_page": {},
        "missed_not_called_back_in_a_clinic_in_march": {
            "missed": "true", "called_back": "false", "clinic": "msk-2",
            "from": f"{YEAR}-03-01", "to": f"{YEAR}-03-31",
        },
        "one_admin_incoming_by_talk": {
            "admin": "op-0007", "call_type": "incoming", "sort": "talk_seconds",
        },
        "phone_contains": {"phone": "916 123"},
        "search_contact_name": {"q": "Смирнова 1234"},
        "search_matching_nothing": {"q": "Nobody Atall"},
        "talk_over_10_minutes_in_june": {
            "talk_min": 600, "from": f"{YEAR}-06-01", "to": f"{YEAR}-06-30",
        },
        "tag": {"tag": "complaint"},
        "sorted_by_admin": {"sort": "admin", "order": "asc"},
        "sorted_by_admin_one_clinic_incoming": {
            "sort": "admin", "clinic": "msk-2", "call_type": "incoming",
        },
        "sorted_by_talk_time": {"sort": "talk_seconds"},
        "sorted_by_total_time_in_march": {
            "sort": "total_seconds", "from": f"{YEAR}-03-01", "to": f"{YEAR}-03-31",
        },
    }  # fmt: skip
    return {
        name: _ms(await timed(client, "/api/analytics/calls", {"limit": 50, **params},
                              headers, reps))
        for name, params in cases.items()
    }  # fmt: skip


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement on a throw-away database and topic prefix."""
    from switchboard_runtime.db import drop_database, migrate, migrations_path
    from switchboard_runtime.testing.infra import resolve_endpoints

    endpoints = resolve_endpoints(REPO)
    run = uuid.uuid4().hex[:8]
    os.environ.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
            "DATABASE_URL": endpoints.database_url,
            "REDIS_URL": endpoints.redis_url,
            "TOPIC_PREFIX": f"bench{run}.",
            "DATABASE_SUFFIX": f"_bench{run}",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
        }
    )
    import switchboard_analytics
    from switchboard_analytics.bootstrap import build_app, projection_for
    from switchboard_analytics.rebuild import rebuild
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.auth import Principal, issue_token

    settings = AnalyticsSettings()
    headers = {
        "Authorization": "Bearer "
        + issue_token(
            Principal("bench", "Bench", "manager"), settings.auth_secret.get_secret_value()
        )
    }
    chain = Chain(random.Random(args.seed), numbers=args.numbers)
    result: dict[str, Any] = {
        "benchmark": "analytics",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "infrastructure": endpoints.source,
        "parameters": {
            "calls": args.calls, "projection_calls": args.projection_calls,
            "report_reps": args.reps, "call_log_group_by_reps": args.raw_reps,
            "year": YEAR, "clinics": len(CLINICS), "operators": OPERATORS,
            "distinct_numbers": args.numbers,
        },
    }  # fmt: skip
    try:
        await migrate(
            migrations_path(switchboard_analytics.__file__), settings.service_database_url
        )
        print(f"loading {args.calls:,} calls …", flush=True)
        result["baseline"] = await load_baseline(settings, chain, args.calls)
        print(f"baseline: {json.dumps(result['baseline'])}", flush=True)
        envelopes = call_envelopes(chain, args.projection_calls, "p")
        await publish(settings, envelopes)
        print(f"published {len(envelopes):,} events; projecting …", flush=True)
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            result["projection"] = await projection_throughput(
                app, len(envelopes), timeout=max(600, len(envelopes) / 20)
            )
            result["projection"]["calls"] = args.projection_calls
            print(f"projection: {json.dumps(result['projection'])}", flush=True)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=600
            ) as client:
                result["visibility_after_call_ended_ms"] = await visibility(
                    app, client, headers, chain, 10
                )
                result["report_floor"] = await report_floor(client, headers, args.reps)
                result["reports_one_year"] = await reports(
                    app, client, headers, args.reps, args.raw_reps
                )
                result["manager_reports_one_year"] = await manager_reports(
                    client, headers, args.reps, args.raw_reps
                )
                result["call_log_ms"] = await call_log_pages(client, headers, args.reps)
            # Last, as it swaps the baseline out: replaying the topics (only the projected
            # calls' events are on them; the baseline was loaded with COPY).
            rebuilt = await rebuild(settings, projection_for(settings))
            # Its rate is to the swap, when the rebuilt tables answer; the drop of the
            # replaced ones follows, timed beside it (their size, not the replay's).
            result["rebuild"] = {
                **rebuilt.as_dict(),
                "events_per_second": round(rebuilt.events / rebuilt.live_seconds, 1),
                "events_per_second_with_drop": round(rebuilt.events / rebuilt.seconds, 1),
            }
            result["replay_baselines"] = await replay_baselines(settings)
            for name, base in result["replay_baselines"].items():
                for what in ("projection", "rebuild"):
                    result[what][f"fraction_of_{name}"] = round(
                        result[what]["events_per_second"] / base["events_per_second"], 4
                    )
    finally:
        if not args.keep:
            await drop_database(settings.service_database_url)
            await delete_topics(endpoints.kafka_bootstrap_servers, f"bench{run}.")
        endpoints.close()
    return result


def report_lines(result: dict[str, Any]) -> list[str]:
    """The figures as the lines the benchmark prints."""
    m, b, p = result["machine"], result["baseline"], result["projection"]
    lines = [
        f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory']}, Python {m['python']}",
        f"baseline: {b['calls']:,} calls over {YEAR} (generation and COPY "
        f"{b['generate_and_copy_seconds']} s, indexes {b['index_seconds']} s, "
        f"roll-ups {b['rollups_and_analyze_seconds']} s); "
        "roll-up rows: "
        + ", ".join(f"{k} {v:,}" for k, v in b["rows"].items() if k != "call_log")
        + f"; database {b['database_size']}",
        f"projection: {p['events_per_second']} events/s into the call log and roll-ups "
        f"({p['events']:,} events of {p['calls']:,} calls in {p['seconds']} s, "
        "on top of the baseline)",
        f"visible after CallEnded: p50 {result['visibility_after_call_ended_ms']['p50']} ms, "
        f"p95 {result['visibility_after_call_ended_ms']['p95']} ms",
    ]
    floor = result.get("report_floor")
    if floor:
        lines.append(
            f"report floor (one day before any call, {floor['source']}): API p50/p95 "
            f"{floor['api_ms']['p50']}/{floor['api_ms']['p95']} ms"
        )
    for group_by, r in result["reports_one_year"].items():
        a, b = r["api_rollup_ms"], r["api_call_log_group_by_ms"]
        c, d = r["query_rollup_ms"], r["query_call_log_group_by_ms"]
        lines.append(
            f"report {group_by:<14} one year, {r['rows']:>6} rows (first page "
            f"{r['first_page_rows']}), roll-up {r['rollup_table']}: API p50/p95 "
            f"{a['p50']}/{a['p95']} ms vs GROUP BY call log {b['p50']}/{b['p95']} ms "
            f"(x{r['api_ratio_p50']} / x{r['api_ratio_p95']}); query alone {c['p50']}/{c['p95']} "
            f"ms vs {d['p50']}/{d['p95']} ms (x{r['query_ratio_p50']})"
        )
        for name, f in r["filtered"].items():
            lines.append(
                f"  filtered {name}: {f['source']}, {f['first_page_rows']} rows, API p50/p95 "
                f"{f['api_ms']['p50']}/{f['api_ms']['p95']} ms vs GROUP BY call log "
                f"{f['api_call_log_group_by_ms']['p50']} ms (x{f['api_ratio_p95']})"
            )
        for name, f in r["call_log_only_filters"].items():
            lines.append(
                f"  call log only {name}: {f['first_page_rows']} rows, API p50/p95 "
                f"{f['api_ms']['p50']}/{f['api_ms']['p95']} ms"
            )
    managers = dict(result.get("manager_reports_one_year", {}))
    base = managers.pop("calls_day_call_log_group_by_ms", None)
    if base:
        lines.append(
            f"manager reports, one year; same-run baseline: calls report by day, GROUP BY "
            f"call log p50/p95 {base['p50']}/{base['p95']} ms"
        )
    for name, f in managers.items():
        log = f.get("api_call_log_group_by_ms")
        versus = (
            f" vs GROUP BY call log {log['p50']}/{log['p95']} ms (x{f['api_ratio_p95']})"
            if log
            else " (call log only)"
        )
        lines.append(
            f"  {name:<28} {f['source']}: API p50/p95 {f['api_ms']['p50']}/{f['api_ms']['p95']} "
            f"ms{versus}"
        )
    for name, t in result["call_log_ms"].items():
        lines.append(f"call log {name}: p50 {t['p50']} ms, p95 {t['p95']} ms")
    r = result["rebuild"]
    lines.append(
        f"rebuild: {r['events_replayed']:,} events replayed into fresh tables and swapped in "
        f"after {r['seconds_until_live']} s ({r['events_per_second']} events/s); with the drop "
        f"of the replaced tables {r['seconds']} s ({r['events_per_second_with_drop']} events/s)"
    )
    if r.get("phase_seconds"):
        lines.append(
            "rebuild steps (wall s): "
            + ", ".join(f"{name} {s}" for name, s in r["phase_seconds"].items())
        )
    if "replay_baselines" in result:
        bare, copy = result["replay_baselines"]["bare_consumer"], result["replay_baselines"]["copy"]
        lines.append(
            f"replay baselines, same topics: bare consumer {bare['events_per_second']} events/s, "
            f"COPY {copy['events_per_second']} events/s; rebuild is "
            f"{r['fraction_of_bare_consumer']:.2%} / {r['fraction_of_copy']:.1%} of them, "
            f"projection {p['fraction_of_bare_consumer']:.2%} / {p['fraction_of_copy']:.1%}"
        )
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000, help="baseline calls (COPY)")
    parser.add_argument(
        "--projection-calls",
        type=int,
        default=20_000,
        help="calls whose events the live projection consumes",
    )
    parser.add_argument("--numbers", type=int, default=2_000_000, help="distinct caller numbers")
    parser.add_argument("--reps", type=int, default=30, help="timed requests per roll-up case")
    parser.add_argument("--raw-reps", type=int, default=3, help="timed GROUP BY over the call log")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="100k calls, 1k projected calls: a run of about a minute and a half",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and topics")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "analytics.json")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.calls, arguments.projection_calls = 100_000, 1_000
        arguments.numbers, arguments.reps, arguments.raw_reps = 50_000, 8, 3
    outcome = asyncio.run(main(arguments))
    for line in report_lines(outcome):
        print(line)
    write_result(arguments.out, outcome)
