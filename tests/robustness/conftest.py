"""Fixtures of the robustness tests: every service's settings, booking seeded once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The helpers module sits beside this file (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from robust_services import SERVICES, seed_booking, service_settings


@pytest.fixture(scope="session")
def robust_settings(settings_env: dict[str, str]) -> dict[str, Any]:
    """One settings object per service, shared by this directory's tests."""
    return {name: service_settings(name, settings_env) for name in SERVICES}


@pytest.fixture(scope="session")
def seeded_booking(robust_settings: dict[str, Any]) -> Any:
    """The booking settings, after the demo chain was seeded into its database."""
    seed_booking(robust_settings["booking"])
    return robust_settings["booking"]
