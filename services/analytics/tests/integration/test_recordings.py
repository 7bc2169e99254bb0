"""Recordings through the platform, against a real HTTP stand-in for the PBX's recording
server (``scripts/standins/pbx_http.py`` as a process): seeking, 404s, who may hear which
call, and one recorded listen per request."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from switchboard_runtime.testing.standins import running_standin

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[4]
STARTED = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in's base URL; it serves ``rec-1.wav`` (one second of 8 kHz silence)."""
    folder = tmp_path_factory.mktemp("recordings")
    with wave.open(str(folder / "rec-1.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 8000)
    with running_standin(
        "pbx_http.py",
        *("--recordings", folder, "--username", "pbx", "--password", "pbx-secret"),
        log_dir=folder,
    ) as process:
        yield process.url


def _token(operator_id: str, role: str, call_center_id: str | None) -> dict[str, str]:
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.auth import Principal, issue_token

    secret = AnalyticsSettings().auth_secret.get_secret_value()
    principal = Principal(operator_id, operator_id, role, call_center_id)  # type: ignore[arg-type]
    return {"Authorization": "Bearer " + issue_token(principal, secret)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    settings_env: dict[str, str], run_id: str, running_service: Any, kit: Any, pbx: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """Analytics with four calls answered by Anna (call center A): recorded, recorded but
    gone from the PBX, recorded outside the base URL, and not recorded."""
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_contracts import OperatorChanged
    from switchboard_contracts.envelope import make_envelope

    env = dict(settings_env, TOPIC_PREFIX=f"t{run_id}.rec.", DATABASE_SUFFIX=f"_rec_{run_id}")
    app = build_app(
        AnalyticsSettings(
            topic_prefix=env["TOPIC_PREFIX"],
            database_suffix=env["DATABASE_SUFFIX"],
            log_json=False,
            recording_base_url=pbx + "/recordings/",
            recording_username="pbx",
            recording_password="pbx-secret",  # type: ignore[arg-type]
        )
    )
    urls = {
        "rec-ok": pbx + "/recordings/rec-1.wav",
        "rec-gone": pbx + "/recordings/nothing.wav",
        "rec-outside": "http://127.0.0.1:9/elsewhere/rec-1.wav",
        "rec-none": None,
    }
    envelopes = [
        make_envelope(
            OperatorChanged(
                operator_id="op-anna", name="Anna", role="call_centre", call_center_id="cc-a"
            ),
            producer="booking",
            occurred_at=STARTED - timedelta(days=1),
        )
    ]
    for n, (call_id, url) in enumerate(urls.items()):
        call = kit.Call(
            call_id=call_id,
            call_type="incoming",
            src="+79161234567",
            dst="+74951234567",
            extension="101",
            clinic_id=None,
            started_at=STARTED + timedelta(minutes=n),
            disposition="answered",
            wait_seconds=5,
            talk_seconds=60,
            operator_id="op-anna",
            recording_url=url,
        )
        for event in kit.call_events(call):
            envelopes.append(make_envelope(event, producer="telephony", occurred_at=STARTED))
    async with running_service(app) as client:
        await kit.publish_and_wait(app, env, envelopes, len(envelopes))
        yield client, app


async def _listens(app: Any) -> list[Any]:
    import sqlalchemy as sa

    async with app.state.runtime.sessions() as session:
        rows = await session.execute(
            sa.text(
                "SELECT subject_id AS call_id, actor_id AS operator_id,"
                " details->>'byte_range' AS byte_range, (details->>'status')::int AS status"
                " FROM audit_records WHERE action = 'recording.listened' ORDER BY record_id"
            )
        )
        return list(rows.mappings())


async def test_the_call_log_gives_the_platform_url_never_the_pbx_one(service: Any) -> None:
    client, _ = service
    page = (
        await client.get("/api/analytics/calls", headers=_token("op-anna", "call_centre", "cc-a"))
    ).json()
    by_id = {item["call_id"]: item for item in page["items"]}
    assert "recording_url" not in by_id["rec-ok"]
    assert by_id["rec-ok"]["has_recording"] is True
    assert by_id["rec-ok"]["recording"] == "/api/analytics/calls/rec-ok/recording"
    assert by_id["rec-none"] == {**by_id["rec-none"], "has_recording": False, "recording": None}


async def test_seeking_and_one_listen_per_request(service: Any, pbx: str) -> None:
    client, app = service
    colleague = _token("op-boris", "call_centre", "cc-a")  # Anna's call center
    before = len(await _listens(app))
    whole = await client.get("/api/analytics/calls/rec-ok/recording", headers=colleague)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content[:4] == b"RIFF" and len(whole.content) == 44 + 16000
    part = await client.get(
        "/api/analytics/calls/rec-ok/recording", headers={**colleague, "Range": "bytes=100-199"}
    )
    assert part.status_code == 206
    assert part.headers["content-range"] == "bytes 100-199/16044"
    assert part.content == whole.content[100:200]
    tail = await client.get(
        "/api/analytics/calls/rec-ok/recording", headers={**colleague, "Range": "bytes=-10"}
    )
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    past = await client.get(
        "/api/analytics/calls/rec-ok/recording", headers={**colleague, "Range": "bytes=99999-"}
    )
    assert past.status_code == 416
    assert past.headers["content-range"] == "bytes */16044"
    listens = (await _listens(app))[before:]
    assert [(r["call_id"], r["operator_id"], r["byte_range"], r["status"]) for r in listens] == [
        ("rec-ok", "op-boris", None, 200),
        ("rec-ok", "op-boris", "bytes=100-199", 206),
        ("rec-ok", "op-boris", "bytes=-10", 206),
    ]
    # The PBX saw the platform's credentials and the range, once per request.
    async with httpx.AsyncClient() as plain:
        seen = (await plain.get(pbx + "/requests")).json()
    assert [r["range"] for r in seen if r["path"] == "/recordings/rec-1.wav"][-4:] == [
        None,
        "bytes=100-199",
        "bytes=-10",
        "bytes=99999-",
    ]


async def test_who_may_not_hear_and_what_is_not_there(service: Any) -> None:
    client, app = service
    before = len(await _listens(app))
    other_center = _token("op-petr", "call_centre", "cc-b")
    refused = await client.get("/api/analytics/calls/rec-ok/recording", headers=other_center)
    assert refused.status_code == 404 and refused.json()["detail"] == "no such call"
    manager = _token("op-maria", "manager", None)
    for call_id, detail in (
        ("rec-none", "the PBX has no recording of this call"),
        ("rec-gone", "the PBX has no recording of this call"),
        ("rec-outside", "the call's recording is not on the PBX's recording server"),
        ("no-such-call", "no such call"),
    ):
        answer = await client.get(f"/api/analytics/calls/{call_id}/recording", headers=manager)
        assert (answer.status_code, answer.json()["detail"]) == (404, detail), call_id
    assert (await client.get("/api/analytics/calls/rec-ok/recording")).status_code == 401
    assert len(await _listens(app)) == before


async def test_admins_read_the_listens_and_nobody_can_erase_them(service: Any) -> None:
    import sqlalchemy as sa

    client, app = service
    await client.get(
        "/api/analytics/calls/rec-ok/recording", headers=_token("op-anna", "call_centre", "cc-a")
    )
    page = await client.get(
        "/api/analytics/recording-listens",
        params={"call_id": "rec-ok"},
        headers=_token("op-admin", "admin", None),
    )
    assert page.status_code == 200
    newest = page.json()["items"][0]
    assert (newest["operator_id"], newest["call_id"], newest["role"]) == (
        "op-anna",
        "rec-ok",
        "call_centre",
    )
    assert newest["listened_at"].endswith("Z")
    manager = _token("op-maria", "manager", None)
    assert (
        await client.get("/api/analytics/recording-listens", headers=manager)
    ).status_code == 403
    async with app.state.runtime.sessions() as session:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with session.begin():
                await session.execute(sa.text("DELETE FROM audit_records"))


async def test_a_listen_is_one_audit_record_with_who_and_where(service: Any) -> None:
    import sqlalchemy as sa

    from switchboard_runtime.testing import wait_until

    client, app = service
    listener = {
        **_token("op-vera", "call_centre", "cc-a"),
        "X-Forwarded-For": "198.51.100.40",
        "User-Agent": "Chromium test",
    }
    answer = await client.get("/api/analytics/calls/rec-ok/recording", headers=listener)
    assert answer.status_code == 200
    admin = _token("op-admin", "admin", None)

    async def records() -> list[Any]:
        page = await client.get(
            "/api/analytics/audit",
            params={"actor": "op-vera", "action": "recording.listened"},
            headers=admin,
        )
        assert page.status_code == 200, page.text
        return list(page.json()["items"])

    (record,) = await records()
    assert (record["subject_type"], record["subject_id"], record["actor_role"]) == (
        "call",
        "rec-ok",
        "call_centre",
    )
    assert (record["client_address"], record["user_agent"]) == ("198.51.100.40", "Chromium test")
    assert record["details"] == {"byte_range": None, "status": 200}

    async def consumed_back() -> bool:
        async with app.state.runtime.sessions() as session:
            return bool(
                await session.scalar(
                    sa.text("SELECT count(*) FROM processed_events WHERE event_id = :id"),
                    {"id": record["event_id"]},
                )
            )

    await wait_until(consumed_back, timeout=30, message="the listen's event consumed back")
    assert await records() == [record]
