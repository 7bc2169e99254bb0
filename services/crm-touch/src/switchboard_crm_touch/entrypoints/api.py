"""crm-touch's HTTP API under ``/api/crm``: parse and validate, call a handler or a query,
map domain errors to status codes (in :func:`install_error_handlers`, only there).

No ``from __future__ import annotations`` here: FastAPI must see the dependency types
built inside :func:`crm_router` as real objects, not strings.
"""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_contracts import TouchResult, TouchStatus
from switchboard_crm_touch.adapters import queries, repository
from switchboard_crm_touch.domain.errors import DomainError, InvalidPhone, InvalidRequest, NotFound
from switchboard_crm_touch.domain.touches import NOTES_MAX_CHARS, UNSET
from switchboard_crm_touch.handlers import touches
from switchboard_crm_touch.handlers.calls import CALLTOUCH
from switchboard_crm_touch.handlers.shared import Deps
from switchboard_phones import InvalidPhoneNumber, normalise
from switchboard_runtime.audit import Auditor, auditor
from switchboard_runtime.auth import Principal, Role, authenticator, require_roles
from switchboard_runtime.sessions import SessionRevocations

#: The one mapping of domain errors to HTTP status codes.
ERROR_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (InvalidPhone, 422),
    (InvalidRequest, 422),
)

#: Who may change a touch: the people who take the calls. Managers read.
TOUCH_EDITORS: tuple[Role, ...] = ("admin", "call_centre", "clinic_staff")


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors with a clear 4xx and their message."""

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        code = next((c for cls, c in ERROR_STATUS if isinstance(exc, cls)), 400)
        return JSONResponse({"detail": exc.message}, status_code=code)

    app.add_exception_handler(DomainError, domain_error)


class TouchPatch(BaseModel):
    """An operator's change to a touch; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    status: TouchStatus | None = Field(default=None, description="new, in_progress or done.")
    result: TouchResult | None = Field(
        default=None, description="booked, information, complaint, no_answer, other; null clears."
    )
    notes: Annotated[str, Field(max_length=NOTES_MAX_CHARS)] | None = Field(
        default=None, description="Free text; null clears."
    )
    contact_id: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Which candidate the caller really was (settles ambiguity)."
    )

    def changes(self) -> dict[str, Any]:
        """The fields given, as keyword arguments of :func:`touches.update_touch`."""
        given = self.model_fields_set
        if not given:
            raise InvalidRequest("give at least one of status, result, notes, contact_id")
        for name in ("status", "contact_id"):
            if name in given and getattr(self, name) is None:
                raise InvalidRequest(f"{name} cannot be null")
        changes: dict[str, Any] = {name: UNSET for name in ("status", "result", "notes")}
        changes["contact_id"] = UNSET
        for name in given:
            changes[name] = getattr(self, name)
        if "notes" in given and self.notes is None:
            changes["notes"] = ""
        return changes


