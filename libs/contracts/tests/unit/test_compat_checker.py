"""Tests that check the checker: each kind of incompatible change is caught, compatible ones
are not, and a raised schema_version lets an incompatible change through.

Changes are made two ways: by editing a released schema as a dict, and by defining a modified
pydantic model and comparing its ``model_json_schema()`` with the released snapshot.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from pydantic import create_model

from switchboard_contracts import EVENT_VERSIONS, CallEnded, ClientRegistered, Event, TouchCreated
from switchboard_contracts.compat import check_compatible, compare_snapshot, new_since_snapshot

Load = Callable[[str], dict[str, Any]]


def _only(problems: list[str], *fragments: str) -> None:
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], problems


# --- dict edits -------------------------------------------------------------------------------


def test_identical_schemas_are_compatible(released_schema: Load) -> None:
    for name in ("CallEnded.v1", "TouchCreated.v1", "ClientRegistered.v1", "Envelope"):
        assert check_compatible(released_schema(name), released_schema(name)) == []


def test_removed_property_is_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    del new["properties"]["recording_url"]
    _only(check_compatible(old, new), "CallEnded.recording_url", "property removed")


def test_renamed_property_is_reported_with_a_hint(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["recording_link"] = new["properties"].pop("recording_url")
    _only(check_compatible(old, new), "recording_url: property removed", "recording_link")


def test_optional_property_made_required_is_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["required"].append("recording_url")
    _only(check_compatible(old, new), "CallEnded.recording_url", "newly required (was optional)")


def test_new_required_property_is_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["queue"] = {"type": "string"}
    new["required"].append("queue")
    _only(check_compatible(old, new), "CallEnded.queue", "newly required (was absent)")


def test_nullable_narrowed_to_non_null_is_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["caller"] = {"type": "string", "title": "Caller"}
    _only(check_compatible(old, new), "CallEnded.caller", "no longer accepts null")


def test_type_list_narrowed_is_reported() -> None:
    old = {"type": "object", "properties": {"x": {"type": ["string", "null"]}}}
    new = {"type": "object", "properties": {"x": {"type": "string"}}}
    _only(check_compatible(old, new, name="M"), "M.x", "no longer accepts null")


def test_number_narrowed_to_integer_is_reported() -> None:
    old = {"type": "object", "properties": {"x": {"type": "number"}}}
    new = {"type": "object", "properties": {"x": {"type": "integer"}}}
    _only(check_compatible(old, new, name="M"), "M.x", "no longer accepts number")
    assert check_compatible(new, old) == [], "integer → number is a widening"


def test_enum_losing_a_value_is_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["disposition"]["enum"].remove("busy")
    _only(check_compatible(old, new), "CallEnded.disposition", "'busy'")


def test_enum_gaining_a_value_is_not_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["disposition"]["enum"].append("voicemail")
    assert check_compatible(old, new) == []


def test_added_optional_property_is_not_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["queue"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert check_compatible(old, new) == []


def test_widening_to_nullable_is_not_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["ended_at"] = {
        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]
    }
    assert check_compatible(old, new) == []


def test_additional_properties_tightened_is_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["additionalProperties"] = False
    _only(check_compatible(old, new), "CallEnded", "additionalProperties tightened")


def test_dict_value_type_narrowed_is_reported(released_schema: Load) -> None:
    old, new = released_schema("ClientRegistered.v1"), released_schema("ClientRegistered.v1")
    new["properties"]["key_details"]["additionalProperties"] = {"type": "string", "maxLength": 40}
    _only(check_compatible(old, new), "ClientRegistered.key_details.*", "maxLength")


def test_change_inside_a_referenced_definition_is_reported(released_schema: Load) -> None:
    old, new = released_schema("TouchCreated.v1"), released_schema("TouchCreated.v1")
    del new["$defs"]["TouchContact"]["properties"]["ambiguous"]
    _only(check_compatible(old, new), "TouchCreated.contact.ambiguous", "property removed")


def test_change_inside_list_items_is_reported(released_schema: Load) -> None:
    old, new = released_schema("TouchCreated.v1"), released_schema("TouchCreated.v1")
    new["$defs"]["ContactRef"]["properties"]["kind"]["enum"] = ["patient"]
    _only(check_compatible(old, new), "TouchCreated.contact.candidates[].kind", "'lead'")


def test_tighter_string_constraints_are_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    new["properties"]["call_id"]["minLength"] = 5
    new["properties"]["call_id"]["pattern"] = "^c-"
    problems = check_compatible(old, new)
    assert len(problems) == 2, problems
    assert any("minLength 1 → 5" in p for p in problems)
    assert any("pattern None → '^c-'" in p for p in problems)
    assert check_compatible(new, old) == [], "loosening constraints is compatible"


def test_several_problems_are_all_reported(released_schema: Load) -> None:
    old, new = released_schema("CallEnded.v1"), released_schema("CallEnded.v1")
    del new["properties"]["recording_url"]
    new["properties"]["disposition"]["enum"] = ["answered"]
    new["required"].append("end_reason")
    assert len(check_compatible(old, new)) == 3


# --- modified pydantic models against the released snapshot ----------------------------------


def _without(model: type[Event], field: str) -> type[Event]:
    """``model`` rebuilt without one field (what deleting a line from the class does)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name != field
    }
    return create_model(model.__name__, __base__=Event, **fields)


