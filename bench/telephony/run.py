"""Telephony benchmark: raw PBX events per second from ``pbx.events.raw`` to ``telephony.calls``.

Makes a clinic-chain day with the PBX simulator (duplicates and late events included),
publishes all of it to a throw-away ``pbx.events.raw``, then measures, in the same run:

* the baseline: a bare aiokafka consumer reading the whole topic (nothing else done);
* a second baseline: the same records stored with PostgreSQL ``COPY``, one per fetched batch;
* a floor: one ``INSERT`` per record, 500 per transaction;
* the service: telephony started in this process (lifespan, migrations, consumer, state
  machine, outbox relay, as in production) reading the same topic from the start, until
  every call is settled and every canonical event is published on ``telephony.calls``.

Prints both rates, ours as a fraction of the baseline, the machine, and checks the output
(one CallStarted and one CallEnded per call); writes ``bench/results/telephony.json``.
Uses its own topic prefix and database, dropped at the end.

    uv run python bench/telephony/run.py [--events 20000] [--seed 1] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from common import delete_topics, machine, timed_drain, write_result  # noqa: E402 - bench/ is not a package

#: Raw events per simulated call, on average (start, ringing, answer, end, duplicates).
EVENTS_PER_CALL = 3.85


async def produce(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> float:
    """Publish ``events`` in order, keyed by call id, acks=all; returns the seconds taken."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    began = time.perf_counter()
    try:
        futures = [
            await producer.send(
                topic,
                json.dumps(event, separators=(",", ":")).encode(),
                key=event["call_id"].encode(),
            )
            for event in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - began


async def db_floor(bootstrap: str, topic: str, expected: int, database_url: str) -> float:
    """Seconds to read the topic and write each record in one INSERT, 500 per transaction.

    Not the service: a floor for any consumer that touches PostgreSQL once per event on
    this machine (the service does a few statements per event: lock and load the call,
    save it, stage what it emits in the outbox).
    """
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("CREATE TABLE bench_floor (event_id text PRIMARY KEY, body jsonb NOT NULL)")
        )
    insert = sa.text(
        "INSERT INTO bench_floor (event_id, body) VALUES (:id, CAST(:body AS jsonb)) "
        "ON CONFLICT DO NOTHING"
    )

    async def insert_each(records: list[Any]) -> None:
        async with engine.begin() as conn:
            for record in records:
                body = record.value.decode()
                await conn.execute(insert, {"id": json.loads(body)["event_id"], "body": body})

    try:
        return await timed_drain(bootstrap, topic, expected, insert_each)
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE IF EXISTS bench_floor"))
        await engine.dispose()


async def db_copy(bootstrap: str, topic: str, expected: int, database_url: str) -> float:
    """Seconds to read the topic and ``COPY`` each fetched batch of records into a table.

    The second baseline of the issue: PostgreSQL's bulk path for the same rows — what the
    database takes when nothing is done per event but storing it.
    """
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    await conn.execute("CREATE TABLE bench_copy (event_id text NOT NULL, body jsonb NOT NULL)")

    async def copy_batch(records: list[Any]) -> None:
        rows = []
        for record in records:
            body = record.value.decode()
            rows.append((json.loads(body)["event_id"], body))
        # The rows as delivered (duplicates too): a bulk load of raw events, no dedupe.
        await conn.copy_records_to_table("bench_copy", records=rows)

    try:
        return await timed_drain(bootstrap, topic, expected, copy_batch)
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_copy")
        await conn.close()


def _floor_templates() -> tuple[str, bytes, str]:
    """A settled call's stored state (JSON) and one canonical envelope, made once by the
    service's own code, with the call id each is written for (replaced per call)."""
    from switchboard_telephony.domain.calls import apply
    from switchboard_telephony.domain.config import Directory, Timing
    from switchboard_telephony.domain.pbx_events import PbxEvent
    from switchboard_telephony.handlers import call_envelopes

    call_id = "floor-call-000000"
    directory = Directory(extensions=frozenset({"101"}), did_to_clinic={"+74951234567": "c1"})
    at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    steps = [
        ("started", {"caller": "+79161234567", "callee": "+74951234567"}),
        ("ringing", {"extension": "101"}),
        ("answered", {"extension": "101"}),
        ("ended", {"end_status": "answered"}),
    ]
    state, emitted = None, []
    for n, (kind, fields) in enumerate(steps):
        event = PbxEvent(source_key=f"id:{n}", kind=kind, call_id=call_id, at=at, **fields)
        state, out = apply(state, event, directory, at, Timing())
        emitted += out
    assert state is not None
    envelope = max((e.to_bytes() for e in call_envelopes(emitted)), key=len)
    return json.dumps(state.to_dict(), separators=(",", ":")), envelope, call_id


