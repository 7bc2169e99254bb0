"""Ids of the entities booking creates."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A new entity id."""
    return str(uuid.uuid4())
