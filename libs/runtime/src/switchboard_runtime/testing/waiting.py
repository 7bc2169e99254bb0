"""Waiting on a condition with a timeout, never on a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Call ``probe`` until it returns a truthy value and return that value.

    Raises ``TimeoutError`` naming ``message`` and the last value seen when
    ``timeout`` seconds pass first. ``interval`` is only the polling period.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} not met within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)
