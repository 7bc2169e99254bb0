"""What every benchmark shares: the machine it ran on, timing a read of a whole topic, and
removing its throw-away topics."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


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
