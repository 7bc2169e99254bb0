"""Logging in and out, who the session belongs to, and ending an operator's sessions."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from switchboard_booking.domain.model import Actor
from switchboard_booking.entrypoints.api.bodies import (
    LoginBody,
    PasswordChangeBody,
    PasswordResetBody,
)
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import auth
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.audit import Auditor, client_address
from switchboard_runtime.auth import (
    SESSION_COOKIE,
    SESSION_TTL,
    AuthError,
    Principal,
    issue_token,
    read_session,
    request_token,
)

PREFIX = "/api/booking"


def router(deps: Deps, guards: Guards) -> APIRouter:
    """``/auth/login``, ``/auth/password`` and ``/auth/logout`` (no session needed),
    ``/auth/me``, ``/operators/{id}/sessions/end`` and ``/operators/{id}/password-reset``
    (admin)."""
    Caller = Annotated[Principal, Depends(guards.principal)]
    CurrentActor = Annotated[Actor, Depends(guards.actor)]
    public = APIRouter(prefix=PREFIX, tags=["auth"])
    private = APIRouter(prefix=PREFIX, tags=["auth"], dependencies=[Depends(guards.principal)])

    def open_session(principal: Principal, request: Request, response: Response) -> dict[str, Any]:
        token = issue_token(principal, deps.settings.auth_secret.get_secret_value())
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=over_tls(request),
            max_age=int(SESSION_TTL.total_seconds()),
            path="/",
        )
        return {"token": token, "operator": asdict(principal)}

    @public.post(
        "/auth/login",
        responses={
            401: {"description": "unknown username or wrong password (never says which)"},
            403: {
                "description": "the right password, but an admin reset it: no session until "
                "a new one is chosen (`POST /auth/password`); the body has "
                "`must_change_password: true`"
            },
            429: {"description": "too many failed logins: wait `Retry-After` seconds"},
        },
    )
    async def log_in(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
        """A session for the operator: its token (for ``Authorization: Bearer``) and the
        operator, and the same token as an HTTP-only cookie. Failed logins lock the
        username and the client address out for a while (429 with ``Retry-After``)."""
        address = client_address(request, deps.settings.trusted_proxies)
        principal = await auth.login(deps, body.username, body.password, address)
        return open_session(principal, request, response)

    @public.post(
        "/auth/password",
        responses={
            401: {"description": "unknown username or wrong current password"},
            422: {"description": "the new password breaks the policy (says which rule)"},
            429: {"description": "too many failed attempts: wait `Retry-After` seconds"},
        },
    )
    async def change_password(
        body: PasswordChangeBody, request: Request, response: Response
    ) -> dict[str, Any]:
        """Choose a new password — the way in after an admin's reset, and any operator's
        own change. Checked and throttled as a login is; the operator's earlier sessions
        end, and a new session is answered as by login."""
        address = client_address(request, deps.settings.trusted_proxies)
        principal = await auth.change_password(
            deps, body.username, body.current_password, body.new_password, address
        )
        return open_session(principal, request, response)

    @public.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
    async def log_out(request: Request, response: Response) -> None:
        """End the session (its token is refused by every service from now on) and drop
        the cookie. Without a valid session there is nothing to end."""
        token = request_token(request)
        if token is not None:
            try:
                session = read_session(token, deps.settings.auth_secret.get_secret_value())
            except AuthError:
                session = None
            if session is not None:
                await auth.revocations(deps).end(session)
        # The same attributes as when it was set: a Secure cookie is replaced only by one.
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=over_tls(request)
        )

    @private.get("/auth/me")
    async def me(principal: Caller) -> dict[str, Any]:
        """The operator the session belongs to."""
        return asdict(principal)

    @private.post("/operators/{operator_id}/sessions/end", status_code=status.HTTP_204_NO_CONTENT)
    async def end_sessions(
        operator_id: str, who: CurrentActor, audit: Annotated[Auditor, Depends(guards.audit)]
    ) -> None:
        """End every session the operator has now (admin): each service refuses their
        tokens from this moment; they must log in again (audit:
        ``operator.sessions_ended``)."""
        await auth.end_sessions(deps, who, operator_id)
        async with deps.sessions() as session, session.begin():
            await audit.record(session, "operator.sessions_ended", "operator", operator_id)

    @private.post("/operators/{operator_id}/password-reset")
    async def reset_password(
        operator_id: str,
        body: PasswordResetBody,
        who: CurrentActor,
        audit: Annotated[Auditor, Depends(guards.audit)],
    ) -> dict[str, Any]:
        """Give the operator a temporary password (admin): the one given or a generated
        one, answered here once. Their sessions end now; at their next login they must
        choose a new password before they get a session (audit: ``operator.password_reset``,
        never the password)."""
        temporary = await auth.reset_password(deps, who, operator_id, body.password)
        async with deps.sessions() as session, session.begin():
            await audit.record(session, "operator.password_reset", "operator", operator_id)
        return {
            "operator_id": operator_id,
            "temporary_password": temporary,
            "must_change_password": True,
        }

    combined = APIRouter()
    combined.include_router(public)
    combined.include_router(private)
    return combined


def over_tls(request: Request) -> bool:
    """Whether the browser reached us over TLS, directly or through a proxy saying so
    (``X-Forwarded-Proto``): the session cookie is then ``Secure``."""
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    return proto.split(",")[0].strip().lower() == "https"
