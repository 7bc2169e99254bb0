"""The compatibility guard: is a new JSON Schema still compatible with the released one?

A published event may only change compatibly — add optional fields, widen a type — unless its
``schema_version`` is raised. :func:`check_compatible` compares two JSON Schemas (as pydantic
writes them: ``$ref``/``$defs``, ``anyOf`` for unions, ``enum``/``const`` for literals) and
lists what a reader of the old schema would trip over; :func:`compare_snapshot` runs it for every
event in a released snapshot (see ``switchboard-contracts export``) against the current code.

Reported as incompatible:

* a property removed (or renamed, which is a removal plus an addition);
* a property that was optional, or absent, becoming required;
* a type narrowed: a branch of a union dropped (``["string", "null"]`` → ``"string"``),
  ``number`` → ``integer``, an ``enum``/``const`` losing values, a new ``enum``, ``format`` or
  ``pattern`` where there was none, a tighter length/number/items bound;
* ``additionalProperties`` tightened (allowed → ``false``, or a narrower value schema).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from switchboard_contracts.base import Event
from switchboard_contracts.export import envelope_schema, event_schema
from switchboard_contracts.registry import EVENT_VERSIONS

__all__ = ["check_compatible", "compare_snapshot", "new_since_snapshot"]

Schema = Mapping[str, Any]

_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
_SCHEMA_FILE = re.compile(r"^(?P<event_type>[A-Za-z0-9_]+)\.v(?P<version>[0-9]+)\.json$")
_ENVELOPE_FILE = "Envelope.json"


def check_compatible(
    old_schema: Schema, new_schema: Schema, *, name: str | None = None
) -> list[str]:
    """List the ways ``new_schema`` is incompatible with ``old_schema`` (empty: compatible).

    Each entry is a human-readable sentence starting with the JSON path of the offending
    value, e.g. ``"CallEnded.recording_url: property removed"``. ``name`` is the root of those
    paths (default: the old schema's ``title``). Only local ``$ref``\\ s are followed.
    """
    root = name if name is not None else str(old_schema.get("title", "$"))
    return _Checker(old_schema, new_schema).compare(old_schema, new_schema, root)


class _Checker:
    """One comparison: knows both roots so that ``$ref``\\ s resolve in the right document."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self._in_progress: set[tuple[str, str]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> list[str]:
        # Recursive models: a pair of definitions already being compared further up is
        # assumed compatible here (any problem in it is reported at the outer level).
        refs = (str(old.get("$ref", "")), str(new.get("$ref", "")))
        if refs[0] and refs[1]:
            if refs in self._in_progress:
                return []
            self._in_progress.add(refs)
        try:
            return self._compare_branches(old, new, path)
        finally:
            self._in_progress.discard(refs)

    def _compare_branches(self, old: Schema, new: Schema, path: str) -> list[str]:
        new_branches = list(_branches(new, self.new_root))
        problems: list[str] = []
        for old_branch in _branches(old, self.old_root):
            old_kind = _kind(old_branch)
            candidates = [b for b in new_branches if _kind_accepts(_kind(b), old_kind)]
            if not candidates:
                problems.append(f"{path}: type narrowed, no longer accepts {_describe(old_branch)}")
                continue
            # The old values may be accepted by any matching branch of the new union; the
            # closest one (fewest problems) decides.
            outcomes = [self._compare_branch(old_branch, b, path) for b in candidates]
            closest: list[str] = min(outcomes, key=len)
            problems.extend(closest)
        return problems

    def _compare_branch(self, old: Schema, new: Schema, path: str) -> list[str]:
        problems: list[str] = []
        old_values, new_values = _enum_values(old), _enum_values(new)
        if new_values is not None:
            if old_values is None:
                problems.append(f"{path}: type narrowed, now restricted to {new_values!r}")
            else:
                lost = [value for value in old_values if value not in new_values]
                if lost:
                    problems.append(f"{path}: enum narrowed, no longer accepts {lost!r}")
        for keyword in ("format", "pattern"):
            if keyword in new and new[keyword] != old.get(keyword):
                problems.append(
                    f"{path}: type narrowed, {keyword} {old.get(keyword)!r} → {new[keyword]!r}"
                )
        for keyword in _LOWER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
                problems.append(
                    f"{path}: type narrowed, {keyword} {old.get(keyword)!r} → {new[keyword]!r}"
                )
        for keyword in _UPPER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                problems.append(
                    f"{path}: type narrowed, {keyword} {old.get(keyword)!r} → {new[keyword]!r}"
                )
        if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
            problems.append(f"{path}: type narrowed, items must now be unique")
        kind = _kind(new)
        if kind == "object":
            problems.extend(self._compare_object(old, new, path))
        elif kind == "array" and "items" in new:
            problems.extend(
                self.compare(_as_schema(old.get("items", {})), new["items"], f"{path}[]")
            )
        return problems

    def _compare_object(self, old: Schema, new: Schema, path: str) -> list[str]:
        problems: list[str] = []
        old_props: Mapping[str, Schema] = old.get("properties", {})
        new_props: Mapping[str, Schema] = new.get("properties", {})
        added = [prop for prop in new_props if prop not in old_props]
        for prop in old_props:
            if prop not in new_props:
                hint = f" (renamed? new properties: {', '.join(added)})" if added else ""
                problems.append(f"{path}.{prop}: property removed{hint}")
        old_required = set(old.get("required", ()))
        for prop in new.get("required", ()):
            if prop not in old_required:
                what = "optional" if prop in old_props else "absent"
                problems.append(f"{path}.{prop}: property newly required (was {what})")
        for prop, old_prop in old_props.items():
            if prop in new_props:
                problems.extend(self.compare(old_prop, new_props[prop], f"{path}.{prop}"))
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            problems.append(f"{path}: additionalProperties tightened, extra properties rejected")
        elif old_extra is not False and new_extra is not False:
            problems.extend(self.compare(_as_schema(old_extra), _as_schema(new_extra), f"{path}.*"))
        return problems


def _as_schema(value: Any) -> Schema:
    """``true`` means "anything" (``{}``); a mapping is a schema."""
    if value is True:
        return {}
    if isinstance(value, Mapping):
        return value
    raise ValueError(f"unsupported schema {value!r}")


def _resolve(schema: Schema, root: Schema) -> Schema:
    """Follow a local ``$ref`` (keeping sibling keywords) and merge ``allOf``."""
    seen: set[str] = set()
    while "$ref" in schema:
        ref = str(schema["$ref"])
        if not ref.startswith("#") or ref in seen:
            raise ValueError(f"cannot follow $ref {ref!r}")
        seen.add(ref)
        target: Any = root
        for token in filter(None, ref[1:].split("/")):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        schema = {**target, **siblings}
    if "allOf" in schema:
        merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        schema = merged
    return schema


def _branches(schema: Schema, root: Schema) -> Iterator[Schema]:
    """The alternatives a schema accepts, flattened: one per union member and per listed type."""
    schema = _resolve(schema, root)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            for member in schema[keyword]:
                yield from _branches(member, root)
            return
    types = schema.get("type")
    if isinstance(types, list):
        for single in types:
            yield {**schema, "type": single}
        return
    yield schema


def _enum_values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _kind(schema: Schema) -> str:
    """The JSON type a branch accepts: a JSON Schema type name, or ``any``/``mixed``."""
    if "type" in schema:
        return str(schema["type"])
    values = _enum_values(schema)
    if values is not None:
        kinds = {_json_type(value) for value in values}
        return kinds.pop() if len(kinds) == 1 else "mixed"
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "any"


def _kind_accepts(new_kind: str, old_kind: str) -> bool:
    return new_kind in (old_kind, "any") or (new_kind == "number" and old_kind == "integer")


def _describe(branch: Schema) -> str:
    values = _enum_values(branch)
    if values is not None:
        return f"values {values!r}"
    kind = _kind(branch)
    return "values of any type" if kind == "any" else kind


def _schemas_dir(snapshot_dir: Path | str) -> Path:
    path = Path(snapshot_dir)
    if (path / "schemas").is_dir():
        path = path / "schemas"
    if not path.is_dir():
        raise FileNotFoundError(f"no schema snapshot at {path}")
    return path


def _snapshot_files(schemas_dir: Path) -> Iterator[tuple[Path, str, int]]:
    for path in sorted(schemas_dir.glob("*.json")):
        match = _SCHEMA_FILE.match(path.name)
        if match:
            yield path, match["event_type"], int(match["version"])


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON Schema object")
    return data


def compare_snapshot(
    snapshot_dir: Path | str,
    *,
    versions: Mapping[tuple[str, int], type[Event]] | None = None,
) -> list[str]:
    """List every incompatibility between the released snapshot and the current contracts.

    ``snapshot_dir`` is a directory written by ``switchboard-contracts export`` (or its
    ``schemas/`` subdirectory). For each ``<EventType>.v<N>.json`` in it:

    * if ``(EventType, N)`` is still registered, its current schema must be compatible;
    * if only a higher version of ``EventType`` is registered, the change was made the allowed
      way (a new ``schema_version``) and nothing is reported;
    * if ``EventType`` is gone, or only lower versions remain, that is reported.

    ``Envelope.json`` is checked the same way. ``versions`` defaults to the registry
    (:data:`~switchboard_contracts.registry.EVENT_VERSIONS`); tests pass their own.
    """
    registered = EVENT_VERSIONS if versions is None else versions
    latest: dict[str, int] = {}
    for event_type, version in registered:
        latest[event_type] = max(version, latest.get(event_type, 0))

    schemas_dir = _schemas_dir(snapshot_dir)
    problems: list[str] = []
    envelope_file = schemas_dir / _ENVELOPE_FILE
    if envelope_file.is_file():
        problems.extend(check_compatible(_load(envelope_file), envelope_schema(), name="Envelope"))
    for path, event_type, version in _snapshot_files(schemas_dir):
        name = f"{event_type} v{version}"
        cls = registered.get((event_type, version))
        if cls is not None:
            problems.extend(check_compatible(_load(path), event_schema(cls), name=name))
        elif event_type not in latest:
            problems.append(f"{name}: event type removed (it is in the released snapshot)")
        elif latest[event_type] < version:
            problems.append(f"{name}: schema_version went down (current is v{latest[event_type]})")
    return problems


def new_since_snapshot(
    snapshot_dir: Path | str,
    *,
    versions: Mapping[tuple[str, int], type[Event]] | None = None,
) -> list[str]:
    """List the event types and schema versions registered now but absent from the snapshot
    (informational: new things are always allowed; re-export the snapshot when releasing)."""
    registered = EVENT_VERSIONS if versions is None else versions
    released = {
        (event_type, version)
        for _, event_type, version in _snapshot_files(_schemas_dir(snapshot_dir))
    }
    released_types = {event_type for event_type, _ in released}
    notes = []
    for event_type, version in sorted(registered):
        if (event_type, version) in released:
            continue
        what = "new schema version" if event_type in released_types else "new event type"
        notes.append(f"{event_type} v{version}: {what}")
    return notes
