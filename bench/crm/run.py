"""crm-touch benchmark: caller identification latency over a large directory, and how long a
call takes to become a touch (CallStarted on telephony.calls → TouchCreated on crm.touches).

Runs crm-touch in this process (lifespan, migrations, consumer and outbox relay, real Kafka
and PostgreSQL) on a throw-away database and topic prefix:

1. loads N clients with their numbers straight into the identification projection (the
   same tables booking's events fill; bulk-loaded so 100k numbers take seconds, not the
   minutes a replay would), plus 1% of numbers shared by a second client (ambiguous);
2. feeds a thousand ``ClientRegistered`` through Kafka and times how fast the
   projection absorbs them (events/s);
3. calls ``GET /api/crm/identify`` sequentially with numbers from the directory written
   every which way (and 10% unknown numbers): p50/p99, next to ``/healthz`` through the
   same in-process HTTP client, the simplest authenticated endpoint that reads the database
   (``GET /api/crm/settings``) and a bare ``SELECT 1`` as baselines;
4. publishes ``CallStarted`` one at a time (half from known clients, half from unknown
   numbers, which opens a lead) and times each until its ``TouchCreated`` is read back:
   p50/p99, next to a bare Kafka produce → consume hop as the baseline.

Prints the figures with the machine and writes them to ``bench/results/crm.json``.

    uv run python bench/crm/run.py [--phones 100000] [--lookups 2000] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from common import delete_topics, machine, write_result  # noqa: E402 - bench/ is not a package

CLIENT_EVENTS = 1000


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of ``samples`` (seconds) in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0), "n": len(ordered)}


def numbers(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct valid Russian mobile numbers (E.164)."""
    nsns = rng.sample(range(10**7 * 30), count)
    # +7 9{10..39} XXXXXXX: mobile ranges phonenumbers accepts as valid.
    return [f"+79{10 + n // 10**7:02d}{n % 10**7:07d}" for n in nsns]


def written(e164: str, rng: random.Random) -> str:
    """The number the way a person or a PBX might type it."""
    nsn = e164[2:]
    return rng.choice(
        [
            e164,
            f"+7 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:8]}-{nsn[8:]}",
            "8" + nsn,
            "7" + nsn,
            f"8 {nsn[:3]} {nsn[3:]}",
        ]
    )


