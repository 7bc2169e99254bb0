"""The call-back worklist through the real service: missed calls listed per number,
oldest first, with their attempts; claims that conflict, releases, closures with a result;
a call to the number taking it off by itself; who sees what; and every change announced
on ``analytics.worklist``.

Calls are placed relative to the moment the test starts (the worklist reaches back a
week from now); nothing depends on the date.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

NOW = datetime.now(UTC).replace(microsecond=0)
TWICE = "+79160000001"  # missed twice at Central
ONCE = "+79160000002"  # missed once at North
ANNAS = "+79160000003"  # missed on Anna's extension (call center A) at North
LONG_AGO = "+79160000004"  # missed ten days ago: past the worklist's week
CALLED = "+79160000005"  # missed, then called back


def _token(operator_id: str, name: str, role: str, call_center_id: str | None) -> dict[str, str]:
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.auth import Principal, issue_token

    secret = AnalyticsSettings().auth_secret.get_secret_value()
    principal = Principal(operator_id, name, role, call_center_id)  # type: ignore[arg-type]
    return {"Authorization": "Bearer " + issue_token(principal, secret)}


ANNA = _token("op-anna", "Anna", "call_centre", "cc-a")
BORIS = _token("op-boris", "Boris", "call_centre", "cc-a")
PETR = _token("op-petr", "Petr", "call_centre", "cc-b")
MANAGER = _token("op-maria", "Maria", "manager", None)
ADMIN = _token("op-admin", "Admin", "admin", None)


def _missed(
    kit: Any, call_id: str, number: str, ago: timedelta, clinic: str, ext: str, **kw: Any
) -> Any:
    return kit.Call(
        call_id=call_id,
        call_type="incoming",
        src=number,
        dst="+74950000000",
        extension=ext,
        clinic_id=clinic,
        started_at=NOW - ago,
        disposition="missed",
        wait_seconds=20,
        talk_seconds=0,
        **kw,
    )


def _outgoing(kit: Any, call_id: str, number: str, ago: timedelta) -> Any:
    return kit.Call(
        call_id=call_id,
        call_type="outgoing",
        src="101",
        dst=number,
        extension="101",
        clinic_id="c-central",
        started_at=NOW - ago,
        disposition="answered",
        wait_seconds=3,
        talk_seconds=40,
        operator_id="op-boris",
    )


class Service:
    def __init__(self, client: httpx.AsyncClient, app: Any, env: dict[str, str], kit: Any):
        self.client, self.app, self.env, self.kit = client, app, env, kit
        self.sent = 0

    async def send(self, calls: list[Any], directory: list[Any] = ()) -> None:  # type: ignore[assignment]
        from switchboard_contracts.envelope import make_envelope

        envelopes = [make_envelope(e, producer="booking", occurred_at=NOW) for e in directory]
        for call in calls:
            envelopes += [
                make_envelope(e, producer="telephony", occurred_at=NOW)
                for e in self.kit.call_events(call)
            ]
        self.sent += len(envelopes)
        await self.kit.publish_and_wait(self.app, self.env, envelopes, self.sent)

    async def worklist(self, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
        answer = await self.client.get("/api/analytics/worklist", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    async def act(
        self, headers: dict[str, str], call_id: str, action: str, **body: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/analytics/worklist/{call_id}/{action}",
            headers=headers,
            json=body if body else None,
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    settings_env: dict[str, str], run_id: str, running_service: Any, kit: Any
) -> AsyncIterator[Service]:
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_contracts import ClinicChanged, OperatorChanged

    env = dict(settings_env, TOPIC_PREFIX=f"t{run_id}.wl.", DATABASE_SUFFIX=f"_wl_{run_id}")
    app = build_app(
        AnalyticsSettings(
            topic_prefix=env["TOPIC_PREFIX"], database_suffix=env["DATABASE_SUFFIX"], log_json=False
        )
    )
    directory = [
        OperatorChanged(
            operator_id="op-anna", name="Anna", role="call_centre", call_center_id="cc-a"
        ),
        ClinicChanged(clinic_id="c-central", name="Central", time_zone="Europe/Moscow"),
        ClinicChanged(clinic_id="c-north", name="North", time_zone="Europe/Moscow"),
    ]
    calls = [
        _missed(kit, "m-twice-1", TWICE, timedelta(hours=3), "c-central", "101"),
        _missed(kit, "m-twice-2", TWICE, timedelta(hours=2), "c-central", "102"),
        _missed(kit, "m-once", ONCE, timedelta(hours=1), "c-north", "201"),
        _missed(
            kit, "m-annas", ANNAS, timedelta(minutes=30), "c-north", "202", operator_id="op-anna"
        ),
        _missed(kit, "m-long-ago", LONG_AGO, timedelta(days=10), "c-north", "201"),
        _missed(kit, "m-called", CALLED, timedelta(hours=5), "c-central", "101"),
        _outgoing(kit, "o-called", CALLED, timedelta(hours=4)),
    ]
    async with running_service(app) as client:
        svc = Service(client, app, env, kit)
        await svc.send(calls, directory)
        yield svc


def _age_between(
    item: dict[str, Any], missed_at: datetime, before: datetime, after: datetime
) -> bool:
    return (
        int((before - missed_at).total_seconds())
        <= item["age_seconds"]
        <= int((after - missed_at).total_seconds()) + 1
    )


async def test_missed_calls_are_listed_per_number_oldest_first(service: Service) -> None:
    before = datetime.now(UTC)
    items = await service.worklist(MANAGER)
    after = datetime.now(UTC)
    assert [(i["call_id"], i["number"], i["attempts"]) for i in items] == [
        ("m-twice-1", TWICE, 2),
        ("m-once", ONCE, 1),
        ("m-annas", ANNAS, 1),
    ]
    first = items[0]
    assert first["first_missed_at"] == (NOW - timedelta(hours=3)).isoformat().replace("+00:00", "Z")
    assert first["last_missed_at"] == (NOW - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    assert (first["clinic_id"], first["clinic_name"], first["extension"]) == (
        "c-central",
        "Central",
        "101",
    )
    assert first["claimed_by"] is None
    assert _age_between(first, NOW - timedelta(hours=3), before, after)
    north = await service.worklist(MANAGER, clinic="c-north")
    assert [i["call_id"] for i in north] == ["m-once", "m-annas"]
    assert [i["call_id"] for i in await service.worklist(MANAGER, extension="101")] == ["m-twice-1"]
    page = await service.client.get("/api/analytics/worklist", params={"limit": 2}, headers=MANAGER)
    assert [i["call_id"] for i in page.json()["items"]] == ["m-twice-1", "m-once"]
    assert page.json()["more"] is True


async def test_an_operator_does_not_see_another_call_centers_calls(service: Service) -> None:
    assert [i["call_id"] for i in await service.worklist(PETR)] == ["m-twice-1", "m-once"]
    assert "m-annas" in [i["call_id"] for i in await service.worklist(BORIS)]
    refused = await service.act(PETR, "m-annas", "claim")
    assert refused.status_code == 404


async def test_claims_conflict_and_release(service: Service) -> None:
    claimed = await service.act(ANNA, "m-twice-1", "claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["callback"]["claimed_by"]["name"] == "Anna"
    assert (await service.act(ANNA, "m-twice-1", "claim")).status_code == 200  # again: no-op
    for action, body in (("claim", {}), ("release", {}), ("close", {"result": "no_answer"})):
        refused = await service.act(BORIS, "m-twice-1", action, **body)
        assert (refused.status_code, refused.json()["detail"]) == (409, "claimed by Anna"), action
    seen_by_boris = {i["call_id"]: i for i in await service.worklist(BORIS)}
    assert seen_by_boris["m-twice-1"]["claimed_by"]["operator_id"] == "op-anna"
    assert (await service.act(MANAGER, "m-twice-1", "release")).status_code == 403
    released = await service.act(ADMIN, "m-twice-1", "release")
    assert released.status_code == 200 and released.json()["callback"]["claimed_by"] is None
    assert (await service.act(BORIS, "m-twice-2", "claim")).status_code == 404  # not the first
    assert (await service.act(BORIS, "no-such-call", "claim")).status_code == 404


async def test_closing_with_a_result(service: Service, kit: Any) -> None:
    bad = await service.act(BORIS, "m-once", "close", result="maybe")
    assert bad.status_code == 422
    assert (await service.act(BORIS, "m-once", "close")).status_code == 422
    closed = await service.act(BORIS, "m-once", "close", result="wrong_number")
    assert closed.status_code == 200 and closed.json() == {"callback": None}
    assert "m-once" not in [i["call_id"] for i in await service.worklist(MANAGER)]
    assert (await service.act(BORIS, "m-once", "close", result="no_answer")).status_code == 404
    # The number calls again and nobody answers: a new call-back, of that call alone.
    await service.send(
        [_missed(kit, "m-once-again", ONCE, timedelta(minutes=10), "c-north", "201")]
    )
    again = {i["number"]: i for i in await service.worklist(MANAGER)}[ONCE]
    assert (again["call_id"], again["attempts"]) == ("m-once-again", 1)


async def test_an_answered_call_to_the_number_takes_it_off(service: Service, kit: Any) -> None:
    await service.send([_outgoing(kit, "o-twice", TWICE, timedelta(minutes=1))])
    assert TWICE not in [i["number"] for i in await service.worklist(MANAGER)]


async def test_counts_per_clinic(service: Service) -> None:
    answer = await service.client.get("/api/analytics/worklist/count", headers=MANAGER)
    body = answer.json()
    expected_north = [NOW - timedelta(minutes=30), NOW - timedelta(minutes=10)]
    assert (body["open"], body["claimed"]) == (len(expected_north), 0)
    assert [(c["clinic_id"], c["clinic_name"], c["open"]) for c in body["clinics"]] == [
        ("c-north", "North", 2)
    ]
    oldest = min(expected_north).isoformat().replace("+00:00", "Z")
    assert body["oldest_missed_at"] == body["clinics"][0]["oldest_missed_at"] == oldest
    petr = (await service.client.get("/api/analytics/worklist/count", headers=PETR)).json()
    assert petr["open"] == 1  # Anna's call center's missed call is not Petr's
    assert (await service.client.get("/api/analytics/worklist/count")).status_code == 401


async def test_every_change_is_announced(service: Service) -> None:
    from switchboard_runtime.testing.plugin import TopicReader

    # This service has topics of its own (not the session's prefix of ``topic_reader``).
    reader = TopicReader(
        service.env["KAFKA_BOOTSTRAP_SERVERS"], service.env["TOPIC_PREFIX"] + "analytics.worklist"
    )
    await reader.start()
    try:
        records = await reader.wait_for(lambda r: _changes(r) >= EXPECTED, message="changes")
    finally:
        await reader.stop()
    assert ("m-long-ago", "missed") not in _changes(records)  # past the worklist's week


def _changes(records: list[Any]) -> set[tuple[str, str]]:
    return {
        (v["payload"]["call_id"], v["payload"]["change"])
        for v in (json.loads(r.value) for r in records)
    }


#: What the tests above did; m-called was called back before (or as) it was seen missed.
EXPECTED = {
    ("m-twice-1", "missed"),
    ("m-twice-2", "missed"),
    ("m-once", "missed"),
    ("m-twice-1", "claimed"),
    ("m-twice-1", "released"),
    ("m-once", "closed"),
    ("m-once-again", "missed"),
    ("m-twice-1", "called_back"),
    ("m-twice-2", "called_back"),
}
