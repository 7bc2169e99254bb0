# ruff: noqa: RUF001 - digits and signs of other scripts are what these tests are about
"""Fuzzing telephony's two doors and its number normalisation.

Whatever a PBX sends — bytes that are not JSON, JSON that is not an event, events with
fields of the wrong type, AMI text in any shape — the parsers either read it or refuse it
with :class:`InvalidPbxEvent` (which the consumer turns into a dead-letter record with the
reason). Any other exception would be retried as if the broker were down and then
dead-lettered as "unexpected". Valid events read back to the same values, and phone numbers
written in any digits, script and punctuation come out in E.164 or are refused as
:class:`InvalidPhoneNumber`.
"""

from __future__ import annotations

import asyncio
import json
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from switchboard_phones import InvalidPhoneNumber
from switchboard_telephony.adapters.ami import (
    AmiProtocolError,
    iter_messages,
    parse_message,
    read_message,
)
from switchboard_telephony.adapters.ami_translate import AmiTranslator
from switchboard_telephony.adapters.pbx_generic import (
    EVENT_KINDS,
    InvalidPbxEvent,
    decode_raw,
    parse_generic,
)
from switchboard_telephony.domain.config import Directory

FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DIRECTORY = Directory(default_region="RU")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EXTENSION = re.compile(r"^[0-9]{1,6}$")

GENERIC_FIELDS = (
    "event_id",
    "type",
    "call_id",
    "timestamp",
    "from",
    "to",
    "did",
    "extension",
    "to_extension",
    "operator_id",
    "status",
    "recording_url",
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            "   ",
            "call.started",
            "call.ended",
            "2026-11-25T10:00:00+03:00",
            "2026-11-25T10:00:00",
            "+7 (495) 123-45-67",
            "١٠١",
        ]
    )
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def read_or_refuse(raw: bytes) -> Any:
    """``decode_raw(raw)``, or None when refused; any other exception propagates."""
    try:
        return decode_raw(raw)
    except InvalidPbxEvent as exc:
        assert exc.reason and exc.errors, "a refusal names its reason and the fields"
        return None


# --- the generic JSON format ------------------------------------------------------------------


@FUZZ
@given(raw=st.binary(max_size=400))
@example(raw=b"")
@example(raw=b"\xff\xfe\x00")
@example(raw=b"NaN")
@example(raw=b"1" * 5000)  # more digits than Python converts to an int
@example(raw=b"[" * 100_000 + b"]" * 100_000)  # nested deeper than the decoder recurses
@example(raw=b'{"type": "call.started", "call_id": "c", "timestamp": 1e400}')
@example(raw=b'{"type": "call.started", "call_id": "c", "timestamp": 99999999999999999999}')
def test_any_bytes_are_read_or_refused_as_an_invalid_event(raw: bytes) -> None:
    read_or_refuse(raw)


@FUZZ
@given(value=json_values)
def test_any_json_is_read_or_refused_as_an_invalid_event(value: Any) -> None:
    read_or_refuse(json.dumps(value).encode())


@FUZZ
@given(
    event=st.fixed_dictionaries(
        {
            "type": st.sampled_from(sorted(EVENT_KINDS)) | json_scalars,
            "call_id": st.text(min_size=1, max_size=10) | json_scalars,
            "timestamp": st.sampled_from(["2026-11-25T10:00:00+03:00", 1_764_054_000])
            | json_scalars,
        },
        optional={
            name: json_values
            for name in GENERIC_FIELDS
            if name not in {"type", "call_id", "timestamp"}
        },
    )
)
def test_events_with_wrongly_typed_fields_are_refused_field_by_field(
    event: dict[str, Any],
) -> None:
    try:
        parsed, raw = parse_generic(event)
    except InvalidPbxEvent as exc:
        assert {e["field"] for e in exc.errors}, "the refusal names the fields"
        return
    # Accepted: it turns into the domain's event without a surprise.
    assert raw is event
    assert parsed.to_pbx_event(raw, timedelta(minutes=5)).call_id == parsed.call_id


