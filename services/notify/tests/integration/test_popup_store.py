"""The Redis scripts on their own, against the real Redis: state, fan-out, idempotency."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from switchboard_notify.adapters.popup_store import PopupStore
from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALL = {"caller": {"number": "+79161234567", "display": "+7 916 123-45-67"}, "clinic": None}
IDENT = {"identification": "known", "contact": {"id": "p-1"}, "candidates": []}
LATER = {"identification": "known", "contact": {"id": "p-2"}, "candidates": []}
UNKNOWN = {"identification": "unknown", "contact": None, "candidates": [], "caller": None}
#: When crm-touch identified the caller (the stored identification keeps the newest).
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Listener:
    """Everything published under the store's prefix, in order."""

    def __init__(self, redis: Redis, store: PopupStore):
        self.pubsub = redis.pubsub()
        self.store = store
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.pubsub.psubscribe(self.store.extension_pattern)
        await self.pubsub.subscribe(self.store.closes_channel)
        for _ in range(2):
            await self.pubsub.get_message(timeout=5)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            msg = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if msg is not None:
                channel = msg["channel"].removeprefix(self.store.prefix)
                self.messages.append((channel, json.loads(msg["data"])))

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.pubsub.aclose()

    async def count(self, n: int) -> list[tuple[str, dict[str, Any]]]:
        async def enough() -> bool:
            return len(self.messages) >= n

        await wait_until(enough, timeout=10, message=f"{n} messages")
        return self.messages


@pytest_asyncio.fixture(loop_scope="session", params=[2.0])
async def store(
    settings_env: dict[str, str], request: pytest.FixtureRequest
) -> AsyncIterator[tuple[PopupStore, Listener]]:
    """A store on its own prefix, with the identification bound given by ``param``."""
    redis = Redis.from_url(settings_env["REDIS_URL"], decode_responses=True)
    prefix = f"{settings_env['TOPIC_PREFIX']}store-{uuid.uuid4().hex[:6]}:"
    popup_store = PopupStore(
        redis, prefix, popup_ttl=600, closed_ttl=300, identification_timeout=request.param
    )
    listener = Listener(redis, popup_store)
    await listener.start()
    yield popup_store, listener
    await listener.stop()
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_ring_identify_close_publish_once_each_with_growing_versions(
    store: tuple[PopupStore, Listener],
) -> None:
    s, listener = store
    assert await s.ring("c1", "101", CALL, full=True)
    assert not await s.ring("c1", "101", CALL, full=True)  # replayed: nothing new
    assert not await s.ring("c1", "101", {"clinic": None}, full=False)  # partial: no gap
    assert await s.ring("c1", "102", CALL, full=True)  # rings a second extension
    assert await s.identify("c1", IDENT, T0)
    assert not await s.identify("c1", IDENT, T0)
    closed = await s.close("c1", {"reason": "answered"})
    assert (closed.outcome, closed.close) == (1, {"reason": "answered"})
    again = await s.close("c1", {"reason": "ended"})
    assert (again.outcome, again.close) == (0, {"reason": "answered"})
    assert not await s.ring("c1", "101", CALL, full=True)  # late ringing: stays closed

    messages = await listener.count(5)
    channels = [c for c, _ in messages]
    assert channels == ["ext:101", "ext:102", "ext:101", "ext:102", "closes"]
    versions = [m["version"] for _, m in messages]
    assert versions[0] < versions[1] < versions[2] == versions[3] < versions[4]
    assert messages[0][1]["ident"] is None
    assert messages[2][1]["ident"] == IDENT
    assert messages[2][1]["call"] == CALL
    assert messages[4][1]["close"] == {"reason": "answered"}

    ttl_closed = await s.redis.ttl(f"{s.prefix}call:c1")
    assert 0 < ttl_closed <= 300
    assert await s.snapshot(frozenset({"101", "102"}), [], limit=10) == []
    replay = await s.snapshot(frozenset(), ["c1"], limit=10)
    assert [(m["kind"], m["close"]["reason"]) for m in replay] == [("closed", "answered")]


