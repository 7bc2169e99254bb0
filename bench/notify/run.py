"""Notify benchmark: PBX webhook accepted → pop-up at every console, with hundreds of consoles.

Runs telephony and notify as their own processes (``switchboard-telephony serve`` and
``switchboard-notify serve`` on free ports, a throw-away topic prefix and database suffix),
registers operators in the directory (``OperatorChanged`` straight onto the topic, the way
booking publishes it: 5 operators per extension), connects the consoles (real WebSocket
clients in this process, answering pings), then:

1. **baseline** — a pop-up published straight on the extension's Redis channel → received by
   the 5 consoles of that extension (Redis pub/sub + notify's fan-out + WebSocket, no Kafka);
2. **load** — incoming calls posted to telephony's PBX webhook at a fixed rate, each ringing
   one extension; for each call, the time from the webhook's ``202 Accepted`` to the
   ``call.popup`` at each of the extension's consoles (and at the last of them). Calls are
   ended (missed) about a second later, so pop-ups also close under load.

Also: notify's memory per connection (RSS after connecting the consoles minus RSS before,
divided by the consoles; and the peak, VmHWM) and its CPU use during the load.
Prints the figures with the machine and writes ``bench/results/notify.json``.

    uv run python bench/notify/run.py            # 500 consoles, 50 calls/s for 20 s
    uv run python bench/notify/run.py --quick    # 100 consoles, 20 calls/s for 5 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
import websockets

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from common import (  # noqa: E402 - bench/ is not a package
    Service,
    machine,
    percentiles,
    proc_cpu_seconds,
    proc_kib,
    write_result,
)

PER_EXTENSION = 5
PBX_TOKEN = "dev-pbx-token"


class ConsoleClient:
    """One console tab: records when each pop-up first arrived."""

    def __init__(self, url: str, extension: str):
        self.url = url
        self.extension = extension
        self.popups: dict[str, float] = {}
        self.closes = 0
        self.resumed = asyncio.Event()
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, max_queue=None, ping_interval=None)
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                now = time.perf_counter()
                message = json.loads(raw)
                kind = message["type"]
                if kind == "call.popup":
                    self.popups.setdefault(message["call_id"], now)
                elif kind == "call.popup.closed":
                    self.closes += 1
                elif kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif kind == "resumed":
                    self.resumed.set()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task


async def produce_operators(bootstrap: str, prefix: str, operators: list[tuple[str, str]]) -> None:
    """``OperatorChanged`` for every (operator_id, extension), as booking publishes it."""
    from aiokafka import AIOKafkaProducer

    from switchboard_contracts import (
        BOOKING_DIRECTORY,
        OperatorChanged,
        make_envelope,
        message_key,
    )

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        now = datetime.now(UTC)
        futures = []
        for operator_id, extension in operators:
            event = OperatorChanged(
                operator_id=operator_id,
                name=f"Operator {operator_id}",
                role="admin",
                call_center_id="cc-bench",
                extension=extension,
            )
            envelope = make_envelope(event, producer="booking", occurred_at=now)
            futures.append(
                await producer.send(
                    prefix + BOOKING_DIRECTORY,
                    envelope.to_bytes(),
                    key=message_key(event).encode(),
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_directory(
    client: httpx.AsyncClient, url: str, tokens: dict[str, str], expected: dict[str, str]
) -> None:
    """Until notify's directory projection knows every operator's extension."""
    pending = set(tokens)
    deadline = time.monotonic() + 120
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} operators not in notify's directory")
        for operator_id in list(pending)[:100]:
            body = (
                await client.get(
                    f"{url}/api/notify/me",
                    headers={"Authorization": f"Bearer {tokens[operator_id]}"},
                )
            ).json()
            if body.get("extensions_source") == "directory" and body.get("extensions") == [
                expected[operator_id]
            ]:
                pending.discard(operator_id)
        if pending:
            await asyncio.sleep(0.2)


async def wait_received(
    clients_by_ext: dict[str, list[ConsoleClient]],
    sent: dict[str, tuple[str, float]],
    timeout: float,
) -> None:
    """Until every call in ``sent`` reached every console of its extension (or timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            all(call_id in c.popups for c in clients_by_ext[ext])
            for call_id, (ext, _) in sent.items()
        ):
            return
        await asyncio.sleep(0.05)


