"""What every socket connector does, whatever the PBX: connect, log in, read, publish, retry.

A subclass says how to log in, how to read one message, how to ask "are you there?" and how
to translate a message; :class:`PbxSocketConnector` does the rest, the same way for each:

* it publishes what a message means and waits until the broker acknowledged it before it
  reads the next one (a PBX cannot replay what was read: nothing is lost by a crash);
* it sends a keep-alive every ``ping_interval`` seconds and gives a connection up after
  three silent periods;
* a dropped or refused connection (or login) is reopened for ever, with exponential backoff
  from ``backoff_initial`` to ``backoff_max`` seconds, ±20 % jitter, so that several
  connectors do not hammer a restarting PBX at once;
* a failure to publish ends :meth:`run` with the error: the process must not pretend, let the
  supervisor restart it.

Secrets are the endpoint's ``SecretStr``, written only to the socket: in no log line, no
exception, no ``repr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from switchboard_runtime.kafka import acknowledged
from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy, start_over

__all__ = ["KafkaRawPublisher", "LoginFailed", "PbxSocketConnector", "Publish"]

log = get_logger(__name__)

Publish = Callable[[list[dict[str, Any]]], Awaitable[None]]
"""Where generic events go: returns once they are durably stored (or raises)."""

M = TypeVar("M")


class LoginFailed(ConnectionError):
    """The PBX refused the credentials (the message never holds the secret)."""


class _SessionEnded(Exception):
    """The PBX closed a session cleanly; connecting again is still wanted."""


class PbxSocketConnector(Generic[M]):
    """Reads one PBX endpoint for ever and publishes what it means (see the module doc).

    ``protocol`` names the log lines (``<protocol>.connected``, ``.login_failed``, ...).
    """

    protocol = "pbx"

    def __init__(
        self,
        host: str,
        port: int,
        publish: Publish,
        *,
        ping_interval: float = 20.0,
        connect_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_line_bytes: int = 64 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.host = host
        self.port = port
        self.publish = publish
        self.ping_interval = ping_interval
        self.connect_timeout = connect_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_line_bytes = max_line_bytes
        self.clock = clock
        # Only a lost or refused connection is retried; a publish failure ends the run.
        self._reconnect = RetryPolicy(
            first_delay=backoff_initial,
            max_delay=backoff_max,
            jitter=0.2,
            retry_on=(OSError, ConnectionError, TimeoutError, _SessionEnded),
        )
        self.connections = 0
        """Successful logins so far."""
        self.messages_read = 0
        self.events_published = 0
        self.publishing = False
        """True while a message's events are being published (acks awaited)."""
        self._stopping = asyncio.Event()

    # --- what a protocol says ---------------------------------------------------------------

    async def login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Greet, authenticate and subscribe; :class:`LoginFailed` if refused."""
        raise NotImplementedError

    async def read(self, reader: asyncio.StreamReader) -> M | None:
        """The next message; None once the peer closed the connection."""
        raise NotImplementedError

    def ping(self) -> bytes:
        """The bytes of one keep-alive request."""
        raise NotImplementedError

    def translate(self, message: M, received_at: datetime) -> list[dict[str, Any]]:
        """The generic events ``message`` means."""
        raise NotImplementedError

    def log_fields(self) -> dict[str, Any]:
        """Fields added to the connection's log lines (never a secret)."""
        return {"host": self.host, "port": self.port}

    # --- running ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return (it closes the connection it holds)."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect, read and publish until :meth:`stop`; reconnect with bounded backoff.

        A failure to publish (the broker unreachable beyond the publisher's own retries)
        is raised: the PBX cannot replay what was read, so the process must not pretend.
        """
        async for attempt in self._reconnect.retrying(
            stop=self._stopping.is_set, sleep=self._sleep, on_retry=self._log_retry
        ):
            with attempt:
                await self._stop_aware(self.run_once())
                if not self._stopping.is_set():
                    # The session ended cleanly: start afresh, after the first delay.
                    start_over(attempt)
                    raise _SessionEnded()

    async def run_once(self) -> None:
        """One connection: log in, then translate and publish events until it closes."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=self.max_line_bytes),
            timeout=self.connect_timeout,
        )
        pinger: asyncio.Task[None] | None = None
        try:
            await self.login(reader, writer)
            self.connections += 1
            log.info(f"{self.protocol}.connected", **self.log_fields())
            pinger = asyncio.create_task(self._ping_forever(writer), name=f"{self.protocol}-ping")
            while True:
                # Silence for three ping periods means the connection is dead.
                message = await asyncio.wait_for(self.read(reader), timeout=self.ping_interval * 3)
                if message is None:
                    log.info(f"{self.protocol}.closed_by_peer", **self.log_fields())
                    return
                self.messages_read += 1
                generic = self.translate(message, self.clock())
                if generic:
                    self.publishing = True
                    try:
                        await self.publish(generic)
                    finally:
                        self.publishing = False
                    self.events_published += len(generic)
        finally:
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await pinger
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def _log_retry(self, exc: BaseException, seconds: float, attempt: int) -> None:
        if isinstance(exc, LoginFailed):
            # Worth retrying (the PBX's configuration may be being reloaded), but loud.
            log.error(
                f"{self.protocol}.login_failed",
                **self.log_fields(),
                error=str(exc),
                retry_in=round(seconds, 2),
            )
        elif not isinstance(exc, _SessionEnded):  # run_once logged the peer's close
            log.warning(
                f"{self.protocol}.disconnected",
                **self.log_fields(),
                error=str(exc) or type(exc).__name__,
                retry_in=round(seconds, 2),
            )

    async def _ping_forever(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            writer.write(self.ping())
            await writer.drain()

    async def _stop_aware(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.done() and not task.cancelled():
            task.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


class KafkaRawPublisher:
    """Publishes generic PBX events to ``pbx.events.raw``, keyed by call id, acks awaited.

    A failed send is retried (the whole batch: a duplicate is harmless, every event has an
    ``event_id`` the consumer dedupes on) ``attempts`` times with backoff, then raised.
    ``broker`` is a started FastStream Kafka broker (``switchboard_runtime.kafka.make_broker``).
    """

    def __init__(
        self, broker: Any, topic: str, *, attempts: int = 5, log_event: str = "pbx.publish_retry"
    ) -> None:
        self.broker = broker
        self.topic = topic
        self.attempts = attempts
        # A few quick tries (0.2 s doubling up to 5 s): the producer already retried inside,
        # and reading on from the PBX must wait for this publish.
        self._retry = RetryPolicy(
            first_delay=0.2, max_delay=5.0, attempts=attempts, log_event=log_event
        )

    async def __call__(self, events: list[dict[str, Any]]) -> None:
        """Publish ``events`` in order and wait until the broker acknowledged all of them."""

        async def publish_once() -> None:
            futures = [
                await self.broker.publish(
                    json.dumps(event, separators=(",", ":")).encode(),
                    topic=self.topic,
                    key=str(event["call_id"]).encode(),
                    headers={"content-type": "application/json"},
                    no_confirm=True,
                )
                for event in events
            ]
            await acknowledged(futures)

        await self._retry.call(publish_once)
