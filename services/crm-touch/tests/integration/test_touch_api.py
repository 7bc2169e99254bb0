"""Managing touches through the API: list and filter, set status / result / notes / the
actual contact (with roles), each change published as TouchUpdated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import (
    Crm,
    call_answered,
    call_started,
    new_call_id,
    random_mobile,
    register_client,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _touch(crm: Crm, phone: str, **kw: Any) -> dict[str, Any]:
    started = call_started(new_call_id(), phone, **kw)
    await crm.publish(started)
    return (await crm.touch_created(started.call_id))["payload"]


async def test_operators_set_status_result_and_notes_managers_only_read(crm: Crm) -> None:
    touch_id = (await _touch(crm, random_mobile()))["touch_id"]
    url = f"/api/crm/touches/{touch_id}"

    response = await crm.patch(url, {"status": "done"}, role="manager")
    assert response.status_code == 403
    response = await crm.client.patch(url, json={"status": "done"})
    assert response.status_code == 401

    response = await crm.patch(
        url, {"status": "in_progress", "result": "information", "notes": " asked about prices "}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["result"], body["notes"]) == (
        "in_progress",
        "information",
        "asked about prices",
    )
    response = await crm.patch(url, {"status": "done", "result": "complaint"}, role="clinic_staff")
    assert response.status_code == 200, response.text
    response = await crm.patch(url, {"notes": None}, role="admin")
    assert response.json()["notes"] == ""
    # Managers read it.
    read = (await crm.get(url, role="manager")).json()
    assert (read["status"], read["result"], read["notes"]) == ("done", "complaint", "")

    # One TouchUpdated per change (the notes themselves stay out of events).
    events = await crm.wait_touch_events(
        lambda evs: sum(e["event_type"] == "TouchUpdated" for e in evs) >= 3,
        "TouchUpdated for each operator change",
        touch_id=touch_id,
    )
    updates = [e["payload"] for e in events if e["event_type"] == "TouchUpdated"]
    assert [(u["status"], u["result"]) for u in updates] == [
        ("in_progress", "information"),
        ("done", "complaint"),
        ("done", "complaint"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "closed"},
        {"result": "sold"},
        {"status": None},
        {"colour": "red"},
        {"notes": "x" * 4001},
        {"contact_id": "somebody-else"},
    ],
)
async def test_bad_changes_are_422(crm: Crm, body: dict[str, Any]) -> None:
    touch_id = (await _touch(crm, random_mobile()))["touch_id"]
    response = await crm.patch(f"/api/crm/touches/{touch_id}", body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_unknown_touches_are_404(crm: Crm) -> None:
    assert (await crm.get("/api/crm/touches/nope")).status_code == 404
    response = await crm.patch("/api/crm/touches/nope", {"status": "done"})
    assert response.status_code == 404
    assert (await crm.get("/api/crm/contacts/nobody")).status_code == 404
    assert (await crm.get("/api/crm/contacts/nobody/timeline")).status_code == 404


async def test_the_operator_says_who_called_on_a_shared_number(crm: Crm) -> None:
    shared = random_mobile()
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    first = await register_client(crm, "Roman Belov", [shared], occurred_at=t0)
    second = await register_client(
        crm, "Rita Belova", [shared], occurred_at=t0 + timedelta(minutes=1)
    )
    created = await _touch(crm, shared)
    assert created["contact"]["id"] == second and created["contact"]["ambiguous"]
    response = await crm.patch(f"/api/crm/touches/{created['touch_id']}", {"contact_id": first})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["contact"]["id"] == first and body["ambiguous"] is False
    events = await crm.wait_touch_events(
        lambda evs: any(e["event_type"] == "TouchUpdated" for e in evs),
        "TouchUpdated with the chosen contact",
        touch_id=created["touch_id"],
    )
    contact = events[-1]["payload"]["contact"]
    assert contact["id"] == first and contact["ambiguous"] is False


async def test_the_list_filters_by_contact_operator_period_and_status(crm: Crm) -> None:
    phone = random_mobile()
    client_id = await register_client(crm, "Lidia Morozova", [phone])
    operator = f"op-{uuid.uuid4().hex[:6]}"
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    touches = []
    for hours in (0, 1, 2, 3):
        started = call_started(new_call_id(), phone, started_at=base + timedelta(hours=hours))
        await crm.publish(started)
        if hours % 2:
            await crm.publish(call_answered(started, operator))
        touches.append((await crm.touch_created(started.call_id))["payload"]["touch_id"])
    # Wait until both answers reached their touches.
    for touch_id in touches[1::2]:
        await crm.wait_touch_events(
            lambda evs: any(e["payload"].get("operator_id") == operator for e in evs),
            "operator on the touch",
            touch_id=touch_id,
        )
    await crm.patch(f"/api/crm/touches/{touches[0]}", {"status": "done"})

    async def ids(**params: Any) -> list[str]:
        response = await crm.get("/api/crm/touches", **params)
        assert response.status_code == 200, response.text
        return [t["touch_id"] for t in response.json()["items"]]

    newest_first = touches[::-1]
    assert await ids(contact_id=client_id) == newest_first
    assert await ids(operator_id=operator) == [touches[3], touches[1]]
    assert await ids(contact_id=client_id, status="done") == [touches[0]]
    assert await ids(contact_id=client_id, status=["new", "in_progress"]) == newest_first[:3]
    window = {
        "from": (base + timedelta(hours=1)).isoformat(),
        "to": (base + timedelta(hours=3)).isoformat(),
    }
    assert await ids(contact_id=client_id, **window) == [touches[2], touches[1]]
    # Pages of two, following the cursor.
    first = (await crm.get("/api/crm/touches", contact_id=client_id, limit=2)).json()
    second = (
        await crm.get(
            "/api/crm/touches", contact_id=client_id, limit=2, cursor=first["next_cursor"]
        )
    ).json()
    assert [t["touch_id"] for t in first["items"] + second["items"]] == newest_first
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"limit": 0},
        {"limit": 100000},
        {"status": "closed"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00"},
    ],
)
async def test_bad_list_queries_are_422(crm: Crm, params: dict[str, Any]) -> None:
    response = await crm.get("/api/crm/touches", **params)
    assert response.status_code == 422, response.text
