"""Authentication and authorisation, the same in every service.

Operators log in once (booking owns the operator directory and issues the session
token); every service checks that token itself with the shared ``AUTH_SECRET``, so
no request needs a round trip to another service. The token is a signed JWT
(HS256) carrying the operator's id, name, role, call center and extension — the
identity that notify's WebSocket and booking's ownership rules rely on, never the
client's say-so.

Secrets (PBX integration tokens) are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from fastapi import Depends, HTTPException, Request, WebSocket, status

Role = Literal["admin", "call_centre", "clinic_staff", "manager"]
ROLES: tuple[Role, ...] = ("admin", "call_centre", "clinic_staff", "manager")
SESSION_COOKIE = "sb_session"
_ALGORITHM = "HS256"


class AuthError(Exception):
    """The presented credentials are missing, malformed, expired or forged."""


@dataclass(frozen=True)
class Principal:
    """The operator a request acts for."""

    operator_id: str
    name: str
    role: Role
    call_center_id: str | None = None
    extension: str | None = None

    def has_role(self, *roles: Role) -> bool:
        """Whether the operator holds one of ``roles``."""
        return self.role in roles


def secrets_equal(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected one."""
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def issue_token(principal: Principal, secret: str, *, ttl: timedelta = timedelta(hours=12)) -> str:
    """A signed session token for ``principal``, valid for ``ttl``."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {k: v for k, v in asdict(principal).items() if k != "operator_id"}
    claims.update(sub=principal.operator_id, iat=now, exp=now + ttl)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """The principal inside a token made by :func:`issue_token`; raises :class:`AuthError`."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "exp", "role"]}
        )
    except jwt.PyJWTError as exc:
        raise AuthError(str(exc)) from exc
    if claims.get("role") not in ROLES:
        raise AuthError("unknown role")
    return Principal(
        operator_id=str(claims["sub"]),
        name=str(claims.get("name", "")),
        role=claims["role"],
        call_center_id=claims.get("call_center_id"),
        extension=claims.get("extension"),
    )


def _token_from(headers: Any, cookies: Any, query: Any) -> str | None:
    header = headers.get("authorization")
    if header and header.lower().startswith("bearer "):
        return str(header[7:].strip())
    cookie = cookies.get(SESSION_COOKIE)
    if cookie:
        return str(cookie)
    token = query.get("token")
    return str(token) if token else None


def authenticator(secret: Callable[[], str]) -> Callable[..., Principal]:
    """A FastAPI dependency resolving the request's :class:`Principal` (401 without one).

    The token is read from ``Authorization: Bearer``, then the session cookie.
    """

    def current_principal(request: Request) -> Principal:
        token = _token_from(request.headers, request.cookies, {})
        if token is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "not logged in",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            return read_token(token, secret())
        except AuthError as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid or expired session",
                headers={"WWW-Authenticate": "Bearer"},
            ) from exc

    return current_principal


def require_roles(
    current: Callable[..., Principal], roles: Iterable[Role]
) -> Callable[..., Principal]:
    """A dependency that also demands one of ``roles`` (403 otherwise)."""
    allowed = tuple(roles)

    def checked(principal: Principal = Depends(current)) -> Principal:  # noqa: B008
        if not principal.has_role(*allowed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {', '.join(allowed)}"
            )
        return principal

    return checked


def websocket_principal(websocket: WebSocket, secret: str) -> Principal:
    """The principal of a WebSocket handshake (cookie, bearer header or ``?token=``)."""
    token = _token_from(websocket.headers, websocket.cookies, websocket.query_params)
    if token is None:
        raise AuthError("not logged in")
    return read_token(token, secret)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` for storage."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1)
    return hmac.compare_digest(digest.hex(), digest_hex)
