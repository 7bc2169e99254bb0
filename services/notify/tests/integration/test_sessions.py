"""Console sessions: authentication, resume on reconnect, heartbeats, directory changes,
and a Redis restart in the middle of it all — three replicas, real WebSockets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from switchboard_contracts import CallAnswered, CallStarted
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until

from .conftest import (
    CONSOLE_ORIGIN,
    Operator,
    Replica,
    register_operators,
    token_for,
    unique,
    unique_extension,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[4]


def started(call_id: str, extension: str) -> CallStarted:
    return CallStarted(
        call_id=call_id,
        direction="incoming",
        caller="+79161234567",
        callee="+74951234567",
        extension=extension,
        started_at=datetime.now(UTC),
    )


def answered(call_id: str, extension: str, operator_id: str | None = None) -> CallAnswered:
    return CallAnswered(
        call_id=call_id,
        answered_at=datetime.now(UTC),
        extension=extension,
        operator_id=operator_id,
    )


async def test_a_console_that_reconnects_gets_the_popups_still_open(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, r1, r2 = replicas
    ext = unique_extension()
    admin = Operator(unique("adm"), "Adm", ext)
    await register_operators(feed, r0, [admin])
    tab = await consoles(r0, admin).open()
    ringing = unique("call")
    await feed.send(started(ringing, ext), producer="telephony")
    await tab.wait_for(lambda m: m.get("call_id") == ringing, message="pop-up")
    await tab.close()

    # While the console is away another call rings; it comes back on another replica.
    second = unique("call")
    await feed.send(started(second, ext), producer="telephony")
    other = consoles(r2, admin)

    async def both_open() -> bool:
        # The second ring may still be on its way: reconnect until the replay has both.
        probe = await consoles(r1, admin).open()
        calls = {m["call_id"] for m in probe.messages if m["type"] == "call.popup"}
        await probe.close()
        return calls == {ringing, second}

    await wait_until(both_open, timeout=30, message="both pop-ups open")
    await other.open()
    resumed = [m for m in other.messages if m["type"] == "call.popup"]
    assert {m["call_id"] for m in resumed} == {ringing, second}
    assert all(m["resumed"] is True and m["update"] is False for m in resumed)
    types = [m["type"] for m in other.messages if m["type"] != "ping"]
    assert types == ["hello", "call.popup", "call.popup", "resumed"]
    assert next(m for m in other.messages if m["type"] == "resumed")["open_popups"] == 2
    assert other.messages[0]["type"] == "hello"

    # Both close; a console connecting afterwards gets nothing to replay.
    await feed.send(answered(ringing, ext), answered(second, ext), producer="telephony")
    for call in (ringing, second):
        await other.wait_for(
            lambda m, c=call: m.get("call_id") == c and m["type"] == "call.popup.closed",
            message="closed",
        )
    later = await consoles(r1, admin).open()
    # No pop-up to replay (the admin, alone on the extension, now has one of the answered
    # calls as the current call: that replays, and is not a pop-up).
    replayed = [m["type"] for m in later.messages if m["type"] not in ("ping", "call.current")]
    assert replayed == ["hello", "resumed"]
    assert next(m for m in later.messages if m["type"] == "resumed")["open_popups"] == 0


async def test_redis_restarted_mid_session_recovers(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, r1, _ = replicas
    ext = unique_extension()
    admins = [Operator(unique(f"adm{n}"), f"Adm {n}", ext) for n in range(3)]
    await register_operators(feed, r0, admins)
    tabs = [await consoles(r, op).open() for r, op in zip(replicas, admins, strict=True)]
    before = unique("call")
    await feed.send(started(before, ext), producer="telephony")
    for tab in tabs:
        await tab.wait_for(lambda m: m.get("call_id") == before, message="pop-up")

    # The local Redis keeps no data across a restart: the open pop-up's state is gone.
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(REPO / "scripts" / "infra.sh"),
        "restart-redis",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()

    async with httpx.AsyncClient() as client:
        for replica in replicas:

            async def ready(r: Replica = replica) -> bool:
                return (await client.get(f"{r.http}/readyz")).status_code == 200

            await wait_until(ready, timeout=30, message="replica ready after Redis restart")

    # Consoles stayed connected, and the answer still closes the pop-up everywhere.
    await feed.send(answered(before, ext, admins[0].operator_id), producer="telephony")
    for tab in tabs:
        closed = await tab.wait_for(
            lambda m: m.get("call_id") == before and m["type"] == "call.popup.closed",
            message="closed after restart",
        )
        assert closed["reason"] == "answered"
        assert closed["handled_by"]["name"] == "Adm 0"
    after = unique("call")
    await feed.send(started(after, ext), producer="telephony")
    for tab in tabs:
        await tab.wait_for(lambda m: m.get("call_id") == after, message="pop-up after restart")
        assert tab.close_code is None
        assert [m["type"] for m in tab.messages].count("hello") == 1
    # And resume works again on the new Redis.
    fresh = await consoles(r1, admins[1]).open()
    assert [m["call_id"] for m in fresh.messages if m["type"] == "call.popup"] == [after]


async def test_the_handshake_needs_a_valid_session(replicas: list[Replica], feed: Any) -> None:
    r0 = replicas[0]
    with pytest.raises(websockets.InvalidStatus) as missing:
        await websockets.connect(r0.ws)
    assert missing.value.response.status_code == 401
    forged = issue_token(Principal("op-x", "X", "admin", None, "101"), "not-the-secret-" * 3)
    with pytest.raises(websockets.InvalidStatus) as bad:
        await websockets.connect(f"{r0.ws}?token={forged}")
    assert bad.value.response.status_code == 401

    gone = Operator(unique("gone"), "Gone", unique_extension(), active=False)
    await register_operators(feed, r0, [gone])
    with pytest.raises(websockets.InvalidStatus) as inactive:
        await websockets.connect(f"{r0.ws}?token={gone.token}")
    assert inactive.value.response.status_code == 403

    # Cookie and bearer header work as well as the query string.
    ext = unique_extension()
    token = token_for(unique("op"), "Cookie Op", ext)
    cookie = {"Cookie": f"sb_session={token}"}
    async with websockets.connect(r0.ws, additional_headers=cookie) as ws:
        hello = json.loads(await ws.recv())
        assert (hello["type"], hello["extensions"], hello["extensions_source"]) == (
            "hello",
            [ext],
            "token",
        )
    bearer = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(r0.ws, additional_headers=bearer) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"

    # A page on another site cannot ride on the operator's cookie.
    with pytest.raises(websockets.InvalidStatus) as foreign:
        await websockets.connect(r0.ws, additional_headers=cookie, origin="https://evil.test")
    assert foreign.value.response.status_code == 403
    async with websockets.connect(r0.ws, additional_headers=cookie, origin=CONSOLE_ORIGIN) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"


async def test_the_extension_comes_from_the_directory_not_the_client(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, r1, _ = replicas
    mine, theirs = unique_extension(), unique_extension()
    me = Operator(unique("me"), "Me", mine)
    neighbour = Operator(unique("nb"), "Neighbour", theirs)
    await register_operators(feed, r0, [me, neighbour])
    # Asking for someone else's extension in the URL changes nothing.
    tab = await consoles(r1, me).open(query=f"&extension={theirs}&extensions={theirs}")
    assert tab.messages[0]["extensions"] == [mine]
    watcher = await consoles(r0, neighbour).open()
    theirs_call, mine_call = unique("call"), unique("call")
    await feed.send(started(theirs_call, theirs), started(mine_call, mine), producer="telephony")
    await watcher.wait_for(lambda m: m.get("call_id") == theirs_call, message="their pop-up")
    await tab.wait_for(lambda m: m.get("call_id") == mine_call, message="my pop-up")
    assert all(theirs_call not in raw for raw in tab.raw)

    # The directory moves me onto their extension: my console follows without reconnecting.
    moved = Operator(me.operator_id, "Me", theirs)
    await feed.send(moved.changed(), producer="booking")
    update = await tab.wait_for(lambda m: m["type"] == "extensions", message="extensions")
    assert update["extensions"] == [theirs]
    await tab.wait_for(lambda m: m.get("call_id") == theirs_call, message="their pop-up now")
    gone = await tab.wait_for(
        lambda m: m.get("call_id") == mine_call and m["type"] == "call.popup.closed",
        message="my old pop-up closed",
    )
    assert gone["reason"] == "unassigned"

    # Deactivated: the session ends.
    await feed.send(Operator(me.operator_id, "Me", theirs, active=False).changed(), producer="b")
    await wait_until(
        lambda: _closed_with(tab, 4403), timeout=30, message="session closed on deactivation"
    )


async def _closed_with(console: Any, code: int) -> bool:
    return console.close_code == code


async def test_heartbeats_and_bad_messages(replicas: list[Replica], consoles: Any) -> None:
    r0 = replicas[0]
    op = Operator(unique("hb"), "Heart Beat", unique_extension())
    tab = await consoles(r0, op).open()
    await tab.wait_for(lambda m: m["type"] == "ping", message="server ping")
    await tab.send({"type": "ping"})
    await tab.wait_for(lambda m: m["type"] == "pong", message="pong")
    await tab.ws.send("not json")
    await tab.send({"type": "dance"})
    await tab.send({"type": "take"})
    await tab.ws.send(json.dumps({"type": "ping", "pad": "x" * 10_000}))
    errors = [
        (await tab.wait_for(lambda m, n=n: m["type"] == "error" and _nth(tab, m, n)))
        for n in range(4)
    ]
    assert [e["code"] for e in errors] == ["bad_request"] * 4
    assert tab.close_code is None

    # A console that stops answering is let go (4408) once the idle timeout passes.
    silent = await websockets.connect(f"{r0.ws}?token={op.token}")
    codes: list[int | None] = []

    async def drain() -> None:
        try:
            async for _ in silent:
                pass
        except websockets.ConnectionClosed:
            pass
        codes.append(silent.close_code)

    reader = asyncio.create_task(drain())
    await wait_until(lambda: _done(codes), timeout=30, message="idle session closed")
    await reader
    assert codes == [4408]
    assert tab.close_code is None  # the answering console is still there


def _nth(console: Any, message: dict[str, Any], n: int) -> bool:
    errors = [m for m in console.messages if m["type"] == "error"]
    return len(errors) > n and errors[n] is message


async def _done(codes: list[int | None]) -> bool:
    return bool(codes)


async def test_worklist_changes_reach_every_console_on_every_replica(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    from switchboard_contracts import WorklistChanged

    r0, _, r2 = replicas
    operators = [Operator(unique(f"wl{n}"), f"Wl {n}", unique_extension()) for n in range(2)]
    await register_operators(feed, r0, operators)
    tabs = [await consoles(r, op).open() for r, op in zip((r0, r2), operators, strict=True)]
    missed = unique("missed")
    await feed.send(
        WorklistChanged(
            call_id=missed, change="claimed", clinic_id="cl-1", changed_at=datetime.now(UTC)
        ),
        producer="analytics",
    )
    for tab in tabs:
        message = await tab.wait_for(
            lambda m: m["type"] == "worklist.changed" and m.get("call_id") == missed,
            message="worklist.changed",
        )
        assert message == {
            "type": "worklist.changed",
            "call_id": missed,
            "change": "claimed",
            "clinic_id": "cl-1",
        }
