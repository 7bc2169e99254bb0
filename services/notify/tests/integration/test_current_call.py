"""The current-call panel's messages: the operator who answers (on the phone or in the
console) gets ``call.current`` with the caller's identification, the others on the shared
extension do not; the end turns it to wrap-up; a result set on the touch or a dismissal
clears it; a console that reconnects meanwhile gets it again. Three replicas, real Kafka,
Redis and WebSockets; expected values written out by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_contracts import (
    CallAnswered,
    CallEnded,
    CallerIdentified,
    CallStarted,
    TouchContact,
    TouchUpdated,
)

from .conftest import Operator, Replica, register_operators, unique, unique_extension

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLER = "+79161234567"
CALLER_DISPLAY = "+7 916 123-45-67"
# A fixed moment: the messages carry these times back as they were sent.
ANSWERED_AT = datetime(2026, 11, 25, 7, 0, 9, tzinfo=UTC)
ENDED_AT = ANSWERED_AT + timedelta(seconds=95)


def started(call_id: str, extension: str) -> CallStarted:
    return CallStarted(
        call_id=call_id,
        direction="incoming",
        caller=CALLER,
        callee="+74951234567",
        extension=extension,
        started_at=ANSWERED_AT - timedelta(seconds=9),
    )


def answered(call_id: str, extension: str, operator_id: str | None) -> CallAnswered:
    return CallAnswered(
        call_id=call_id, answered_at=ANSWERED_AT, extension=extension, operator_id=operator_id
    )


def ended(call_id: str, extension: str, operator_id: str | None) -> CallEnded:
    return CallEnded(
        call_id=call_id,
        ended_at=ENDED_AT,
        disposition="answered",
        wait_seconds=9,
        talk_seconds=95,
        total_seconds=104,
        extension=extension,
        operator_id=operator_id,
    )


def touch_result(call_id: str, result: str | None) -> TouchUpdated:
    return TouchUpdated(
        touch_id=f"t-{call_id}",
        call_id=call_id,
        status="done",
        result=result,  # type: ignore[arg-type]
        updated_at=datetime.now(UTC),
    )


PATIENT = TouchContact(
    id="p-2001", kind="patient", display_name="Sergey Morozov", key_details={"Age": "41"}
)


def current_of(tab: Any, call_id: str, state: str) -> Any:
    return tab.wait_for(
        lambda m: (
            m["type"] == "call.current"
            and m["call_id"] == call_id
            and m["state"] == state
            and m["identification"] == "known"
        ),
        message=f"call.current {state}",
    )


async def test_the_answering_operator_gets_the_current_call_until_the_result_is_set(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, r1, r2 = replicas
    shared = unique_extension()
    anna = Operator(unique("anna"), "Anna", shared)
    boris = Operator(unique("boris"), "Boris", shared)
    await register_operators(feed, r0, [anna, boris])
    anna_tabs = [consoles(r0, anna, "anna/1"), consoles(r1, anna, "anna/2")]
    boris_tab = consoles(r2, boris)
    await asyncio.gather(*(c.open() for c in [*anna_tabs, boris_tab]))

    call_id = unique("call")
    await feed.send(started(call_id, shared), producer="telephony")
    await feed.send(
        CallerIdentified(
            call_id=call_id,
            direction="incoming",
            phone=CALLER,
            contact=PATIENT,
            identified_at=ANSWERED_AT,
        ),
        producer="crm-touch",
    )
    await boris_tab.wait_for(
        lambda m: m["type"] == "call.popup" and m["call_id"] == call_id, message="pop-up"
    )
    await feed.send(answered(call_id, shared, anna.operator_id), producer="telephony")

    for tab in anna_tabs:
        current = await current_of(tab, call_id, "on_call")
        assert {k: v for k, v in current.items() if k != "version"} == {
            "type": "call.current",
            "call_id": call_id,
            "state": "on_call",
            "resumed": False,
            "caller": {"number": CALLER, "display": CALLER_DISPLAY},
            "clinic": None,
            "extension": shared,
            "how": "answered",
            "answered_at": "2026-11-25T07:00:09Z",
            "ended_at": None,
            "talk_seconds": None,
            "identification": "known",
            "contact": {
                "id": "p-2001",
                "kind": "patient",
                "name": "Sergey Morozov",
                "key_details": {"Age": "41"},
                "link": "/clients/p-2001",
            },
            "candidates": [],
        }

    # A second look while on the call (a reload, another tab): the panel is there again.
    reloaded = consoles(r2, anna, "anna/reloaded")
    await reloaded.open(wait_resumed=False)
    resumed = await current_of(reloaded, call_id, "on_call")
    assert resumed["resumed"] is True
    kinds = [m["type"] for m in reloaded.messages]
    assert kinds.index("call.current") < kinds.index("resumed")

    await feed.send(ended(call_id, shared, anna.operator_id), producer="telephony")
    for tab in [*anna_tabs, reloaded]:
        wrap_up = await current_of(tab, call_id, "wrap_up")
        assert wrap_up["ended_at"] == "2026-11-25T07:01:44Z"
        assert wrap_up["talk_seconds"] == 95
        assert wrap_up["contact"]["name"] == "Sergey Morozov"

    # Wrap-up also survives a reconnect.
    again = consoles(r0, anna, "anna/again")
    await again.open()
    assert (await current_of(again, call_id, "wrap_up"))["resumed"] is True

    # The operator sets the touch's result: the wrap-up is over in every tab.
    await feed.send(touch_result(call_id, "information"), producer="crm-touch")
    for tab in [*anna_tabs, reloaded, again]:
        cleared = await tab.wait_for(
            lambda m: m["type"] == "call.current.cleared", message="cleared"
        )
        assert {k: v for k, v in cleared.items() if k != "version"} == {
            "type": "call.current.cleared",
            "call_id": call_id,
            "reason": "result_set",
        }
    # Boris shared the extension but did not answer: no current call ever reached him.
    assert [m for m in boris_tab.messages if m["type"].startswith("call.current")] == []

    # Nothing comes back: not on reconnect, not when the answer and end are replayed.
    await feed.send(answered(call_id, shared, anna.operator_id), producer="telephony")
    await feed.send(ended(call_id, shared, anna.operator_id), producer="telephony")
    later = consoles(r1, anna, "anna/later")
    await later.open()
    marker = unique("marker")
    await feed.send(started(marker, shared), producer="telephony")
    await later.wait_for(
        lambda m: m["type"] == "call.popup" and m["call_id"] == marker, message="marker"
    )
    assert [m for m in later.messages if m["type"].startswith("call.current")] == []


async def test_the_sole_operator_of_an_extension_and_a_taker_get_it_and_may_dismiss(
    replicas: list[Replica], feed: Any, consoles: Any
) -> None:
    r0, r1, _ = replicas
    solo_ext, shared = unique_extension(), unique_extension()
    olga = Operator(unique("olga"), "Olga", solo_ext)
    petr = Operator(unique("petr"), "Petr", shared)
    ivan = Operator(unique("ivan"), "Ivan", shared)
    await register_operators(feed, r0, [olga, petr, ivan])
    olga_tab, petr_tab, ivan_tab = consoles(r0, olga), consoles(r1, petr), consoles(r0, ivan)
    await asyncio.gather(olga_tab.open(), petr_tab.open(), ivan_tab.open())

    # The PBX does not say who answered; Olga alone sits on that extension.
    call_id = unique("call")
    await feed.send(started(call_id, solo_ext), producer="telephony")
    await feed.send(answered(call_id, solo_ext, None), producer="telephony")
    current = await olga_tab.wait_for(
        lambda m: m["type"] == "call.current" and m["call_id"] == call_id, message="current"
    )
    assert current["state"] == "on_call"
    # Not in wrap-up yet: a dismissal is refused.
    await olga_tab.send({"type": "dismiss", "call_id": call_id})
    error = await olga_tab.wait_for(lambda m: m["type"] == "error", message="refused")
    assert error["code"] == "not_found"
    await feed.send(ended(call_id, solo_ext, None), producer="telephony")
    await olga_tab.wait_for(
        lambda m: m["type"] == "call.current" and m["state"] == "wrap_up", message="wrap-up"
    )
    await olga_tab.send({"type": "dismiss", "call_id": call_id})
    cleared = await olga_tab.wait_for(
        lambda m: m["type"] == "call.current.cleared", message="dismissed"
    )
    assert (cleared["call_id"], cleared["reason"]) == (call_id, "dismissed")

    # Petr takes a call in the console: it is his current call, not Ivan's.
    taken = unique("call")
    await feed.send(started(taken, shared), producer="telephony")
    await petr_tab.wait_for(
        lambda m: m["type"] == "call.popup" and m["call_id"] == taken, message="pop-up"
    )
    await petr_tab.send({"type": "take", "call_id": taken})
    current = await petr_tab.wait_for(
        lambda m: m["type"] == "call.current" and m["call_id"] == taken, message="taken"
    )
    assert (current["state"], current["how"], current["extension"]) == (
        "on_call",
        "taken",
        shared,
    )
    # The phone's answer on the shared extension, naming nobody, changes nothing.
    await feed.send(answered(taken, shared, None), producer="telephony")
    await feed.send(ended(taken, shared, None), producer="telephony")
    await petr_tab.wait_for(
        lambda m: m["type"] == "call.current" and m["state"] == "wrap_up", message="wrap-up"
    )
    assert [m for m in ivan_tab.messages if m["type"].startswith("call.current")] == []
