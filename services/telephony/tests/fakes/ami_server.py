"""A fake Asterisk AMI endpoint for tests: accepts a login, replays a transcript.

It speaks what the connector relies on and no more: the ``Asterisk Call Manager`` greeting,
``Action: Login`` (username and secret checked), ``Action: Ping``, ``Action: Originate``
(answered with ``originate_answer``, as Asterisk answers an ``Async`` originate),
``Action: Logoff``, and events written as Asterisk writes them (``\\r\\n`` line ends, a
blank line after each message). Transcripts are replayed byte for byte apart from two
things a real Asterisk would do too: line ends become ``\\r\\n``, and when ``timestamps``
are given each event gets the ``Timestamp:`` header that ``timestampevents=yes`` adds
after ``Privilege:``.

The replay position is kept across connections: a connection dropped after
``drop_after`` events is resumed by the next login, as a live PBX goes on without us.

Test modules import it as ``ami_server`` (``tests/conftest.py`` puts ``tests/fakes`` on
``sys.path``; ``--import-mode=importlib`` makes no test folder a package).

Run as a script it is the browser tests' Asterisk (``tests/e2e/live_platform.py``): it
serves no events, answers ``Originate`` as a PBX that accepts the call, and writes every
action it hears as a JSON line of its fields (lower-case keys, the login's secret
redacted) to ``--out``::

    uv run python services/telephony/tests/fakes/ami_server.py --port 5038 \
        --username switchboard --secret s3cret-ami --out ami-actions.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from switchboard_telephony.adapters.pbx.stream_server import SessionServer

DATA = Path(__file__).resolve().parents[1] / "data" / "ami"


def transcript_blocks(name: str) -> list[list[str]]:
    """The messages of ``tests/data/ami/<name>``, each as its list of lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in (DATA / name).read_text().splitlines():
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def first_uniqueid(blocks: Sequence[Sequence[str]]) -> str:
    """The ``Uniqueid`` of a transcript's first message (its call's ``Linkedid``)."""
    for line in blocks[0]:
        if line.lower().startswith("uniqueid:"):
            return line.split(":", 1)[1].strip()
    raise ValueError("no Uniqueid in the first message")


def with_timestamps(blocks: Sequence[Sequence[str]], times: Sequence[float]) -> list[list[str]]:
    """``blocks`` with ``Timestamp: <times[i]>`` after each ``Privilege:`` line."""
    out = []
    for block, at in zip(blocks, times, strict=True):
        lines = list(block)
        index = next((i + 1 for i, line in enumerate(lines) if line.startswith("Privilege:")), 1)
        lines.insert(index, f"Timestamp: {at:.6f}")
        out.append(lines)
    return out


@dataclass
class FakeAmi:
    """A one-port AMI server replaying ``events`` to whoever logs in."""

    events: list[list[str]]
    username: str = "switchboard"
    secret: str = "s3cret-ami"
    drop_after: int | None = None
    """Close each connection after sending this many events."""
    silent_after_login: bool = False
    """Send nothing and answer nothing once logged in (a half-dead connection)."""
    position: int = 0
    logins: int = 0
    refused_logins: int = 0
    actions: list[dict[str, str]] = field(default_factory=list)
    originate_answer: dict[str, str] = field(
        default_factory=lambda: {"Response": "Success", "Message": "Originate successfully queued"}
    )
    """What ``Action: Originate`` gets (its ``ActionID`` added)."""
    host: str = "127.0.0.1"
    port: int = 0
    out: Path | None = None
    """Where each action heard is appended as a JSON line (see :meth:`_heard`)."""
    _sessions: SessionServer | None = None

    async def __aenter__(self) -> FakeAmi:
        self._sessions = SessionServer(self._serve)
        self.port = await self._sessions.start(self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._sessions is not None
        await self._sessions.close()

    @property
    def done(self) -> bool:
        """Whether every event was sent."""
        return self.position >= len(self.events)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/6.0.0\r\n")
        await writer.drain()
        login = await _read_action(reader)
        if login is None:
            return
        self._heard(login)
        action_id = login.get("actionid", "")
        if (
            login.get("action", "").lower() != "login"
            or login.get("username") != self.username
            or login.get("secret") != self.secret
        ):
            self.refused_logins += 1
            writer.write(
                _message(Response="Error", ActionID=action_id, Message="Authentication failed")
            )
            await writer.drain()
            return
        self.logins += 1
        writer.write(
            _message(Response="Success", ActionID=action_id, Message="Authentication accepted")
        )
        writer.write(_message(Event="FullyBooted", Privilege="system,all", Status="Fully Booted"))
        await writer.drain()
        if self.silent_after_login:
            while (action := await _read_action(reader)) is not None:
                self._heard(action)  # heard, never answered
            return
        pings = asyncio.create_task(self._answer_actions(reader, writer))
        try:
            sent = 0
            while self.position < len(self.events):
                if self.drop_after is not None and sent >= self.drop_after:
                    return
                block = self.events[self.position]
                writer.write(("\r\n".join(block) + "\r\n\r\n").encode())
                await writer.drain()
                self.position += 1
                sent += 1
            await pings  # all sent: stay connected, answering pings, until closed
        finally:
            pings.cancel()
            with contextlib.suppress(BaseException):
                await pings

    def _heard(self, action: dict[str, str]) -> None:
        self.actions.append(action)
        if self.out is not None:
            # A file others read (the browser tests' artifacts): no secret in it.
            shown = {k: ("***" if k == "secret" else v) for k, v in action.items()}
            with self.out.open("a", encoding="utf-8") as lines:
                lines.write(json.dumps(shown) + "\n")

    async def _answer_actions(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while (action := await _read_action(reader)) is not None:
            self._heard(action)
            name = action.get("action", "").lower()
            if name == "ping":
                writer.write(
                    _message(Response="Success", ActionID=action.get("actionid", ""), Ping="Pong")
                )
                await writer.drain()
            elif name == "originate":
                answer = {"ActionID": action.get("actionid", ""), **self.originate_answer}
                writer.write(_message(**answer))
                await writer.drain()
            elif name == "logoff":
                writer.write(_message(Response="Goodbye", ActionID=action.get("actionid", "")))
                await writer.drain()
                return


async def _read_action(reader: asyncio.StreamReader) -> dict[str, str] | None:
    action: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            return None
        text = line.decode().rstrip("\r\n")
        if not text:
            if action:
                return action
            continue
        key, _, value = text.partition(":")
        action[key.strip().lower()] = value.strip()


def _message(**headers: str) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()


def main() -> None:
    """Serve no events, answer every action, log them to ``--out``; until stopped."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="switchboard")
    parser.add_argument("--secret", default="s3cret-ami")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines of the actions")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.touch()

    async def serve() -> None:
        ami = FakeAmi([], args.username, args.secret, host=args.host, port=args.port, out=args.out)
        async with ami:
            await asyncio.Event().wait()  # until SIGTERM/SIGINT ends the process

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
