"""A stand-in FreeSWITCH Event Socket, for the simulator and the tests.

It speaks what :class:`~.esl.EslConnector` relies on and no more: the ``auth/request``
greeting, ``auth`` (password checked), ``event plain <names>`` (only those names are sent
afterwards, as FreeSWITCH does), ``api <command>`` (answered with an ``api/response``), and
events written as FreeSWITCH writes them (:func:`~.esl.encode_event`).

Events are a log shared by every connection: a session sends from the current position and
waits for more (:meth:`EslServer.push`), and a connection dropped after ``drop_after`` events
is resumed by the next login, as a live PBX goes on without its listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from switchboard_telephony.adapters.pbx.esl import encode_event
from switchboard_telephony.adapters.pbx.stream_server import SessionServer

__all__ = ["EslServer"]

Event = Sequence[tuple[str, str]]


@dataclass
class EslServer:
    """A one-port Event Socket serving ``events`` to whoever logs in with ``password``."""

    events: list[Event] = field(default_factory=list)
    password: str = "ClueCon"  # noqa: S105 - FreeSWITCH's well-known default, for a stand-in
    host: str = "127.0.0.1"
    port: int = 0
    drop_after: int | None = None
    """Close each connection after sending this many events."""
    silent_after_login: bool = False
    """Once subscribed, send nothing and answer nothing (a half-dead connection)."""
    position: int = 0
    logins: int = 0
    refused_logins: int = 0
    commands: list[str] = field(default_factory=list)
    _sessions: SessionServer | None = None
    _more: asyncio.Condition | None = None

    async def __aenter__(self) -> EslServer:
        self._more = asyncio.Condition()
        self._sessions = SessionServer(self._serve)
        self.port = await self._sessions.start(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._sessions is not None
        await self._sessions.close()

    @property
    def done(self) -> bool:
        """Whether every event pushed so far was sent."""
        return self.position >= len(self.events)

    async def push(self, events: Iterable[Event]) -> None:
        """Add events to the log; a connected session sends them at once."""
        assert self._more is not None
        async with self._more:
            self.events.extend(events)
            self._more.notify_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Content-Type: auth/request\n\n")
        await writer.drain()
        command = await _read_command(reader)
        if command is None:
            return
        self.commands.append("auth ***" if command.startswith("auth ") else command)
        if command != f"auth {self.password}":
            self.refused_logins += 1
            notice = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
            writer.write(b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n")
            writer.write(
                b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n" % len(notice)
                + notice
            )
            await writer.drain()
            return
        self.logins += 1
        writer.write(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
        await writer.drain()
        wanted: set[str] = set()
        responder = asyncio.create_task(self._answer_commands(reader, writer, wanted))
        try:
            if self.silent_after_login:
                await responder
                return
            await self._send_events(writer, wanted)
        finally:
            responder.cancel()
            with contextlib.suppress(BaseException):
                await responder

    async def _send_events(self, writer: asyncio.StreamWriter, wanted: set[str]) -> None:
        assert self._more is not None
        sent = 0
        while True:
            async with self._more:
                await self._more.wait_for(lambda: bool(wanted) and not self.done)
                event = self.events[self.position]
            if self.drop_after is not None and sent >= self.drop_after:
                return
            name = next((v for k, v in event if k.lower() == "event-name"), "")
            if name.upper() in wanted or "ALL" in wanted:
                writer.write(encode_event(event))
                await writer.drain()
                sent += 1
            self.position += 1

    async def _answer_commands(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wanted: set[str]
    ) -> None:
        assert self._more is not None
        while (command := await _read_command(reader)) is not None:
            self.commands.append(command)
            if command.startswith("event plain "):
                async with self._more:
                    wanted.update(n.upper() for n in command.split()[2:])
                    self._more.notify_all()
                writer.write(
                    b"Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n"
                )
            elif self.silent_after_login:
                continue  # heard, never answered
            elif command.startswith("api "):
                body = b"4242\n"
                writer.write(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body))
                writer.write(body)
            else:
                writer.write(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
            await writer.drain()


async def _read_command(reader: asyncio.StreamReader) -> str | None:
    """One command: its lines up to the blank line that ends it (the first line is it)."""
    lines: list[str] = []
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if text:
            lines.append(text)
        elif lines:
            return lines[0]
