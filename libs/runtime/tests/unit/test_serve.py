"""A service that does not finish stopping says what it is waiting for."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from switchboard_runtime.testing import plugin
from switchboard_runtime.testing.waiting import wait_until


async def test_a_stop_that_lasts_prints_where_each_task_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = io.StringIO()
    monkeypatch.setattr(plugin, "STOP_WITHIN", 0.05)
    monkeypatch.setattr(plugin, "STOP_REPORT_TO", report)
    released = asyncio.Event()

    async def drain_the_queue() -> None:
        await released.wait()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await drain_the_queue()  # a shutdown step that does not end by itself

    app = FastAPI(title="slow-to-stop", lifespan=lifespan)

    async def reported() -> bool | None:
        return "drain_the_queue" in report.getvalue() or None

    async def release_once_reported() -> None:
        await wait_until(reported, timeout=10, message="the report of the slow stop")
        released.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(release_once_reported())
        async with plugin.serve(app) as client:
            assert (await client.get("/docs")).status_code == 200

    text = report.getvalue()
    assert "slow-to-stop: still stopping after" in text
    assert "drain_the_queue" in text
