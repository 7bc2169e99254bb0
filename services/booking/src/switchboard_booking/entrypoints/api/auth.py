"""Logging in and out, and who the session belongs to."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from switchboard_booking.entrypoints.api.bodies import LoginBody
from switchboard_booking.entrypoints.api.guards import Guards
from switchboard_booking.handlers import auth
from switchboard_booking.handlers.shared import Deps
from switchboard_runtime.auth import SESSION_COOKIE, Principal, issue_token

PREFIX = "/api/booking"


def router(deps: Deps, guards: Guards) -> APIRouter:
    """``/auth/login`` and ``/auth/logout`` (no session needed) and ``/auth/me``."""
    Caller = Annotated[Principal, Depends(guards.principal)]
    public = APIRouter(prefix=PREFIX, tags=["auth"])
    private = APIRouter(prefix=PREFIX, tags=["auth"], dependencies=[Depends(guards.principal)])

    @public.post("/auth/login")
    async def log_in(body: LoginBody, response: Response) -> dict[str, Any]:
        """A session for the operator: its token (for ``Authorization: Bearer``) and the
        operator, and the same token as an HTTP-only cookie."""
        principal = await auth.login(deps, body.username, body.password)
        token = issue_token(principal, deps.settings.auth_secret.get_secret_value())
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="lax", max_age=12 * 3600, path="/"
        )
        return {"token": token, "operator": asdict(principal)}

    @public.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
    async def log_out(response: Response) -> None:
        """Drop the session cookie."""
        response.delete_cookie(SESSION_COOKIE, path="/")

    @private.get("/auth/me")
    async def me(principal: Caller) -> dict[str, Any]:
        """The operator the session belongs to."""
        return asdict(principal)

    combined = APIRouter()
    combined.include_router(public)
    combined.include_router(private)
    return combined
