"""This replica's end of the Redis fan-out: one pub/sub connection, the local sessions.

Every replica listens to every extension channel (one pattern subscription), the closes,
directory, worklist and current-call channels, and hands each message to the sessions *it*
holds: a pop-up only to sessions whose operator is on that extension, a close only to
sessions that show the call, a worklist change to every session, a current call only to
the sessions of the operator who has it. Whichever pod consumed the event, every pod's
consoles see it.

Redis going away is survived: the listener reconnects on its own with bounded back-off,
subscribes again, and asks every local session to resynchronise (messages published while
it was away are missed; the state they left behind is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any, Protocol

from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import Attempt, RetryPolicy, start_over

log = get_logger(__name__)

SESSIONS = Gauge("switchboard_notify_sessions", "Console sessions connected to this replica")
REDIS_RECONNECTS = Counter(
    "switchboard_notify_redis_reconnects_total", "Times the pub/sub listener reconnected"
)
FANOUT_MESSAGES = Counter(
    "switchboard_notify_fanout_messages_total", "Pub/sub messages received", ["kind"]
)


class LocalSession(Protocol):
    """What the hub needs from a console session it holds."""

    operator_id: str
    extensions: frozenset[str]

    def on_popup(self, msg: dict[str, Any]) -> None:
        """An internal pop-up message for one of the session's extensions."""

    def on_closed(self, msg: dict[str, Any]) -> None:
        """An internal closed message the session may be concerned by."""

    def concerned_by_close(self, call_id: str) -> bool:
        """Whether a close of ``call_id`` may concern the session (cheap check)."""

    def on_operator_changed(self, change: dict[str, Any]) -> None:
        """The directory changed this session's operator."""

    def on_current(self, msg: dict[str, Any]) -> None:
        """An internal current-call message for this session's operator."""

    def on_resync(self) -> None:
        """Redis came back after an outage: re-read the state."""

    def on_worklist_changed(self, change: dict[str, Any]) -> None:
        """The call-back worklist changed."""


