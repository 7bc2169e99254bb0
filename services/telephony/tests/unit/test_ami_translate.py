"""The AMI translator on real Asterisk transcripts (``tests/data/ami``) and a few
constructed messages (Cdr, transfers), checked against what was read off the transcripts
by hand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from switchboard_telephony.adapters.ami import iter_messages, parse_message
from switchboard_telephony.adapters.ami_translate import (
    AmiTranslator,
    channel_extension,
    end_status,
)
from switchboard_telephony.adapters.pbx_generic import parse_generic
from switchboard_telephony.domain.calls import apply, tick
from switchboard_telephony.domain.config import Directory, Timing
from switchboard_telephony.domain.pbx_events import PbxEvent

DATA = Path(__file__).resolve().parents[1] / "data" / "ami"
T0 = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def transcript(name: str) -> list[dict[str, str]]:
    return list(iter_messages((DATA / name).read_text()))


def translate(
    messages: Iterable[dict[str, str]], translator: AmiTranslator | None = None
) -> list[dict[str, Any]]:
    """Feed messages read one second apart from T0; every generic event, in order."""
    translator = translator or AmiTranslator()
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        out += translator.feed(message, T0 + timedelta(seconds=i))
    return out


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def without_ids(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "event_id"} for e in events]


# --- the transcripts ------------------------------------------------------------------------


def test_the_transcripts_are_the_upstream_files() -> None:
    # Sizes and event counts of the upstream fixtures (see tests/data/ami/README.md).
    sizes = {
        "answered-outbound.raw": (10262, 23),
        "unanswered-cancel.raw": (6178, 15),
        "unanswered-huntgroup.raw": (26635, 53),
    }
    for name, (chars, events) in sizes.items():
        assert len((DATA / name).read_text()) == chars
        assert len(transcript(name)) == events


def test_an_answered_call_reads_as_start_ring_answer_end() -> None:
    # Read off the transcript: Newchannel of 1986 dialling 21 (event 0), DialBegin to
    # PJSIP/21 (5), DialEnd ANSWER (10), BridgeEnter of both legs (12, 13), the last
    # channel (1986's) hangs up (22).
    call = "1770888509.40"
    assert without_ids(translate(transcript("answered-outbound.raw"))) == [
        {"type": "call.started", "call_id": call, "timestamp": at(0), "from": "1986", "to": "21"},
        {"type": "call.ringing", "call_id": call, "timestamp": at(5), "extension": "21"},
        {"type": "call.answered", "call_id": call, "timestamp": at(10), "extension": "21"},
        {"type": "call.ended", "call_id": call, "timestamp": at(22), "status": "answered"},
    ]


def test_a_call_the_caller_gave_up_on_ends_cancelled() -> None:
    call = "1770888559.46"
    assert without_ids(translate(transcript("unanswered-cancel.raw"))) == [
        {"type": "call.started", "call_id": call, "timestamp": at(0), "from": "1986", "to": "21"},
        {"type": "call.ringing", "call_id": call, "timestamp": at(5), "extension": "21"},
        {"type": "call.ended", "call_id": call, "timestamp": at(14), "status": "cancel"},
    ]


def test_a_ring_group_rings_every_phone_then_ends_unanswered() -> None:
    call = "1770888635.49"
    ringing = [
        {"type": "call.ringing", "call_id": call, "timestamp": at(13 + i), "extension": ext}
        for i, ext in enumerate(["11", "12", "21", "41", "42", "51"])
    ]
    assert without_ids(translate(transcript("unanswered-huntgroup.raw"))) == [
        {"type": "call.started", "call_id": call, "timestamp": at(0), "from": "1986", "to": "666"},
        *ringing,
        {"type": "call.ended", "call_id": call, "timestamp": at(52), "status": "no_answer"},
    ]


def test_the_timestamp_header_wins_over_the_read_time() -> None:
    messages = transcript("unanswered-cancel.raw")
    for i, message in enumerate(messages):
        message["timestamp"] = f"{1770888559 + 2 * i}.250000"
    events = translate(messages)
    base = datetime.fromtimestamp(1770888559.25, tz=UTC)
    assert [e["timestamp"] for e in events] == [
        (base + timedelta(seconds=2 * n)).isoformat() for n in (0, 5, 14)
    ]


def test_every_translated_event_is_valid_for_the_webhook() -> None:
    for name in ("answered-outbound.raw", "unanswered-cancel.raw", "unanswered-huntgroup.raw"):
        for event in translate(transcript(name)):
            parsed, _ = parse_generic(event)
            assert parsed.call_id == event["call_id"]


def test_event_ids_are_unique_and_stable() -> None:
    messages = [
        m for n in ("answered-outbound.raw", "unanswered-huntgroup.raw") for m in transcript(n)
    ]
    first = [e["event_id"] for e in translate(messages)]
    # Another connector (another translator, other read times) gives the same ids.
    later = AmiTranslator()
    second = [
        e["event_id"]
        for i, m in enumerate(messages)
        for e in later.feed(m, T0 + timedelta(hours=1, seconds=3 * i))
    ]
    assert first == second
    assert len(set(first)) == len(first)


def test_an_event_read_twice_adds_nothing() -> None:
    messages = transcript("answered-outbound.raw")
    translator = AmiTranslator()
    twice: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        read_at = T0 + timedelta(seconds=i)
        twice += translator.feed(message, read_at) + translator.feed(dict(message), read_at)
    assert twice == translate(messages)


def test_the_call_id_prefix_keeps_two_pbxes_apart() -> None:
    events = translate(transcript("unanswered-cancel.raw"), AmiTranslator(call_id_prefix="spb:"))
    assert {e["call_id"] for e in events} == {"spb:1770888559.46"}
    assert all(e["event_id"].startswith("ami:spb:1770888559.46:") for e in events)


def test_joining_mid_call_still_ends_the_call() -> None:
    # The connector connects after the DialEnd: no start; 21 entering the bridge tells
    # the call was answered there, and the end comes when the call's first channel
    # (Uniqueid == Linkedid) hangs up, other channels unknown or not.
    events = translate(transcript("answered-outbound.raw")[11:])
    assert [(e["type"], e.get("extension")) for e in events] == [
        ("call.answered", "21"),
        ("call.ended", None),
    ]
    assert {e["call_id"] for e in events} == {"1770888509.40"}
    assert events[-1]["status"] == "answered"


def test_interleaved_calls_are_kept_apart() -> None:
    a = transcript("answered-outbound.raw")
    b = transcript("unanswered-huntgroup.raw")
    mixed = [m for pair in zip(a, b, strict=False) for m in pair] + b[len(a) :]
    events = translate(mixed)
    by_call: dict[str, list[str]] = {}
    for e in events:
        by_call.setdefault(e["call_id"], []).append(e["type"])
    assert by_call == {
        "1770888509.40": ["call.started", "call.ringing", "call.answered", "call.ended"],
        "1770888635.49": ["call.started"] + ["call.ringing"] * 6 + ["call.ended"],
    }


def test_memory_is_bounded() -> None:
    translator = AmiTranslator(max_calls=2, forget_after=timedelta(minutes=5))
    for n in range(5):
        translator.feed(
            {"event": "Newchannel", "uniqueid": f"{n}.1", "linkedid": f"{n}.1"},
            T0 + timedelta(seconds=n),
        )
    assert translator.open_calls == 2
    translator.feed(
        {"event": "Newchannel", "uniqueid": "9.1", "linkedid": "9.1"}, T0 + timedelta(hours=1)
    )
    assert translator.open_calls == 1


# --- the canonical calls: AMI and the equivalent webhook events agree ------------------------


DIRECTORY = Directory(default_region="RU")
TIMING = Timing(reorder_grace=timedelta(seconds=10), no_end_timeout=timedelta(hours=2))


def canonical(generic: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Generic events through the webhook's parser and the state machine; the canonical
    payloads per call, call id removed."""
    states: dict[str, Any] = {}
    out: dict[str, list[dict[str, Any]]] = {}
    now = T0 + timedelta(days=1)
    for raw in generic:
        event, raw_dict = parse_generic(raw)
        pbx: PbxEvent = event.to_pbx_event(raw_dict, timedelta(0))
        state, emitted = apply(states.get(pbx.call_id), pbx, DIRECTORY, now, TIMING)
        states[pbx.call_id] = state
        out.setdefault(pbx.call_id, []).extend(
            {"type": type(e).__name__, **e.model_dump(mode="json", exclude={"call_id"})}
            for e in emitted
        )
    for call_id, state in states.items():
        _, emitted = tick(state, DIRECTORY, now + timedelta(minutes=1), TIMING)
        out[call_id].extend(
            {"type": type(e).__name__, **e.model_dump(mode="json", exclude={"call_id"})}
            for e in emitted
        )
    return out


