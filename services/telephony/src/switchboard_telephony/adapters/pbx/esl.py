"""The FreeSWITCH Event Socket connector: mod_event_socket events in, ``pbx.events.raw`` out.

The connector is an ESL client in *inbound* mode (it connects to FreeSWITCH, port 8021 by
default). On the wire every message is ``Name: value`` header lines and an empty line,
followed by ``Content-Length`` bytes of body when that header is there:

* FreeSWITCH greets with ``Content-Type: auth/request``; the client answers
  ``auth <password>`` and gets ``Content-Type: command/reply`` with ``Reply-Text: +OK
  accepted`` (``-ERR invalid`` and a ``text/disconnect-notice`` otherwise);
* ``event plain CHANNEL_CREATE ...`` subscribes; each event then comes as a
  ``text/event-plain`` message whose body is the event's own headers, values URL-encoded;
* ``api uptime`` every ``ping_interval`` seconds is the keep-alive (its ``api/response`` is
  read and dropped).

Each event is translated by :class:`~.freeswitch.FreeswitchTranslator` and published, acks
awaited, before the next is read (:class:`~.connector.PbxSocketConnector`). The password is
a ``SecretStr`` written only to the socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from pydantic import SecretStr

from switchboard_telephony.adapters.pbx.connector import (
    LoginFailed,
    PbxSocketConnector,
    Publish,
)
from switchboard_telephony.adapters.pbx.freeswitch import EVENTS, FreeswitchTranslator

__all__ = [
    "EslConnector",
    "EslEndpoint",
    "EslLoginFailed",
    "EslProtocolError",
    "encode_event",
    "iter_events",
    "parse_headers",
    "read_message",
]

#: Longest header line and body the connector accepts: a runaway peer must not eat memory.
MAX_LINE_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
MAX_HEADER_LINES = 2000


class EslProtocolError(ConnectionError):
    """The peer does not speak the Event Socket (no auth request, an oversized message)."""


class EslLoginFailed(LoginFailed):
    """FreeSWITCH refused the password (the message says nothing about the password)."""


@dataclass(frozen=True)
class EslEndpoint:
    """Where the Event Socket is and its password."""

    host: str
    port: int
    password: SecretStr = field(repr=False)


def parse_headers(lines: Iterable[str], *, decode: bool) -> dict[str, str]:
    """``Name: value`` lines as a dict with lower-case names (the first of a repeated name
    wins); values URL-decoded when ``decode`` (an event's body)."""
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        text = value.strip()
        headers.setdefault(name.strip().lower(), unquote(text) if decode else text)
    return headers


async def read_message(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """The next message, None once the peer closed the connection.

    For a ``text/event-plain`` message the event's own headers are returned (lower-case
    names, decoded values); for any other, its outer headers, with ``_body`` holding the
    body when there is one.
    """
    lines: list[str] = []
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as exc:
            raise EslProtocolError("ESL header line too long") from exc
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            lines.append(line)
            if len(lines) > MAX_HEADER_LINES:
                raise EslProtocolError("ESL message too long")
        elif lines:
            break
    outer = parse_headers(lines, decode=False)
    length = outer.get("content-length", "")
    if not length:
        return outer
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise EslProtocolError("ESL body length missing or too large")
    try:
        body = (await reader.readexactly(int(length))).decode("utf-8", "replace")
    except asyncio.IncompleteReadError:
        return None
    if outer.get("content-type") == "text/event-plain":
        head, _, _event_body = body.partition("\n\n")
        return parse_headers(head.splitlines(), decode=True)
    return {**outer, "_body": body}


def encode_event(headers: Iterable[tuple[str, str]]) -> bytes:
    """One event as FreeSWITCH writes it for ``event plain``: the body (values URL-encoded,
    a blank line after) behind ``Content-Length`` and ``Content-Type: text/event-plain``."""
    body = "".join(f"{name}: {quote(value, safe='')}\n" for name, value in headers) + "\n"
    data = body.encode()
    return f"Content-Length: {len(data)}\nContent-Type: text/event-plain\n\n".encode() + data


def iter_events(text: str) -> Iterator[list[tuple[str, str]]]:
    """The events of a transcript file: blocks of ``Name: value`` lines (values as in the
    file, not encoded), one blank line between events; ``#`` lines are comments."""
    block: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.strip():
            name, _, value = line.partition(":")
            block.append((name.strip(), value.strip()))
        elif block:
            yield block
            block = []
    if block:
        yield block


class EslConnector(PbxSocketConnector[dict[str, str]]):
    """Reads one FreeSWITCH Event Socket for ever and publishes what it means (see the
    module doc and :class:`~.connector.PbxSocketConnector` for the guarantees)."""

    protocol = "esl"

    def __init__(
        self,
        endpoint: EslEndpoint,
        publish: Publish,
        *,
        translator: FreeswitchTranslator | None = None,
        events: Iterable[str] = EVENTS,
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
        self.translator = translator or FreeswitchTranslator()
        self.events = tuple(events)

    async def read(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """The next ESL message (an event's own headers for events)."""
        return await read_message(reader)

    def ping(self) -> bytes:
        """``api uptime``: any answer shows the connection is alive."""
        return b"api uptime\n\n"

    def translate(self, message: dict[str, str], received_at: datetime) -> list[dict[str, Any]]:
        """What :class:`~.freeswitch.FreeswitchTranslator` makes of ``message``."""
        return self.translator.feed(message, received_at)

    async def login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """``auth <password>``, then ``event plain <events>``."""
        greeting = await asyncio.wait_for(read_message(reader), timeout=self.connect_timeout)
        if greeting is None or greeting.get("content-type") != "auth/request":
            raise EslProtocolError("the peer did not ask for Event Socket authentication")
        writer.write(f"auth {self.endpoint.password.get_secret_value()}\n\n".encode())
        await writer.drain()
        reply = await self._reply(reader)
        if not reply.startswith("+OK"):
            # FreeSWITCH says "-ERR invalid": never the password.
            raise EslLoginFailed(f"Event Socket login refused: {reply or 'no reply'}")
        writer.write(f"event plain {' '.join(self.events)}\n\n".encode())
        await writer.drain()
        reply = await self._reply(reader)
        if not reply.startswith("+OK"):
            raise EslProtocolError(f"Event Socket subscription refused: {reply or 'no reply'}")

    async def _reply(self, reader: asyncio.StreamReader) -> str:
        while True:
            message = await asyncio.wait_for(read_message(reader), timeout=self.connect_timeout)
            if message is None:
                return ""
            if message.get("content-type") == "command/reply":
                return message.get("reply-text", "")
            # anything else before the reply (a disconnect notice, a stray event) is skipped
