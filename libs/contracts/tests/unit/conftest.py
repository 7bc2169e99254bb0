"""Shared fixtures: where the released schema snapshot lives, and loading one of its files."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RELEASED_DIR = Path(__file__).resolve().parents[2] / "schemas" / "released"


@pytest.fixture
def released_dir() -> Path:
    """The committed snapshot of the last released schemas."""
    return RELEASED_DIR


@pytest.fixture
def released_schema() -> Callable[[str], dict[str, Any]]:
    """Load a fresh (mutable) copy of one released schema, e.g. ``"CallEnded.v1"``."""

    def load(name: str) -> dict[str, Any]:
        path = RELEASED_DIR / "schemas" / f"{name}.json"
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return copy.deepcopy(data)

    return load
