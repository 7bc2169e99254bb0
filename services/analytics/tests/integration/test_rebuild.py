"""Rebuild: replaying the topics into fresh tables gives the live projection's numbers.

Its own world on its own topics and database (so swapping tables never disturbs the other
tests): generated calls with duplicates and out-of-order arrival across topics, projected
live; then ``switchboard-analytics rebuild`` runs (the real command, in a subprocess)
while the live service keeps running; every table and every report must be the same, the
live consumer must carry on into the swapped-in tables, and the tables a rebuild creates
must be the ones the migrations create.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GROUP_BYS = ("day", "hour", "employee_day", "employee_month", "did")
TABLES = {
    "call_log": "call_id",
    "operators": "operator_id",
    "clinics": "clinic_id",
    "touches": "touch_id",
    "contact_names": "name",
    "call_tags": "call_id, source",
    "appointments": "appointment_id",
    "dids": "did",
    "calls_by_day_total": "1, 2, 3, 4",
    "calls_by_hour_total": "1, 2, 3, 4",
    "calls_by_day_clinic": "1, 2, 3, 4, 5",
    "calls_by_hour_clinic": "1, 2, 3, 4, 5",
    "calls_by_month": "1, 2, 3, 4, 5, 6",
    "calls_by_day": "1, 2, 3, 4, 5, 6",
    "calls_by_hour": "1, 2, 3, 4, 5, 6",
    "calls_by_month_did": "1, 2, 3, 4, 5, 6",
    "calls_by_day_did": "1, 2, 3, 4, 5, 6",
    "calls_by_hour_did": "1, 2, 3, 4, 5, 6",
    "kpi_by_day_total": "1",
    "kpi_by_hour_total": "1",
    "kpi_by_day_clinic": "1, 2",
    "kpi_by_hour_clinic": "1, 2",
    "kpi_by_month": "1, 2, 3",
    "kpi_by_day": "1, 2, 3",
    "kpi_by_hour": "1, 2, 3",
    "kpi_by_month_did": "1, 2, 3",
    "kpi_by_day_did": "1, 2, 3",
    "kpi_by_hour_did": "1, 2, 3",
    "processed_events": "consumer_group, event_id",
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def rebuild_world(
    settings_env: dict[str, str], run_id: str, running_service: Any, kit: Any
) -> AsyncIterator[dict[str, Any]]:
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings

    conftest = kit
    env = dict(settings_env, TOPIC_PREFIX=f"t{run_id}.rb.", DATABASE_SUFFIX=f"_rb_{run_id}")
    settings = AnalyticsSettings(
        topic_prefix=env["TOPIC_PREFIX"], database_suffix=env["DATABASE_SUFFIX"], log_json=False
    )
    world = conftest.generate_world(seed=99, size=150)
    plan = conftest.plan_phases(world, seed=3)
    app = build_app(settings)
    async with running_service(app) as client:
        seen: set[str] = set()
        for number, phase in enumerate(plan.phases):
            seen |= {str(e.event_id) for e in phase}
            extra = plan.duplicates if number == 2 else []
            await conftest.publish_and_wait(app, env, phase + extra, len(seen))
        yield {
            "app": app,
            "client": client,
            "env": env,
            "settings": settings,
            "world": world,
            "plan": plan,
            "headers": conftest.role_headers()["manager"],
            "conftest": conftest,
        }


async def _tables(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, in key order (roll-up rows that net to zero left out:
    a live roll-up keeps a row whose calls all moved elsewhere)."""
    from switchboard_runtime.db import make_engine

    out = {}
    # A connection of its own: the app's pooled ones hold statements prepared against the
    # tables a rebuild has since swapped out.
    engine = make_engine(app.state.runtime.settings.service_database_url, pool_size=1)
    async with engine.connect() as conn:
        for table, order in TABLES.items():
            where = ""
            if table.startswith("calls_by"):
                where = " WHERE calls <> 0 OR talk_seconds <> 0 OR wait_seconds <> 0"
            elif table.startswith("kpi_by"):
                where = " WHERE calls <> 0"
            columns = "consumer_group, event_id" if table == "processed_events" else "*"
            rows = await conn.execute(
                sa.text(f"SELECT {columns} FROM {table}{where} ORDER BY {order}")
            )
            out[table] = [tuple(r) for r in rows]
    await engine.dispose()
    return out


