"""The Asterisk Manager Interface (AMI) connector: AMI events in, ``pbx.events.raw`` out.

The AMI is a line protocol over TCP: Asterisk greets with ``Asterisk Call Manager/<ver>``,
then every message is ``Key: Value`` lines ended by an empty line. The connector logs in
(``Action: Login``), reads events for as long as the connection lives, turns them into
events of the generic JSON format with :class:`~.ami_translate.AmiTranslator`, and
publishes those to ``pbx.events.raw`` keyed by call id, waiting for the broker's
acknowledgements before it reads on. A dropped connection is reopened with bounded
exponential backoff; a ``Ping`` every ``ping_interval`` seconds notices a silent one.

The AMI secret is held as a :class:`~pydantic.SecretStr` and written only to the socket:
it is in no log line, no exception and no ``repr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from switchboard_runtime.kafka import acknowledged
from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy, start_over
from switchboard_telephony.adapters.ami_translate import AmiTranslator

__all__ = [
    "AmiConnector",
    "AmiEndpoint",
    "AmiLoginFailed",
    "AmiProtocolError",
    "KafkaRawPublisher",
    "Publish",
    "iter_messages",
    "parse_message",
    "read_message",
]

log = get_logger(__name__)

Publish = Callable[[list[dict[str, Any]]], Awaitable[None]]
"""Where generic events go: returns once they are durably stored (or raises)."""

#: Longest line and message the connector accepts: a runaway peer must not eat memory.
MAX_LINE_BYTES = 64 * 1024
MAX_MESSAGE_LINES = 1000


class AmiProtocolError(ConnectionError):
    """The peer does not speak AMI (no greeting, an oversized message, ...)."""


class AmiLoginFailed(ConnectionError):
    """Asterisk refused the username/secret (the message says nothing about the secret)."""


@dataclass(frozen=True)
class AmiEndpoint:
    """Where the AMI is and who to log in as."""

    host: str
    port: int
    username: str
    secret: SecretStr = field(repr=False)


def parse_message(lines: Iterable[str]) -> dict[str, str]:
    """One AMI message from its ``Key: Value`` lines; keys in lower case.

    The first occurrence of a repeated key wins; lines without a colon (the body of a
    legacy ``Response: Follows``) are skipped.
    """
    message: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            continue
        message.setdefault(key.strip().lower(), value.strip())
    return message


def iter_messages(text: str) -> Iterator[dict[str, str]]:
    """Every message of an AMI transcript (``\\r\\n`` or ``\\n`` line ends)."""
    block: list[str] = []
    for line in text.splitlines():
        if line.strip():
            block.append(line)
        elif block:
            yield parse_message(block)
            block = []
    if block:
        yield parse_message(block)


async def read_message(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """The next message on the connection; None when the peer closed it."""
    lines: list[str] = []
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                lines.append(exc.partial.decode("utf-8", "replace"))
            return parse_message(lines) if lines else None
        except asyncio.LimitOverrunError as exc:
            raise AmiProtocolError("AMI line too long") from exc
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip():
            lines.append(line)
            if len(lines) > MAX_MESSAGE_LINES:
                raise AmiProtocolError("AMI message too long")
        elif lines:
            return parse_message(lines)


def _action(name: str, **headers: str) -> bytes:
    text = f"Action: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (text + "\r\n").encode()


class AmiConnector:
    """Reads one AMI endpoint for ever and publishes what it means (see the module doc)."""

    def __init__(
        self,
        endpoint: AmiEndpoint,
        publish: Publish,
        *,
        translator: AmiTranslator | None = None,
        events: str = "call,cdr",
        ping_interval: float = 20.0,
        connect_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.endpoint = endpoint
        self.publish = publish
        self.translator = translator or AmiTranslator()
        self.events = events
        self.ping_interval = ping_interval
        self.connect_timeout = connect_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        # For ever, from 0.5 s up to 30 s by default, ±20 % jitter so that several connectors
        # do not hammer a restarting Asterisk at once. Only a lost or refused connection is
        # retried; a publish failure ends the run.
        self._reconnect = RetryPolicy(
            first_delay=backoff_initial,
            max_delay=backoff_max,
            jitter=0.2,
            retry_on=(OSError, ConnectionError, TimeoutError, _SessionEnded),
        )
        self.clock = clock
        self.connections = 0
        """Successful logins so far."""
        self.messages_read = 0
        self.events_published = 0
        self._action_ids = itertools.count(1)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to return (it closes the connection it holds)."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect, read and publish until :meth:`stop`; reconnect with bounded backoff.

        A failure to publish (the broker unreachable beyond the publisher's own retries)
        is raised: the AMI cannot replay what was read, so the process must not pretend.
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

    def _log_retry(self, exc: BaseException, seconds: float, attempt: int) -> None:
        where = {"host": self.endpoint.host, "port": self.endpoint.port}
        if isinstance(exc, AmiLoginFailed):
            # Worth retrying (manager.conf may be being reloaded), but loud.
            log.error(
                "ami.login_failed",
                **where,
                username=self.endpoint.username,
                error=str(exc),
                retry_in=round(seconds, 2),
            )
        elif not isinstance(exc, _SessionEnded):  # run_once logged the peer's close
            log.warning(
                "ami.disconnected",
                **where,
                error=str(exc) or type(exc).__name__,
                retry_in=round(seconds, 2),
            )

    async def run_once(self) -> None:
        """One connection: log in, then translate and publish events until it closes."""
        host, port = self.endpoint.host, self.endpoint.port
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=MAX_LINE_BYTES),
            timeout=self.connect_timeout,
        )
        pinger: asyncio.Task[None] | None = None
        try:
            await self._login(reader, writer)
            self.connections += 1
            log.info("ami.connected", host=host, port=port, username=self.endpoint.username)
            pinger = asyncio.create_task(self._ping_forever(writer), name="ami-ping")
            while True:
                # Silence for three ping periods means the connection is dead.
                message = await asyncio.wait_for(
                    read_message(reader), timeout=self.ping_interval * 3
                )
                if message is None:
                    log.info("ami.closed_by_peer", host=host, port=port)
                    return
                self.messages_read += 1
                generic = self.translator.feed(message, self.clock())
                if generic:
                    await self.publish(generic)
                    self.events_published += len(generic)
        finally:
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await pinger
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        greeting = await asyncio.wait_for(reader.readline(), timeout=self.connect_timeout)
        if not greeting.startswith(b"Asterisk Call Manager"):
            raise AmiProtocolError("the peer did not greet as an Asterisk Call Manager")
        action_id = f"login-{next(self._action_ids)}"
        writer.write(
            _action(
                "Login",
                ActionID=action_id,
                Username=self.endpoint.username,
                Secret=self.endpoint.secret.get_secret_value(),
                Events=self.events,
            )
        )
        await writer.drain()
        while True:
            response = await asyncio.wait_for(read_message(reader), timeout=self.connect_timeout)
            if response is None:
                raise AmiLoginFailed("the AMI closed the connection during login")
            if response.get("actionid", action_id) != action_id or "response" not in response:
                continue  # an event that raced the login answer
            if response["response"].lower() == "success":
                return
            # Asterisk's message ("Authentication failed") never echoes the secret.
            raise AmiLoginFailed(f"AMI login refused: {response.get('message', 'no reason')}")

    async def _ping_forever(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            writer.write(_action("Ping", ActionID=f"ping-{next(self._action_ids)}"))
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


class _SessionEnded(Exception):
    """The AMI closed a session cleanly; connecting again is still wanted."""


class KafkaRawPublisher:
    """Publishes generic PBX events to ``pbx.events.raw``, keyed by call id, acks awaited.

    A failed send is retried (the whole batch: a duplicate is harmless, every event has an
    ``event_id`` the consumer dedupes on) ``attempts`` times with backoff, then raised.
    ``broker`` is a started FastStream Kafka broker (``switchboard_runtime.kafka.make_broker``).
    """

    def __init__(self, broker: Any, topic: str, *, attempts: int = 5) -> None:
        self.broker = broker
        self.topic = topic
        self.attempts = attempts
        # A few quick tries (0.2 s doubling up to 5 s): the producer already retried inside,
        # and reading on from the AMI must wait for this publish.
        self._retry = RetryPolicy(
            first_delay=0.2, max_delay=5.0, attempts=attempts, log_event="ami.publish_retry"
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
