"""The export (schemas + AsyncAPI) and the command line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

import switchboard_contracts
from switchboard_contracts import CURRENT_EVENTS, EVENT_VERSIONS, TOPICS
from switchboard_contracts.cli import main
from switchboard_contracts.export import export


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_export_writes_every_schema_deterministically(tmp_path: Path) -> None:
    export(tmp_path / "a")
    export(tmp_path / "b")
    first = _tree(tmp_path / "a")
    assert first == _tree(tmp_path / "b")
    expected = {f"schemas/{t}.v{v}.json" for t, v in EVENT_VERSIONS}
    expected |= {"schemas/Envelope.json", "asyncapi.json", "asyncapi.yaml"}
    assert set(first) == expected
    schema = json.loads(first["schemas/CallEnded.v1.json"])
    assert schema["x-topic"] == "telephony.calls" and schema["x-key"] == "call_id"
    assert first["schemas/CallEnded.v1.json"].endswith(b"}\n")


def test_export_removes_stale_schemas(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "Gone.v1.json").write_text("{}")
    export(tmp_path)
    assert not (tmp_path / "schemas" / "Gone.v1.json").exists()


def test_asyncapi_document(tmp_path: Path) -> None:
    export(tmp_path)
    document = json.loads((tmp_path / "asyncapi.json").read_text())
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert set(TOPICS) <= addresses and "{topic}.dlq.{group}" in addresses
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    for cls in CURRENT_EVENTS:
        message = messages[cls.event_type]
        assert message["bindings"]["kafka"]["key"]["description"].startswith("payload.")
        envelope = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
        assert envelope["properties"]["event_type"]["const"] == cls.event_type
    # Every $ref in the document resolves inside it.
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        node = document
        for token in ref.lstrip("#/").split("/"):
            node = node[token]


def test_yaml_matches_json(tmp_path: Path) -> None:
    export(tmp_path)
    text = (tmp_path / "asyncapi.yaml").read_text(encoding="utf-8")
    from_yaml = yaml.safe_load(text)
    assert from_yaml == json.loads((tmp_path / "asyncapi.json").read_text(encoding="utf-8"))
    # Written in the document's own order, not sorted: the version line comes first.
    assert text.startswith("asyncapi: 3.0.0\n")
    assert list(from_yaml) == [
        "asyncapi",
        "info",
        "defaultContentType",
        "channels",
        "operations",
        "components",
    ]


def test_the_released_yaml_says_what_the_released_json_says() -> None:
    released = Path(__file__).resolve().parents[2] / "schemas" / "released"
    from_yaml = yaml.safe_load((released / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert from_yaml == json.loads((released / "asyncapi.json").read_text(encoding="utf-8"))


def test_cli_export_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--out", str(tmp_path)]) == 0
    assert main(["check", "--snapshot", str(tmp_path)]) == 0
    assert "compatible" in capsys.readouterr().out
    path = tmp_path / "schemas" / "CallEnded.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["hangup_cause"] = {"type": "string"}
    path.write_text(json.dumps(schema))
    assert main(["check", "--snapshot", str(tmp_path)]) == 1
    assert "CallEnded v1.hangup_cause: property removed" in capsys.readouterr().err
    assert main(["check", "--snapshot", str(tmp_path / "missing")]) == 2


def test_version_matches_pyproject() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text())["project"]
    assert switchboard_contracts.__version__ == project["version"]


def test_consumers_become_receive_operations_on_the_topics_of_their_events() -> None:
    from switchboard_contracts.export import Consumer, asyncapi_document

    document = asyncapi_document(
        "1.0.0",
        [
            Consumer("notify", "notify", event_types=("CallStarted", "CallerIdentified")),
            Consumer("telephony", "telephony.pbx-ingest", topics=("pbx.events.raw",)),
        ],
    )
    receives = {k: v for k, v in document["operations"].items() if v["action"] == "receive"}
    assert sorted(receives) == [
        "receive_crm_touches_notify",
        "receive_pbx_events_raw_telephony_pbx-ingest",
        "receive_telephony_calls_notify",
    ]
    calls = receives["receive_telephony_calls_notify"]
    assert calls["channel"] == {"$ref": "#/channels/telephony_calls"}
    assert calls["messages"] == [{"$ref": "#/channels/telephony_calls/messages/CallStarted"}]
    assert calls["bindings"]["kafka"]["groupId"]["enum"] == ["notify"]
    raw = receives["receive_pbx_events_raw_telephony_pbx-ingest"]
    assert raw["messages"] == [{"$ref": "#/channels/pbx_events_raw/messages/PbxRawEvent"}]