async def statements_floor(
    bootstrap: str, topic: str, expected: int, database_url: str, out_topic: str
) -> dict[str, float]:
    """Seconds to do, for the same records, only the statements and sends the service
    cannot do without, with asyncpg and aiokafka directly and no per-event Python beyond
    reading each record's ids: per fetched batch, in one transaction, mark the event ids
    processed, lock and load the batch's calls, upsert one state per call (a settled
    call's real state as the service stores it, ≈ 1.2 KB), stage one outbox row per fresh
    event (a real envelope); meanwhile a relay reads the outbox 500 rows at a time, sends
    them (acks=all, idempotent) and deletes them. Uses the service's migrated tables and
    empties them after; the relay writes to ``out_topic``.

    One outbox row per fresh raw event is a little more than the service stages (a late
    event emits nothing); consumer offsets are not committed: both favour the floor.
    """
    import asyncpg
    from aiokafka import AIOKafkaProducer
    from sqlalchemy.engine import make_url

    state_json, envelope, template_id = _floor_templates()
    url = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(url)
    relay_conn = await asyncpg.connect(url)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2
    )
    await producer.start()
    consumed = asyncio.Event()
    staged = 0

    async def batch(records: list[Any]) -> None:
        nonlocal staged
        by_id: dict[str, str] = {}  # a batch's duplicates count once, as in the service
        for record in records:
            body = json.loads(record.value)
            by_id.setdefault(body["event_id"], body["call_id"])
        ids, calls = list(by_id), list(by_id.values())
        async with conn.transaction():
            fresh = {
                r[0]
                for r in await conn.fetch(
                    "INSERT INTO processed_events (consumer_group, event_id) "
                    "SELECT 'floor', unnest($1::text[]) ON CONFLICT DO NOTHING "
                    "RETURNING event_id",
                    ids,
                )
            }
            touched = sorted(set(calls))
            await conn.fetch(
                "SELECT call_id, state FROM calls WHERE call_id = ANY($1::text[]) "
                "ORDER BY call_id FOR UPDATE",
                touched,
            )
            await conn.execute(
                "INSERT INTO calls (call_id, state, next_deadline, settled, updated_at) "
                "SELECT i, CAST(s AS jsonb), NULL, true, now() "
                "FROM unnest($1::text[], $2::text[]) AS u(i, s) "
                "ON CONFLICT (call_id) DO UPDATE SET state = excluded.state, "
                "settled = excluded.settled, updated_at = excluded.updated_at",
                touched,
                [state_json.replace(template_id, c) for c in touched],
            )
            rows = [(i, c) for i, c in zip(ids, calls, strict=True) if i in fresh]
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, value) "
                "SELECT e, $1, k, v FROM unnest($2::uuid[], $3::text[], $4::bytea[]) "
                "AS u(e, k, v)",
                out_topic,
                [uuid.uuid5(uuid.NAMESPACE_URL, i) for i, _ in rows],
                [c for _, c in rows],
                [envelope.replace(template_id.encode(), c.encode()) for _, c in rows],
            )
            staged += len(rows)

    async def relay() -> None:
        while True:
            rows = await relay_conn.fetch(
                "SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT 500"
            )
            if not rows:
                if consumed.is_set():
                    return
                await asyncio.sleep(0.005)
                continue
            futures = [
                await producer.send(r["topic"], r["value"], key=r["key"].encode()) for r in rows
            ]
            await asyncio.gather(*futures)
            await relay_conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )

    relaying = asyncio.create_task(relay())
    try:
        consume_seconds = await timed_drain(bootstrap, topic, expected, batch)
        drained_at = time.perf_counter()
        consumed.set()
        await relaying
        tail = time.perf_counter() - drained_at
    finally:
        relaying.cancel()
        await producer.stop()
        await conn.execute("TRUNCATE calls, outbox, processed_events")
        await conn.close()
        await relay_conn.close()
    return {"seconds": consume_seconds + tail, "outbox_rows": staged}


