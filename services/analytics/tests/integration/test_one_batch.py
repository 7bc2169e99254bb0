"""One Kafka batch holding several calls' events, mixed, duplicated and out of order.

The projection applies a consumer batch in a few multi-row statements (see
``handlers.apply_calls``); this test checks that what a manager reads afterwards is what
applying the events one by one means. The events are published before the service
starts, onto a one-partition topic, so the consumer's first fetch takes them all at once.
Every expected value below is worked out by hand from the events (clinic unknown, so
``Europe/Moscow``, UTC+3 all year).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLS = "/api/analytics/calls"
REPORT = "/api/analytics/reports/calls"
MISSED_CALLER = "+79161234567"
ANSWERED_CALLER = "+79990001122"
SECOND_MISSED_CALLER = "+79995556677"


def at(hour: int, minute: int = 0, second: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def batch_events() -> list[Any]:
    """The envelopes, in publishing order."""
    from switchboard_contracts import CallAnswered, CallEnded, CallStarted, make_envelope

    def env(event: Any) -> Any:
        return make_envelope(event, producer="telephony", occurred_at=at(23, 59, day=11))

    def started(call_id: str, direction: str, caller: str, callee: str, when: datetime) -> Any:
        return env(
            CallStarted(
                call_id=call_id,
                direction=direction,  # type: ignore[arg-type]
                caller=caller,
                callee=callee,
                extension="101",
                clinic_id="clinic-x",
                started_at=when,
            )
        )

    def ended(
        call_id: str,
        direction: str,
        caller: str,
        callee: str,
        started_at: datetime,
        disposition: str,
        wait: int,
        talk: int,
        operator_id: str | None = None,
    ) -> Any:
        answered_at = started_at + timedelta(seconds=wait) if disposition == "answered" else None
        return env(
            CallEnded(
                call_id=call_id,
                ended_at=started_at + timedelta(seconds=wait + talk),
                disposition=disposition,  # type: ignore[arg-type]
                wait_seconds=wait,
                talk_seconds=talk,
                total_seconds=wait + talk,
                direction=direction,  # type: ignore[arg-type]
                caller=caller,
                callee=callee,
                extension="101",
                clinic_id="clinic-x",
                started_at=started_at,
                answered_at=answered_at,
                operator_id=operator_id,
            )
        )

    # A: a missed call at 10:00 UTC (13:00 Moscow), 30 s of ringing.
    a_started = started("a", "incoming", MISSED_CALLER, "+74950000000", at(10))
    a_ended = ended("a", "incoming", MISSED_CALLER, "+74950000000", at(10), "missed", 30, 0)
    # B: the clinic calls A's number back an hour later; answered by op-2 after 5 s, 120 s.
    b_started = started("b", "outgoing", "101", MISSED_CALLER, at(11))
    b_answered = env(
        CallAnswered(call_id="b", answered_at=at(11, 0, 5), extension="101", operator_id="op-2")
    )
    b_ended = ended("b", "outgoing", "101", MISSED_CALLER, at(11), "answered", 5, 120, "op-2")
    # ... and a stray answer of B after it ended: an ended call keeps who answered it.
    b_late_answer = env(
        CallAnswered(call_id="b", answered_at=at(11, 30), extension="102", operator_id="op-9")
    )
    # C: 22:30 UTC is 01:30 on the 11th in Moscow; answered by op-1 after 10 s, 300 s.
    # Its answer arrives before its start (out of order); CallEnded repeats who answered.
    c_answered = env(
        CallAnswered(call_id="c", answered_at=at(22, 30, 10), extension="101", operator_id="op-1")
    )
    c_started = started("c", "incoming", ANSWERED_CALLER, "+74950000000", at(22, 30))
    c_ended = ended(
        "c", "incoming", ANSWERED_CALLER, "+74950000000", at(22, 30), "answered", 10, 300, "op-1"
    )
    # The same end of C again under a new event id (a producer retry with a new id).
    c_ended_again = ended(
        "c", "incoming", ANSWERED_CALLER, "+74950000000", at(22, 30), "answered", 10, 300, "op-1"
    )
    # D: a missed call at 12:00 UTC whose end arrives before its start; 20 s of ringing.
    d_ended = ended("d", "incoming", SECOND_MISSED_CALLER, "+74950000000", at(12), "missed", 20, 0)
    d_started = started("d", "incoming", SECOND_MISSED_CALLER, "+74950000000", at(12))
    # E: started, never ended (yet): not in the call log, not counted.
    e_started = started("e", "incoming", MISSED_CALLER, "+74950000000", at(13))
    # B's end (the call-back) comes before A's end (the missed call it calls back), and
    # some events come twice with the same event id (redeliveries).
    return [
        b_started,
        c_answered,
        a_started,
        b_answered,
        d_ended,
        b_ended,
        c_started,
        b_ended,
        a_started,
        e_started,
        d_started,
        a_ended,
        c_ended,
        b_late_answer,
        c_ended_again,
        c_ended,
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def projected(
    settings_env: dict[str, str], run_id: str, running_service: Any, kit: Any
) -> AsyncIterator[Any]:
    """Analytics with topics and a database of its own, started after the batch is sent."""
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.handlers import SUBSCRIPTION
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.kafka import ensure_topics
    from switchboard_runtime.settings import ServiceSettings
    from switchboard_runtime.testing import wait_until

    prefix, suffix = f"t{run_id}.ab.", f"_ab_{run_id}"
    settings = AnalyticsSettings(topic_prefix=prefix, database_suffix=suffix, log_json=False)
    envelopes = batch_events()
    distinct = len({e.event_id for e in envelopes})
    assert distinct == 13 and settings.consumer_batch_max_records >= len(envelopes)
    bootstrap = settings_env["KAFKA_BOOTSTRAP_SERVERS"]
    await ensure_topics(
        ServiceSettings(kafka_bootstrap_servers=bootstrap),
        [prefix + t for t in SUBSCRIPTION.topics],
        partitions=1,
    )
    await kit.publish(bootstrap, prefix, envelopes)
    app = build_app(settings)
    async with running_service(app) as client:

        async def done() -> bool:
            return bool(await kit.projected(app, distinct))

        await wait_until(done, timeout=60, interval=0.2, message="the batch projected")
        yield client, kit.role_headers()["manager"]


async def test_the_call_log_says_what_the_events_say(projected: Any) -> None:
    client, headers = projected
    params = {"sort": "started_at", "order": "asc"}
    response = await client.get(CALLS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    columns = (
        "call_id",
        "started_at_local",
        "call_type",
        "src",
        "dst",
        "disposition",
        "admin_id",
        "wait_seconds",
        "talk_seconds",
        "total_seconds",
        "called_back",
        "callback_call_id",
        "callback_delay_seconds",
    )
    got = [tuple(item[c] for c in columns) for item in items]
    assert got == [
        ("a", "2026-03-10T13:00:00+03:00", "incoming", MISSED_CALLER, "+74950000000",
         "missed", None, 30, 0, 30, True, "b", 3600),
        ("b", "2026-03-10T14:00:00+03:00", "outgoing", "101", MISSED_CALLER,
         "answered", "op-2", 5, 120, 125, False, None, None),
        ("d", "2026-03-10T15:00:00+03:00", "incoming", SECOND_MISSED_CALLER, "+74950000000",
         "missed", None, 20, 0, 20, False, None, None),
        ("c", "2026-03-11T01:30:00+03:00", "incoming", ANSWERED_CALLER, "+74950000000",
         "answered", "op-1", 10, 300, 310, False, None, None),
    ]  # fmt: skip


@pytest.mark.parametrize("source", ["rollup", "call_log"])
async def test_the_day_report_counts_each_call_once_on_its_local_day(
    projected: Any, source: str
) -> None:
    client, headers = projected
    response = await client.get(
        REPORT, params={"group_by": "day", "source": source}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # The roll-up that answered is named (the day report fits the smallest, hour totals).
    assert body["source"] == "call_log" if source == "call_log" else body["source"] != "call_log"
    figures = ("count", "answered", "missed", "avg_talk_seconds", "avg_wait_seconds")

    def row(day: str, **kinds: tuple[Any, ...]) -> dict[str, Any]:
        empty = (0, 0, 0, None, None)
        return {
            "day": day,
            **{
                kind: dict(zip(figures, kinds.get(kind, empty), strict=True))
                for kind in ("incoming", "outgoing", "internal", "total")
            },
        }

    want = [
        # 10th: A and D missed (waits 30 and 20), B answered outgoing (wait 5, talk 120).
        row(
            "2026-03-10",
            incoming=(2, 0, 2, None, 25.0),
            outgoing=(1, 1, 0, 120.0, 5.0),
            total=(3, 1, 2, 120.0, 18.33),
        ),
        # 11th (Moscow): C answered (wait 10, talk 300), counted once despite two ends.
        row(
            "2026-03-11",
            incoming=(1, 1, 0, 300.0, 10.0),
            total=(1, 1, 0, 300.0, 10.0),
        ),
    ]
    keys = ("day", "incoming", "outgoing", "internal", "total")
    got = [{k: r[k] for k in keys} for r in body["rows"]]
    assert got == want