def test_ami_and_webhook_give_the_same_canonical_call() -> None:
    ami = canonical(translate(transcript("answered-outbound.raw")))["1770888509.40"]
    webhook = canonical(
        [
            {
                "type": "call.started",
                "call_id": "w",
                "timestamp": at(0),
                "from": "1986",
                "to": "21",
            },
            {"type": "call.ringing", "call_id": "w", "timestamp": at(5), "extension": "21"},
            {"type": "call.answered", "call_id": "w", "timestamp": at(10), "extension": "21"},
            {"type": "call.ended", "call_id": "w", "timestamp": at(22), "status": "answered"},
        ]
    )["w"]
    assert ami == webhook
    assert [e["type"] for e in ami] == ["CallStarted", "CallRinging", "CallAnswered", "CallEnded"]
    ended = ami[-1]
    assert (ended["disposition"], ended["wait_seconds"], ended["talk_seconds"]) == (
        "answered",
        10,
        12,
    )


# --- constructed messages: transfers and Cdr --------------------------------------------------


def _msg(text: str) -> dict[str, str]:
    return parse_message(line.strip() for line in text.strip().splitlines())


def test_a_blind_transfer_inside_the_call_is_a_transfer() -> None:
    # Constructed (after the Asterisk AMI event documentation): a trunk call to the
    # reception 101, answered there, then sent on to 102 with the same Linkedid.
    messages = [
        _msg("""Event: Newchannel
                Channel: PJSIP/provider-00000001
                CallerIDNum: 79161234567
                Exten: 74951230101
                Uniqueid: 1764054000.1
                Linkedid: 1764054000.1"""),
        _msg("""Event: DialBegin
                Channel: PJSIP/provider-00000001
                Uniqueid: 1764054000.1
                Linkedid: 1764054000.1
                DestChannel: PJSIP/101-00000002
                DestUniqueid: 1764054000.2
                DialString: 101"""),
        _msg("""Event: DialEnd
                Channel: PJSIP/provider-00000001
                Uniqueid: 1764054000.1
                Linkedid: 1764054000.1
                DestChannel: PJSIP/101-00000002
                DestUniqueid: 1764054000.2
                DialStatus: ANSWER"""),
        _msg("""Event: BridgeEnter
                Channel: PJSIP/101-00000002
                Uniqueid: 1764054000.2
                Linkedid: 1764054000.1
                BridgeNumChannels: 2"""),
        _msg("""Event: Hangup
                Channel: PJSIP/101-00000002
                Uniqueid: 1764054000.2
                Linkedid: 1764054000.1
                Cause: 16"""),
        _msg("""Event: DialBegin
                Channel: PJSIP/provider-00000001
                Uniqueid: 1764054000.1
                Linkedid: 1764054000.1
                DestChannel: PJSIP/102-00000003
                DestUniqueid: 1764054000.3
                DialString: 102"""),
        _msg("""Event: DialEnd
                Channel: PJSIP/provider-00000001
                Uniqueid: 1764054000.1
                Linkedid: 1764054000.1
                DestChannel: PJSIP/102-00000003
                DestUniqueid: 1764054000.3
                DialStatus: ANSWER"""),
        _msg("""Event: Hangup
                Channel: PJSIP/102-00000003
                Uniqueid: 1764054000.3
                Linkedid: 1764054000.1
                Cause: 16"""),
        _msg("""Event: Hangup
                Channel: PJSIP/provider-00000001
                Uniqueid: 1764054000.1
                Linkedid: 1764054000.1
                Cause: 16"""),
    ]
    assert without_ids(translate(messages)) == [
        {
            "type": "call.started",
            "call_id": "1764054000.1",
            "timestamp": at(0),
            "from": "79161234567",
            "to": "74951230101",
        },
        {"type": "call.ringing", "call_id": "1764054000.1", "timestamp": at(1), "extension": "101"},
        {
            "type": "call.answered",
            "call_id": "1764054000.1",
            "timestamp": at(2),
            "extension": "101",
        },
        {"type": "call.ringing", "call_id": "1764054000.1", "timestamp": at(5), "extension": "102"},
        {
            "type": "call.transferred",
            "call_id": "1764054000.1",
            "timestamp": at(6),
            "extension": "101",
            "to_extension": "102",
        },
        {"type": "call.ended", "call_id": "1764054000.1", "timestamp": at(8), "status": "answered"},
    ]


