"""Incoming-call pop-ups through real Kafka, Redis and WebSockets, with three replicas.

Input events are produced straight onto this run's topics, the way telephony, crm-touch
and booking publish them; consoles are real WebSocket clients spread over the replicas.
Expected values are written out by hand (formatted numbers, links), not computed by the
code under test.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from switchboard_contracts import (
    CallAnswered,
    CallEnded,
    CallerIdentified,
    CallRinging,
    CallStarted,
    ClinicChanged,
    ContactRef,
    TouchContact,
)
from switchboard_runtime.testing import wait_until

from .conftest import (
    Operator,
    Replica,
    register_operators,
    unique,
    unique_beside,
    unique_extension,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLER = "+79161234567"
CALLER_DISPLAY = "+7 916 123-45-67"


def _now() -> datetime:
    return datetime.now(UTC)


def started(call_id: str, extension: str, clinic_id: str | None = None, **kw: Any) -> CallStarted:
    return CallStarted(
        call_id=call_id,
        direction=kw.get("direction", "incoming"),
        caller=kw.get("caller", CALLER),
        callee="+74951234567",
        extension=extension,
        clinic_id=clinic_id,
        started_at=_now(),
    )


def identified(call_id: str, contact: TouchContact | None, phone: str = CALLER) -> CallerIdentified:
    return CallerIdentified(
        call_id=call_id, direction="incoming", contact=contact, phone=phone, identified_at=_now()
    )


def ended(call_id: str, disposition: str = "missed") -> CallEnded:
    return CallEnded(
        call_id=call_id,
        ended_at=_now(),
        disposition=disposition,  # type: ignore[arg-type]
        wait_seconds=20,
        talk_seconds=0,
        total_seconds=20,
    )


async def open_all(consoles: list[Any]) -> None:
    await asyncio.gather(*(c.open() for c in consoles))


async def test_five_admins_on_one_extension_get_the_popup_and_see_it_close(
    replicas: list[Replica], feed: Any, consoles: Any, settings_env: dict[str, str]
) -> None:
    r0, r1, r2 = replicas
    shared, other = unique_extension(), unique_extension()
    admins = [Operator(unique(f"admin{n}"), f"Admin {n}", shared) for n in range(1, 6)]
    # The sixth sits on another extension; their token even claims the shared one, but the
    # directory says otherwise and the directory wins.
    outsider = Operator(unique("outsider"), "Outsider", other, token_extension=shared)
    await register_all(feed, r0, [*admins, outsider])
    clinic_id = unique("clinic")
    await feed.send(
        ClinicChanged(clinic_id=clinic_id, name="Tverskaya clinic", time_zone="Europe/Moscow"),
        producer="booking",
    )

    tabs = [
        consoles(r0, admins[0], "admin1/tab1"),
        consoles(r1, admins[0], "admin1/tab2"),
        consoles(r0, admins[1]),
        consoles(r1, admins[2]),
        consoles(r2, admins[3]),
        consoles(r2, admins[4]),
    ]
    spy = consoles(r0, outsider)
    await open_all([*tabs, spy])
    hello = spy.messages[0]
    assert hello["type"] == "hello"
    assert hello["extensions"] == [other]
    assert hello["extensions_source"] == "directory"

    call_id = unique("call")
    patient = TouchContact(
        id="p-1001",
        kind="patient",
        display_name="Anna Petrova",
        key_details={"Next visit": "2 Dec, 10:30, Dr Ivanov", "Date of birth": "1985-04-12"},
    )
    # Identification first, the ring after: the pop-up carries the patient from the start.
    await feed.send(identified(call_id, patient), producer="crm-touch")
    await wait_until(
        lambda: identified_in_redis(replicas[0], call_id), timeout=30, message="identified"
    )
    await feed.send(started(call_id, shared, clinic_id), producer="telephony")

    for tab in tabs:
        popup = await tab.wait_for(
            lambda m: m["type"] == "call.popup" and m["call_id"] == call_id, message="pop-up"
        )
        assert popup["update"] is False
        assert popup["extension"] == shared
        assert popup["caller"] == {"number": CALLER, "display": CALLER_DISPLAY}
        assert popup["clinic"] == {"id": clinic_id, "name": "Tverskaya clinic"}
        assert popup["identification"] == "known"
        assert popup["contact"] == {
            "id": "p-1001",
            "kind": "patient",
            "name": "Anna Petrova",
            "key_details": {
                "Next visit": "2 Dec, 10:30, Dr Ivanov",
                "Date of birth": "1985-04-12",
            },
            "link": "/clients/p-1001",
        }
        assert popup["candidates"] == []

    # The third admin picks up the phone: every tab closes, saying who answered.
    await feed.send(
        CallAnswered(
            call_id=call_id, answered_at=_now(), extension=shared, operator_id=admins[2].operator_id
        ),
        producer="telephony",
    )
    for tab in tabs:
        closed = await tab.wait_for(
            lambda m: m["type"] == "call.popup.closed" and m["call_id"] == call_id,
            message="closed",
        )
        assert closed["reason"] == "answered"
        assert closed["handled_by"] == {
            "operator_id": admins[2].operator_id,
            "name": "Admin 3",
            "extension": shared,
        }
        assert len(tab.about(call_id, "call.popup")) == 1

    # Privacy: a call on the outsider's own extension reaches them, after everything about
    # the first call went by on the same replica — and nothing of the first call did.
    own_call = unique("call")
    await feed.send(started(own_call, other, caller="+74957654321"), producer="telephony")
    await spy.wait_for(lambda m: m.get("call_id") == own_call, message="own pop-up")
    leaked = [raw for raw in spy.raw if call_id in raw or CALLER in raw or "Anna" in raw]
    assert leaked == []
    assert all(own_call not in raw for tab in tabs for raw in tab.raw)


async def register_all(feed: Any, replica: Replica, operators: list[Operator]) -> None:
    await register_operators(feed, replica, operators)


async def identified_in_redis(replica: Replica, call_id: str) -> bool:
    """Whether notify stored the call's identification (read from Redis directly)."""
    from redis.asyncio import Redis

    from switchboard_notify.settings import NotifySettings

    settings = NotifySettings()
    client = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        return bool(await client.hget(f"{settings.redis_prefix}call:{call_id}", "ident"))
    finally:
        await client.aclose()


