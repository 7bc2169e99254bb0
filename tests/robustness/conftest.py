"""Fixtures of the robustness tests: every service's settings, booking seeded once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The helpers module sits beside this file (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from robust_services import PBX_TOKEN, SERVICES, seed_booking, service_settings

from switchboard_runtime.testing.standins import running_standin


@pytest.fixture(scope="session")
def pbx_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The PBX's HTTP side (``scripts/standins/pbx_http.py``): click-to-call commands signed
    with the robustness PBX token are answered "ringing"; it has no recordings."""
    folder = tmp_path_factory.mktemp("pbx-http")
    args = ("--recordings", folder, "--token", PBX_TOKEN)
    with running_standin("pbx_http.py", *args, log_dir=folder) as process:
        yield process.url


@pytest.fixture(scope="session")
def robust_settings(settings_env: dict[str, str], pbx_http: str) -> dict[str, Any]:
    """One settings object per service, shared by this directory's tests; click-to-call and
    recordings are configured, so that fuzzed requests reach them."""
    settings = {name: service_settings(name, settings_env) for name in SERVICES}
    settings["telephony"] = service_settings(
        "telephony",
        settings_env,
        click_to_call="webhook",
        click_to_call_url=f"{pbx_http}/originate",
    )
    settings["analytics"] = service_settings(
        "analytics", settings_env, recording_base_url=f"{pbx_http}/recordings/"
    )
    return settings


@pytest.fixture(scope="session")
def seeded_booking(robust_settings: dict[str, Any]) -> Any:
    """The booking settings, after the demo chain was seeded into its database."""
    seed_booking(robust_settings["booking"])
    return robust_settings["booking"]