def latencies(
    clients_by_ext: dict[str, list[ConsoleClient]], sent: dict[str, tuple[str, float]]
) -> tuple[list[float], list[float], int]:
    """Per (call, console) and per call (last console) delays, and calls not seen by all."""
    each: list[float] = []
    last: list[float] = []
    incomplete = 0
    for call_id, (ext, t0) in sent.items():
        arrivals = [c.popups[call_id] - t0 for c in clients_by_ext[ext] if call_id in c.popups]
        each.extend(arrivals)
        if len(arrivals) == len(clients_by_ext[ext]):
            last.append(max(arrivals))
        else:
            incomplete += 1
    return each, last, incomplete


async def baseline(
    redis_url: str,
    prefix: str,
    clients_by_ext: dict[str, list[ConsoleClient]],
    count: int,
    rate: float,
) -> dict[str, Any]:
    """A pop-up published straight on Redis → received by the extension's consoles."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, decode_responses=True)
    extensions = sorted(clients_by_ext)
    sent: dict[str, tuple[str, float]] = {}
    try:
        began = time.perf_counter()
        for n in range(count):
            ext = extensions[n % len(extensions)]
            call_id = f"baseline-{n}-{uuid.uuid4().hex[:6]}"
            message = {
                "kind": "popup",
                "call_id": call_id,
                "version": time.time_ns() // 1000,
                "extension": ext,
                "call": {"caller": {"number": "+79160000000", "display": "+7 916 000-00-00"}},
                "ident": None,
            }
            target = began + n / rate
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            sent[call_id] = (ext, time.perf_counter())
            await redis.publish(f"{prefix}ext:{ext}", json.dumps(message))
        await wait_received(clients_by_ext, sent, timeout=15)
    finally:
        await redis.aclose()
    each, last, incomplete = latencies(clients_by_ext, sent)
    return {
        "messages": count,
        "rate_per_second": rate,
        "to_each_console_ms": percentiles(each),
        "to_every_console_ms": percentiles(last),
        "incomplete": incomplete,
    }


async def kafka_to_popup(
    bootstrap: str,
    calls_topic: str,
    clients_by_ext: dict[str, list[ConsoleClient]],
    count: int,
    rate: float,
) -> dict[str, Any]:
    """``CallStarted`` produced straight onto telephony.calls → pop-up at every console:
    notify's whole pipeline (Kafka consumer, database transaction, Redis, WebSocket)."""
    from aiokafka import AIOKafkaProducer

    from switchboard_contracts import CallStarted, make_envelope

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    extensions = sorted(clients_by_ext)
    sent: dict[str, tuple[str, float]] = {}

    async def one(n: int) -> None:
        call_id = f"direct-{n}-{uuid.uuid4().hex[:6]}"
        ext = extensions[n % len(extensions)]
        now = datetime.now(UTC)
        event = CallStarted(
            call_id=call_id,
            direction="incoming",
            caller="+79160000001",
            callee="+74950000000",
            extension=ext,
            started_at=now,
        )
        value = make_envelope(event, producer="bench", occurred_at=now).to_bytes()
        await producer.send_and_wait(calls_topic, value, key=call_id.encode())
        sent[call_id] = (ext, time.perf_counter())

    try:
        began = time.perf_counter()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        await wait_received(clients_by_ext, sent, timeout=15)
    finally:
        await producer.stop()
    _, last, incomplete = latencies(clients_by_ext, sent)
    return {
        "calls": count,
        "rate_per_second": rate,
        "from_kafka_ack_to_every_console_ms": percentiles(last),
        "incomplete": incomplete,
    }