identifiers = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=60
)
plain_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=30,
)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid generic event with a plausible time written with any UTC offset."""
    at = draw(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2026, 11, 1)))
    offset = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
    event: dict[str, Any] = {
        "type": draw(st.sampled_from(sorted(EVENT_KINDS))),
        "call_id": draw(identifiers),
        "timestamp": at.replace(tzinfo=UTC).astimezone(offset).isoformat(),
    }
    for name in ("event_id", "from", "to", "did", "operator_id", "recording_url"):
        if draw(st.booleans()):
            event[name] = draw(plain_text)
    for name in ("extension", "to_extension"):
        if draw(st.booleans()):
            event[name] = draw(st.from_regex(r"\A[0-9]{1,8}\Z"))
    if draw(st.booleans()):
        event["status"] = draw(st.sampled_from(["answered", "NO ANSWER", "busy", "failed"]))
    return event


@FUZZ
@given(event=valid_events())
def test_valid_events_read_back_to_the_same_values(event: dict[str, Any]) -> None:
    source = decode_raw(json.dumps(event, ensure_ascii=False).encode())
    parsed = source.event
    assert parsed.type == event["type"]
    assert parsed.call_id == event["call_id"]
    assert parsed.timestamp == datetime.fromisoformat(event["timestamp"])
    assert parsed.timestamp.utcoffset() == timedelta(0)
    assert parsed.caller == event.get("from") and parsed.callee == event.get("to")
    assert parsed.extension == event.get("extension")
    # The webhook republishes the raw object compactly: the same event, the same dedupe key.
    again = decode_raw(json.dumps(source.raw, separators=(",", ":")).encode())
    assert again.source_key == source.source_key
    assert again.to_pbx_event(timedelta(0)) == source.to_pbx_event(timedelta(0))
    lagged = source.to_pbx_event(timedelta(minutes=-7))
    assert lagged.at == parsed.timestamp - timedelta(minutes=7)


# --- the AMI ----------------------------------------------------------------------------------

AMI_KEYS = (
    "Event",
    "Uniqueid",
    "Linkedid",
    "Channel",
    "DestChannel",
    "DestUniqueid",
    "DialString",
    "DialStatus",
    "CallerIDNum",
    "Exten",
    "Cause",
    "Timestamp",
    "Source",
    "Destination",
    "DestinationChannel",
    "StartTime",
    "AnswerTime",
    "EndTime",
    "Disposition",
)
AMI_EVENTS = ("Newchannel", "DialBegin", "DialEnd", "BridgeEnter", "Hangup", "Cdr", "Newstate")
ami_values = (
    st.text(max_size=20)
    | st.sampled_from(["", "<unknown>", "ANSWER", "NOANSWER", "BUSY", "16", "17", "s"])
    | st.from_regex(r"\A(PJSIP|SIP|Local)/[0-9a-z@;\-]{1,12}\Z")
    | st.from_regex(r"\A\+?[0-9 ()\-]{1,20}\Z")
    | st.from_regex(r"\A[0-9]{60,90}\Z")  # a caller id longer than any number
    | st.from_regex(r"\A20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]\Z")
    | st.floats(allow_nan=True).map(str)
    | st.sampled_from(["1700000000.1", "1764054000", "-1", "1e30", "inf"])
)
ids = st.sampled_from(["1700000000.1", "1700000000.2", "1700000000.3", ""])


@st.composite
def ami_messages(draw: st.DrawFn) -> dict[str, str]:
    """An AMI message as ``parse_message`` returns it: lower-case keys, string values."""
    message = {
        "event": draw(st.sampled_from(AMI_EVENTS) | st.text(max_size=10)),
        "uniqueid": draw(ids),
        "linkedid": draw(ids),
    }
    for key in draw(st.lists(st.sampled_from(AMI_KEYS), max_size=8)):
        message[key.lower()] = draw(ami_values)
    return message


@FUZZ
@given(text=st.text(max_size=400))
@example(text="Event: Hangup\r\nUniqueid: 1\r\n\r\n::\r\nno colon\r\n:\r\n")
def test_any_ami_text_reads_as_messages_of_strings(text: str) -> None:
    for message in iter_messages(text):
        assert all(isinstance(k, str) and k == k.strip().lower() for k in message)
        assert all(isinstance(v, str) and v == v.strip() for v in message.values())


@FUZZ
@given(lines=st.lists(st.text(max_size=30), max_size=10))
def test_a_repeated_key_keeps_its_first_value(lines: list[str]) -> None:
    message = parse_message(lines)
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            assert key.strip().lower() in message
    first = next((line for line in lines if ":" in line), None)
    if first is not None:
        key, _, value = first.partition(":")
        assert message[key.strip().lower()] == value.strip()


@FUZZ
@given(raw=st.binary(max_size=600))
@example(raw=b"Event: Newchannel\r\n" + b"X" * 70_000 + b"\r\n\r\n")
@example(raw=b"A: b\n" * 1200)
@example(raw=b"\xff\xfe: \x00\r\n\r\n")
def test_any_bytes_on_the_ami_socket_read_as_messages_or_a_protocol_error(raw: bytes) -> None:
    async def read_all() -> list[dict[str, str]]:
        reader = asyncio.StreamReader(limit=64 * 1024)
        reader.feed_data(raw)
        reader.feed_eof()
        messages = []
        while (message := await read_message(reader)) is not None:
            messages.append(message)
        return messages

    try:
        messages = asyncio.run(read_all())
    except AmiProtocolError:
        return
    assert all(isinstance(v, str) for m in messages for v in m.values())


@FUZZ
@given(messages=st.lists(ami_messages(), max_size=25), prefix=st.sampled_from(["", "pbx1-"]))
def test_any_ami_event_sequence_translates_to_events_the_webhook_accepts(
    messages: list[dict[str, str]], prefix: str
) -> None:
    translator = AmiTranslator(call_id_prefix=prefix, max_calls=5, remember_ended=5)
    produced: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        produced += translator.feed(message, NOW + timedelta(seconds=index))
    assert translator.open_calls <= 5
    for event in produced:
        assert event["call_id"].startswith(prefix)
        try:
            parse_generic(json.loads(json.dumps(event)))
        except InvalidPbxEvent as exc:
            # A garbage AMI Timestamp header (years away) is refused by the generic
            # reader like any implausible PBX time; anything else would lose the event.
            assert exc.reason == "impossible_timestamp", (event, exc.errors)
    assert len({e["event_id"] for e in produced}) == len(produced), "event ids are unique"


# --- phone numbers ----------------------------------------------------------------------------

DIGIT_SCRIPTS = {
    "ascii": "0123456789",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "fullwidth": "０１２３４５６７８９",
    "devanagari": "०१२३४५६७८९",
}
SEPARATORS = ["", " ", "-", ".", "(", ")", "  ", "/"]


def written(digits: str, script: str, draw: st.DrawFn) -> str:
    """``digits`` in another script, with separators people type between them."""
    table = str.maketrans("0123456789", DIGIT_SCRIPTS[script])
    out = []
    for digit in digits.translate(table):
        out.append(digit)
        out.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(out).strip()


@st.composite
def russian_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """(the number as someone wrote it, its E.164 form computed here)."""
    subscriber = draw(st.from_regex(r"\A9[0-9]{9}\Z"))
    script = draw(st.sampled_from(sorted(DIGIT_SCRIPTS)))
    prefix = draw(st.sampled_from(["+7", "8", "7", "+７", "＋7"]))
    text = prefix + " " + written(subscriber, script, draw)
    return text, "+7" + subscriber


@FUZZ
@given(case=russian_mobiles())
@example(case=("+٧ ٩١٦ ١٢٣-٤٥-٦٧", "+79161234567"))
@example(case=("８ (９１６) １２３-４５-６７", "+79161234567"))
@example(case=("tel:+7-916-123-45-67", "+79161234567"))
def test_a_mobile_in_any_digits_is_e164(case: tuple[str, str]) -> None:
    text, expected = case
    assert DIRECTORY.canonical(text) == expected


@FUZZ
@given(
    raw=st.text(max_size=30)
    | st.from_regex(r"\A[+0-9 ()\-A-Za-z]{0,24}\Z")
    | st.text(alphabet="٠١٢٣٤٥٦٧٨٩０１２３４５６７８９+ -", max_size=20)
)
@example(raw="8-800-FLOWERS")
@example(raw="+7 495 ABC-DE-FG")
@example(raw="Иван")
@example(raw="١٠١")
@example(raw="\x00")
@example(raw="+" + "9" * 40)
def test_any_text_is_e164_an_extension_or_an_invalid_number(raw: str) -> None:
    try:
        number = DIRECTORY.canonical(raw)
    except InvalidPhoneNumber as exc:
        assert str(exc)
        return
    assert E164.match(number) or EXTENSION.match(number), number


def test_a_caller_id_too_long_for_the_generic_format_still_starts_the_call() -> None:
    translator = AmiTranslator()
    started = translator.feed(
        {
            "event": "Newchannel",
            "uniqueid": "1764054000.7",
            "linkedid": "1764054000.7",
            "calleridnum": "7" * 80,
            "exten": "101",
        },
        NOW,
    )
    assert [e["type"] for e in started] == ["call.started"]
    event, _ = parse_generic(started[0])
    assert event.caller is None and event.callee == "101"


def test_a_dial_status_too_long_for_the_generic_format_still_ends_the_call() -> None:
    translator = AmiTranslator()
    call = {"uniqueid": "1764054000.8", "linkedid": "1764054000.8"}
    translator.feed({"event": "Newchannel", **call, "calleridnum": "+74951234567"}, NOW)
    translator.feed({"event": "DialEnd", **call, "dialstatus": "X" * 80}, NOW)
    ended = translator.feed({"event": "Hangup", **call}, NOW + timedelta(seconds=30))
    assert [e["type"] for e in ended] == ["call.ended"]
    event, _ = parse_generic(ended[0])
    assert event.status == "unknown"


def test_a_hangup_naming_no_channel_ends_no_call() -> None:
    translator = AmiTranslator(call_id_prefix="pbx1-")
    assert translator.feed({"event": "Hangup", "cause": "16"}, NOW) == []
    assert translator.feed({"event": "Hangup", "uniqueid": "", "linkedid": ""}, NOW) == []