def crm_router(
    sessions: async_sessionmaker[AsyncSession],
    deps: Deps,
    revocations: SessionRevocations,
) -> APIRouter:
    """Every crm-touch endpoint; each needs an operator session that was not ended."""
    settings = deps.settings
    current = authenticator(lambda: settings.auth_secret.get_secret_value(), revocations)
    editor = require_roles(current, TOUCH_EDITORS)
    Reader = Annotated[Principal, Depends(current)]
    Editor = Annotated[Principal, Depends(editor)]
    Audit = Annotated[Auditor, Depends(auditor(current, settings.trusted_proxies))]
    router = APIRouter(prefix="/api/crm")

    @router.get("/identify", tags=["identification"])
    async def identify_caller(
        phone: Annotated[str, Query(min_length=1, max_length=64, description="Any format.")],
        _who: Reader,
    ) -> dict[str, Any]:
        """Who holds a phone number: the best guess, every candidate, and whether the number
        is shared (ambiguous). 422 when it is not a phone number."""
        try:
            e164 = normalise(phone, settings.default_region)
        except InvalidPhoneNumber as exc:
            raise InvalidPhone(str(exc)) from None
        async with sessions() as session:
            found = await queries.identify_phone(session, e164, datetime.now(UTC))
        return asdict(found)

    @router.get("/touches", tags=["touches"])
    async def list_touches(
        _who: Reader,
        contact_id: Annotated[str | None, Query(max_length=200)] = None,
        operator_id: Annotated[str | None, Query(max_length=200)] = None,
        call_id: Annotated[str | None, Query(max_length=200)] = None,
        touch_status: Annotated[list[TouchStatus] | None, Query(alias="status")] = None,
        result: Annotated[list[TouchResult] | None, Query()] = None,
        period_from: Annotated[AwareDatetime | None, Query(alias="from")] = None,
        period_to: Annotated[AwareDatetime | None, Query(alias="to")] = None,
        limit: Annotated[int, Query(ge=1)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> dict[str, Any]:
        """Touches, newest first, narrowed by contact, operator, call, status, result and
        period (``from`` inclusive, ``to`` exclusive, on the call's start)."""
        if limit > settings.touch_page_max:
            raise InvalidRequest(f"limit must be at most {settings.touch_page_max}")
        if period_from and period_to and period_to <= period_from:
            raise InvalidRequest("'to' must be after 'from'")
        flt = queries.TouchFilter(
            contact_id=contact_id,
            operator_id=operator_id,
            call_id=call_id,
            statuses=frozenset(touch_status or ()),
            results=frozenset(result or ()),
            period_from=period_from,
            period_to=period_to,
        )
        async with sessions() as session:
            try:
                rows, next_cursor = await queries.touch_page(
                    session, flt, limit=limit, cursor=cursor
                )
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from exc
        return {"items": [asdict(r) for r in rows], "next_cursor": next_cursor}

    @router.get("/touches/{touch_id}", tags=["touches"])
    async def get_touch(touch_id: str, _who: Reader) -> dict[str, Any]:
        """One touch."""
        async with sessions() as session:
            found = await queries.get_touch(session, touch_id)
        if found is None:
            raise NotFound("no such touch")
        return asdict(found)

    @router.patch("/touches/{touch_id}", tags=["touches"])
    async def update_touch(
        touch_id: str, body: TouchPatch, _who: Editor, audit: Audit
    ) -> dict[str, Any]:
        """Set a touch's status, result, notes, or which candidate the caller was; publishes
        ``TouchUpdated``. Admins, call-centre and clinic staff; managers only read (audit:
        ``touch.changed`` with the names of the fields set, never the notes' text)."""
        changes = body.changes()
        async with sessions() as session, session.begin():
            await touches.update_touch(session, deps, touch_id, **changes)
            await audit.record(
                session,
                "touch.changed",
                "touch",
                touch_id,
                {"changed": sorted(body.model_fields_set)},
            )
        async with sessions() as session:
            found = await queries.get_touch(session, touch_id)
        if found is None:  # pragma: no cover - it was just updated
            raise NotFound("no such touch")
        return asdict(found)

    @router.get("/contacts/{contact_id}", tags=["contacts"])
    async def get_contact(contact_id: str, audit: Audit) -> dict[str, Any]:
        """A client or lead: kind, name, numbers, key details; ``merged_into`` for one merged
        away (or a lead claimed by a client). This is the contact's card: each one shown is
        on the audit trail (``contact.viewed``)."""
        async with sessions() as session, session.begin():
            found = await queries.get_contact(session, contact_id, datetime.now(UTC))
            if found is None:
                raise NotFound("no such contact")
            await audit.record(session, "contact.viewed", "contact", contact_id)
        return asdict(found)

    @router.get("/contacts/{contact_id}/timeline", tags=["contacts"])
    async def contact_timeline(
        contact_id: str,
        audit: Audit,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """A contact's touches and appointments, newest first. For a contact merged away
        (or a lead claimed by a client) it is the timeline of the one it lives on as. It
        shows the contact and their calls, so each one read is on the audit trail too
        (``contact.timeline_viewed``)."""
        now = datetime.now(UTC)
        async with sessions() as session, session.begin():
            target = await queries.merged_into(session, contact_id) or contact_id
            contact = await queries.get_contact(session, target, now)
            if contact is None:
                raise NotFound("no such contact")
            entries = await queries.timeline(session, target, limit=limit)
            await audit.record(session, "contact.timeline_viewed", "contact", target)
        return {
            "contact": asdict(contact),
            "requested_id": contact_id,
            "items": [asdict(e) for e in entries],
        }

    @router.get("/settings", tags=["settings"])
    async def effective_settings(_who: Reader) -> dict[str, Any]:
        """Whether touches are being created (Calltouch), and where that comes from: the
        last switch seen on telephony.settings, or the configured default."""
        async with sessions() as session:
            seen = await repository.integration_setting(session, CALLTOUCH)
        if seen is None:
            return {
                "calltouch_enabled": settings.calltouch_enabled_default,
                "source": "default",
                "changed_at": None,
            }
        return {"calltouch_enabled": seen[0], "source": "telephony", "changed_at": seen[1]}

    return router