async def _reports(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    out = {}
    for report in ("calls", "service-level"):
        for group_by in GROUP_BYS:
            for source in ("auto", "call_log"):
                response = await client.get(
                    f"/api/analytics/reports/{report}",
                    params={"group_by": group_by, "source": source},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                out[f"{report}/{group_by}/{source}"] = response.json()["rows"]
    for group_by in ("admin", "clinic", "did", "day", "month"):
        response = await client.get(
            "/api/analytics/reports/conversion", params={"group_by": group_by}, headers=headers
        )
        assert response.status_code == 200, response.text
        out[f"conversion/{group_by}"] = response.json()
        assert out[f"conversion/{group_by}"]["total"]["with_appointment"] > 0
    for params in ({}, {"did": "+12125550100"}):
        response = await client.get("/api/analytics/reports/when", params=params, headers=headers)
        assert response.status_code == 200, response.text
        out[f"when/{params}"] = response.json()
    # The numbers are labelled after the rebuild too (it replays telephony.directory).
    assert {r["did"]: r["did_description"] for r in out["calls/did/auto"] if r["did"]} == {
        "+74950000001": "Весенняя кампания",
        "+74950000002": "Website, main",
        "+12125550100": "NY subway ads",
        "+493012345678": "Berlin flyer",
        "+74950000003": None,
    }
    return out


async def _call_log(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/analytics/calls", params=params, headers=headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def _run_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from switchboard_analytics.entrypoints.cli import main; main()",
        "rebuild",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, stderr.decode()[-3000:]
    text = stdout.decode()
    return dict(json.loads(text[text.index("{") :]))


async def test_rebuild_gives_the_live_numbers_and_the_live_consumer_carries_on(
    rebuild_world: dict[str, Any],
) -> None:
    from switchboard_runtime.testing import wait_until

    app, client, headers = rebuild_world["app"], rebuild_world["client"], rebuild_world["headers"]
    world, conftest, env = rebuild_world["world"], rebuild_world["conftest"], rebuild_world["env"]

    live_tables = await _tables(app)
    live_reports = await _reports(client, headers)
    live_log = await _call_log(client, headers)
    # The live projection itself is right (computed independently from the world).
    assert {i["call_id"]: i for i in live_log} == {c.call_id: world.row(c) for c in world.calls}

    report = await _run_cli(env)
    rebuild_world["rebuilt"] = True
    assert report["calls"] == len(world.calls), report
    assert report["events_replayed"] >= len(rebuild_world["plan"].distinct_event_ids)
    # The rebuilt tables answer once swapped in: after the replay and the swap, before the
    # drop of the replaced ones (each figure rounded to 0.01 s).
    steps = report["phase_seconds"]
    assert steps["replay"] + steps["swap"] - 0.02 <= report["seconds_until_live"]
    assert report["seconds_until_live"] <= report["seconds"] - steps["drop"] + 0.02

    rebuilt_tables = await _tables(app)
    for table in TABLES:
        assert rebuilt_tables[table] == live_tables[table], table
    assert await _reports(client, headers) == live_reports
    assert await _call_log(client, headers) == live_log

    # The live consumer goes on, into the swapped-in tables: a new call shows within a
    # second of its CallEnded, and redelivered old events count nothing twice.
    new = conftest.Call(
        call_id="after-rebuild",
        call_type="incoming",
        src="+79160000042",
        dst="101",
        extension="101",
        clinic_id="clinic-berlin",
        started_at=world.calls[0].started_at,
        disposition="answered",
        wait_seconds=4,
        talk_seconds=50,
        operator_id="op-2",
    )
    from switchboard_contracts import make_envelope

    envelopes = [
        make_envelope(e, producer="telephony", occurred_at=new.started_at)
        for e in conftest.call_events(new)
    ]
    await conftest.publish(
        env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"], rebuild_world["plan"].duplicates
    )
    await conftest.publish(env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"], envelopes[:-1])
    published = time.monotonic()
    await conftest.publish(env["KAFKA_BOOTSTRAP_SERVERS"], env["TOPIC_PREFIX"], envelopes[-1:])

    async def visible() -> bool:
        response = await client.get(
            "/api/analytics/calls", params={"q": "79160000042"}, headers=headers
        )
        return bool(response.json()["items"])

    await wait_until(visible, timeout=30, interval=0.02, message="the new call in the call log")
    latency = time.monotonic() - published
    print(f"CallEnded to call log: {latency:.3f}s")
    assert latency < 1.5, f"the call took {latency:.2f}s to show"

    async def counted() -> Any:
        rows = (
            await client.get(
                "/api/analytics/reports/calls", params={"group_by": "day"}, headers=headers
            )
        ).json()["rows"]
        return sum(r["total"]["count"] for r in rows) == len(world.calls) + 1

    assert await wait_until(counted, timeout=30, message="the new call counted once")
    after = await _tables(app)
    assert len(after["call_log"]) == len(live_tables["call_log"]) + 1
    assert {r[0] for r in after["call_log"]} - {r[0] for r in live_tables["call_log"]} == {
        "after-rebuild"
    }


async def test_a_rebuild_creates_the_tables_the_migrations_create(
    rebuild_world: dict[str, Any], settings_env: dict[str, str], run_id: str
) -> None:
    """The swapped-in tables must be exactly what migrations make, or the next migration
    (or an index the queries rely on) would miss."""
    import switchboard_analytics
    from switchboard_analytics.bootstrap import projection_for
    from switchboard_analytics.rebuild import rebuild
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.db import make_engine, migrate, migrations_path

    if not rebuild_world.get("rebuilt"):
        settings = rebuild_world["settings"]
        await rebuild(settings, projection_for(settings))

    migrated = AnalyticsSettings(database_suffix=f"_mig_{run_id}")
    await migrate(migrations_path(switchboard_analytics.__file__), migrated.service_database_url)

    async def shape(url: str) -> dict[str, Any]:
        engine = make_engine(url, pool_size=1)
        tables = tuple(TABLES)
        try:
            async with engine.connect() as conn:

                async def rows(query: str, *, of_tables: bool = True) -> list[Any]:
                    # ``:t`` is the tables compared.
                    statement = sa.text(query)
                    if of_tables:
                        statement = statement.bindparams(sa.bindparam("t", expanding=True))
                    return list((await conn.execute(statement, {"t": tables})).all())

                columns = await rows(
                    "SELECT table_name, column_name, data_type, is_nullable, "
                    "column_default, generation_expression, ordinal_position "
                    "FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name IN :t "
                    "ORDER BY table_name, column_name"
                )
                indexes = await rows(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public' AND tablename IN :t ORDER BY indexname"
                )
                constraints = await rows(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
                    "ORDER BY conname",
                    of_tables=False,
                )
                storage = await rows(
                    "SELECT relname, reloptions FROM pg_class "
                    "WHERE relnamespace = 'public'::regnamespace AND relname IN :t "
                    "ORDER BY relname"
                )
        finally:
            await engine.dispose()
        return {
            # Column order may differ (ALTER TABLE ADD COLUMN vs CREATE TABLE); nothing else.
            "columns": [tuple(c)[:-1] for c in columns],
            "indexes": [tuple(i) for i in indexes],
            "constraints": [tuple(c) for c in constraints],
            "storage": [(name, tuple(options or ())) for name, options in storage],
        }

    rebuilt = await shape(rebuild_world["settings"].service_database_url)
    fresh = await shape(migrated.service_database_url)
    # The roll-ups leave room on their pages for the folds' updates, rebuilt or migrated.
    rollups = {name for name in TABLES if name.startswith(("calls_by_", "kpi_by_"))}
    assert {name: options for name, options in fresh["storage"] if name in rollups} == {
        name: ("fillfactor=90",) for name in rollups
    }
    for part in ("columns", "indexes", "constraints", "storage"):
        only_rebuilt = sorted(set(rebuilt[part]) - set(fresh[part]), key=repr)
        only_migrated = sorted(set(fresh[part]) - set(rebuilt[part]), key=repr)
        assert (only_rebuilt, only_migrated) == ([], []), part
    assert rebuilt == fresh
