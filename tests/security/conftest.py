"""The real platform for the security tests: every service and the console gateway as
processes (the e2e tests' :class:`Platform`), logging at DEBUG into files of their own.

One platform serves the whole package: the role matrix runs against it, and the log test
searches everything it and the matrix made the services write.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from live_platform import ARTIFACTS, PBX_TOKEN, Platform, send_pbx  # noqa: E402

LOG_DIR = ARTIFACTS / "security-logs"
__all__ = ["LOG_DIR", "PBX_TOKEN", "Platform", "send_pbx"]
#: Demo logins of the seed, one per role; clinic_staff has none, the fixture creates one.
SEEDED_LOGINS = {"admin": "admin", "call_centre": "anna", "manager": "maria"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and item.get_closest_marker("static") is None:
            item.add_marker(pytest.mark.integration)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "static: reads source files only, needs no platform")


@dataclass
class Sessions:
    """Session tokens per role, as booking's login issued them, and the secrets the tests
    made (so the log test can look for them)."""

    tokens: dict[str, str] = field(default_factory=dict)
    passwords: list[str] = field(default_factory=list)
    forged: str = ""
    expired: str = ""

    def headers(self, column: str) -> dict[str, str]:
        """The ``Authorization`` header of a column of the role matrix (none for anon)."""
        token = {"forged": self.forged, "expired": self.expired}.get(column)
        token = token or self.tokens.get(column)
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="session")
def secure_platform(settings_env: dict[str, str]) -> Iterator[Platform]:
    """Every service and the gateway, on topics and databases of their own, at DEBUG."""
    env = dict(settings_env)
    env["TOPIC_PREFIX"] = f"{settings_env['TOPIC_PREFIX']}sec."
    env["DATABASE_SUFFIX"] = f"_sec{settings_env['DATABASE_SUFFIX']}"
    env["LOG_LEVEL"] = "DEBUG"
    env["LOG_JSON"] = "true"  # what production writes
    if LOG_DIR.exists():
        for old in LOG_DIR.glob("*.log"):
            old.unlink()
    running = Platform(env=env, log_dir=LOG_DIR)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def login(platform: Platform, username: str, password: str) -> str:
    """A session token from booking's login."""
    response = httpx.post(
        platform.service_url("booking") + "/api/booking/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


@pytest.fixture(scope="session")
def sessions(secure_platform: Platform) -> Sessions:
    """A real session per role; clinic staff is an operator the admin creates (in call
    center Central, like the seeded call_centre operator), with a password of its own."""
    from switchboard_runtime.auth import Principal, issue_token

    found = Sessions()
    for role, username in SEEDED_LOGINS.items():
        found.tokens[role] = login(secure_platform, username, username)
    password = f"Clara-{uuid.uuid4().hex}"
    found.passwords.append(password)
    created = httpx.post(
        secure_platform.service_url("booking") + "/api/booking/operators",
        json={
            "operator_id": "op-clara",
            "name": "Clara Staff",
            "username": "clara",
            "password": password,
            "role": "clinic_staff",
            "call_center_id": "cc-central",
            "extension": "105",
        },
        headers={"Authorization": f"Bearer {found.tokens['admin']}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    found.tokens["clinic_staff"] = login(secure_platform, "clara", password)
    admin = Principal(operator_id="op-admin", name="Admin", role="admin")
    found.forged = issue_token(admin, "not-the-platform-secret-" + uuid.uuid4().hex)
    secret = secure_platform.env.get("AUTH_SECRET") or _default_auth_secret()
    found.expired = issue_token(admin, secret, ttl=timedelta(seconds=-60))
    return found


def _default_auth_secret() -> str:
    from switchboard_runtime.settings import ServiceSettings

    return ServiceSettings().auth_secret.get_secret_value()


@pytest.fixture(scope="session")
def helpers() -> Any:
    """This module (test modules cannot import a conftest)."""
    return sys.modules[__name__]