async def load(
    telephony: str,
    bootstrap: str,
    calls_topic: str,
    clients_by_ext: dict[str, list[ConsoleClient]],
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Incoming calls through the PBX webhook at ``rate`` per second for ``seconds``."""
    extensions = sorted(clients_by_ext)
    total = int(rate * seconds)
    accepted: dict[str, tuple[str, float]] = {}
    posted: dict[str, tuple[str, float]] = {}
    status_codes: dict[int, int] = {}
    to_end: list[tuple[float, str]] = []
    # Where the time goes: when this process sees each CallStarted on telephony.calls.
    from aiokafka import AIOKafkaConsumer

    from switchboard_telephony.domain.signing import signed_json

    seen_started: dict[str, float] = {}
    consumer = AIOKafkaConsumer(
        calls_topic, bootstrap_servers=bootstrap, auto_offset_reset="latest", group_id=None
    )
    await consumer.start()

    async def watch() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    if b'"CallStarted"' in record.value:
                        seen_started.setdefault(record.key.decode(), now)

    watcher = asyncio.create_task(watch())
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=telephony, limits=limits, timeout=60) as client:

        async def ring(n: int) -> None:
            call_id = f"bench-{n}-{uuid.uuid4().hex[:6]}"
            ext = extensions[n % len(extensions)]
            event = {
                "type": "call.started",
                "call_id": call_id,
                "timestamp": datetime.now(UTC).isoformat(),
                "from": f"+7916{random.randint(0, 9_999_999):07d}",
                "to": ext,
                "extension": ext,
            }
            t_post = time.perf_counter()
            body, headers = signed_json(PBX_TOKEN, event)
            response = await client.post("/api/telephony/pbx/events", content=body, headers=headers)
            t_accepted = time.perf_counter()
            status_codes[response.status_code] = status_codes.get(response.status_code, 0) + 1
            if response.status_code == 202:
                posted[call_id] = (ext, t_post)
                accepted[call_id] = (ext, t_accepted)
                to_end.append((t_accepted + 1.0, call_id))

        async def end_due(final: bool = False) -> None:
            now = time.perf_counter()
            due = [c for at, c in to_end if final or at <= now]
            if not due:
                return
            to_end[:] = [(at, c) for at, c in to_end if c not in set(due)]
            stamp = datetime.now(UTC).isoformat()
            events = [
                {"type": "call.ended", "call_id": c, "timestamp": stamp, "status": "no_answer"}
                for c in due
            ]
            body, headers = signed_json(PBX_TOKEN, events)
            await client.post("/api/telephony/pbx/events", content=body, headers=headers)

        tasks: list[asyncio.Task[None]] = []
        began = time.perf_counter()
        next_end = began + 1.0
        for n in range(total):
            target = began + n / rate
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            tasks.append(asyncio.create_task(ring(n)))
            if time.perf_counter() >= next_end:
                tasks.append(asyncio.create_task(end_due()))
                next_end += 1.0
        sending = time.perf_counter() - began
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        await wait_received(clients_by_ext, accepted, timeout=60)
        await end_due(final=True)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await consumer.stop()
    each, last, incomplete = latencies(clients_by_ext, accepted)
    _, last_post, _ = latencies(clients_by_ext, posted)
    # Privacy: a console must never get a pop-up of a call on another extension.
    foreign = sum(
        1
        for ext, group in clients_by_ext.items()
        for client in group
        for call_id in client.popups
        if call_id in accepted and accepted[call_id][0] != ext
    )
    to_started = [seen_started[c] - t for c, (_, t) in accepted.items() if c in seen_started]
    started_to_popup = [
        max(cl.popups[c] for cl in clients_by_ext[ext]) - seen_started[c]
        for c, (ext, _) in accepted.items()
        if c in seen_started and all(c in cl.popups for cl in clients_by_ext[ext])
    ]
    return {
        "calls": total,
        "rate_per_second": rate,
        "sent_rate_per_second": round(total / sending, 1),
        "accepted_rate_per_second": round(len(accepted) / elapsed, 1),
        "webhook_latency_ms": percentiles([a[1] - posted[c][1] for c, a in accepted.items()]),
        "webhook_status_codes": {str(k): v for k, v in status_codes.items()},
        "from_accepted_to_each_console_ms": percentiles(each),
        "from_accepted_to_every_console_ms": percentiles(last),
        "from_post_to_every_console_ms": percentiles(last_post),
        "breakdown_ms": {
            "accepted_to_call_started_on_kafka": percentiles(to_started),
            "call_started_to_every_console": percentiles(started_to_popup),
        },
        "calls_not_at_every_console": incomplete,
        "popups_at_consoles_of_other_extensions": foreign,
    }


async def main(consoles: int, rate: float, seconds: float) -> dict[str, Any]:
    """Everything above on a throw-away prefix; cleans up after itself."""
    from switchboard_runtime.auth import Principal, issue_token
    from switchboard_runtime.testing.infra import resolve_endpoints

    endpoints = resolve_endpoints(REPO)
    run = uuid.uuid4().hex[:8]
    prefix = f"bench{run}."
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
        "DATABASE_URL": endpoints.database_url,
        "REDIS_URL": endpoints.redis_url,
        "TOPIC_PREFIX": prefix,
        "DATABASE_SUFFIX": f"_bench{run}",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
    }
    (REPO / "bench" / "results").mkdir(parents=True, exist_ok=True)
    secret = "bench-only-secret-" + uuid.uuid4().hex
    env["AUTH_SECRET"] = secret
    extensions = [str(7000 + n) for n in range(max(1, consoles // PER_EXTENSION))]
    operators = [(f"op-{n}", extensions[n // PER_EXTENSION]) for n in range(consoles)]
    tokens = {
        op: issue_token(Principal(op, f"Operator {op}", "admin", "cc-bench", ext), secret)
        for op, ext in operators
    }
    services: list[Service] = []
    clients: list[ConsoleClient] = []
    result: dict[str, Any] = {}
    try:
        notify = Service("notify", env)
        services.append(notify)
        async with httpx.AsyncClient(timeout=30) as http:
            await notify.ready(http)
            telephony = Service("telephony", env)
            services.append(telephony)
            await telephony.ready(http)
            await produce_operators(endpoints.kafka_bootstrap_servers, prefix, operators)
            await wait_directory(http, notify.url, tokens, dict(operators))

        rss_before = proc_kib(notify.process.pid, "VmRSS")
        ws_url = f"ws://127.0.0.1:{notify.port}/api/notify/ws"
        clients_by_ext: dict[str, list[ConsoleClient]] = {ext: [] for ext in extensions}
        for op, ext in operators:
            client = ConsoleClient(f"{ws_url}?token={tokens[op]}", ext)
            clients.append(client)
            clients_by_ext[ext].append(client)
        connect_began = time.perf_counter()
        for start in range(0, len(clients), 50):
            await asyncio.gather(*(c.connect() for c in clients[start : start + 50]))
        await asyncio.wait_for(asyncio.gather(*(c.resumed.wait() for c in clients)), timeout=120)
        connect_seconds = time.perf_counter() - connect_began
        rss_connected = proc_kib(notify.process.pid, "VmRSS")

        base = await baseline(
            endpoints.redis_url, f"{prefix}notify:", clients_by_ext, int(rate * 4), rate
        )
        direct = await kafka_to_popup(
            endpoints.kafka_bootstrap_servers,
            f"{prefix}telephony.calls",
            clients_by_ext,
            int(rate * 4),
            rate,
        )
        cpu_before = proc_cpu_seconds(notify.process.pid)
        cpu_telephony_before = proc_cpu_seconds(telephony.process.pid)
        cpu_bench_before = time.process_time()
        wall_before = time.perf_counter()
        under_load = await load(
            telephony.url,
            endpoints.kafka_bootstrap_servers,
            f"{prefix}telephony.calls",
            clients_by_ext,
            rate,
            seconds,
        )
        wall = time.perf_counter() - wall_before
        cpu_share = (proc_cpu_seconds(notify.process.pid) - cpu_before) / wall
        cpu_shares = {
            "notify": round(cpu_share, 2),
            "telephony": round(
                (proc_cpu_seconds(telephony.process.pid) - cpu_telephony_before) / wall, 2
            ),
            "bench_clients": round((time.process_time() - cpu_bench_before) / wall, 2),
            "load_average_1min": round(os.getloadavg()[0], 1),
        }
        rss_after = proc_kib(notify.process.pid, "VmRSS")
        rss_peak = proc_kib(notify.process.pid, "VmHWM")
        memory = {
            "rss_before_connections_mib": round(rss_before / 1024, 1),
            "rss_with_connections_mib": round(rss_connected / 1024, 1),
            "rss_after_load_mib": round(rss_after / 1024, 1),
            "peak_rss_mib": round(rss_peak / 1024, 1),
            "kib_per_connection": round((rss_connected - rss_before) / consoles, 1),
            "peak_kib_per_connection": round((rss_peak - rss_before) / consoles, 1),
        }
        # How it grows: the same consoles at 2x and 5x the calls per second (half as long),
        # once the CPU and memory of the load above are read.
        growth = [
            await load(
                telephony.url,
                endpoints.kafka_bootstrap_servers,
                f"{prefix}telephony.calls",
                clients_by_ext,
                rate * factor,
                seconds / 2,
            )
            for factor in (2, 5)
        ]
        ratio = None
        if (
            base["to_every_console_ms"]["p50"]
            and under_load["from_accepted_to_every_console_ms"]["p50"]
        ):
            ratio = round(
                under_load["from_accepted_to_every_console_ms"]["p50"]
                / base["to_every_console_ms"]["p50"],
                1,
            )
        result = {
            "benchmark": "notify",
            "measured_at": datetime.now(UTC).isoformat(),
            "machine": machine(),
            "infrastructure": endpoints.source,
            "consoles": consoles,
            "operators_per_extension": PER_EXTENSION,
            "extensions": len(extensions),
            "connect_seconds": round(connect_seconds, 2),
            "baseline_redis_publish_to_ws": base,
            "kafka_call_started_to_popup": direct,
            "webhook_to_popup": under_load,
            "growth": [_growth_entry(g) for g in growth],
            "p50_ratio_webhook_vs_baseline": ratio,
            "cpu_cores_used_during_load": cpu_shares,
            "notify_memory": memory,
        }
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for service in reversed(services):
            service.stop()
        await cleanup(endpoints, run, prefix)
    return result


def _growth_entry(run: dict[str, Any]) -> dict[str, Any]:
    """What the scaling table shows of a load run at a higher rate."""
    return {
        "rate_per_second": run["rate_per_second"],
        "calls": run["calls"],
        "accepted_rate_per_second": run["accepted_rate_per_second"],
        "from_accepted_to_every_console_ms": run["from_accepted_to_every_console_ms"],
        "calls_not_at_every_console": run["calls_not_at_every_console"],
        "popups_at_consoles_of_other_extensions": run["popups_at_consoles_of_other_extensions"],
    }


async def cleanup(endpoints: Any, run: str, prefix: str) -> None:
    """Drop the run's databases, topics and Redis keys."""
    import sqlalchemy as sa
    from aiokafka.admin import AIOKafkaAdminClient
    from redis.asyncio import Redis
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        make_url(endpoints.database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    async with engine.connect() as conn:
        for name in ("switchboard_notify", "switchboard_telephony"):
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}_bench{run}" WITH (FORCE)'))
    await engine.dispose()
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap_servers)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
    redis = Redis.from_url(endpoints.redis_url)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    for start in range(0, len(keys), 500):
        await redis.delete(*keys[start : start + 500])
    await redis.aclose()