async def test_identification_before_the_ring_is_in_the_first_popup(
    store: tuple[PopupStore, Listener],
) -> None:
    s, listener = store
    assert not await s.identify("c2", IDENT, T0)  # nothing open yet: stored, not published
    assert 0 < await s.redis.ttl(f"{s.prefix}call:c2") <= 600
    assert await s.ring("c2", "201", CALL, full=True)
    (channel, first), *_ = await listener.count(1)
    assert channel == "ext:201"
    assert first["ident"] == IDENT
    snapshot = await s.snapshot(frozenset({"201", "999"}), [], limit=10)
    assert [(m["call_id"], m["extension"], m["ident"]) for m in snapshot] == [("c2", "201", IDENT)]


async def test_outgoing_calls_never_open_and_only_the_ringing_extension_may_take(
    store: tuple[PopupStore, Listener],
) -> None:
    s, listener = store
    await s.ignore("out")
    assert not await s.ring("out", "301", CALL, full=False)
    assert (await s.close("out", {"reason": "ended"})).outcome == 0

    await s.ring("c3", "301", CALL, full=True)
    assert (await s.take("c3", {"reason": "taken"}, frozenset({"999"}))).outcome == -1
    assert (await s.take("nope", {"reason": "taken"}, frozenset({"301"}))).outcome == -1
    won = await s.take("c3", {"reason": "taken", "by": "a"}, frozenset({"301", "999"}))
    assert (won.outcome, won.extension) == (1, "301")
    lost = await s.take("c3", {"reason": "taken", "by": "b"}, frozenset({"301"}))
    assert (lost.outcome, lost.close) == (0, {"reason": "taken", "by": "a"})
    messages = await listener.count(2)
    assert [c for c, _ in messages] == ["ext:301", "closes"]


async def test_a_close_of_an_unknown_call_is_still_published(
    store: tuple[PopupStore, Listener],
) -> None:
    # What happens after Redis lost its data: sessions that show the call still hear of it.
    s, listener = store
    assert (await s.close("lost", {"reason": "answered"})).outcome == 1
    messages = await listener.count(1)
    assert messages[0][0] == "closes"
    assert messages[0][1]["call_id"] == "lost"


async def test_an_older_identification_never_replaces_a_newer_one(
    store: tuple[PopupStore, Listener],
) -> None:
    # crm-touch's CallerIdentified and a later TouchUpdated may be read in either order.
    s, listener = store
    assert await s.ring("c5", "501", CALL, full=True)
    assert await s.identify("c5", LATER, T0 + timedelta(seconds=5))
    assert not await s.identify("c5", IDENT, T0)
    messages = await listener.count(2)
    assert [m["ident"] for _, m in messages] == [None, LATER]
    snapshot = await s.snapshot(frozenset({"501"}), [], limit=10)
    assert [m["ident"] for m in snapshot] == [LATER]


@pytest.mark.parametrize("store", [0.0], indirect=True)
async def test_a_popup_unidentified_past_the_bound_shows_unknown_until_identified(
    store: tuple[PopupStore, Listener],
) -> None:
    # A bound of zero: every pop-up is due at once, so no test time passes waiting for it.
    s, listener = store
    assert await s.ring("slow", "601", CALL, full=True)
    assert not await s.identify("fast", IDENT, T0)  # identified before it rings
    assert await s.ring("fast", "601", CALL, full=True)
    assert await s.ring("gone", "601", CALL, full=True)
    assert (await s.close("gone", {"reason": "answered"})).outcome == 1
    assert await s.settle_unidentified(UNKNOWN) == 1  # "slow" only
    assert await s.settle_unidentified(UNKNOWN) == 0  # settled once
    assert await s.identify("slow", IDENT, T0)  # the real identification still comes in
    messages = await listener.count(6)
    about_slow = [m["ident"] for _, m in messages if m.get("call_id") == "slow"]
    assert about_slow == [None, UNKNOWN, IDENT]
    assert [m["ident"] for _, m in messages if m.get("call_id") == "fast"] == [IDENT]