async def through_service(settings: Any, calls: int, timeout: float) -> dict[str, float]:
    """Run telephony until ``calls`` calls are settled and the outbox is empty.

    The database is already migrated, so the clock starts with the consumer, not with DDL.
    """
    from switchboard_telephony.adapters.tables import calls as calls_table
    from switchboard_telephony.bootstrap import build_app

    app = build_app(settings)
    began = time.perf_counter()
    # This process's CPU while the service runs is the service's (the loop below only
    # polls): per event, it does not move with what else loads the machine.
    cpu_began = time.process_time()
    async with app.router.lifespan_context(app):
        started = time.perf_counter()
        engine = app.state.runtime.engine
        while True:
            async with engine.connect() as conn:
                settled = await conn.scalar(
                    sa.select(sa.func.count()).select_from(calls_table).where(calls_table.c.settled)
                )
                pending = await conn.scalar(sa.text("SELECT count(*) FROM outbox"))
            now = time.perf_counter()
            if settled == calls and pending == 0:
                done = now
                cpu = time.process_time() - cpu_began
                break
            if now - began > timeout:
                raise TimeoutError(f"{settled}/{calls} calls settled, {pending} events pending")
            await asyncio.sleep(0.2)
    return {
        "seconds_from_start": done - began,
        "seconds_after_lifespan": done - started,
        "startup_seconds": started - began,
        "cpu_seconds": cpu,
    }