class Hub:
    """The replica's pub/sub listener and the index of its local sessions."""

    def __init__(
        self,
        redis_url: str,
        *,
        extension_pattern: str,
        extension_prefix: str,
        closes_channel: str,
        directory_channel: str,
        worklist_channel: str,
        current_channel: str,
        reconnect_max_seconds: float,
        redis_factory: Callable[[str], Redis] | None = None,
    ):
        self._redis_url = redis_url
        self._pattern = extension_pattern
        self._ext_prefix = extension_prefix
        self._closes = closes_channel
        self._directory = directory_channel
        self._worklist = worklist_channel
        self._current = current_channel
        # Redis away: resubscribe for as long as the replica runs, after 0.1 s doubling up to
        # ``reconnect_max_seconds`` (5 s by default), counted afresh after each subscription.
        self._reconnect = RetryPolicy(first_delay=0.1, max_delay=reconnect_max_seconds)
        self._factory = redis_factory or _pubsub_client
        self.by_extension: dict[str, set[LocalSession]] = {}
        self.by_operator: dict[str, set[LocalSession]] = {}
        self.sessions: set[LocalSession] = set()
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._subscribed_before = False

    # Sessions --------------------------------------------------------------------------

    def register(self, session: LocalSession) -> None:
        """Start handing messages to ``session``."""
        self.sessions.add(session)
        self.by_operator.setdefault(session.operator_id, set()).add(session)
        for ext in session.extensions:
            self.by_extension.setdefault(ext, set()).add(session)
        SESSIONS.inc()

    def unregister(self, session: LocalSession) -> None:
        """Stop handing messages to ``session``."""
        if session not in self.sessions:
            return
        self.sessions.discard(session)
        _discard(self.by_operator, session.operator_id, session)
        for ext in session.extensions:
            _discard(self.by_extension, ext, session)
        SESSIONS.dec()

    def move(self, session: LocalSession, old: frozenset[str]) -> None:
        """Re-index ``session`` after its extensions changed from ``old``."""
        for ext in old - session.extensions:
            _discard(self.by_extension, ext, session)
        for ext in session.extensions - old:
            self.by_extension.setdefault(ext, set()).add(session)

    # Listener --------------------------------------------------------------------------

    def start(self) -> None:
        """Start listening in the background (returns at once; see :attr:`connected`)."""
        self._stopping = False
        self._task = asyncio.create_task(self._listen_forever(), name="notify-pubsub")

    async def stop(self) -> None:
        """Stop listening."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    async def _listen_forever(self) -> None:
        self._subscribed_before = False
        async for attempt in self._reconnect.retrying(
            stop=lambda: self._stopping, on_retry=_log_lost
        ):
            with attempt:
                await self._listen_once(attempt)

    async def _listen_once(self, attempt: Attempt) -> None:
        """Subscribe, then dispatch until the connection fails (raises)."""
        client = self._factory(self._redis_url)
        pubsub = client.pubsub()
        try:
            await pubsub.psubscribe(self._pattern)
            await pubsub.subscribe(self._closes, self._directory, self._worklist, self._current)
            # Wait for the five confirmations: from then on nothing is missed.
            confirmed = 0
            while confirmed < 5:
                msg = await pubsub.get_message(timeout=5.0)
                if msg is None:
                    raise TimeoutError("no subscribe confirmation from Redis")
                if msg["type"] in ("subscribe", "psubscribe"):
                    confirmed += 1
            self.connected.set()
            start_over(attempt)  # a later loss waits the first delay, not the last one
            if not self._subscribed_before:
                log.info("notify.pubsub_connected")
            else:
                REDIS_RECONNECTS.inc()
                log.info("notify.pubsub_reconnected", sessions=len(self.sessions))
                for session in list(self.sessions):
                    session.on_resync()
            self._subscribed_before = True
            while True:
                msg = await pubsub.get_message(timeout=1.0)
                if msg is not None:
                    self._dispatch(msg)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind not in ("message", "pmessage"):
            return
        channel: str = msg["channel"]
        try:
            data = json.loads(msg["data"])
        except (TypeError, ValueError):
            log.warning("notify.bad_fanout_message", channel=channel)
            return
        if kind == "pmessage":
            FANOUT_MESSAGES.labels("popup").inc()
            ext = channel.removeprefix(self._ext_prefix)
            for session in list(self.by_extension.get(ext, ())):
                session.on_popup(data)
        elif channel == self._closes:
            FANOUT_MESSAGES.labels("closed").inc()
            call_id = data.get("call_id")
            for session in list(self.sessions):
                if session.concerned_by_close(call_id):
                    session.on_closed(data)
        elif channel == self._directory:
            FANOUT_MESSAGES.labels("directory").inc()
            for session in list(self.by_operator.get(data.get("operator_id"), ())):
                session.on_operator_changed(data)
        elif channel == self._worklist:
            FANOUT_MESSAGES.labels("worklist").inc()
            for session in list(self.sessions):
                session.on_worklist_changed(data)
        elif channel == self._current:
            FANOUT_MESSAGES.labels("current").inc()
            for session in list(self.by_operator.get(data.get("operator_id"), ())):
                session.on_current(data)


def _discard(index: dict[str, set[LocalSession]], key: str, session: LocalSession) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(session)
        if not members:
            del index[key]


def _log_lost(exc: BaseException, seconds: float, attempt: int) -> None:
    if isinstance(exc, RedisError | OSError | TimeoutError):
        log.warning("notify.pubsub_lost", error=repr(exc), retry_in=round(seconds, 3))
    else:  # a bug must not end fan-out for this replica: log it whole, and listen again
        log.error("notify.pubsub_failed", error=repr(exc), exc_info=exc)


def _pubsub_client(url: str) -> Redis:
    # No silent retries inside redis-py: a lost connection must surface here, so the
    # listener knows to resubscribe and have its sessions resynchronise. The health check
    # pings an idle connection, so a silently dead one is noticed too.
    return Redis.from_url(
        url,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=2.0,
        health_check_interval=10,
    )
