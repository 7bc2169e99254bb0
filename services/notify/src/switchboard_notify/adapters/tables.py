"""Notify's tables."""

from __future__ import annotations

from switchboard_runtime.db import make_metadata

metadata = make_metadata()
