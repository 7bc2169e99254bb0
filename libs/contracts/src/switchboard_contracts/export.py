"""JSON Schema and AsyncAPI export of the contracts (the only part of the package doing I/O).

``export(out_dir)`` writes::

    out_dir/schemas/<EventType>.v<schema_version>.json   one per registered event version
    out_dir/schemas/Envelope.json                        the envelope, payload left open
    out_dir/asyncapi.json, out_dir/asyncapi.yaml         AsyncAPI 3.0: topics, messages, keys

All schemas are pydantic's *validation* schemas (what a consumer accepts). JSON is written with
sorted keys and two-space indentation, YAML (PyYAML) in the document's own key order, so the
same code always gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from switchboard_contracts._version import __version__
from switchboard_contracts.base import Event
from switchboard_contracts.envelope import Envelope
from switchboard_contracts.errors import ContractError
from switchboard_contracts.registry import CURRENT_EVENTS, EVENT_VERSIONS
from switchboard_contracts.topics import (
    PBX_EVENTS_RAW,
    TOPICS,
    key_field,
    topic_for,
)

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "Consumer",
    "asyncapi_document",
    "envelope_schema",
    "event_schema",
    "export",
    "schema_filename",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect pydantic writes."""

_SCHEMA_MODE: JsonSchemaMode = "validation"
_KAFKA_BINDING_VERSION = "0.5.0"
_COMPONENT_SCHEMAS = "#/components/schemas/"


@dataclass(frozen=True)
class Consumer:
    """A consumer group of a service and the event types it handles (on whichever topics
    carry them), or the topics it reads whole (raw input): what the AsyncAPI document's
    ``receive`` operations say. The services' subscription tables give these."""

    service: str
    group: str
    event_types: Sequence[str] = ()
    topics: Sequence[str] = ()


def schema_filename(cls: type[Event]) -> str:
    """The file name of an event's schema in an export: ``<EventType>.v<schema_version>.json``."""
    return f"{cls.event_type}.v{cls.schema_version}.json"


