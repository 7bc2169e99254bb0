"""AMI replay and webhook, through real Kafka and PostgreSQL, give the same canonical calls.

A fake AMI server replays three real Asterisk transcripts (``tests/data/ami``) to the AMI
connector, which publishes to ``pbx.events.raw`` with the runtime's broker; the telephony
service (in-process, with its consumer, state machine and outbox) turns them into
``telephony.calls``. The same three calls, written by hand in the generic webhook format
from reading the transcripts, go through the webhook under other call ids. The canonical
events of each pair must be identical but for the call id.

Event times: the transcripts were captured without ``timestampevents``, so the fake server
adds ``Timestamp: <call's first Uniqueid second> + n`` to the n-th event of each call
(see ``tests/data/ami/README.md``); the webhook events carry the same times.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ami_server as fake_ami
import pytest
from pydantic import SecretStr

from switchboard_telephony.domain.signing import signed_json

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TESTS = Path(__file__).resolve().parents[1]
TOKEN = "ami-it-pbx-token"
AMI_SECRET = "ami-it-secret"


def at(base: int, seconds: int) -> str:
    return datetime.fromtimestamp(base + seconds, tz=UTC).isoformat()


def webhook_events(prefix: str) -> dict[str, list[dict[str, Any]]]:
    """The three calls as a PBX would post them, read off the transcripts by hand.

    Times: the n-th AMI event of a call is at ``base + n`` seconds (``base`` = the
    second of the call's first Uniqueid), so e.g. the DialEnd ANSWER of the answered
    call, its 11th event, is at ``base + 10``.
    """
    out, cancel, hunt = f"{prefix}out", f"{prefix}cancel", f"{prefix}hunt"
    b1, b2, b3 = 1770888509, 1770888559, 1770888635
    return {
        # answered-outbound.raw: 1986 → 21, DialBegin (#5), DialEnd ANSWER (#10),
        # the last channel hangs up (#22).
        out: [
            {
                "type": "call.started",
                "call_id": out,
                "timestamp": at(b1, 0),
                "from": "1986",
                "to": "21",
            },
            {"type": "call.ringing", "call_id": out, "timestamp": at(b1, 5), "extension": "21"},
            {"type": "call.answered", "call_id": out, "timestamp": at(b1, 10), "extension": "21"},
            {"type": "call.ended", "call_id": out, "timestamp": at(b1, 22), "status": "answered"},
        ],
        # unanswered-cancel.raw: 1986 → 21, DialBegin (#5), DialEnd CANCEL (#10),
        # the last channel hangs up (#14).
        cancel: [
            {
                "type": "call.started",
                "call_id": cancel,
                "timestamp": at(b2, 0),
                "from": "1986",
                "to": "21",
            },
            {"type": "call.ringing", "call_id": cancel, "timestamp": at(b2, 5), "extension": "21"},
            {"type": "call.ended", "call_id": cancel, "timestamp": at(b2, 14), "status": "cancel"},
        ],
        # unanswered-huntgroup.raw: 1986 → ring group 666, six DialBegin (#13-#18),
        # six DialEnd NOANSWER, the last channel hangs up (#52).
        hunt: [
            {
                "type": "call.started",
                "call_id": hunt,
                "timestamp": at(b3, 0),
                "from": "1986",
                "to": "666",
            },
            *[
                {
                    "type": "call.ringing",
                    "call_id": hunt,
                    "timestamp": at(b3, 13 + i),
                    "extension": ext,
                }
                for i, ext in enumerate(["11", "12", "21", "41", "42", "51"])
            ],
            {"type": "call.ended", "call_id": hunt, "timestamp": at(b3, 52), "status": "no_answer"},
        ],
    }


def canonical(envelopes: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(event type, payload without the call id) of each envelope, in published order."""
    return [
        (e["event_type"], {k: v for k, v in e["payload"].items() if k != "call_id"})
        for e in envelopes
    ]


async def test_ami_replay_gives_the_same_canonical_calls_as_the_webhook(
    settings_env: dict[str, str],
    running_service: Any,
    topic_reader: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from switchboard_telephony.adapters.ami import AmiEndpoint
    from switchboard_telephony.bootstrap import build_app
    from switchboard_telephony.entrypoints.connectors import ami_connector
    from switchboard_telephony.settings import TelephonySettings

    # A telephony of its own: topics and database nobody else in the run touches.
    tag = f"ami{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("TELEPHONY_TOPIC_PREFIX", f"{settings_env['TOPIC_PREFIX']}{tag}.")
    monkeypatch.setenv("TELEPHONY_DATABASE_SUFFIX", f"_{tag}{settings_env['DATABASE_SUFFIX']}")
    monkeypatch.setenv("TELEPHONY_PBX_TOKEN", TOKEN)
    settings = TelephonySettings()

    names = ["answered-outbound.raw", "unanswered-cancel.raw", "unanswered-huntgroup.raw"]
    blocks: list[list[str]] = []
    ami_ids: dict[str, str] = {}
    for name, key in zip(names, ["out", "cancel", "hunt"], strict=True):
        transcript = fake_ami.transcript_blocks(name)
        base = int(float(fake_ami.first_uniqueid(transcript)))
        blocks += fake_ami.with_timestamps(transcript, [base + n for n in range(len(transcript))])
        ami_ids[key] = f"ami-{tag}-{fake_ami.first_uniqueid(transcript)}"
    hooks = webhook_events(f"wh-{tag}-")
    pairs = {key: (ami_ids[key], f"wh-{tag}-{key}") for key in ami_ids}
    all_ids = {call_id for pair in pairs.values() for call_id in pair}

    calls = await topic_reader(f"{tag}.telephony.calls")

    def ended(records: list[Any]) -> bool:
        done = {r.key.decode() for r in records if json.loads(r.value)["event_type"] == "CallEnded"}
        return all_ids <= done

    async with (
        running_service(build_app(settings)) as client,
        fake_ami.FakeAmi(blocks, username="switchboard", secret=AMI_SECRET) as server,
        ami_connector(
            settings,
            AmiEndpoint("127.0.0.1", server.port, "switchboard", SecretStr(AMI_SECRET)),
            call_id_prefix=f"ami-{tag}-",
        ) as (connector, _task),
    ):
        for events in hooks.values():
            body, headers = signed_json(TOKEN, events)
            response = await client.post("/api/telephony/pbx/events", content=body, headers=headers)
            assert response.status_code == 202, response.text
        await calls.wait_for(ended, timeout=60, message="CallEnded of all six calls")
        assert server.done and connector.connections == 1

    by_call: dict[str, list[dict[str, Any]]] = {}
    for record in calls.records:
        by_call.setdefault(record.key.decode(), []).append(json.loads(record.value))
    for key, (ami_id, webhook_id) in pairs.items():
        assert canonical(by_call[ami_id]) == canonical(by_call[webhook_id]), key

    # And what they are, judged from the transcripts alone.
    out = canonical(by_call[ami_ids["out"]])
    assert [t for t, _ in out] == ["CallStarted", "CallRinging", "CallAnswered", "CallEnded"]
    started, ended_call = out[0][1], out[-1][1]
    assert (started["direction"], started["caller"], started["callee"]) == (
        "internal",
        "1986",
        "21",
    )
    assert started["started_at"].startswith("2026-02-12T09:28:29")
    assert (ended_call["disposition"], ended_call["wait_seconds"], ended_call["talk_seconds"]) == (
        "answered",
        10,
        12,
    )
    cancel = canonical(by_call[ami_ids["cancel"]])
    assert [t for t, _ in cancel] == ["CallStarted", "CallRinging", "CallEnded"]
    assert cancel[-1][1]["disposition"] == "missed"
    hunt = canonical(by_call[ami_ids["hunt"]])
    assert [p["extension"] for t, p in hunt if t == "CallRinging"] == [
        "11",
        "12",
        "21",
        "41",
        "42",
        "51",
    ]
    assert hunt[-1][1]["disposition"] == "missed"
    assert hunt[-1][1]["wait_seconds"] == 52
