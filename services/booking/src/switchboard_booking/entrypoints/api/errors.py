"""The one place booking's domain errors (and database constraint violations) become
HTTP status codes."""

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from switchboard_booking.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    LoginThrottled,
    NotFound,
    PasswordChangeRequired,
    SlotTaken,
)
from switchboard_runtime.logging import get_logger

log = get_logger(__name__)

#: The one mapping of domain errors to HTTP status codes (most specific class first).
ERROR_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (SlotTaken, status.HTTP_409_CONFLICT),
    (Conflict, status.HTTP_409_CONFLICT),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (PasswordChangeRequired, status.HTTP_403_FORBIDDEN),
    (AuthenticationFailed, status.HTTP_401_UNAUTHORIZED),
    (LoginThrottled, status.HTTP_429_TOO_MANY_REQUESTS),
    (InvalidRequest, 422),
)


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors and database constraint violations with a clear 4xx."""

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        code = next((c for cls, c in ERROR_STATUS if isinstance(exc, cls)), 400)
        body: dict[str, Any] = {"detail": exc.message}
        if isinstance(exc, SlotTaken):
            body["held_by"] = {
                "call_center_id": exc.held_by_call_center_id,
                "call_center_name": exc.held_by_call_center_name,
            }
        if isinstance(exc, PasswordChangeRequired):
            body["must_change_password"] = True
        headers = None
        if isinstance(exc, LoginThrottled):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return JSONResponse(body, status_code=code, headers=headers)

    async def integrity_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IntegrityError)
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate == "23505":
            return JSONResponse(
                {"detail": "a record with that name already exists"},
                status_code=status.HTTP_409_CONFLICT,
            )
        if sqlstate == "23503":
            return JSONResponse(
                {"detail": "refers to a record that does not exist"},
                status_code=422,
            )
        log.warning("booking.integrity_error", sqlstate=sqlstate)
        return JSONResponse(
            {"detail": "the change conflicts with existing data"},
            status_code=status.HTTP_409_CONFLICT,
        )

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(IntegrityError, integrity_error)
