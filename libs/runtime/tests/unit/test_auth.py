"""Session tokens, role checks and password hashes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI

from switchboard_runtime.auth import (
    AuthError,
    Principal,
    authenticator,
    hash_password,
    issue_token,
    read_token,
    require_roles,
    secrets_equal,
    verify_password,
)

SECRET = "unit-test-secret-of-thirty-two-bytes!"
ANNA = Principal(
    operator_id="op-1", name="Anna", role="call_centre", call_center_id="cc-north", extension="101"
)


def test_a_token_round_trips_the_principal() -> None:
    assert read_token(issue_token(ANNA, SECRET), SECRET) == ANNA


@pytest.mark.parametrize(
    "token",
    [
        issue_token(ANNA, "another-secret-also-thirty-two-bytes"),
        issue_token(ANNA, SECRET, ttl=timedelta(seconds=-1)),
        "not-a-token",
    ],
)
def test_forged_expired_and_garbage_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthError):
        read_token(token, SECRET)


async def test_endpoints_demand_a_session_and_the_role() -> None:
    current = authenticator(lambda: SECRET)
    app = FastAPI()

    @app.get("/mine")
    def mine(p: Principal = Depends(current)) -> dict[str, str]:  # noqa: B008
        return {"operator": p.operator_id}

    @app.get("/admin-only")
    def admin_only(p: Principal = Depends(require_roles(current, ["admin"]))) -> dict[str, str]:  # noqa: B008
        return {"operator": p.operator_id}

    bearer = {"Authorization": f"Bearer {issue_token(ANNA, SECRET)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/mine")).status_code == 401
        assert (await client.get("/mine", headers={"Authorization": "Bearer x"})).status_code == 401
        assert (await client.get("/mine", headers=bearer)).json() == {"operator": "op-1"}
        assert (await client.get("/admin-only", headers=bearer)).status_code == 403


def test_passwords_hash_and_verify() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("x", "garbage")


def test_secrets_compare() -> None:
    assert secrets_equal("abc", "abc")
    assert not secrets_equal("abd", "abc")
    assert not secrets_equal(None, "abc")
    assert not secrets_equal("", "")
