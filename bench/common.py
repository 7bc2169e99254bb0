"""What every benchmark shares: the machine it ran on, timing a read of a whole topic,
removing its throw-away topics, service processes on free ports and latency percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write a benchmark's figures as JSON (what `run_all.py` summarises) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written: {path}")


def machine() -> dict[str, Any]:
    """nproc, CPU model, memory, Python and OS of this machine (printed beside each figure)."""
    model, memory = "unknown", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GiB"
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix`` (a benchmark's own)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()


async def timed_drain(
    bootstrap: str,
    topic: str,
    expected: int,
    handle: Callable[[list[Any]], Awaitable[None]] | None = None,
) -> float:
    """Seconds a bare aiokafka consumer takes to read ``expected`` records of ``topic`` from
    its start, 500 per fetch: the baseline a service's consumer is measured against.

    The clock starts with the first record, not the first fetch: that one also waits for
    the partition assignment, which is not reading. ``handle`` gets each fetched batch
    (what a baseline does per batch: an ``INSERT`` per record, one ``COPY``); without it
    the records are only counted, so the bare baseline does nothing else.
    """
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        seen = 0
        began: float | None = None
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            got = sum(len(records) for records in batches.values())
            if not got:
                continue
            if began is None:
                began = time.perf_counter()
            if handle is not None:
                await handle([r for records in batches.values() for r in records])
            seen += got
        assert began is not None
        return time.perf_counter() - began
    finally:
        await consumer.stop()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` memory field (``VmRSS``, ``VmHWM``) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50 / p99 / max in milliseconds."""
    if not values:
        return {"p50": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, max(0, int(len(ordered) * 0.99 + 0.5) - 1))]
    return {
        "p50": round(statistics.median(ordered) * 1000, 1),
        "p99": round(p99 * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


class Service:
    """One service process (``switchboard-<name> serve``) on a free port."""

    def __init__(self, name: str, env: dict[str, str], *, log_tag: str = "notify"):
        self.name = name
        self.port = free_port()
        command = Path(sys.executable).parent / f"switchboard-{name}"
        logs = REPO / ".cache" / "bench"
        logs.mkdir(parents=True, exist_ok=True)
        self.log = open(logs / f"{log_tag}-{name}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(command), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, client: httpx.AsyncClient, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{self.url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
