"""Session tokens, role checks and password hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI

from switchboard_runtime.auth import (
    AuthError,
    Principal,
    Session,
    authenticator,
    hash_password,
    issue_token,
    needs_rehash,
    read_session,
    read_token,
    require_roles,
    secrets_equal,
    verify_password,
)
from switchboard_runtime.sessions import RevocationsUnavailable, SessionRevocations


class MemoryRevocations(SessionRevocations):
    """Ended session ids in memory; ``down`` plays Redis being away."""

    def __init__(self) -> None:
        self.ended: set[str] = set()
        self.down = False

    async def is_ended(self, session: Session) -> bool:
        if self.down:
            raise RevocationsUnavailable("redis away")
        return session.session_id in self.ended


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
    current = authenticator(lambda: SECRET, MemoryRevocations())
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


async def test_an_ended_session_is_refused_and_unknown_state_is_a_503() -> None:
    revocations = MemoryRevocations()
    current = authenticator(lambda: SECRET, revocations)
    app = FastAPI()

    @app.get("/mine")
    def mine(p: Principal = Depends(current)) -> dict[str, str]:  # noqa: B008
        return {"operator": p.operator_id}

    token = issue_token(ANNA, SECRET)
    bearer = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/mine", headers=bearer)).status_code == 200
        revocations.down = True
        refused = await client.get("/mine", headers=bearer)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        revocations.down = False
        revocations.ended.add(read_session(token, SECRET).session_id)
        assert (await client.get("/mine", headers=bearer)).status_code == 401


async def test_a_token_verified_once_still_expires_and_needs_the_current_secret() -> None:
    secret = [SECRET]
    clock = [0.0]
    current = authenticator(lambda: secret[0], MemoryRevocations(), now=lambda: clock[0])
    app = FastAPI()

    @app.get("/mine")
    def mine(p: Principal = Depends(current)) -> dict[str, str]:  # noqa: B008
        return {"operator": p.operator_id}

    token = issue_token(ANNA, SECRET, ttl=timedelta(hours=1))
    expires_at = read_session(token, SECRET).expires_at
    bearer = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        clock[0] = expires_at - 1
        assert (await client.get("/mine", headers=bearer)).status_code == 200
        assert (await client.get("/mine", headers=bearer)).status_code == 200
        # The same token, verified before: refused from its expiry on.
        clock[0] = expires_at
        assert (await client.get("/mine", headers=bearer)).status_code == 401
        # And under another secret (rotated): verified again, and refused.
        clock[0] = expires_at - 1
        secret[0] = "another-secret-also-thirty-two-bytes"
        assert (await client.get("/mine", headers=bearer)).status_code == 401
        secret[0] = SECRET
        assert (await client.get("/mine", headers=bearer)).status_code == 200


def test_every_token_is_its_own_session() -> None:
    first, second = (read_session(issue_token(ANNA, SECRET), SECRET) for _ in range(2))
    assert first.session_id != second.session_id
    assert first.issued_at <= second.issued_at < first.expires_at


def test_passwords_hash_with_argon2id_and_verify() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "m=65536,t=3,p=4" in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("x", "garbage")
    assert not needs_rehash(stored)


def _scrypt_hash(password: str) -> str:
    """The hash earlier releases stored (``hash_password`` before argon2id)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def test_old_scrypt_hashes_still_verify_and_ask_for_a_rehash() -> None:
    stored = _scrypt_hash("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("x", "scrypt$zz$00")
    assert needs_rehash(stored)


def test_secrets_compare() -> None:
    assert secrets_equal("abc", "abc")
    assert not secrets_equal("abd", "abc")
    assert not secrets_equal(None, "abc")
    assert not secrets_equal("", "")
