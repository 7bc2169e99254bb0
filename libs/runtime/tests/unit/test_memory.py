"""Freed heap handed back to the system (what an administrator sees as the RSS)."""

from __future__ import annotations

from pathlib import Path

from switchboard_runtime.memory import release_free_heap


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_the_freed_heap_leaves_the_rss() -> None:
    # 80 MiB in blocks the C allocator serves from its heap (over pymalloc's 512 bytes,
    # under glibc's mmap threshold), all freed but the last, which keeps the heap's top
    # in use so that free() alone cannot shrink it.
    blocks = [bytes(2048) for _ in range(40_000)]
    kept = blocks[-1]
    del blocks
    before = _rss_mib()
    assert release_free_heap()
    after = _rss_mib()
    assert before - after > 40, (before, after)
    assert len(kept) == 2048
