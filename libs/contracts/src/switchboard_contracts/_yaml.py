"""A minimal, deterministic YAML writer for JSON-like data (so the package needs no PyYAML).

Strings are always double-quoted with JSON escapes (valid YAML 1.2), so no value can be
misread as a number, boolean or null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dump_yaml"]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _is_printable(char: str) -> bool:
    # YAML's c-printable set, minus the characters YAML 1.1 readers treat as line breaks.
    code = ord(char)
    return (
        code in (0x09, 0x0A, 0x0D)
        or 0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    ) and code != 0xFEFF


def _quote(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    return "".join(c if _is_printable(c) else f"\\u{ord(c):04x}" for c in encoded)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value, allow_nan=False)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, Sequence) and not value:
        return "[]"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _key(key: Any) -> str:
    text = str(key)
    if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED:
        return text
    return _quote(text)


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and bool(value)


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            item = value[key]
            if _is_block(item):
                lines.append(f"{pad}{_key(key)}:")
                _emit(item, indent + 1, lines)
            else:
                lines.append(f"{pad}{_key(key)}: {_scalar(item)}")
        return
    for item in value:
        if _is_block(item):
            nested: list[str] = []
            _emit(item, indent + 1, nested)
            # The first line of the nested block shares the line with the dash.
            nested[0] = f"{pad}- {nested[0][len(pad) + 2 :]}"
            lines.extend(nested)
        else:
            lines.append(f"{pad}- {_scalar(item)}")


def dump_yaml(data: Mapping[str, Any]) -> str:
    """Return ``data`` (dicts, lists, str, int, float, bool, None) as a YAML document with
    sorted keys, two-space indentation and a trailing newline."""
    lines: list[str] = []
    _emit(data, 0, lines)
    return "\n".join(lines) + "\n"
