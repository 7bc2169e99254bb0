"""Ending sessions: a token that was logged out, ended by an admin or belongs to a
deactivated operator is refused by every service, each through the runtime's
authenticator reading the shared deny-list in Redis."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

#: One read per service that any admin session may make.
READS = {
    "booking": "/api/booking/auth/me",
    "crm-touch": "/api/crm/identify?phone=%2B74951234567",
    "notify": "/api/notify/me",
    "analytics": "/api/analytics/calls",
    "telephony": "/api/telephony/dids",
}


def _answers(platform: Any, token: str) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {token}"}
    return {
        name: httpx.get(platform.service_url(name) + path, headers=headers, timeout=10).status_code
        for name, path in READS.items()
    }


def _admin_operator(platform: Any, admin_token: str, helpers: Any) -> tuple[str, str, str]:
    """A fresh admin operator: id, username, password."""
    username = f"ender-{uuid.uuid4().hex[:8]}"
    password = f"Pw-{uuid.uuid4().hex}"
    created = httpx.post(
        platform.service_url("booking") + "/api/booking/operators",
        json={"name": "Session Test", "username": username, "password": password, "role": "admin"},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return created.json()["operator_id"], username, password


def test_a_logged_out_token_is_refused_by_every_service(
    secure_platform: Any, sessions: Any, helpers: Any
) -> None:
    _, username, password = _admin_operator(secure_platform, sessions.tokens["admin"], helpers)
    token = helpers.login(secure_platform, username, password)
    other = helpers.login(secure_platform, username, password)
    assert set(_answers(secure_platform, token).values()) == {200}

    out = httpx.post(
        secure_platform.service_url("booking") + "/api/booking/auth/logout",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert out.status_code == 204
    assert _answers(secure_platform, token) == dict.fromkeys(READS, 401)
    # Only that session ended: the operator's other login still works.
    assert set(_answers(secure_platform, other).values()) == {200}


def test_an_admin_ends_every_session_of_an_operator(
    secure_platform: Any, sessions: Any, helpers: Any
) -> None:
    operator_id, username, password = _admin_operator(
        secure_platform, sessions.tokens["admin"], helpers
    )
    tokens = [helpers.login(secure_platform, username, password) for _ in range(2)]
    ended = httpx.post(
        secure_platform.service_url("booking")
        + f"/api/booking/operators/{operator_id}/sessions/end",
        headers={"Authorization": f"Bearer {sessions.tokens['admin']}"},
        timeout=10,
    )
    assert ended.status_code == 204, ended.text
    for token in tokens:
        assert _answers(secure_platform, token) == dict.fromkeys(READS, 401)
    # Logging in again starts a new session.
    again = helpers.login(secure_platform, username, password)
    assert set(_answers(secure_platform, again).values()) == {200}


def test_deactivating_an_operator_ends_their_sessions_at_once(
    secure_platform: Any, sessions: Any, helpers: Any
) -> None:
    operator_id, username, password = _admin_operator(
        secure_platform, sessions.tokens["admin"], helpers
    )
    token = helpers.login(secure_platform, username, password)
    assert set(_answers(secure_platform, token).values()) == {200}
    changed = httpx.patch(
        secure_platform.service_url("booking") + f"/api/booking/operators/{operator_id}",
        json={"active": False},
        headers={"Authorization": f"Bearer {sessions.tokens['admin']}"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    assert _answers(secure_platform, token) == dict.fromkeys(READS, 401)
    refused = httpx.post(
        secure_platform.service_url("booking") + "/api/booking/auth/login",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert refused.status_code == 401