def event_schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema of an event payload, with ``x-`` annotations naming its event type,
    schema version, topic and key field (ignored by validators and by the compatibility
    check)."""
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    schema.update(cls.model_json_schema(mode=_SCHEMA_MODE))
    schema["x-event-type"] = cls.event_type
    schema["x-schema-version"] = cls.schema_version
    try:
        schema["x-topic"] = topic_for(cls.event_type)
        schema["x-key"] = key_field(cls.event_type)
    except ContractError:
        pass  # an event type not (yet) routed to a topic
    return schema


def envelope_schema() -> dict[str, Any]:
    """The JSON Schema of the envelope; ``payload`` is any object (see the event schemas)."""
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    schema.update(Envelope.model_json_schema(mode=_SCHEMA_MODE))
    schema.pop("$defs", None)
    schema["properties"]["payload"] = {
        "type": "object",
        "title": "Payload",
        "description": "The event; its schema is schemas/<event_type>.v<schema_version>.json.",
    }
    return schema


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (renames.get(value, value) if key == "$ref" else _rename_refs(value, renames))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _summary(cls: type[Any]) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def asyncapi_document(
    version: str = __version__, consumers: Iterable[Consumer] = ()
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the platform's topics.

    One channel per topic (plus the dead-letter pattern), one message per current event type
    whose payload is the envelope holding that event, and the Kafka message key of each
    message described in its Kafka binding; a ``send`` operation per topic (its producer)
    and a ``receive`` operation per consumer group and topic of ``consumers``.
    """
    envelope_models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (Envelope[cls], _SCHEMA_MODE)  # type: ignore[valid-type]
        for cls in CURRENT_EVENTS
    ]
    _, defs_holder = models_json_schema(
        envelope_models, ref_template=_COMPONENT_SCHEMAS + "{model}"
    )
    raw_defs: dict[str, Any] = defs_holder.get("$defs", {})
    # pydantic names Envelope[CallEnded] "Envelope_CallEnded_"; call it "CallEndedEnvelope".
    renamed = {f"Envelope_{cls.__name__}_": f"{cls.__name__}Envelope" for cls in CURRENT_EVENTS}
    refs = {_COMPONENT_SCHEMAS + old: _COMPONENT_SCHEMAS + new for old, new in renamed.items()}
    schemas: dict[str, Any] = {
        renamed.get(name, name): _rename_refs(schema, refs) for name, schema in raw_defs.items()
    }
    for cls in CURRENT_EVENTS:
        properties = schemas[f"{cls.__name__}Envelope"]["properties"]
        properties["event_type"] = {**properties["event_type"], "const": cls.event_type}
        properties["schema_version"] = {**properties["schema_version"], "const": cls.schema_version}

    messages: dict[str, Any] = {}
    for cls in CURRENT_EVENTS:
        key = key_field(cls.event_type)
        messages[cls.event_type] = {
            "name": cls.event_type,
            "title": cls.event_type,
            "summary": _summary(cls),
            "contentType": "application/json",
            "payload": {"$ref": f"{_COMPONENT_SCHEMAS}{cls.__name__}Envelope"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"payload.{key}"},
                    "bindingVersion": _KAFKA_BINDING_VERSION,
                }
            },
            "x-schema-version": cls.schema_version,
            "x-key": key,
        }
    messages["PbxRawEvent"] = {
        "name": "PbxRawEvent",
        "title": "Raw PBX delivery",
        "summary": "A PBX event exactly as the PBX sent it (adapter-specific, not enveloped).",
        "contentType": "application/json",
        "payload": {"type": "object"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": TOPICS[PBX_EVENTS_RAW].key_description},
                "bindingVersion": _KAFKA_BINDING_VERSION,
            }
        },
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in TOPICS.values():
        channel_id = spec.name.replace(".", "_")
        names = list(spec.event_types) if spec.event_types else ["PbxRawEvent"]
        channels[channel_id] = {
            "address": spec.name,
            "title": spec.name,
            "description": f"{spec.description} Key: {spec.key_description}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
            "bindings": {"kafka": {"topic": spec.name, "bindingVersion": _KAFKA_BINDING_VERSION}},
            "x-producer": spec.producer,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "title": f"{spec.producer} publishes to {spec.name}",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in names],
        }
    for consumer in consumers:
        wanted: dict[str, list[str]] = {topic: [] for topic in consumer.topics}
        for event_type in consumer.event_types:
            wanted.setdefault(topic_for(event_type), []).append(event_type)
        for topic, names in sorted(wanted.items()):
            channel_id = topic.replace(".", "_")
            names = names or list(channels[channel_id]["messages"])
            operations[f"receive_{channel_id}_{consumer.group.replace('.', '_')}"] = {
                "action": "receive",
                "title": f"{consumer.service} ({consumer.group}) reads {topic}",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{n}"} for n in names],
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "enum": [consumer.group]},
                        "bindingVersion": _KAFKA_BINDING_VERSION,
                    }
                },
            }
    channels["dead_letters"] = {
        "address": "{topic}.dlq.{group}",
        "title": "dead-letter topics",
        "description": (
            "One per consumer group and topic: the original message bytes of a message that "
            "could not be parsed or processed after bounded retries, with the error."
        ),
        "parameters": {
            "topic": {"description": "The topic the message was read from."},
            "group": {"description": "The consumer group that gave up on it."},
        },
    }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard events",
            "version": version,
            "description": (
                "Every event of the Switchboard contact-center platform. Each message value is "
                "a JSON envelope (event_id, event_type, schema_version, occurred_at, "
                "recorded_at, producer, correlation_id) around the event payload."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def export(out_dir: Path | str, consumers: Iterable[Consumer] = ()) -> list[Path]:
    """Write every schema and the AsyncAPI document under ``out_dir``; return the files written.

    ``consumers`` adds the platform's consumer groups to the AsyncAPI document (the released
    snapshot of the contracts leaves them out: it describes the events, not who reads them).

    Stale ``*.json`` files in ``out_dir/schemas`` (e.g. of a version no longer registered) are
    removed, so the directory mirrors the current code exactly.
    """
    out = Path(out_dir)
    schemas_dir = out / "schemas"
    schemas_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for _, cls in sorted(EVENT_VERSIONS.items()):
        path = schemas_dir / schema_filename(cls)
        _write_json(path, event_schema(cls))
        written.append(path)
    path = schemas_dir / "Envelope.json"
    _write_json(path, envelope_schema())
    written.append(path)
    for stale in sorted(schemas_dir.glob("*.json")):
        if stale not in written:
            stale.unlink()
    document = asyncapi_document(__version__, consumers)
    _write_json(out / "asyncapi.json", document)
    # The document's own key order (asyncapi, info, channels, ...) reads better than sorted.
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    (out / "asyncapi.yaml").write_text(text, encoding="utf-8", newline="\n")
    written += [out / "asyncapi.json", out / "asyncapi.yaml"]
    return written