async def test_late_identification_updates_the_open_popup_in_place(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, r1, r2 = replicas
    ext = unique_extension()
    admins = [Operator(unique(f"adm{n}"), f"Adm {n}", ext) for n in range(2)]
    await register_all(feed, r0, admins)
    tabs = [consoles(r1, admins[0]), consoles(r2, admins[1])]
    await open_all(tabs)

    # Ring first, identification after.
    late = unique("call")
    await feed.send(started(late, ext), producer="telephony")
    for tab in tabs:
        first = await tab.wait_for(lambda m: m.get("call_id") == late, message="pop-up")
        assert (first["type"], first["update"], first["identification"]) == (
            "call.popup",
            False,
            "pending",
        )
        assert first["contact"] is None
        assert first["caller"] == {"number": CALLER, "display": CALLER_DISPLAY}
    lead = TouchContact(id="l-77", kind="lead", display_name="Boris Lead", key_details={})
    await feed.send(identified(late, lead), producer="crm-touch")
    for tab in tabs:
        updated = await tab.wait_for(
            lambda m: m.get("call_id") == late and m.get("update") is True, message="update"
        )
        assert updated["type"] == "call.popup"
        assert updated["identification"] == "known"
        assert updated["contact"]["link"] == "/leads/l-77"
        assert updated["contact"]["name"] == "Boris Lead"
        assert updated["version"] > tab.about(late)[0]["version"]
        # Updated in place: one opening, one update, no second pop-up.
        assert [m["update"] for m in tab.about(late, "call.popup")] == [False, True]

    # An unknown number: only the number.
    unknown = unique("call")
    await feed.send(identified(unknown, None, phone="+74951112233"), producer="crm-touch")
    await feed.send(started(unknown, ext, caller="+74951112233"), producer="telephony")
    for tab in tabs:
        await tab.wait_for(
            lambda m: m.get("call_id") == unknown and m.get("identification") == "unknown",
            message="unknown caller",
        )
        shown = tab.about(unknown, "call.popup")[-1]
        assert shown["contact"] is None
        assert shown["caller"] == {"number": "+74951112233", "display": "+7 495 111-22-33"}

    # An ambiguous number: the candidates, each with its link.
    ambiguous = unique("call")
    await feed.send(started(ambiguous, ext, caller="+79035550011"), producer="telephony")
    await feed.send(
        identified(
            ambiguous,
            TouchContact(
                id="p-5",
                kind="patient",
                display_name="Olga Smirnova",
                ambiguous=True,
                candidates=[
                    ContactRef(id="p-5", kind="patient", display_name="Olga Smirnova"),
                    ContactRef(id="p-6", kind="patient", display_name="Igor Smirnov"),
                    ContactRef(id="l-9", kind="lead", display_name="Smirnova (lead)"),
                ],
            ),
            phone="+79035550011",
        ),
        producer="crm-touch",
    )
    for tab in tabs:
        shown = await tab.wait_for(
            lambda m: m.get("call_id") == ambiguous and m.get("identification") == "ambiguous",
            message="ambiguous caller",
        )
        assert [(c["name"], c["link"]) for c in shown["candidates"]] == [
            ("Olga Smirnova", "/clients/p-5"),
            ("Igor Smirnov", "/clients/p-6"),
            ("Smirnova (lead)", "/leads/l-9"),
        ]
        assert shown["caller"]["display"] == "+7 903 555-00-11"

    # Missed calls close with the reason "ended".
    await feed.send(*(ended(c) for c in (late, unknown, ambiguous)), producer="telephony")
    for tab in tabs:
        for call in (late, unknown, ambiguous):
            closed = await tab.wait_for(
                lambda m, c=call: m.get("call_id") == c and m["type"] == "call.popup.closed",
                message="closed",
            )
            assert (closed["reason"], closed["handled_by"], closed["disposition"]) == (
                "ended",
                None,
                "missed",
            )


async def test_taking_a_call_closes_it_for_all_and_records_the_admin(
    replicas: list[Replica], feed: Any, consoles: Any, topic_reader: Any
) -> None:
    r0, r1, r2 = replicas
    ext, elsewhere = unique_extension(), unique_extension()
    admins = [Operator(unique(f"taker{n}"), f"Taker {n}", ext) for n in range(3)]
    outsider = Operator(unique("outsider"), "Outsider", elsewhere)
    await register_all(feed, r0, [*admins, outsider])
    tabs = [consoles(r0, admins[0]), consoles(r1, admins[1]), consoles(r2, admins[2])]
    await open_all(tabs)
    claims = await topic_reader("notify.claims")

    # Over the WebSocket.
    first = unique("call")
    await feed.send(started(first, ext), producer="telephony")
    for tab in tabs:
        await tab.wait_for(lambda m: m.get("call_id") == first, message="pop-up")
    await tabs[1].send({"type": "take", "call_id": first})
    result = await tabs[1].wait_for(lambda m: m["type"] == "take.result", message="take result")
    assert result == {"type": "take.result", "call_id": first, "ok": True}
    for tab in tabs:
        closed = await tab.wait_for(
            lambda m: m.get("call_id") == first and m["type"] == "call.popup.closed",
            message="closed",
        )
        assert closed["reason"] == "taken"
        assert closed["handled_by"] == {
            "operator_id": admins[1].operator_id,
            "name": "Taker 1",
            "extension": ext,
        }
    records = await claims.wait_for(
        lambda recs: any(r.key == first.encode() for r in recs), message="CallClaimed"
    )
    import json

    claim = next(json.loads(r.value) for r in records if r.key == first.encode())
    assert claim["event_type"] == "CallClaimed"
    assert claim["producer"] == "notify"
    assert claim["payload"]["operator_id"] == admins[1].operator_id
    assert claim["payload"]["extension"] == ext

    # Over HTTP: the outsider cannot take (or even see) it, the first taker wins, the next
    # one is told who did.
    second = unique("call")
    await feed.send(started(second, ext), producer="telephony")
    for tab in tabs:
        await tab.wait_for(lambda m: m.get("call_id") == second, message="pop-up")
    async with httpx.AsyncClient(base_url=r2.http) as client:

        def auth(op: Operator) -> dict[str, str]:
            return {"Authorization": f"Bearer {op.token}"}

        path = f"/api/notify/calls/{second}/take"
        assert (await client.post(path, headers=auth(outsider))).status_code == 404
        assert (await client.post(path)).status_code == 401
        won = await client.post(path, headers=auth(admins[2]))
        assert won.status_code == 200, won.text
        assert won.json()["handled_by"]["operator_id"] == admins[2].operator_id
        lost = await client.post(path, headers=auth(admins[0]))
        assert lost.status_code == 409
        assert lost.json()["reason"] == "taken"
        assert lost.json()["handled_by"]["operator_id"] == admins[2].operator_id
        assert (await client.post(path, headers=auth(outsider))).status_code == 404
        missing = await client.post("/api/notify/calls/no-such-call/take", headers=auth(admins[0]))
        assert missing.status_code == 404
    for tab in tabs:
        closed = await tab.wait_for(
            lambda m: m.get("call_id") == second and m["type"] == "call.popup.closed",
            message="closed",
        )
        assert closed["reason"] == "taken"

    # The PBX then reports the answer and a late ringing: nothing reopens, nothing closes twice.
    await feed.send(
        CallAnswered(call_id=second, answered_at=_now(), extension=ext),
        CallRinging(call_id=second, extension=ext, ringing_at=_now() - timedelta(seconds=3)),
        producer="telephony",
    )
    # Taking it again over the WebSocket says who had it.
    await tabs[0].send({"type": "take", "call_id": second})
    refused = await tabs[0].wait_for(
        lambda m: m["type"] == "error" and m.get("call_id") == second, message="refusal"
    )
    assert refused["code"] == "already_closed"
    marker = unique_beside(second)
    await feed.send(started(marker, ext), producer="telephony")
    for tab in tabs:
        await tab.wait_for(lambda m: m.get("call_id") == marker, message="marker pop-up")
        shown = [m["type"] for m in tab.about(second) if m["type"].startswith("call.popup")]
        assert shown == ["call.popup", "call.popup.closed"]


async def test_a_ringing_after_the_answer_is_ignored(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, _, r2 = replicas
    ext = unique_extension()
    admin = Operator(unique("adm"), "Adm", ext)
    await register_all(feed, r0, [admin])
    tab = consoles(r2, admin)
    await tab.open()
    call = unique("call")
    await feed.send(
        started(call, ext),
        CallAnswered(call_id=call, answered_at=_now(), extension=ext),
        CallRinging(call_id=call, extension=ext, ringing_at=_now()),
        producer="telephony",
    )
    # A call answered before anyone rang it: the ringing must not open a pop-up either.
    early = unique_beside(call)
    await feed.send(
        CallAnswered(call_id=early, answered_at=_now(), extension=ext),
        CallRinging(call_id=early, extension=ext, ringing_at=_now()),
        producer="telephony",
    )
    # On the same partition as both: shown only after their events were handled.
    marker = unique_beside(call)
    await feed.send(started(marker, ext), producer="telephony")
    await tab.wait_for(lambda m: m.get("call_id") == marker, message="marker")
    # (The answer makes the call the admin's current call: that is not a pop-up.)
    popups = [m["type"] for m in tab.about(call) if m["type"].startswith("call.popup")]
    assert popups == ["call.popup", "call.popup.closed"]
    assert [m for m in tab.about(early) if m["type"].startswith("call.popup")] == []
