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
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from switchboard_telephony.adapters.ami_translate import AmiTranslator
from switchboard_telephony.adapters.pbx.connector import (
    KafkaRawPublisher,
    LoginFailed,
    PbxSocketConnector,
    Publish,
)

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

#: Longest line and message the connector accepts: a runaway peer must not eat memory.
MAX_LINE_BYTES = 64 * 1024
MAX_MESSAGE_LINES = 1000


class AmiProtocolError(ConnectionError):
    """The peer does not speak AMI (no greeting, an oversized message, ...)."""


class AmiLoginFailed(LoginFailed):
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


class AmiConnector(PbxSocketConnector[dict[str, str]]):
    """Reads one AMI endpoint for ever and publishes what it means (see the module doc and
    :class:`~.pbx.connector.PbxSocketConnector` for the guarantees)."""

    protocol = "ami"

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
        super().__init__(
            endpoint.host,
            endpoint.port,
            publish,
            ping_interval=ping_interval,
            connect_timeout=connect_timeout,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
            max_line_bytes=MAX_LINE_BYTES,
            clock=clock,
        )
        self.endpoint = endpoint
        self.translator = translator or AmiTranslator()
        self.events = events
        self._action_ids = itertools.count(1)

    def log_fields(self) -> dict[str, Any]:
        """Host, port and the manager user (never the secret)."""
        return {"host": self.host, "port": self.port, "username": self.endpoint.username}

    async def read(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """The next AMI message."""
        return await read_message(reader)

    def ping(self) -> bytes:
        """``Action: Ping``."""
        return _action("Ping", ActionID=f"ping-{next(self._action_ids)}")

    def translate(self, message: dict[str, str], received_at: datetime) -> list[dict[str, Any]]:
        """What :class:`~.ami_translate.AmiTranslator` makes of ``message``."""
        return self.translator.feed(message, received_at)

    async def login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The greeting, then ``Action: Login`` with the event classes wanted."""
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
