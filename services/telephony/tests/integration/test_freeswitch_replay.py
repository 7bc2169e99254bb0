"""FreeSWITCH replay and webhook, through real Kafka and PostgreSQL, give the same calls.

The stand-in Event Socket replays the four transcripts of ``tests/data/freeswitch`` (built
from FreeSWITCH's documented event layout, not captured: see the README there) to the
Event Socket connector, which publishes to ``pbx.events.raw`` with the runtime's broker.
The same four calls, written by hand in the generic webhook format from reading the
transcripts, go through the webhook under other call ids. The canonical events of each pair
must be identical but for the call id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DATA = Path(__file__).resolve().parents[1] / "data" / "freeswitch"
PASSWORD = "fs-it-password"
T = datetime(2026, 3, 2, 7, 14, 5, 120000, tzinfo=UTC)
"""The answered call's first event; the others start 3, 6 and 10 minutes later."""
FILES = {
    "answered": "answered-incoming.esl",
    "missed": "missed-incoming.esl",
    "transfer": "blind-transfer.esl",
    "outgoing": "outgoing.esl",
}


def at(base: datetime, seconds: float) -> str:
    return (base + timedelta(seconds=seconds)).isoformat()


def webhook_events(prefix: str) -> dict[str, list[dict[str, Any]]]:
    """The four calls as a PBX would post them, read off the transcripts by hand."""
    answered, missed, transfer, outgoing = (f"{prefix}{k}" for k in FILES)
    t1, t2, t3, t4 = (T + timedelta(minutes=m) for m in (0, 3, 6, 10))

    def ev(call_id: str, kind: str, when: str, **fields: Any) -> dict[str, Any]:
        return {"type": f"call.{kind}", "call_id": call_id, "timestamp": when, **fields}

    caller = {"from": "79161234567", "to": "74951230101"}
    return {
        answered: [
            ev(answered, "started", at(t1, 0), **caller),
            ev(answered, "ringing", at(t1, 0.048), extension="101"),
            ev(answered, "answered", at(t1, 7.512), extension="101"),
            ev(answered, "ended", at(t1, 97.226), status="answered"),
        ],
        missed: [
            ev(missed, "started", at(t2, 0), **caller),
            ev(missed, "ringing", at(t2, 0.040), extension="101"),
            ev(missed, "ringing", at(t2, 0.041), extension="102"),
            ev(missed, "ended", at(t2, 25.310), status="cancel"),
        ],
        transfer: [
            ev(transfer, "started", at(t3, 0), **caller),
            ev(transfer, "ringing", at(t3, 0.052), extension="101"),
            ev(transfer, "answered", at(t3, 4.880), extension="101"),
            ev(transfer, "ringing", at(t3, 41.062), extension="102"),
            ev(transfer, "transferred", at(t3, 46.401), extension="101", to_extension="102"),
            ev(transfer, "ended", at(t3, 153.770), status="answered"),
        ],
        outgoing: [
            ev(outgoing, "started", at(t4, 0), **{"from": "101", "to": "89161234567"}),
            ev(outgoing, "answered", at(t4, 12.640)),
            ev(outgoing, "ended", at(t4, 80.015), status="answered"),
        ],
    }


def canonical(envelopes: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload without the call id) of each envelope, in published order."""
    return [
        (e["event_type"], {k: v for k, v in e["payload"].items() if k != "call_id"})
        for e in envelopes
    ]


async def test_freeswitch_replay_gives_the_same_canonical_calls_as_the_webhook(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    from switchboard_telephony.adapters.pbx.esl import EslEndpoint, iter_events
    from switchboard_telephony.adapters.pbx.esl_server import EslServer
    from switchboard_telephony.entrypoints.connectors import freeswitch_connector

    tag = helpers.unique_tag("fs")
    fs_ids = {
        key: f"fs-{tag}-" + dict(next(iter_events((DATA / name).read_text())))["Unique-ID"]
        for key, name in FILES.items()
    }
    hooks = webhook_events(f"wh-{tag}-")
    pairs = {key: (fs_ids[key], f"wh-{tag}-{key}") for key in FILES}
    all_ids = {call_id for pair in pairs.values() for call_id in pair}
    blocks = [b for name in FILES.values() for b in iter_events((DATA / name).read_text())]

    async with start_telephony(tag) as t:
        response = await t.client.post(
            "/api/telephony/dids",
            json={"did": "+7 495 123-01-01", "clinic_id": "clinic-msk-arbat"},
            headers=t.auth("admin"),
        )
        assert response.status_code == 201, response.text
        calls = await topic_reader(t.logical("telephony.calls"))

        def ended(records: list[Any]) -> bool:
            done = {
                r.key.decode() for r in records if json.loads(r.value)["event_type"] == "CallEnded"
            }
            return all_ids <= done

        async with (
            EslServer(blocks, password=PASSWORD) as server,
            freeswitch_connector(
                t.settings,
                EslEndpoint("127.0.0.1", server.port, SecretStr(PASSWORD)),
                call_id_prefix=f"fs-{tag}-",
            ) as (connector, _task),
        ):
            for events in hooks.values():
                response = await t.post_events(events)
                assert response.status_code == 202, response.text
            await calls.wait_for(ended, timeout=60, message="CallEnded of all eight calls")
            assert server.done and connector.connections == 1

    by_call = helpers.by_call(calls.records)
    for key, (fs_id, webhook_id) in pairs.items():
        assert canonical(by_call[fs_id]) == canonical(by_call[webhook_id]), key

    # And what they are, judged from the transcripts alone.
    answered = canonical(by_call[fs_ids["answered"]])
    assert [kind for kind, _ in answered] == [
        "CallStarted",
        "CallRinging",
        "CallAnswered",
        "CallEnded",
    ]
    started, end = answered[0][1], answered[-1][1]
    assert (started["direction"], started["caller"], started["callee"], started["clinic_id"]) == (
        "incoming",
        "+79161234567",
        "+74951230101",
        "clinic-msk-arbat",
    )
    assert (end["disposition"], end["wait_seconds"], end["talk_seconds"]) == ("answered", 8, 90)
    missed = canonical(by_call[fs_ids["missed"]])
    assert [p["extension"] for kind, p in missed if kind == "CallRinging"] == ["101", "102"]
    assert (missed[-1][1]["disposition"], missed[-1][1]["end_reason"]) == ("missed", "cancel")
    transfer = canonical(by_call[fs_ids["transfer"]])
    moved = [p for kind, p in transfer if kind == "CallTransferred"]
    assert [(p["from_extension"], p["to_extension"]) for p in moved] == [("101", "102")]
    assert transfer[-1][1]["disposition"] == "answered"
    outgoing = canonical(by_call[fs_ids["outgoing"]])
    started = outgoing[0][1]
    assert (started["direction"], started["extension"], started["callee"]) == (
        "outgoing",
        "101",
        "+79161234567",
    )
    assert outgoing[-1][1]["talk_seconds"] == 67
