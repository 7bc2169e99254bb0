"""One console tab's live session: what it is sent, what it hears from the hub, its life cycle.

The protocol (every message with an example) is in the service README. In short: the
server says ``hello``, replays the pop-ups still open for the operator's extensions and
their current call, and says ``resumed``; from then on it pushes ``call.popup`` (new or
``"update": true``), ``call.popup.closed``, ``call.current``, ``call.current.cleared`` and
``worklist.changed`` (read the call-back worklist again), sends ``ping`` every
``heartbeat_seconds`` and answers the client's messages (``console_commands``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from prometheus_client import Counter
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_notify.adapters.current_calls import CurrentCallStore
from switchboard_notify.adapters.hub import Hub
from switchboard_notify.adapters.popup_store import PopupStore
from switchboard_notify.domain.current_call import CurrentCallView
from switchboard_notify.domain.popups import SessionView
from switchboard_notify.entrypoints.console_commands import reply_to, server_time
from switchboard_notify.settings import NotifySettings
from switchboard_runtime.auth import Principal
from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy
from switchboard_runtime.sessions import SessionRevocations

log = get_logger(__name__)

SENT = Counter("switchboard_notify_messages_sent_total", "Messages sent to consoles", ["type"])

#: Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_TRY_AGAIN = 1013
CLOSE_GOING_AWAY = 1001


class SnapshotUnavailable(Exception):
    """Redis could not be read for a session's snapshot (tried again)."""


@dataclass
class ConsoleDeps:
    """What console sessions need, built once by ``bootstrap``."""

    settings: NotifySettings
    store: PopupStore
    current_calls: CurrentCallStore
    hub: Hub
    sessions: async_sessionmaker[AsyncSession]
    #: Ended sessions (logout, deactivation), refused at the handshake as at every request.
    revocations: SessionRevocations


