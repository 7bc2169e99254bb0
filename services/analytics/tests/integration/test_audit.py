"""The audit trail's store, through real Kafka and PostgreSQL: analytics' own audited actions
(CSV exports) on record once, with who and from where; every service's records consumed
from ``platform.audit`` once per event id, even delivered again after the consumer forgot
it; the table refusing to be edited; the retention deleting only old records; the read API
for admins only, with its filters and pages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

AUDIT = "/api/analytics/audit"
#: The address the console gateway says the browser has (the test client is its peer).
BROWSER = "198.51.100.23"


def _headers(operator_id: str, role: str) -> dict[str, str]:
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.auth import Principal, issue_token

    secret = AnalyticsSettings().auth_secret.get_secret_value()
    principal = Principal(operator_id, f"Name of {operator_id}", role)  # type: ignore[arg-type]
    return {"Authorization": "Bearer " + issue_token(principal, secret)}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(
    settings_env: dict[str, str], run_id: str, running_service: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any, dict[str, str]]]:
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings

    env = dict(settings_env, TOPIC_PREFIX=f"t{run_id}.aud.", DATABASE_SUFFIX=f"_aud_{run_id}")
    app = build_app(
        AnalyticsSettings(
            topic_prefix=env["TOPIC_PREFIX"], database_suffix=env["DATABASE_SUFFIX"], log_json=False
        )
    )
    async with running_service(app) as client:
        yield client, app, env


async def _records(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    page = await client.get(AUDIT, params=params, headers=_headers("op-admin", "admin"))
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


async def _processed(app: Any, event_id: str) -> bool:
    async with app.state.runtime.sessions() as session:
        found = await session.scalar(
            sa.text("SELECT count(*) FROM processed_events WHERE event_id = :id"),
            {"id": event_id},
        )
    return bool(found)


async def test_each_csv_export_is_one_record_with_who_and_where(service: Any) -> None:
    client, app, _ = service
    manager = {
        **_headers("op-exporter", "manager"),
        "X-Forwarded-For": BROWSER,
        "User-Agent": "Chromium test",
    }
    calls = await client.get(
        "/api/analytics/calls",
        params=[("format", "csv"), ("clinic", "clinic-msk"), ("disposition", "missed")],
        headers=manager,
    )
    assert calls.status_code == 200
    report = await client.get(
        "/api/analytics/reports/calls",
        params={"format": "csv", "group_by": "day"},
        headers=manager,
    )
    assert report.status_code == 200
    # A JSON page is no export.
    page = await client.get("/api/analytics/calls", headers=manager)
    assert page.status_code == 200
    records = await _records(client, actor="op-exporter")
    assert [(r["action"], r["subject_type"], r["subject_id"]) for r in records] == [
        ("calls_report.exported", "call_log", None),
        ("call_log.exported", "call_log", None),
    ]
    exported = records[1]
    assert exported["actor_name"] == "Name of op-exporter"
    assert exported["actor_role"] == "manager"
    assert exported["client_address"] == BROWSER
    assert exported["user_agent"] == "Chromium test"
    assert exported["producer"] == "analytics"
    assert exported["details"] == {
        "format": "csv",
        "query": {"format": ["csv"], "clinic": ["clinic-msk"], "disposition": ["missed"]},
    }
    assert records[0]["details"]["query"] == {"format": ["csv"], "group_by": ["day"]}
    # Each record also went out on platform.audit and came back: still one record each.
    for record in records:
        await wait_until(
            lambda r=record: _processed(app, r["event_id"]),
            timeout=30,
            message="the export's event consumed back",
        )
    assert await _records(client, actor="op-exporter") == records


async def test_a_record_delivered_again_is_kept_once(service: Any, kit: Any) -> None:
    from switchboard_contracts import AuditRecorded, make_envelope

    client, app, env = service
    subject = f"client-{uuid.uuid4().hex[:8]}"
    envelope = make_envelope(
        AuditRecorded(
            actor_id="op-olga",
            actor_name="Olga",
            actor_role="call_centre",
            action="client.viewed",
            subject_type="client",
            subject_id=subject,
            occurred_at=datetime.now(UTC),
            client_address="203.0.113.7",
        ),
        producer="booking",
        occurred_at=datetime.now(UTC),
    )
    # Twice in one go: the consumer's own idempotency drops the second.
    await kit.publish(env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"], [envelope, envelope])
    await wait_until(lambda: _processed(app, str(envelope.event_id)), timeout=30)
    # Again once the consumer has forgotten it (a rebuild swaps processed_events): the
    # table itself keeps one record per event id.
    async with app.state.runtime.sessions() as session, session.begin():
        await session.execute(
            sa.text("DELETE FROM processed_events WHERE event_id = :id"),
            {"id": str(envelope.event_id)},
        )
    await kit.publish(env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"], [envelope])
    await wait_until(lambda: _processed(app, str(envelope.event_id)), timeout=30)
    records = await _records(client, subject_type="client", subject_id=subject)
    assert [(r["event_id"], r["actor_id"], r["action"], r["client_address"]) for r in records] == [
        (str(envelope.event_id), "op-olga", "client.viewed", "203.0.113.7")
    ]
    assert records[0]["producer"] == "booking"


async def test_nobody_can_edit_or_erase_a_record(service: Any) -> None:
    _, app, _ = service
    statements = (
        "UPDATE audit_records SET actor_id = 'someone-else'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
    )
    for statement in statements:
        async with app.state.runtime.sessions() as session:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                async with session.begin():
                    await session.execute(sa.text(statement))
    # Declaring a retention does not let a young record go either.
    async with app.state.runtime.sessions() as session:
        with pytest.raises(sa.exc.DBAPIError, match="within the retention"):
            async with session.begin():
                await session.execute(sa.text("SET LOCAL switchboard.audit_retention_days = 1"))
                await session.execute(sa.text("DELETE FROM audit_records"))


async def _insert_aged(app: Any, actor_id: str, days_ago: int) -> None:
    async with app.state.runtime.sessions() as session, session.begin():
        await session.execute(
            sa.text(
                "INSERT INTO audit_records (event_id, occurred_at, producer, actor_id,"
                " actor_name, actor_role, action, subject_type)"
                " VALUES (:id, now() - make_interval(days => :days), 'booking', :actor, '',"
                " 'admin', 'operator.changed', 'operator')"
            ),
            {"id": uuid.uuid4(), "days": days_ago, "actor": actor_id},
        )


async def test_the_retention_deletes_only_older_records(service: Any) -> None:
    from switchboard_analytics.adapters.audit import prune_audit

    client, app, _ = service
    await _insert_aged(app, "op-retention", 401)
    await _insert_aged(app, "op-retention", 399)
    await _insert_aged(app, "op-retention", 3)
    async with app.state.runtime.sessions() as session, session.begin():
        deleted = await prune_audit(session, 400)
    assert deleted == 1
    kept = await _records(client, actor="op-retention")
    assert len(kept) == 2
    now = datetime.now(UTC)
    ages = sorted((now - datetime.fromisoformat(r["occurred_at"])).days for r in kept)
    assert ages == [3, 399]


async def test_admins_read_the_trail_with_filters_and_pages(service: Any) -> None:
    client, app, _ = service
    for role in ("manager", "call_centre", "clinic_staff"):
        answer = await client.get(AUDIT, headers=_headers(f"op-{role}", role))
        assert answer.status_code == 403, role
    assert (await client.get(AUDIT)).status_code == 401
    for days in (20, 10, 5):
        await _insert_aged(app, "op-paging", days)
    admin = _headers("op-admin", "admin")
    first = (
        await client.get(AUDIT, params={"actor": "op-paging", "limit": 2}, headers=admin)
    ).json()
    assert len(first["items"]) == 2 and first["next_before"] is not None
    second = (
        await client.get(
            AUDIT,
            params={"actor": "op-paging", "limit": 2, "before": first["next_before"]},
            headers=admin,
        )
    ).json()
    assert len(second["items"]) == 1 and second["next_before"] is None
    ids = [r["record_id"] for r in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)
    now = datetime.now(UTC)
    recent = await _records(
        client,
        actor="op-paging",
        action="operator.changed",
        **{"from": (now - timedelta(days=15)).isoformat(), "to": now.isoformat()},
    )
    assert sorted((now - datetime.fromisoformat(r["occurred_at"])).days for r in recent) == [5, 10]
    for bad in ({"from": "2026-01-02"}, {"limit": "0"}, {"before": "0"}):
        assert (await client.get(AUDIT, params=bad, headers=admin)).status_code == 422, bad
    backwards = {"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()}
    assert (await client.get(AUDIT, params=backwards, headers=admin)).status_code == 422