def test_model_without_a_field_is_reported(released_schema: Load) -> None:
    shrunk = _without(CallEnded, "recording_url")
    _only(
        check_compatible(released_schema("CallEnded.v1"), shrunk.model_json_schema()),
        "CallEnded.recording_url",
        "property removed",
    )


def test_model_with_an_optional_field_made_required_is_reported(released_schema: Load) -> None:
    class StrictCallEnded(CallEnded):
        recording_url: str | None  # no default: must now be present (null still allowed)

    _only(
        check_compatible(released_schema("CallEnded.v1"), StrictCallEnded.model_json_schema()),
        "recording_url",
        "newly required (was optional)",
    )


def test_model_with_a_narrowed_literal_is_reported(released_schema: Load) -> None:
    class NoLeads(ClientRegistered):
        kind: Literal["patient"] = "patient"

    _only(
        check_compatible(released_schema("ClientRegistered.v1"), NoLeads.model_json_schema()),
        "ClientRegistered.kind",
        "'lead'",
    )


def test_model_with_a_narrowed_type_is_reported(released_schema: Load) -> None:
    class NonNullCaller(CallEnded):
        caller: str = ""

    _only(
        check_compatible(released_schema("CallEnded.v1"), NonNullCaller.model_json_schema()),
        "CallEnded.caller",
        "no longer accepts null",
    )


def test_model_with_a_nested_change_is_reported(released_schema: Load) -> None:
    class Touch(TouchCreated):
        phone: int | None = None  # type: ignore[assignment]

    _only(
        check_compatible(released_schema("TouchCreated.v1"), Touch.model_json_schema()),
        "TouchCreated.phone",
        "no longer accepts string",
    )


def test_model_with_an_added_optional_field_is_not_reported(released_schema: Load) -> None:
    class CallEndedWithQueue(CallEnded):
        queue_name: str | None = None
        hold_seconds: int = 0

    old = released_schema("CallEnded.v1")
    assert check_compatible(old, CallEndedWithQueue.model_json_schema()) == []


def test_current_models_match_the_snapshot_checker_view(released_schema: Load) -> None:
    """The plain ``model_json_schema()`` and the exported schema are judged the same way."""
    for (event_type, version), cls in EVENT_VERSIONS.items():
        old = released_schema(f"{event_type}.v{version}")
        assert check_compatible(old, cls.model_json_schema()) == []


# --- compare_snapshot: schema_version rules ---------------------------------------------------


class CallEndedV2(CallEnded):
    """An incompatible CallEnded (recording_url required) published as schema_version 2."""

    schema_version: ClassVar[int] = 2
    recording_url: str


class CallEndedStillV1(CallEnded):
    """The same incompatible change, but without raising schema_version."""

    recording_url: str


def _registry_with(
    cls: type[Event], *, keep_v1: bool = False
) -> dict[tuple[str, int], type[Event]]:
    versions = {k: v for k, v in EVENT_VERSIONS.items() if k[0] != cls.event_type}
    versions[(cls.event_type, cls.schema_version)] = cls
    if keep_v1:
        versions[(cls.event_type, 1)] = EVENT_VERSIONS[(cls.event_type, 1)]
    return versions


def test_incompatible_change_without_a_new_version_is_reported(released_dir: Path) -> None:
    problems = compare_snapshot(released_dir, versions=_registry_with(CallEndedStillV1))
    assert problems == [
        "CallEnded v1.recording_url: property newly required (was optional)",
        "CallEnded v1.recording_url: type narrowed, no longer accepts null",
    ]


def test_incompatible_change_with_a_raised_version_is_allowed(released_dir: Path) -> None:
    assert compare_snapshot(released_dir, versions=_registry_with(CallEndedV2)) == []
    assert compare_snapshot(released_dir, versions=_registry_with(CallEndedV2, keep_v1=True)) == []
    notes = new_since_snapshot(released_dir, versions=_registry_with(CallEndedV2))
    assert notes == ["CallEnded v2: new schema version"]


def test_removed_event_type_is_reported(released_dir: Path) -> None:
    versions = {k: v for k, v in EVENT_VERSIONS.items() if k[0] != "CallTagged"}
    _only(compare_snapshot(released_dir, versions=versions), "CallTagged v1", "removed")


def test_snapshot_edits_are_reported(released_dir: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "released"
    shutil.copytree(released_dir, snapshot)
    schemas = snapshot / "schemas"
    # A version newer than the code has, and an event type the code no longer knows.
    shutil.copy(schemas / "CallEnded.v1.json", schemas / "CallEnded.v2.json")
    shutil.copy(schemas / "CallEnded.v1.json", schemas / "CallVanished.v1.json")
    # A field released in the envelope that the code no longer has.
    envelope = json.loads((schemas / "Envelope.json").read_text())
    envelope["properties"]["tenant"] = {"type": "string"}
    (schemas / "Envelope.json").write_text(json.dumps(envelope))
    problems = compare_snapshot(snapshot)
    assert len(problems) == 3, problems
    assert any("Envelope.tenant: property removed" in p for p in problems)
    assert any("CallEnded v2: schema_version went down" in p for p in problems)
    assert any("CallVanished v1: event type removed" in p for p in problems)


def test_missing_snapshot_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        compare_snapshot(tmp_path / "nope")