CDR = """Event: Cdr
Privilege: cdr,all
AccountCode:
Source: 89161234567
Destination: 74951230101
DestinationContext: from-trunk
CallerID: "Patient" <89161234567>
Channel: PJSIP/provider-00000004
DestinationChannel: PJSIP/101-00000005
LastApplication: Dial
LastData: PJSIP/101,30
StartTime: 2026-11-25 10:00:00
AnswerTime: 2026-11-25 10:00:07
EndTime: 2026-11-25 10:01:37
Duration: 97
BillableSeconds: 90
Disposition: ANSWERED
AMAFlags: DOCUMENTATION
UniqueID: 1764054100.4
UserField:"""


def test_a_cdr_of_an_unseen_call_is_the_whole_call() -> None:
    # Constructed from the documented fields of the AMI Cdr event (cdr_manager); its
    # times are the PBX's local time.
    translator = AmiTranslator(pbx_time_zone=ZoneInfo("Europe/Moscow"))
    events = without_ids(translator.feed(_msg(CDR), T0))
    call = "1764054100.4"
    assert events == [
        {
            "type": "call.started",
            "call_id": call,
            "timestamp": "2026-11-25T07:00:00+00:00",
            "from": "89161234567",
            "to": "74951230101",
        },
        {
            "type": "call.answered",
            "call_id": call,
            "timestamp": "2026-11-25T07:00:07+00:00",
            "extension": "101",
        },
        {
            "type": "call.ended",
            "call_id": call,
            "timestamp": "2026-11-25T07:01:37+00:00",
            "status": "answered",
        },
    ]
    assert translator.feed(_msg(CDR), T0) == []  # the same Cdr again


