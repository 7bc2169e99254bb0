"""``POST /api/telephony/click-to-call``: ring the operator's own extension, then dial.

Only roles that make calls may (``admin``, ``call_centre``, ``clinic_staff``; managers
read reports and do not). The extension is the session's, never the client's say-so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from switchboard_phones import InvalidPhoneNumber, canonical
from switchboard_runtime.auth import Principal, Role, require_roles
from switchboard_runtime.logging import get_logger
from switchboard_telephony.adapters.originate import Originator

log = get_logger(__name__)

CALLER_ROLES: tuple[Role, ...] = ("admin", "call_centre", "clinic_staff")


class ClickToCall(BaseModel):
    """The number to dial, in any spelling (``8 (916) 123-45-67``) or an extension."""

    number: str = Field(min_length=1, max_length=64)


def click_to_call_router(
    current: Callable[..., Awaitable[Principal]], originator: Originator | None, region: str
) -> APIRouter:
    """The click-to-call endpoint (``originator`` None: not configured, 503)."""
    router = APIRouter(prefix="/api/telephony", tags=["click-to-call"])
    caller = require_roles(current, CALLER_ROLES)

    @router.post("/click-to-call")
    async def click_to_call(
        command: ClickToCall,
        operator: Principal = Depends(caller),  # noqa: B008 (a closure's dependency)
    ) -> JSONResponse:
        """``200 {"status": "ringing"}`` or ``502 {"status": "failed", "reason"}``."""
        if originator is None:
            raise HTTPException(503, "click-to-call is not configured (TELEPHONY_CLICK_TO_CALL)")
        if not operator.extension:
            raise HTTPException(409, "your login has no extension to call from")
        try:
            number = canonical(command.number, region)
        except InvalidPhoneNumber as exc:
            raise HTTPException(422, "number: not a phone number or an extension") from exc
        result = await originator.originate(operator.extension, number, operator.operator_id)
        log.info(
            "telephony.click_to_call",
            operator_id=operator.operator_id,
            extension=operator.extension,
            status=result.status,
            reason=result.reason,
        )
        body = {
            "status": result.status,
            "reason": result.reason,
            "extension": operator.extension,
            "number": number,
            "reference": result.reference,
        }
        return JSONResponse(body, status_code=200 if result.status == "ringing" else 502)

    return router
