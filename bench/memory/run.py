"""Memory benchmark: each service's resident memory at idle, against a bare Python process.

Starts the whole platform as real processes the way the browser tests do
(``tests/e2e/live_platform.py``: booking seeded, every ``switchboard-<name> serve`` on a free
port, own topic prefix and database suffix), waits for every ``/readyz``, lets it idle, then
reads each process's ``VmRSS`` (and ``VmHWM``, the peak) from ``/proc/<pid>/status``, its
children's included. Baseline in the same run: a bare
``python -c "import fastapi, faststream, sqlalchemy, ..."`` process — what the framework
alone costs before any of the service's own code. Databases and topics are dropped at the end.

    uv run python bench/memory/run.py [--idle 10] [--out bench/results/memory.json]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from common import machine, write_result  # noqa: E402 - bench/ is not a package

#: The issue's ceiling for one service at idle.
TARGET_MIB = 150.0
#: What every service imports before its own code (the baseline process imports these).
FRAMEWORK = "import fastapi, faststream, faststream.kafka, sqlalchemy, asyncpg, redis, uvicorn"


def status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` memory field (``VmRSS``, ``VmHWM``) in KiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (uvicorn workers, if a service ever forks)."""
    found: list[int] = []
    try:
        direct = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in map(int, direct):
        found += [child, *children(child)]
    return found


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """The process's and its descendants' ``field`` in MiB."""
    return sum(status_kib(p, field) for p in [pid, *children(pid)]) / 1024


def bare_python_mib() -> dict[str, float]:
    """RSS of a process that imports the frameworks and then waits."""
    process = subprocess.Popen(
        [sys.executable, "-c", f"{FRAMEWORK}; import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        # Settled once the imports are done: RSS stops growing for a second.
        last, steady_since = -1.0, time.monotonic()
        while time.monotonic() < deadline:
            now = rss_mib(process.pid)
            if now != last:
                last, steady_since = now, time.monotonic()
            elif time.monotonic() - steady_since > 1.0:
                break
            time.sleep(0.1)
        return {"rss_mib": round(last, 1), "peak_mib": round(rss_mib(process.pid, "VmHWM"), 1)}
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        process.wait(timeout=10)


def main(idle: float) -> dict[str, Any]:
    """Start the platform, let it idle, read every process's memory, stop and clean up."""
    import live_platform

    from switchboard_runtime.testing.infra import resolve_endpoints
    from switchboard_runtime.testing.plugin import cleanup_run

    endpoints = resolve_endpoints(REPO)
    run = f"mem{uuid.uuid4().hex[:8]}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
        "DATABASE_URL": endpoints.database_url,
        "REDIS_URL": endpoints.redis_url,
        "TOPIC_PREFIX": f"t{run}.",
        "DATABASE_SUFFIX": f"_{run}",
        "LOG_LEVEL": "WARNING",
    }
    # The gateway serves whatever bundle exists; building it is not what is measured.
    if (live_platform.CONSOLE_DIR / "dist" / "index.html").is_file():
        live_platform.bundle_is_stale = lambda: False
    platform = live_platform.Platform(env=env, log_dir=REPO / ".cache" / "bench" / "memory-logs")
    baseline = bare_python_mib()
    services: dict[str, Any] = {}
    try:
        began = time.monotonic()
        platform.start()
        ready_seconds = time.monotonic() - began
        time.sleep(idle)
        for name, process in platform.processes.items():
            rss = rss_mib(process.pid)
            services[name] = {
                "rss_mib": round(rss, 1),
                "peak_mib": round(rss_mib(process.pid, "VmHWM"), 1),
                "processes": 1 + len(children(process.pid)),
                "over_bare_python_mib": round(rss - baseline["rss_mib"], 1),
                "met": rss <= TARGET_MIB,
            }
    finally:
        platform.stop()
        asyncio.run(cleanup_run(endpoints, run))
        endpoints.close()
    return {
        "benchmark": "memory",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "infrastructure": endpoints.source,
        "idle_seconds": idle,
        "start_and_ready_seconds": round(ready_seconds, 1),
        "target_mib": TARGET_MIB,
        "baseline_bare_python": {"what": f'python -c "{FRAMEWORK}"', **baseline},
        "services": services,
        "max_rss_mib": max(s["rss_mib"] for s in services.values()),
        "all_met": all(s["met"] for s in services.values()),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before reading")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "memory.json")
    args = parser.parse_args()
    result = main(args.idle)
    m, b = result["machine"], result["baseline_bare_python"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory']}, Python {m['python']}")
    print(f"baseline (bare python importing the frameworks): {b['rss_mib']} MiB RSS")
    for name, s in result["services"].items():
        print(
            f"{name:<10} idle RSS {s['rss_mib']:>6} MiB (peak {s['peak_mib']} MiB; "
            f"{s['over_bare_python_mib']:+} MiB over bare python; "
            f"{'met' if s['met'] else 'NOT met'} ≤ {TARGET_MIB:.0f} MiB)"
        )
    write_result(args.out, result)