def test_a_cdr_of_a_call_already_followed_adds_nothing() -> None:
    translator = AmiTranslator()
    translate(transcript("unanswered-cancel.raw"), translator)
    cdr = CDR.replace("1764054100.4", "1770888559.46").replace("ANSWERED", "NO ANSWER")
    assert translator.feed(_msg(cdr), T0) == []


# --- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "extension"),
    [
        ("PJSIP/21-0000001a", "21"),
        ("SIP/101-000000bb", "101"),
        ("Local/259@default-00000000;1", "259"),
        ("PJSIP/provider-00000003", None),
        ("SIP/toOurAster-000000bb", None),
        ("", None),
        (None, None),
    ],
)
def test_channel_extension(channel: str | None, extension: str | None) -> None:
    assert channel_extension(channel) == extension


@pytest.mark.parametrize(
    ("answered", "statuses", "cause", "expected"),
    [
        (True, ["NOANSWER"], "16", "answered"),
        (False, ["NOANSWER", "BUSY", "NOANSWER"], "16", "no_answer"),
        (False, ["BUSY", "BUSY"], "17", "busy"),
        (False, ["NOANSWER", "CANCEL"], "127", "cancel"),
        (False, ["CHANUNAVAIL"], "20", "chanunavail"),
        (False, [], "17", "busy"),
        (False, [], "34", "congestion"),
        (False, [], "16", "no_answer"),
    ],
)
def test_end_status(answered: bool, statuses: list[str], cause: str, expected: str) -> None:
    assert end_status(answered, statuses, cause) == expected
