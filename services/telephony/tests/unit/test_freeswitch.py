"""The FreeSWITCH translator on the transcripts, and the Event Socket connector over TCP.

The transcripts (``tests/data/freeswitch``) are built from the documented event layout, not
captured: see the README there. No broker here: the connector publishes into a list; the
real-Kafka path is ``tests/integration/test_freeswitch_replay.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from switchboard_runtime.testing import wait_until
from switchboard_telephony.adapters.pbx.esl import (
    EslConnector,
    EslEndpoint,
    encode_event,
    iter_events,
    read_message,
)
from switchboard_telephony.adapters.pbx.esl_server import EslServer
from switchboard_telephony.adapters.pbx.freeswitch import (
    FreeswitchTranslator,
    channel_extension,
    end_status,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "freeswitch"
PASSWORD = "s3cret-esl-Yw7"
READ_AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
FILES = ["answered-incoming.esl", "missed-incoming.esl", "blind-transfer.esl", "outgoing.esl"]


def events(name: str) -> list[list[tuple[str, str]]]:
    return list(iter_events((DATA / name).read_text()))


def translate(*names: str) -> list[dict[str, Any]]:
    translator = FreeswitchTranslator()
    out: list[dict[str, Any]] = []
    for name in names:
        for block in events(name):
            out += translator.feed({k.lower(): v for k, v in block}, READ_AT)
    return out


def brief(out: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(type, seconds from the call's start, the fields that matter) of each event."""
    start = datetime.fromisoformat(out[0]["timestamp"])
    return [
        (
            e["type"].removeprefix("call."),
            round((datetime.fromisoformat(e["timestamp"]) - start).total_seconds(), 3),
            *[e[k] for k in ("from", "to", "extension", "to_extension", "status") if k in e],
        )
        for e in out
    ]


def test_answered_incoming_call() -> None:
    assert brief(translate("answered-incoming.esl")) == [
        ("started", 0.0, "79161234567", "74951230101"),
        ("ringing", 0.048, "101"),
        ("answered", 7.512, "101"),
        ("ended", 97.226, "answered"),
    ]


def test_missed_incoming_call_ringing_two_phones() -> None:
    assert brief(translate("missed-incoming.esl")) == [
        ("started", 0.0, "79161234567", "74951230101"),
        ("ringing", 0.04, "101"),
        ("ringing", 0.041, "102"),
        ("ended", 25.31, "cancel"),
    ]


def test_blind_transfer() -> None:
    assert brief(translate("blind-transfer.esl")) == [
        ("started", 0.0, "79161234567", "74951230101"),
        ("ringing", 0.052, "101"),
        ("answered", 4.88, "101"),
        ("ringing", 41.062, "102"),
        ("transferred", 46.401, "101", "102"),
        ("ended", 153.77, "answered"),
    ]


def test_outgoing_call_through_a_gateway() -> None:
    out = translate("outgoing.esl")
    assert brief(out) == [
        ("started", 0.0, "101", "89161234567"),
        ("answered", 12.64),  # by the trunk leg: the call's own extension answered it
        ("ended", 80.015, "answered"),
    ]


def test_each_call_id_is_its_first_channels_uuid_and_event_ids_are_stable() -> None:
    for name in FILES:
        first = events(name)[0]
        uuid = dict(first)["Unique-ID"]
        out = translate(name)
        assert {e["call_id"] for e in out} == {uuid}
        assert translate(name) == out  # same events, same ids
        assert len({e["event_id"] for e in out}) == len(out)


def test_events_of_an_ended_call_and_unknown_events_are_ignored() -> None:
    translator = FreeswitchTranslator(call_id_prefix="msk:")
    blocks = [{k.lower(): v for k, v in b} for b in events("missed-incoming.esl")]
    out = [e for b in blocks for e in translator.feed(b, READ_AT)]
    assert out[-1]["type"] == "call.ended" and out[0]["call_id"].startswith("msk:")
    assert translator.feed(blocks[0], READ_AT) == []  # the call's start again, after its end
    assert translator.feed({"event-name": "HEARTBEAT"}, READ_AT) == []
    assert translator.feed({"content-type": "api/response"}, READ_AT) == []
    assert translator.open_calls == 0


def test_a_call_joined_mid_way_ends_with_its_first_channel() -> None:
    translator = FreeswitchTranslator()
    blocks = [{k.lower(): v for k, v in b} for b in events("answered-incoming.esl")]
    out = [e for b in blocks[2:] for e in translator.feed(b, READ_AT)]
    assert [e["type"] for e in out] == ["call.answered", "call.ended"]


@pytest.mark.parametrize(
    ("channel", "extension"),
    [
        ("sofia/internal/101@10.20.0.31:5060", "101"),
        ("sofia/internal/101", "101"),
        ("user/102@clinic.local", "102"),
        ("sofia/gateway/provider/79161234567", None),
        ("sofia/external/79161234567@sip.provider.example", None),
        ("loopback/app=voicemail", None),
        ("", None),
        (None, None),
    ],
)
def test_channel_extension(channel: str | None, extension: str | None) -> None:
    assert channel_extension(channel) == extension