class ConsoleSession:
    """One connected console tab (see module doc)."""

    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        name: str,
        extensions: frozenset[str],
        source: str,
        deps: ConsoleDeps,
    ):
        self.websocket = websocket
        self.session_id = uuid.uuid4().hex
        self.operator_id = principal.operator_id
        self.name = name
        self.role = principal.role
        self.extensions = extensions
        self.source = source
        self.deps = deps
        self.view = SessionView(extensions)
        self.current = CurrentCallView()
        self.last_heard = asyncio.get_running_loop().time()
        self._queue: asyncio.Queue[dict[str, Any] | tuple[int, str]] = asyncio.Queue()
        self._syncing = 0
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()

    # Outgoing --------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the client; a client too slow to keep up is let go."""
        if self._closing:
            return
        if self._queue.qsize() >= self.deps.settings.session_queue_max:
            log.warning("notify.session_too_slow", operator_id=self.operator_id)
            self.close_soon(CLOSE_TRY_AGAIN, "too slow, reconnect")
            return
        self._queue.put_nowait(message)

    def close_soon(self, code: int, reason: str) -> None:
        """Close the WebSocket after what is already queued."""
        if not self._closing:
            self._closing = True
            self._queue.put_nowait((code, reason))

    async def _sender(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, tuple):
                code, reason = item
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=code, reason=reason)
                return
            await self.websocket.send_text(json.dumps(item, ensure_ascii=False))
            SENT.labels(item["type"]).inc()

    # From the hub ------------------------------------------------------------------------

    def on_popup(self, msg: dict[str, Any], *, resumed: bool = False) -> None:
        """An internal pop-up message: show or update it if this session may see it."""
        out = self.view.popup(msg, resumed=resumed)
        if out is not None:
            self.send(out)

    def on_closed(self, msg: dict[str, Any]) -> None:
        """An internal closed message: close the pop-up if this session shows it."""
        out = self.view.closed(msg)
        if out is not None:
            self.send(out)

    def on_current(self, msg: dict[str, Any], *, resumed: bool = False) -> None:
        """An internal current-call message of this operator: show, update or clear it."""
        if msg["kind"] == "current":
            out = self.current.current(msg, resumed=resumed)
        else:
            out = self.current.cleared(msg)
        if out is not None:
            self.send(out)

    def concerned_by_close(self, call_id: str) -> bool:
        """While a snapshot is read every close counts (it may overtake the snapshot)."""
        return self._syncing > 0 or call_id in self.view.showing

    def on_operator_changed(self, change: dict[str, Any]) -> None:
        """The directory moved or deactivated this operator."""
        self._spawn(self._apply_operator_change(change))

    def on_resync(self) -> None:
        """Redis is back after an outage: re-read the open pop-ups and missed closes."""
        self._spawn(self._resync())
        # Worklist changes may have been missed too: the console reads it again.
        self.send({"type": "worklist.changed", "change": "resync"})

    def on_worklist_changed(self, change: dict[str, Any]) -> None:
        """The call-back worklist changed: the console reads it again (it is analytics'
        to show, with what this operator may see; the message says only what changed)."""
        self.send({"type": "worklist.changed", **change})

    async def _resync(self) -> None:
        # Until Redis answers or the session closes, with the hub's bounds (0.1 s doubling up
        # to ``redis_reconnect_max_seconds``); ``sync`` logs each failure itself.
        retry = RetryPolicy(
            first_delay=0.1,
            max_delay=self.deps.settings.redis_reconnect_max_seconds,
            log_event="notify.resync_retried",
            log_level="debug",
        )
        async for attempt in retry.retrying(stop=lambda: self._closing):
            with attempt:
                if self._closing:
                    return
                if not await self.sync(announce=False, close_on_failure=False):
                    raise SnapshotUnavailable()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sync(self, *, announce: bool, close_on_failure: bool = True) -> bool:
        """Send what is open on the session's extensions and close what closed meanwhile.

        Returns False when Redis could not be read (and, if ``close_on_failure``, asks the
        client to reconnect later).
        """
        self._syncing += 1
        try:
            messages = await self.deps.store.snapshot(
                self.extensions,
                sorted(self.view.showing),
                limit=self.deps.settings.resume_max_popups,
            )
            current = await self.deps.current_calls.snapshot(self.operator_id)
        except (RedisError, OSError) as exc:
            log.warning("notify.snapshot_failed", error=repr(exc))
            if close_on_failure:
                self.close_soon(CLOSE_TRY_AGAIN, "pop-up state unavailable, reconnect")
            return False
        finally:
            self._syncing -= 1
        for msg in messages:
            if msg["kind"] == "popup":
                self.on_popup(msg, resumed=True)
            else:
                self.on_closed(msg)
        if current is not None:
            self.on_current(current, resumed=True)
        elif (gone := self.current.gone()) is not None:
            self.send(gone)
        if announce:
            self.send({"type": "resumed", "open_popups": len(self.view.showing)})
        return True

    async def _apply_operator_change(self, change: dict[str, Any]) -> None:
        if not change.get("active", True):
            self.close_soon(CLOSE_FORBIDDEN, "operator deactivated")
            return
        extension = change.get("extension")
        new = frozenset({extension}) if extension else frozenset()
        if change.get("name"):
            self.name = change["name"]
        if new == self.extensions:
            return
        old, self.extensions = self.extensions, new
        for message in self.view.reassign(new, datetime.now(UTC)):
            self.send(message)
        self.deps.hub.move(self, old)
        self.send({"type": "extensions", "extensions": sorted(new), "source": "directory"})
        await self.sync(announce=False, close_on_failure=False)

    # Incoming ----------------------------------------------------------------------------

    async def _receiver(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            self.last_heard = asyncio.get_running_loop().time()
            reply = await reply_to(self, message.get("text"))
            if reply is not None:
                self.send(reply)

    # Life cycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the session until the client leaves or the server closes it."""
        hub = self.deps.hub
        settings = self.deps.settings
        self._syncing += 1  # closes must count from the moment the hub knows us
        hub.register(self)
        sender = asyncio.create_task(self._sender())
        try:
            self.send(
                {
                    "type": "hello",
                    "session_id": self.session_id,
                    "operator_id": self.operator_id,
                    "name": self.name,
                    "role": self.role,
                    "extensions": sorted(self.extensions),
                    "extensions_source": self.source,
                    "heartbeat_seconds": settings.heartbeat_seconds,
                    "idle_timeout_seconds": settings.idle_timeout_seconds,
                    "server_time": server_time(),
                }
            )
            try:
                await self.sync(announce=True)
            finally:
                self._syncing -= 1
            receiver = asyncio.create_task(self._receiver())
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, WebSocketDisconnect | OSError):
                    log.warning("notify.session_failed", error=repr(exc))
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await receiver
        finally:
            hub.unregister(self)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            for task in list(self._tasks):
                task.cancel()

    def heartbeat(self, now: float) -> None:
        """Ping the client; let it go when it has been silent too long."""
        if now - self.last_heard > self.deps.settings.idle_timeout_seconds:
            self.close_soon(CLOSE_IDLE, "no heartbeat")
        else:
            self.send({"type": "ping", "server_time": server_time()})
