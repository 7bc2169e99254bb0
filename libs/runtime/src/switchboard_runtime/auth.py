"""Authentication and authorisation, the same in every service.

Operators log in once (booking owns the operator directory and issues the session
token); every service checks that token itself with the shared ``AUTH_SECRET``, so
no request needs a round trip to another service. The token is a signed JWT
(HS256) carrying the operator's id, name, role, call center and extension — the
identity that notify's WebSocket and booking's ownership rules rely on, never the
client's say-so.

A session can be ended before it expires (logout, an admin ending an operator's
sessions, deactivation): :mod:`switchboard_runtime.sessions` keeps ended sessions in
Redis, and :func:`authenticator` refuses them in every service.

Passwords are hashed with argon2id, its parameters inside the hash; scrypt hashes of
earlier releases still verify and :func:`needs_rehash` says to replace them.
Secrets (PBX integration tokens) are compared in constant time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request, WebSocket, status

if TYPE_CHECKING:
    from switchboard_runtime.sessions import SessionRevocations

Role = Literal["admin", "call_centre", "clinic_staff", "manager"]
ROLES: tuple[Role, ...] = ("admin", "call_centre", "clinic_staff", "manager")
SESSION_COOKIE = "sb_session"
#: How long a session lives unless it is ended sooner.
SESSION_TTL = timedelta(hours=12)
_ALGORITHM = "HS256"
# argon2id with the library's RFC 9106 defaults (t=3, m=64 MiB, p=4); the parameters
# travel in every hash, so raising them later only makes old hashes "need a rehash".
_HASHER = PasswordHasher()


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


#: What :func:`authenticator` gives: a FastAPI dependency resolving the caller.
PrincipalDependency = Callable[..., Awaitable[Principal]]


@dataclass(frozen=True)
class Session:
    """One login: who, its id (``jti``), and when it began and ends (Unix seconds)."""

    principal: Principal
    session_id: str
    issued_at: float
    expires_at: float


def issue_token(principal: Principal, secret: str, *, ttl: timedelta = SESSION_TTL) -> str:
    """A signed session token for ``principal``, valid for ``ttl``, with its own id."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {k: v for k, v in asdict(principal).items() if k != "operator_id"}
    # iat to the microsecond: sessions ended "before now" must not spare one issued in
    # the same second just after (a deactivated operator logging straight back in).
    claims.update(
        sub=principal.operator_id,
        jti=secrets.token_urlsafe(16),
        iat=now.timestamp(),
        exp=now + ttl,
    )
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_session(token: str, secret: str) -> Session:
    """The session inside a token made by :func:`issue_token`; raises :class:`AuthError`.

    Only the signature and expiry are checked here; whether the session was ended is
    :class:`~switchboard_runtime.sessions.SessionRevocations`' answer."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "exp", "iat", "jti", "role"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(str(exc)) from exc
    if claims.get("role") not in ROLES:
        raise AuthError("unknown role")
    principal = Principal(
        operator_id=str(claims["sub"]),
        name=str(claims.get("name", "")),
        role=claims["role"],
        call_center_id=claims.get("call_center_id"),
        extension=claims.get("extension"),
    )
    return Session(principal, str(claims["jti"]), float(claims["iat"]), float(claims["exp"]))


@functools.lru_cache(maxsize=4096)
def _verified_session(token: str, secret: str) -> Session:
    # A session presents the same token with every request: its signature (HMAC-SHA256)
    # and claims (JSON) were a fifth of the CPU of checking a request. Only tokens that
    # verified are kept (an exception is not cached), under the secret they verified
    # with; the expiry is checked again at every use (:func:`authenticator`).
    return read_session(token, secret)


def read_token(token: str, secret: str) -> Principal:
    """The principal inside a token made by :func:`issue_token`; raises :class:`AuthError`."""
    return read_session(token, secret).principal


def _token_from(headers: Any, cookies: Any, query: Any) -> str | None:
    header = headers.get("authorization")
    if header and header.lower().startswith("bearer "):
        return str(header[7:].strip())
    cookie = cookies.get(SESSION_COOKIE)
    if cookie:
        return str(cookie)
    token = query.get("token")
    return str(token) if token else None


def request_token(request: Request) -> str | None:
    """The session token a request presents (``Authorization: Bearer``, then the cookie)."""
    return _token_from(request.headers, request.cookies, {})


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def authenticator(
    secret: Callable[[], str],
    revocations: SessionRevocations,
    *,
    now: Callable[[], float] = lambda: datetime.now(UTC).timestamp(),
) -> PrincipalDependency:
    """A FastAPI dependency resolving the request's :class:`Principal` (401 without one).

    The token is read from ``Authorization: Bearer``, then the session cookie; a session
    ended in ``revocations`` is a 401 too, and when they cannot be read (Redis away) the
    answer is 503 with ``Retry-After`` rather than letting an ended session in. The
    :class:`Session` is left in ``request.state.session`` (logout ends it). A token's
    signature is verified once per process (up to 4 096 tokens kept), its expiry at every
    request (``now``: Unix seconds, the clock PyJWT reads).
    """
    from switchboard_runtime.sessions import RevocationsUnavailable

    async def current_principal(request: Request) -> Principal:
        token = request_token(request)
        if token is None:
            raise _unauthorized("not logged in")
        try:
            session = _verified_session(token, secret())
        except AuthError as exc:
            raise _unauthorized("invalid or expired session") from exc
        if session.expires_at <= now():
            raise _unauthorized("invalid or expired session")
        try:
            ended = await revocations.is_ended(session)
        except RevocationsUnavailable as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "sessions cannot be checked right now, retry",
                headers={"Retry-After": "1"},
            ) from exc
        if ended:
            raise _unauthorized("the session has ended, log in again")
        request.state.session = session
        return session.principal

    return current_principal


def require_roles(current: PrincipalDependency, roles: Iterable[Role]) -> Callable[..., Principal]:
    """A dependency that also demands one of ``roles`` (403 otherwise)."""
    allowed = tuple(roles)

    def checked(principal: Principal = Depends(current)) -> Principal:  # noqa: B008
        if not principal.has_role(*allowed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {', '.join(allowed)}"
            )
        return principal

    return checked


async def websocket_principal(
    websocket: WebSocket, secret: str, revocations: SessionRevocations
) -> Principal:
    """The principal of a WebSocket handshake (cookie, bearer header or ``?token=``).

    Raises :class:`AuthError` without a valid, unended session, and
    :class:`~switchboard_runtime.sessions.RevocationsUnavailable` when that cannot be told.
    """
    token = _token_from(websocket.headers, websocket.cookies, websocket.query_params)
    if token is None:
        raise AuthError("not logged in")
    session = read_session(token, secret)
    if await revocations.is_ended(session):
        raise AuthError("the session has ended")
    return session.principal


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` for storage (salt and parameters inside it)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``: an argon2id hash, or the salted scrypt
    hash of earlier releases (``scrypt$salt$digest``, compared in constant time)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` should be replaced by a fresh :func:`hash_password` at the next
    successful login: a scrypt hash, or argon2 with other parameters than today's."""
    if stored.startswith("scrypt$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _scheme, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return hmac.compare_digest(digest.hex(), digest_hex)