def test_end_status_prefers_the_answer_then_dialstatus_then_the_phones() -> None:
    assert end_status(True, "CANCEL", [], None) == "answered"
    assert end_status(False, "BUSY", ["NO_ANSWER"], None) == "busy"
    assert end_status(False, None, ["USER_BUSY", "NO_ANSWER", "LOSE_RACE"], None) == "no_answer"
    assert end_status(False, "SUCCESS", [], "NORMAL_CLEARING") == "no_answer"
    assert end_status(False, None, [], "UNALLOCATED_NUMBER") == "failed"


# --- the wire ---------------------------------------------------------------------------------


async def test_an_event_survives_the_wire_with_values_url_encoded() -> None:
    block = events("answered-incoming.esl")[0]
    data = encode_event(block)
    assert b"Event-Date-Local: 2026-03-02%2010%3A14%3A05" in data
    reader = asyncio.StreamReader()
    reader.feed_data(data + b"Content-Type: command/reply\nReply-Text: +OK\n\n")
    reader.feed_eof()
    assert await read_message(reader) == {k.lower(): v for k, v in block}
    assert await read_message(reader) == {"content-type": "command/reply", "reply-text": "+OK"}
    assert await read_message(reader) is None


def connector(port: int, published: list[dict[str, Any]], **options: Any) -> EslConnector:
    async def publish(batch: list[dict[str, Any]]) -> None:
        published.extend(batch)

    options.setdefault("backoff_initial", 0.01)
    options.setdefault("backoff_max", 0.05)
    password = options.pop("password", PASSWORD)
    return EslConnector(
        EslEndpoint("127.0.0.1", port, SecretStr(password)),
        publish,
        clock=lambda: READ_AT,
        **options,
    )


async def _ready(value: bool) -> bool:
    return value


async def test_it_logs_in_subscribes_and_publishes_what_the_events_mean() -> None:
    blocks = [b for name in FILES for b in events(name)]
    published: list[dict[str, Any]] = []
    async with EslServer(blocks, password=PASSWORD) as server:
        esl = connector(server.port, published)
        task = asyncio.create_task(esl.run())
        want = translate(*FILES)
        await wait_until(lambda: _ready(len(published) >= len(want)), timeout=10)
        esl.stop()
        await task
    assert published == want
    assert server.commands[:2] == [
        "auth ***",
        "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE",
    ]
    assert esl.connections == 1


async def test_a_dropped_connection_is_resumed_and_nothing_is_lost() -> None:
    blocks = [b for name in FILES for b in events(name)]
    published: list[dict[str, Any]] = []
    async with EslServer(blocks, password=PASSWORD, drop_after=5) as server:
        esl = connector(server.port, published)
        task = asyncio.create_task(esl.run())
        want = translate(*FILES)
        await wait_until(lambda: _ready(len(published) >= len(want)), timeout=10)
        esl.stop()
        await task
    assert published == want
    assert server.logins == esl.connections >= 6  # 31 events, 5 per connection


async def test_a_wrong_password_is_retried_and_never_logged(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    published: list[dict[str, Any]] = []
    with structlog.testing.capture_logs() as logs:
        async with EslServer(events("outgoing.esl"), password="the-right-one") as server:
            esl = connector(server.port, published)
            task = asyncio.create_task(esl.run())
            await wait_until(lambda: _ready(server.refused_logins >= 3), timeout=10)
            esl.stop()
            await task
    out, err = capfd.readouterr()
    written = repr(logs) + out + err + caplog.text + repr([r.msg for r in caplog.records])
    assert published == [] and esl.connections == 0
    assert PASSWORD not in written and PASSWORD not in repr(esl.endpoint)
    assert "esl.login_failed" in written


async def test_a_silent_connection_is_given_up_and_reopened() -> None:
    published: list[dict[str, Any]] = []
    async with EslServer(
        events("outgoing.esl"), password=PASSWORD, silent_after_login=True
    ) as server:
        esl = connector(server.port, published, ping_interval=0.05)
        task = asyncio.create_task(esl.run())
        await wait_until(lambda: _ready(server.logins >= 2), timeout=10)
        esl.stop()
        await task
    assert "api uptime" in server.commands


async def test_a_broker_failure_stops_the_connector() -> None:
    async def publish(batch: list[dict[str, Any]]) -> None:
        raise RuntimeError("broker gone")

    async with EslServer(events("outgoing.esl"), password=PASSWORD) as server:
        esl = EslConnector(EslEndpoint("127.0.0.1", server.port, SecretStr(PASSWORD)), publish)
        with pytest.raises(RuntimeError, match="broker gone"):
            await asyncio.wait_for(esl.run(), timeout=10)


async def test_it_refuses_a_peer_that_is_not_an_event_socket() -> None:
    async def not_esl(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/6.0.0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_esl, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ConnectionError, match="authentication"):
            await connector(port, []).run_once()
    finally:
        server.close()
        await server.wait_closed()
