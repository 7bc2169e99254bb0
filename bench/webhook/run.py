"""Webhook ingest benchmark: signed PBX deliveries of 100 events accepted per second.

Runs telephony as its own process (``switchboard-telephony serve`` on a free port, a
throw-away topic prefix and database suffix) and posts signed deliveries of 100 generic
events (calls started, answered and ended, as a PBX batches them) with a few deliveries in
flight, as a PBX with several trunks does. A ``202`` means every event of the delivery is on
``pbx.events.raw`` with acks=all. Measured:

- **ours**: events accepted per second, and each delivery's time to its ``202`` (p50, p99);
- **baseline**: the same events sent by a bare aiokafka producer (acks=all, idempotent,
  the same keys and topic layout), awaited per 100 as the webhook awaits them — the cost of
  making the events durable, without HTTP, signing, validation or the replay check;
- **how it grows**: the run at 1x, 2x and 5x the deliveries.

Prints the figures with the machine and writes ``bench/results/webhook.json``.

    uv run python bench/webhook/run.py              # 100, 200, 500 deliveries of 100 events
    uv run python bench/webhook/run.py --quick      # 20, 40, 100 deliveries
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from common import Service, machine, percentiles, write_result  # noqa: E402 - not a package

PBX_TOKEN = "bench-pbx-token"
EVENTS_PER_DELIVERY = 100
IN_FLIGHT = 8


def delivery_events(run: str, number: int) -> list[dict[str, Any]]:
    """One delivery: 33 calls started, answered and ended (99 events) and one more start."""
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    call = 0
    while len(events) < EVENTS_PER_DELIVERY:
        call_id = f"wh-{run}-{number}-{call}"
        start = now - timedelta(seconds=60)
        steps = [
            ("call.started", start, {"from": f"+7916{number:04d}{call:03d}", "to": "101"}),
            ("call.answered", start + timedelta(seconds=5), {"extension": "101"}),
            ("call.ended", start + timedelta(seconds=50), {"status": "answered"}),
        ]
        for kind, at, fields in steps:
            if len(events) == EVENTS_PER_DELIVERY:
                break
            events.append(
                {
                    "type": kind,
                    "call_id": call_id,
                    "event_id": f"{call_id}-{kind}",
                    "timestamp": at.isoformat(),
                    **fields,
                }
            )
        call += 1
    return events


async def post_all(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> dict[str, Any]:
    """Post every delivery, ``IN_FLIGHT`` at a time; events/s and the 202 latencies."""
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    refused: list[int] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body, headers = queue.get_nowait()
            began = time.perf_counter()
            response = await client.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 202:
                refused.append(response.status_code)

    async with httpx.AsyncClient(timeout=60) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(IN_FLIGHT)))
        seconds = time.perf_counter() - began
    if refused:
        raise RuntimeError(f"deliveries refused: {sorted(set(refused))}")
    events = len(bodies) * EVENTS_PER_DELIVERY
    return {
        "deliveries": len(bodies),
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds, 1),
        "latency_ms": percentiles(latencies),
    }


async def bare_producer(bootstrap: str, topic: str, deliveries: list[list[dict[str, Any]]]) -> Any:
    """The same events through a bare idempotent producer, acks awaited per delivery."""
    import json

    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=1
    )
    await producer.start()
    try:
        began = time.perf_counter()
        for events in deliveries:
            futures = [
                await producer.send(
                    topic,
                    json.dumps(e, separators=(",", ":")).encode(),
                    key=e["call_id"].encode(),
                )
                for e in events
            ]
            await asyncio.gather(*futures)
        seconds = time.perf_counter() - began
    finally:
        await producer.stop()
    events = sum(len(d) for d in deliveries)
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_second": round(events / seconds, 1),
    }


async def main(sizes: list[int]) -> dict[str, Any]:
    """Every size on one telephony process and a throw-away prefix; cleans up after itself."""
    from switchboard_runtime.kafka import ensure_topics
    from switchboard_runtime.settings import ServiceSettings
    from switchboard_runtime.testing.infra import resolve_endpoints
    from switchboard_runtime.testing.plugin import cleanup_run
    from switchboard_telephony.domain.signing import signed_json

    endpoints = resolve_endpoints(REPO)
    run = uuid.uuid4().hex[:8]
    prefix = f"t{run}."
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
        "DATABASE_URL": endpoints.database_url,
        "REDIS_URL": endpoints.redis_url,
        "TOPIC_PREFIX": prefix,
        "DATABASE_SUFFIX": f"_{run}",
        "TELEPHONY_PBX_TOKEN": PBX_TOKEN,
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
    }
    rows: list[dict[str, Any]] = []
    baseline_rows: list[dict[str, Any]] = []
    telephony = Service("telephony", env, log_tag="webhook")
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await telephony.ready(http)
        url = f"{telephony.url}/api/telephony/pbx/events"
        # Warm-up: connections, the producer's metadata, the first compiles.
        warm = [signed_json(PBX_TOKEN, delivery_events(run + "w", n)) for n in range(5)]
        await post_all(url, warm)
        for index, size in enumerate(sizes):
            deliveries = [delivery_events(f"{run}s{index}", n) for n in range(size)]
            bodies = [signed_json(PBX_TOKEN, events) for events in deliveries]
            rows.append(await post_all(url, bodies))
            topic = f"{prefix}bench.baseline{index}"
            await ensure_topics(
                ServiceSettings(kafka_bootstrap_servers=endpoints.kafka_bootstrap_servers), [topic]
            )
            baseline_rows.append(
                await bare_producer(endpoints.kafka_bootstrap_servers, topic, deliveries)
            )
    finally:
        telephony.stop()
        await cleanup_run(endpoints, run)
    return {
        "benchmark": "webhook",
        "machine": machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events_per_delivery": EVENTS_PER_DELIVERY,
        "in_flight": IN_FLIGHT,
        "runs": [
            {**ours, "baseline_events_per_second": base["events_per_second"]}
            for ours, base in zip(rows, baseline_rows, strict=True)
        ],
    }


def report(result: dict[str, Any]) -> None:
    """Print the figures."""
    m = result["machine"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}")
    print(
        f"signed deliveries of {result['events_per_delivery']} events, "
        f"{result['in_flight']} in flight; baseline: bare producer, acks=all, same events"
    )
    for row in result["runs"]:
        ratio = row["events_per_second"] / row["baseline_events_per_second"]
        lat = row["latency_ms"]
        print(
            f"{row['deliveries']:>4} deliveries ({row['events']} events): "
            f"{row['events_per_second']:.0f} ev/s accepted, 202 p50 {lat['p50']} ms "
            f"p99 {lat['p99']} ms; baseline {row['baseline_events_per_second']:.0f} ev/s "
            f"(ours / baseline {ratio:.0%})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20, 40 and 100 deliveries")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sizes = [20, 40, 100] if args.quick else [100, 200, 500]
    result = asyncio.run(main(sizes))
    report(result)
    out = args.out or REPO / "bench" / "results" / ("quick" if args.quick else "") / "webhook.json"
    write_result(out, result)
