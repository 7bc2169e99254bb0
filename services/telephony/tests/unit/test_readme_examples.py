"""The README's webhook example is valid and means what the README says it means."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from switchboard_contracts import CallAnswered, CallEnded, CallStarted, CallTransferred
from switchboard_telephony.adapters.pbx_generic import parse_generic
from switchboard_telephony.domain.calls import apply
from switchboard_telephony.domain.config import Directory, Timing

README = Path(__file__).resolve().parents[2] / "README.md"


def _webhook_example() -> list[dict[str, object]]:
    text = README.read_text()
    section = text[text.index("One example per type") :]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return list(json.loads(block.group(1)))


def test_the_readme_example_gives_the_documented_call() -> None:
    raw_events = _webhook_example()
    assert {e["type"] for e in raw_events} == {
        "call.started",
        "call.ringing",
        "call.transferred",
        "call.answered",
        "call.ended",
    }
    directory = Directory(default_region="RU", did_to_clinic={"+74951234567": "clinic-msk"})
    now = datetime(2026, 11, 25, 7, 5, tzinfo=UTC)
    state, out = None, []
    for raw in raw_events:
        generic, source = parse_generic(raw)
        state, emitted = apply(
            state, generic.to_pbx_event(source, timedelta(0)), directory, now, Timing()
        )
        out += emitted
    kinds = [type(e) for e in out]
    assert kinds[0] is CallStarted and kinds[-1] is CallEnded
    assert CallTransferred in kinds and CallAnswered in kinds
    started, ended = out[0], out[-1]
    assert isinstance(started, CallStarted) and isinstance(ended, CallEnded)
    assert (started.caller, started.clinic_id, started.extension) == (
        "+79161234567",
        "clinic-msk",
        "101",
    )
    assert (ended.wait_seconds, ended.talk_seconds, ended.total_seconds) == (9, 90, 99)
    assert ended.extension == "102" and ended.operator_id == "op-anna"


def test_the_readme_shows_every_adapter_as_its_capabilities_say() -> None:
    from switchboard_telephony.adapters.pbx import capabilities_table

    assert capabilities_table() in README.read_text()