async def read_output(bootstrap: str, topic: str) -> Counter[str]:
    """Canonical events per type on ``topic``, and how many calls repeat a once-only one."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    per_call: Counter[tuple[str, str]] = Counter()
    try:
        idle = 0
        while idle < 3:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            records = [r for rs in batches.values() for r in rs]
            idle = 0 if records else idle + 1
            for record in records:
                kind = json.loads(record.value)["event_type"]
                counts[kind] += 1
                per_call[(record.key.decode(), kind)] += 1
    finally:
        await consumer.stop()
    # A call rings several extensions, may be transferred more than once; these are once.
    once = {"CallStarted", "CallAnswered", "CallEnded"}
    counts["calls_with_repeated_events"] = sum(
        1 for (_, kind), n in per_call.items() if n > 1 and kind in once
    )
    return counts


async def main(events: int, seed: int, timeout: float) -> dict[str, Any]:
    """Generate, publish, measure the baseline and the service; clean up."""
    from switchboard_runtime.db import drop_database
    from switchboard_runtime.testing.infra import resolve_endpoints

    endpoints = resolve_endpoints(REPO)
    run = uuid.uuid4().hex[:8]
    prefix = f"bench{run}."
    os.environ.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
            "DATABASE_URL": endpoints.database_url,
            "REDIS_URL": endpoints.redis_url,
            "TOPIC_PREFIX": prefix,
            "DATABASE_SUFFIX": f"_bench{run}",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
        }
    )
    import switchboard_telephony
    from switchboard_contracts import PBX_EVENTS_RAW, TELEPHONY_CALLS
    from switchboard_runtime.db import migrate, migrations_path
    from switchboard_runtime.kafka import ensure_topics
    from switchboard_runtime.settings import ServiceSettings
    from switchboard_telephony.settings import TelephonySettings
    from switchboard_telephony.simulator import simulate_day
    from switchboard_telephony.simulator_day import SimulationConfig

    settings = TelephonySettings()
    bootstrap = settings.kafka_bootstrap_servers
    raw_topic = settings.topic(PBX_EVENTS_RAW)
    day = simulate_day(
        SimulationConfig(
            day=datetime.now(UTC).date(),
            calls=max(1, round(events / EVENTS_PER_CALL)),
            seed=seed,
            call_id_prefix=f"bench{run}",
        )
    )
    raw = day.events
    try:
        floor_topic = settings.topic("bench.floor.out")
        await ensure_topics(
            ServiceSettings(kafka_bootstrap_servers=bootstrap), [raw_topic, floor_topic]
        )
        produce_seconds = await produce(bootstrap, raw_topic, raw)
        baseline_seconds = await timed_drain(bootstrap, raw_topic, len(raw))
        database_url = settings.service_database_url
        # Migrated before anything is timed: the service's clock starts with its consumer.
        await migrate(migrations_path(switchboard_telephony.__file__), database_url)
        floor_seconds = await db_floor(
            bootstrap, raw_topic, len(raw), settings.service_database_url
        )
        copy_seconds = await db_copy(bootstrap, raw_topic, len(raw), settings.service_database_url)
        statements = await statements_floor(
            bootstrap,
            raw_topic,
            len(raw),
            settings.service_database_url,
            floor_topic,
        )
        service = await through_service(settings, len(day.calls), timeout)
        output = await read_output(bootstrap, settings.topic(TELEPHONY_CALLS))
    finally:
        await drop_database(settings.service_database_url)
        await delete_topics(bootstrap, prefix)
        endpoints.close()
    ours = len(raw) / service["seconds_from_start"]
    base = len(raw) / baseline_seconds
    floor = len(raw) / floor_seconds
    copy = len(raw) / copy_seconds
    exact = (
        output["CallStarted"] == len(day.calls)
        and output["CallEnded"] == len(day.calls)
        and output["calls_with_repeated_events"] == 0
    )
    return {
        "benchmark": "telephony",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "infrastructure": endpoints.source,
        "input": {
            "raw_events": len(raw),
            "calls": len(day.calls),
            "duplicates": sum(d.duplicate for d in day.deliveries),
            "late": sum(d.late for d in day.deliveries),
            "partitions": 3,
            "seed": seed,
        },
        "producer_events_per_second": round(len(raw) / produce_seconds, 1),
        "baseline": {
            "what": "bare aiokafka consumer reading pbx.events.raw",
            "seconds": round(baseline_seconds, 3),
            "events_per_second": round(base, 1),
        },
        "baseline_db_floor": {
            "what": "aiokafka consumer + one PostgreSQL INSERT per event, 500 per transaction",
            "seconds": round(floor_seconds, 3),
            "events_per_second": round(floor, 1),
        },
        "baseline_db_copy": {
            "what": "aiokafka consumer + PostgreSQL COPY of each fetched batch (500 records)",
            "seconds": round(copy_seconds, 3),
            "events_per_second": round(copy, 1),
        },
        "baseline_statements": {
            "what": "the service's statements and sends alone (asyncpg, aiokafka): per batch "
            "mark processed, lock and load the calls, upsert their states, stage the outbox; "
            "a relay reading, sending (acks=all) and deleting it",
            "seconds": round(statements["seconds"], 3),
            "outbox_rows": statements["outbox_rows"],
            "events_per_second": round(len(raw) / statements["seconds"], 1),
        },
        "service": {
            "what": "telephony in-process: consume, state machine, PostgreSQL, outbox, publish",
            "seconds": round(service["seconds_from_start"], 3),
            "startup_seconds": round(service["startup_seconds"], 3),
            "cpu_seconds": round(service["cpu_seconds"], 3),
            "cpu_microseconds_per_event": round(service["cpu_seconds"] / len(raw) * 1e6, 1),
            "events_per_second": round(ours, 1),
            "events_per_second_after_startup": round(
                len(raw) / service["seconds_after_lifespan"], 1
            ),
        },
        "fraction_of_baseline": round(ours / base, 4),
        "fraction_of_db_floor": round(ours / floor, 3),
        "fraction_of_db_copy": round(ours / copy, 4),
        "output": dict(output),
        "output_exactly_once": exact,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="raw events (about)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (s)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "telephony.json")
    args = parser.parse_args()
    result = asyncio.run(main(args.events, args.seed, args.timeout))
    m, i, b, s = result["machine"], result["input"], result["baseline"], result["service"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}")
    print(
        f"input: {i['raw_events']} raw events ({i['calls']} calls, {i['duplicates']} duplicates, "
        f"{i['late']} late) on {i['partitions']} partitions"
    )
    print(
        f"baseline (bare aiokafka consumer): {b['events_per_second']} events/s ({b['seconds']} s)"
    )
    print(
        f"telephony pbx.events.raw → telephony.calls: {s['events_per_second']} events/s "
        f"({s['seconds']} s incl. {s['startup_seconds']} s start-up; "
        f"{s['events_per_second_after_startup']} events/s after start-up; "
        f"{s['cpu_microseconds_per_event']} µs of the service's CPU per event)"
    )
    f = result["baseline_db_floor"]
    print(
        f"floor (aiokafka consumer + one INSERT per event): {f['events_per_second']} events/s "
        f"({f['seconds']} s)"
    )
    c = result["baseline_db_copy"]
    print(
        f"COPY (aiokafka consumer + PostgreSQL COPY per batch): {c['events_per_second']} "
        f"events/s ({c['seconds']} s)"
    )
    st = result["baseline_statements"]
    print(
        f"statements floor (the service's statements and sends alone, {st['outbox_rows']} "
        f"outbox rows): {st['events_per_second']} events/s ({st['seconds']} s)"
    )
    print(
        f"telephony / baseline: {result['fraction_of_baseline']:.2%}; "
        f"telephony / COPY: {result['fraction_of_db_copy']:.1%}; "
        f"telephony / floor: {result['fraction_of_db_floor']:.1%}"
    )
    o = result["output"]
    print(
        f"output: {o.get('CallStarted', 0)} CallStarted, {o.get('CallEnded', 0)} CallEnded for "
        f"{i['calls']} calls ({'exactly once' if result['output_exactly_once'] else 'WRONG'})"
    )
    write_result(args.out, result)
    # Wrong output is a failure of the benchmark itself (not a missed figure).
    sys.exit(0 if result["output_exactly_once"] else 1)