def report(result: dict[str, Any]) -> None:
    """Print the figures."""
    m = result["machine"]
    print(f"machine: {m['nproc']} x {m['cpu_model']}, {m['memory']}, Python {m['python']}")
    print(f"infrastructure: {result['infrastructure']}")
    print(
        f"consoles: {result['consoles']} ({result['operators_per_extension']} per extension, "
        f"{result['extensions']} extensions), connected in {result['connect_seconds']} s"
    )
    base = result["baseline_redis_publish_to_ws"]
    print(
        "baseline Redis publish → every console of the extension: "
        f"p50 {base['to_every_console_ms']['p50']} ms, p99 {base['to_every_console_ms']['p99']} ms"
    )
    direct = result["kafka_call_started_to_popup"]["from_kafka_ack_to_every_console_ms"]
    print(
        "CallStarted produced on telephony.calls → every console (notify's pipeline): "
        f"p50 {direct['p50']} ms, p99 {direct['p99']} ms"
    )
    load_ = result["webhook_to_popup"]
    every = load_["from_accepted_to_every_console_ms"]
    each = load_["from_accepted_to_each_console_ms"]
    print(
        f"load: {load_['calls']} calls sent at {load_['sent_rate_per_second']}/s, accepted at "
        f"{load_['accepted_rate_per_second']}/s (webhook {load_['webhook_status_codes']}, "
        f"p50 {load_['webhook_latency_ms']['p50']} ms)"
    )
    print(
        f"webhook 202 → pop-up at every console: p50 {every['p50']} ms, p99 {every['p99']} ms, "
        f"max {every['max']} ms; at each console p50 {each['p50']} ms, p99 {each['p99']} ms; "
        f"calls not at every console: {load_['calls_not_at_every_console']}; pop-ups at "
        f"consoles of other extensions: {load_['popups_at_consoles_of_other_extensions']}"
    )
    split = load_["breakdown_ms"]
    print(
        "  of which webhook 202 → CallStarted on telephony.calls: "
        f"p50 {split['accepted_to_call_started_on_kafka']['p50']} ms; CallStarted → every "
        f"console: p50 {split['call_started_to_every_console']['p50']} ms"
    )
    for g in result["growth"]:
        ms = g["from_accepted_to_every_console_ms"]
        print(
            f"  at {g['rate_per_second']:g} calls/s ({g['calls']} calls): p50 {ms['p50']} ms, "
            f"p99 {ms['p99']} ms, max {ms['max']} ms; calls not at every console: "
            f"{g['calls_not_at_every_console']}"
        )
    print(f"p50 ratio webhook→pop-up / baseline: {result['p50_ratio_webhook_vs_baseline']}")
    mem = result["notify_memory"]
    print(
        f"notify memory: {mem['kib_per_connection']} KiB per connection "
        f"(peak {mem['peak_kib_per_connection']} KiB), RSS {mem['rss_before_connections_mib']} → "
        f"{mem['rss_with_connections_mib']} MiB, peak {mem['peak_rss_mib']} MiB"
    )
    print(f"CPU cores used during the load: {result['cpu_cores_used_during_load']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="calls per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true", help="100 consoles, 20 calls/s, 5 s")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "notify.json")
    args = parser.parse_args()
    if args.quick:
        args.consoles, args.rate, args.seconds = 100, 20.0, 5.0
    outcome = asyncio.run(main(args.consoles, args.rate, args.seconds))
    report(outcome)
    write_result(args.out, outcome)
