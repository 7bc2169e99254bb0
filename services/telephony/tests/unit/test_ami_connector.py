"""The AMI connector against a fake AMI server replaying real transcripts over TCP.

No broker here: the connector publishes into a list. The real-Kafka path is covered by
``tests/integration/test_ami_replay.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ami_server as fake_ami
import pytest
import structlog
from pydantic import SecretStr

from switchboard_runtime.testing import wait_until
from switchboard_telephony.adapters.ami import AmiConnector, AmiEndpoint, iter_messages
from switchboard_telephony.adapters.ami_translate import AmiTranslator

TESTS = Path(__file__).resolve().parents[1]
SECRET = "s3cret-ami-Zq9"
FIXED_NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def expected(names: list[str]) -> list[dict[str, Any]]:
    """What the translator makes of the transcripts, read all at FIXED_NOW."""
    translator = AmiTranslator()
    out: list[dict[str, Any]] = []
    for name in names:
        for message in iter_messages((TESTS / "data" / "ami" / name).read_text()):
            out += translator.feed(message, FIXED_NOW)
    return out


def connector(
    port: int, published: list[dict[str, Any]], secret: str = SECRET, **options: Any
) -> AmiConnector:
    async def publish(events: list[dict[str, Any]]) -> None:
        published.extend(events)

    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    return AmiConnector(
        AmiEndpoint("127.0.0.1", port, "switchboard", SecretStr(secret)),
        publish,
        clock=lambda: FIXED_NOW,
        **options,
    )


async def test_it_logs_in_and_publishes_what_the_transcript_means() -> None:
    names = ["answered-outbound.raw", "unanswered-huntgroup.raw"]
    blocks = [b for n in names for b in fake_ami.transcript_blocks(n)]
    published: list[dict[str, Any]] = []
    async with fake_ami.FakeAmi(blocks, secret=SECRET) as server:
        ami = connector(server.port, published)
        task = asyncio.create_task(ami.run())
        want = expected(names)
        await wait_until(
            lambda: _ready(len(published) >= len(want)), timeout=10, message="all events"
        )
        ami.stop()
        await task
    assert published == want
    login = server.actions[0]
    assert (login["action"], login["username"], login["secret"], login["events"]) == (
        "Login",
        "switchboard",
        SECRET,
        "call,cdr",
    )
    assert ami.connections == 1
    assert ami.messages_read == len(blocks) + 1  # and FullyBooted


async def test_a_dropped_connection_is_resumed_and_nothing_is_lost() -> None:
    names = ["answered-outbound.raw", "unanswered-cancel.raw"]
    blocks = [b for n in names for b in fake_ami.transcript_blocks(n)]
    published: list[dict[str, Any]] = []
    async with fake_ami.FakeAmi(blocks, secret=SECRET, drop_after=7) as server:
        ami = connector(server.port, published)
        task = asyncio.create_task(ami.run())
        want = expected(names)
        await wait_until(lambda: _ready(len(published) >= len(want)), timeout=10)
        ami.stop()
        await task
    assert published == want
    assert server.logins == ami.connections >= 5  # 38 events, 7 per connection


async def test_a_wrong_secret_is_retried_and_never_logged(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Wherever the lines go (structlog's own output, or the standard library's handlers
    # once a service configured logging in this process), none may hold the secret.
    published: list[dict[str, Any]] = []
    blocks = fake_ami.transcript_blocks("unanswered-cancel.raw")
    with structlog.testing.capture_logs() as logs:
        async with fake_ami.FakeAmi(blocks, secret="the-right-one") as server:
            ami = connector(server.port, published, secret=SECRET)
            task = asyncio.create_task(ami.run())
            await wait_until(lambda: _ready(server.refused_logins >= 3), timeout=10)
            ami.stop()
            await task
    out, err = capfd.readouterr()
    written = repr(logs) + out + err + caplog.text + repr([r.msg for r in caplog.records])
    assert published == []
    assert ami.connections == 0
    assert SECRET not in written
    assert SECRET not in repr(ami.endpoint)
    assert "ami.login_failed" in written


async def test_a_silent_connection_is_given_up_and_reopened() -> None:
    blocks = fake_ami.transcript_blocks("unanswered-cancel.raw")
    published: list[dict[str, Any]] = []
    async with fake_ami.FakeAmi(blocks, secret=SECRET, silent_after_login=True) as server:
        ami = connector(server.port, published, ping_interval=0.05)
        task = asyncio.create_task(ami.run())
        await wait_until(lambda: _ready(server.logins >= 2), timeout=10)
        ami.stop()
        await task
    assert any(a.get("action") == "Ping" for a in server.actions)


async def test_a_broker_failure_stops_the_connector() -> None:
    blocks = fake_ami.transcript_blocks("unanswered-cancel.raw")

    async def publish(events: list[dict[str, Any]]) -> None:
        raise RuntimeError("broker gone")

    async with fake_ami.FakeAmi(blocks, secret=SECRET) as server:
        ami = AmiConnector(
            AmiEndpoint("127.0.0.1", server.port, "switchboard", SecretStr(SECRET)), publish
        )
        with pytest.raises(RuntimeError, match="broker gone"):
            await asyncio.wait_for(ami.run(), timeout=10)


async def test_it_refuses_a_peer_that_is_not_an_ami() -> None:
    async def not_ami(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_ami, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        ami = connector(port, [])
        with pytest.raises(ConnectionError, match="Asterisk Call Manager"):
            await ami.run_once()
    finally:
        server.close()
        await server.wait_closed()


async def _ready(value: bool) -> bool:
    return value