async def load_directory(app: Any, phones: list[str], rng: random.Random) -> dict[str, Any]:
    """Bulk-load one client per number, and a second client on 1% of the numbers."""
    from switchboard_crm_touch.adapters.tables import contact_phones, contacts

    began = time.perf_counter()
    now = datetime.now(UTC)
    shared = rng.sample(phones, len(phones) // 100)
    owners = [(str(uuid.uuid4()), p) for p in phones] + [(str(uuid.uuid4()), p) for p in shared]
    async with app.state.runtime.engine.begin() as conn:
        for start in range(0, len(owners), 10_000):
            chunk = owners[start : start + 10_000]
            await conn.execute(
                sa.insert(contacts),
                [
                    {
                        "contact_id": cid,
                        "kind": "patient",
                        "origin": "booking",
                        "display_name": f"Client {i + start}",
                        "key_details": {},
                        "state_at": now,
                        "last_active_at": now,
                    }
                    for i, (cid, _) in enumerate(chunk)
                ],
            )
            await conn.execute(
                sa.insert(contact_phones),
                [{"phone": p, "contact_id": cid, "source": "booking"} for cid, p in chunk],
            )
        await conn.execute(sa.text("ANALYZE contacts"))
        await conn.execute(sa.text("ANALYZE contact_phones"))
    return {
        "clients": len(owners),
        "numbers": len(phones),
        "shared_numbers": len(shared),
        "seconds": round(time.perf_counter() - began, 2),
    }


async def client_events(app: Any, producer: Any, prefix: str, phones: list[str]) -> dict[str, Any]:
    """Publish ClientRegistered for ``phones`` and time until the projection applied all."""
    from switchboard_contracts import ClientRegistered, make_envelope

    envelopes = [
        make_envelope(
            ClientRegistered(
                client_id=str(uuid.uuid4()),
                first_name="Bench",
                last_name=f"Client{i}",
                display_name=f"Bench Client{i}",
                phones=[phone],
            ),
            producer="bench",
            occurred_at=datetime.now(UTC),
        )
        for i, phone in enumerate(phones)
    ]
    began = time.perf_counter()
    for envelope in envelopes:
        await producer.send(
            prefix + "booking.clients", envelope.to_bytes(), key=envelope.key.encode()
        )
    await producer.flush()
    ids = [str(e.event_id) for e in envelopes]

    async def applied() -> int:
        async with app.state.runtime.sessions() as session:
            return int(
                await session.scalar(
                    sa.text("SELECT count(*) FROM processed_events WHERE event_id = ANY(:ids)"),
                    {"ids": ids},
                )
                or 0
            )

    from switchboard_runtime.testing import wait_until

    async def all_applied() -> bool:
        return await applied() >= len(ids)

    await wait_until(all_applied, timeout=300, message="client events applied")
    elapsed = time.perf_counter() - began
    return {
        "events": len(ids),
        "seconds": round(elapsed, 2),
        "events_per_second": round(len(ids) / elapsed, 1),
    }


async def identify_latency(
    app: Any, client: httpx.AsyncClient, headers: dict[str, str], phones: list[str], lookups: int
) -> dict[str, Any]:
    """Sequential ``GET /api/crm/identify`` (90% known numbers, 10% unknown)."""
    rng = random.Random(7)
    unknown = numbers(lookups, random.Random(99))
    queries = [
        written(rng.choice(phones), rng) if rng.random() < 0.9 else unknown[i]
        for i in range(lookups)
    ]
    for phone in queries[:100]:  # warm-up: pool, plans, caches
        (
            await client.get("/api/crm/identify", params={"phone": phone}, headers=headers)
        ).raise_for_status()
    samples, outcomes = [], {"known": 0, "ambiguous": 0, "unknown": 0}
    for phone in queries:
        began = time.perf_counter()
        response = await client.get("/api/crm/identify", params={"phone": phone}, headers=headers)
        samples.append(time.perf_counter() - began)
        response.raise_for_status()
        body = response.json()
        outcomes["ambiguous" if body["ambiguous"] else "known" if body["known"] else "unknown"] += 1
    health, simplest = [], []
    for _ in range(lookups // 2):
        began = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        health.append(time.perf_counter() - began)
        # The simplest authenticated endpoint that reads the database (one key lookup).
        began = time.perf_counter()
        (await client.get("/api/crm/settings", headers=headers)).raise_for_status()
        simplest.append(time.perf_counter() - began)
    select_one = []
    async with app.state.runtime.engine.connect() as conn:
        for _ in range(lookups // 2):
            began = time.perf_counter()
            await conn.execute(sa.text("SELECT 1"))
            select_one.append(time.perf_counter() - began)
    identify_ms = percentiles(samples)
    simplest_ms = percentiles(simplest)
    return {
        "latency_ms": identify_ms,
        "outcomes": outcomes,
        "baseline_healthz_ms": percentiles(health),
        "baseline_settings_endpoint_ms": simplest_ms,
        "baseline_select_1_ms": percentiles(select_one),
        "p50_over_settings_endpoint": round(identify_ms["p50"] / max(simplest_ms["p50"], 0.001), 2),
    }


async def kafka_hop(bootstrap: str, topic: str, count: int) -> dict[str, Any]:
    """Produce → consume round trips on a bare topic: the floor under any event latency."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest")
    await producer.start()
    await consumer.start()
    samples = []
    try:
        await producer.send_and_wait(topic, b"warm-up")
        await consumer.getmany(timeout_ms=2000)
        for i in range(count):
            began = time.perf_counter()
            await producer.send_and_wait(topic, str(i).encode())
            got = False
            while not got:
                batches = await consumer.getmany(timeout_ms=1000)
                got = any(r.value == str(i).encode() for rs in batches.values() for r in rs)
            samples.append(time.perf_counter() - began)
    finally:
        await consumer.stop()
        await producer.stop()
    return percentiles(samples)


async def touch_latency(
    bootstrap: str, prefix: str, phones: list[str], calls: int
) -> dict[str, Any]:
    """One CallStarted at a time; time until its TouchCreated is on crm.touches."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from switchboard_contracts import CallStarted, make_envelope

    rng = random.Random(11)
    unknown = numbers(calls, random.Random(1234))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(
        prefix + "crm.touches", bootstrap_servers=bootstrap, auto_offset_reset="latest"
    )
    await producer.start()
    await consumer.start()
    await consumer.getmany(timeout_ms=500)  # joined and positioned at the end
    samples, pickup, publish, leads = [], [], [], 0
    try:
        for i in range(calls + 20):
            known = i % 2 == 0
            caller = rng.choice(phones) if known else unknown[i % calls]
            call_id = f"bench-{uuid.uuid4().hex}"
            event = CallStarted(
                call_id=call_id,
                direction="incoming",
                caller=caller,
                callee="101",
                extension="101",
                clinic_id="clinic-msk",
                started_at=datetime.now(UTC),
            )
            envelope = make_envelope(event, producer="bench", occurred_at=event.started_at)
            began, sent_wall = time.perf_counter(), time.time()
            await producer.send_and_wait(
                prefix + "telephony.calls", envelope.to_bytes(), key=call_id.encode()
            )
            contact: dict[str, Any] | None = None
            staged_wall = 0.0
            while contact is None:
                batches = await consumer.getmany(timeout_ms=2000)
                for records in batches.values():
                    for record in records:
                        value = json.loads(record.value)
                        if (
                            value["event_type"] == "TouchCreated"
                            and value["payload"]["call_id"] == call_id
                        ):
                            contact = value["payload"]["contact"] or {}
                            # recorded_at: when the handler staged it (same machine clock).
                            staged_wall = datetime.fromisoformat(value["recorded_at"]).timestamp()
            if i >= 20:  # the first 20 warm up the consumer, relay and pools
                samples.append(time.perf_counter() - began)
                pickup.append(max(0.0, staged_wall - sent_wall))
                publish.append(max(0.0, sent_wall + samples[-1] - staged_wall))
                leads += contact.get("kind") == "lead"
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "latency_ms": percentiles(samples),
        # Sent → staged in the outbox by the handler (Kafka in, consumer poll, handler work)
        # and staged → read back (commit, outbox relay, Kafka out).
        "sent_to_staged_ms": percentiles(pickup),
        "staged_to_read_ms": percentiles(publish),
        "calls": calls,
        "of_which_new_leads": leads,
    }


async def main(phone_count: int, lookups: int, calls: int) -> dict[str, Any]:
    """Run every measurement on a throw-away database and topic prefix."""
    from aiokafka import AIOKafkaProducer

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
    from switchboard_crm_touch.bootstrap import build_app
    from switchboard_crm_touch.settings import CrmTouchSettings
    from switchboard_runtime.auth import Principal, issue_token

    settings = CrmTouchSettings(calltouch_enabled_default=True)
    app = build_app(settings)
    rng = random.Random(42)
    all_numbers = numbers(phone_count + CLIENT_EVENTS, rng)
    phones, streamed = all_numbers[:phone_count], all_numbers[phone_count:]
    token = issue_token(
        Principal("op-bench", "Bench", "call_centre"), settings.auth_secret.get_secret_value()
    )
    headers = {"Authorization": f"Bearer {token}"}
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    try:
        async with app.router.lifespan_context(app):
            await producer.start()
            try:
                directory = await load_directory(app, phones, rng)
                projection = await client_events(app, producer, prefix, streamed)
            finally:
                await producer.stop()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=60
            ) as client:
                identify = await identify_latency(app, client, headers, phones, lookups)
            hop = await kafka_hop(endpoints.kafka_bootstrap_servers, prefix + "hop", calls)
            touches = await touch_latency(endpoints.kafka_bootstrap_servers, prefix, phones, calls)
    finally:
        await drop_database(settings.service_database_url)
        await delete_topics(endpoints.kafka_bootstrap_servers, prefix)
        endpoints.close()
    touches["baseline_kafka_hop_ms"] = hop
    touches["p50_over_kafka_hop"] = round(touches["latency_ms"]["p50"] / max(hop["p50"], 0.001), 1)
    return {
        "benchmark": "crm",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "infrastructure": endpoints.source,
        "directory": directory,
        "client_events": projection,
        "identify": identify,
        "call_to_touch": touches,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "crm.json")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(main(args.phones, args.lookups, args.calls))
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    m, d, p = result["machine"], result["directory"], result["client_events"]
    i, t = result["identify"], result["call_to_touch"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}")
    print(
        f"directory: {d['clients']} clients on {d['numbers']} numbers "
        f"({d['shared_numbers']} shared), bulk-loaded in {d['seconds']} s"
    )
    print(
        f"client events → projection: {p['events_per_second']} events/s "
        f"({p['events']} ClientRegistered through Kafka in {p['seconds']} s)"
    )
    lat, base = i["latency_ms"], i["baseline_settings_endpoint_ms"]
    print(
        f"identify: p50 {lat['p50']} ms, p99 {lat['p99']} ms over {lat['n']} lookups "
        f"{i['outcomes']}; baselines: GET /api/crm/settings (auth + one key read) p50 "
        f"{base['p50']} ms, /healthz p50 {i['baseline_healthz_ms']['p50']} ms, SELECT 1 p50 "
        f"{i['baseline_select_1_ms']['p50']} ms (identify p50 = "
        f"{i['p50_over_settings_endpoint']}x the settings endpoint)"
    )
    lat, hop = t["latency_ms"], t["baseline_kafka_hop_ms"]
    print(
        f"CallStarted → TouchCreated: p50 {lat['p50']} ms, p99 {lat['p99']} ms over "
        f"{lat['n']} calls ({t['of_which_new_leads']} opened a lead); baseline Kafka hop "
        f"p50 {hop['p50']} ms, p99 {hop['p99']} ms (p50 = {t['p50_over_kafka_hop']}x a hop)"
    )
    print(
        f"  of which sent → staged by the handler p50 {t['sent_to_staged_ms']['p50']} ms, "
        f"staged → read back p50 {t['staged_to_read_ms']['p50']} ms"
    )
    print(f"wall time: {result['wall_seconds']} s")
    write_result(args.out, result)
