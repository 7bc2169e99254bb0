"""Telephony's HTTP API under ``/api/telephony``: DIDs and extensions, integration settings,
and Callmarker's tag callback (the PBX webhooks are in :mod:`.pbx_webhooks`).

Entry points translate: parse and validate, call a handler, and map domain errors to status
codes in one place (:func:`install_error_handlers`).

No ``from __future__ import annotations`` here: FastAPI must see the dependencies built
inside the router factories (``Depends(admin)``) as real objects, not strings.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from switchboard_runtime.audit import Auditor, auditor
from switchboard_runtime.auth import Principal, authenticator, require_roles
from switchboard_runtime.logging import get_logger
from switchboard_runtime.sessions import SessionRevocations
from switchboard_telephony import handlers
from switchboard_telephony.adapters import queries
from switchboard_telephony.adapters.callmarker import TOKEN_HEADER
from switchboard_telephony.domain.errors import (
    Conflict,
    FieldError,
    InvalidRequest,
    NotFound,
    TelephonyError,
    Unauthorized,
)
from switchboard_telephony.domain.integrations import INTEGRATIONS, Integration
from switchboard_telephony.entrypoints.pbx_webhooks import HTTP_422, read_body

log = get_logger(__name__)

#: The one mapping of domain errors to HTTP status codes.
ERROR_STATUS: tuple[tuple[type[TelephonyError], int], ...] = (
    (InvalidRequest, HTTP_422),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Conflict, status.HTTP_409_CONFLICT),
    (Unauthorized, status.HTTP_401_UNAUTHORIZED),
)


def _invalid(errors: list[FieldError]) -> JSONResponse:
    return JSONResponse(
        {
            "detail": "invalid request",
            "errors": [{"field": e.field, "message": e.message} for e in errors],
        },
        status_code=HTTP_422,
    )


def _field_errors(errors: list[Any]) -> list[FieldError]:
    """Pydantic/FastAPI errors as field + message, never echoing the input (it may be a
    token or a phone number)."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        out.append(FieldError(".".join(loc) or "(body)", str(err.get("msg", "invalid"))))
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Answer domain errors and invalid requests with a clear 4xx (one JSON shape for
    every 422: ``{"detail", "errors": [{"field", "message"}]}``)."""

    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TelephonyError)
        if isinstance(exc, InvalidRequest):
            return _invalid(exc.errors)
        code = next((c for cls, c in ERROR_STATUS if isinstance(exc, cls)), 400)
        return JSONResponse({"detail": exc.message}, status_code=code)

    async def request_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _invalid(_field_errors(list(exc.errors())))

    app.add_exception_handler(TelephonyError, domain_error)
    app.add_exception_handler(RequestValidationError, request_invalid)


# --- request and response bodies ------------------------------------------------------------


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is a 422 rather than ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


ClinicId = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=500)]
Url = Annotated[str, Field(max_length=2000)]


class NewDid(Body):
    """A public number to route; any common spelling, stored as E.164."""

    did: Annotated[str, Field(min_length=1, max_length=64, examples=["+74951234567"])]
    clinic_id: ClinicId
    description: Description | None = None


class DidChange(Body):
    """Where a configured DID routes to."""

    clinic_id: ClinicId
    description: Description | None = None


class NewExtension(Body):
    """An extension (digits) and the clinic it rings in, if it belongs to one."""

    extension: Annotated[str, Field(min_length=1, max_length=32, examples=["101"])]
    clinic_id: ClinicId | None = None
    description: Description | None = None


class ExtensionChange(Body):
    """A configured extension's clinic and description."""

    clinic_id: ClinicId | None = None
    description: Description | None = None


class DidOut(BaseModel):
    """A DID as the API shows it."""

    did: str
    clinic_id: str
    description: str | None
    updated_at: datetime


class OperatorOut(BaseModel):
    """An active operator sharing an extension."""

    operator_id: str
    name: str
    role: str
    call_center_id: str | None


class ExtensionOut(BaseModel):
    """An extension with everyone who shares it; ``configured`` is False when it is known
    only from an operator's record."""

    extension: str
    clinic_id: str | None
    description: str | None
    configured: bool
    updated_at: datetime | None
    operators: list[OperatorOut]


class IntegrationSettingsIn(Body):
    """New settings of one integration (a full replacement, except ``token``: omit it to
    keep the stored one, send null to clear it). Every field is required when
    ``enabled`` is true."""

    enabled: StrictBool
    call_data_url: Url | None = None
    request_data_url: Url | None = None
    integration_id: Annotated[str, Field(max_length=200)] | None = None
    token: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, json_schema_extra={"writeOnly": True}
    )
    time_lag_minutes: StrictInt | None = None


class TimeLagOut(BaseModel):
    """The correction in force for PBX timestamps and where it comes from."""

    minutes: int
    source: Literal["calltouch", "callmarker", "environment"]


class IntegrationSettingsOut(BaseModel):
    """One integration's settings; the token is never shown, only whether one is set."""

    integration: str
    enabled: bool
    call_data_url: str | None
    request_data_url: str | None
    integration_id: str | None
    token_set: bool
    time_lag_minutes: int | None
    updated_at: datetime | None
    pbx_time_lag: TimeLagOut


class DeliveryStatusOut(BaseModel):
    """How the push of ended calls to Callmarker is doing."""

    pending: int
    delivered: int
    failing: int
    oldest_pending_at: datetime | None
    last_error: str | None


class CallTagsIn(Body):
    """Callmarker's classification of one call (replaces its earlier tags)."""

    call_id: Annotated[str, Field(min_length=1, max_length=200)]
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)]


class CallTagsOut(BaseModel):
    """The tags now attached to the call."""

    call_id: str
    tags: list[str]


def _did_out(row: queries.DidRow) -> DidOut:
    return DidOut(
        did=row.did, clinic_id=row.clinic_id, description=row.description, updated_at=row.updated_at
    )


def _extension_out(row: queries.ExtensionRow) -> ExtensionOut:
    return ExtensionOut(
        extension=row.extension,
        clinic_id=row.clinic_id,
        description=row.description,
        configured=row.configured,
        updated_at=row.updated_at,
        operators=[
            OperatorOut(
                operator_id=o.operator_id, name=o.name, role=o.role, call_center_id=o.call_center_id
            )
            for o in row.operators
        ],
    )


def _settings_out(view: handlers.IntegrationView) -> IntegrationSettingsOut:
    s = view.settings
    return IntegrationSettingsOut(
        integration=s.integration,
        enabled=s.enabled,
        call_data_url=s.call_data_url,
        request_data_url=s.request_data_url,
        integration_id=s.integration_id,
        token_set=s.token_set,
        time_lag_minutes=s.time_lag_minutes,
        updated_at=view.updated_at,
        pbx_time_lag=TimeLagOut(minutes=view.pbx_time_lag.minutes, source=view.pbx_time_lag.source),
    )


def _integration(name: str) -> Integration:
    for known in INTEGRATIONS:
        if name == known:
            return known
    raise NotFound(f"unknown integration {name!r}; known: {', '.join(INTEGRATIONS)}")


# --- admin: DIDs, extensions, integration settings ------------------------------------------


def _fields(body: BaseModel) -> dict[str, Any]:
    """What an admin set, for the audit trail (these bodies carry no secret)."""
    return {"fields": body.model_dump(mode="json")}


def admin_router(deps: handlers.Deps, revocations: SessionRevocations) -> APIRouter:
    """DIDs, extensions and integration settings; the admin role only (sessions checked
    against ``revocations``)."""
    current = authenticator(lambda: deps.settings.auth_secret.get_secret_value(), revocations)
    admin = require_roles(current, ["admin"])
    Audit = Annotated[Auditor, Depends(auditor(current, deps.settings.trusted_proxies))]
    router = APIRouter(
        prefix="/api/telephony",
        dependencies=[Depends(admin)],
        responses={401: {"description": "not logged in"}, 403: {"description": "not an admin"}},
    )

    @router.get("/dids", tags=["directory"])
    async def list_dids() -> dict[str, list[DidOut]]:
        async with deps.sessions() as session:
            rows = await queries.list_dids(session)
        return {"items": [_did_out(r) for r in rows]}

    @router.post("/dids", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_did(body: NewDid, audit: Audit) -> DidOut:
        record = audit.event("did.created", "did", None, _fields(body))
        row = await handlers.add_did(deps, body.did, body.clinic_id, body.description, record)
        return _did_out(row)

    @router.get("/dids/{did}", tags=["directory"])
    async def get_did(did: str) -> DidOut:
        return _did_out(await handlers.find_did(deps, did))

    @router.put("/dids/{did}", tags=["directory"])
    async def change_did(did: str, body: DidChange, audit: Audit) -> DidOut:
        record = audit.event("did.changed", "did", None, _fields(body))
        row = await handlers.change_did(deps, did, body.clinic_id, body.description, record)
        return _did_out(row)

    @router.delete("/dids/{did}", status_code=status.HTTP_204_NO_CONTENT, tags=["directory"])
    async def delete_did(did: str, audit: Audit) -> Response:
        await handlers.remove_did(deps, did, audit.event("did.removed", "did"))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/extensions", tags=["directory"])
    async def list_extensions() -> dict[str, list[ExtensionOut]]:
        async with deps.sessions() as session:
            rows = await queries.list_extensions(session)
        return {"items": [_extension_out(r) for r in rows]}

    @router.post("/extensions", status_code=status.HTTP_201_CREATED, tags=["directory"])
    async def create_extension(body: NewExtension, audit: Audit) -> ExtensionOut:
        record = audit.event("extension.created", "extension", None, _fields(body))
        row = await handlers.add_extension(
            deps, body.extension, body.clinic_id, body.description, record
        )
        return _extension_out(row)

    @router.get("/extensions/{extension}", tags=["directory"])
    async def get_extension(extension: str) -> ExtensionOut:
        return _extension_out(await handlers.find_extension(deps, extension))

    @router.put("/extensions/{extension}", tags=["directory"])
    async def change_extension(extension: str, body: ExtensionChange, audit: Audit) -> ExtensionOut:
        record = audit.event("extension.changed", "extension", None, _fields(body))
        row = await handlers.change_extension(
            deps, extension, body.clinic_id, body.description, record
        )
        return _extension_out(row)

    @router.delete(
        "/extensions/{extension}", status_code=status.HTTP_204_NO_CONTENT, tags=["directory"]
    )
    async def delete_extension(extension: str, audit: Audit) -> Response:
        await handlers.remove_extension(
            deps, extension, audit.event("extension.removed", "extension")
        )
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/settings/integrations/{integration}", tags=["settings"])
    async def get_integration(integration: str) -> IntegrationSettingsOut:
        return _settings_out(await handlers.read_integration(deps, _integration(integration)))

    @router.put("/settings/integrations/{integration}", tags=["settings"])
    async def put_integration(
        integration: str,
        body: IntegrationSettingsIn,
        principal: Annotated[Principal, Depends(admin)],
        audit: Audit,
    ) -> IntegrationSettingsOut:
        update = handlers.IntegrationUpdate(
            enabled=body.enabled,
            call_data_url=body.call_data_url,
            request_data_url=body.request_data_url,
            integration_id=body.integration_id,
            time_lag_minutes=body.time_lag_minutes,
            token=body.token,
            token_given="token" in body.model_fields_set,
        )
        name = _integration(integration)
        record = audit.event("integration_settings.changed", "integration", name)
        view = await handlers.save_integration(deps, name, update, principal, record)
        return _settings_out(view)

    @router.get("/settings/integrations/callmarker/deliveries", tags=["settings"])
    async def callmarker_deliveries() -> DeliveryStatusOut:
        found = await handlers.callmarker_delivery_status(deps)
        return DeliveryStatusOut(
            pending=found.pending,
            delivered=found.delivered,
            failing=found.failing,
            oldest_pending_at=found.oldest_pending_at,
            last_error=found.last_error,
        )

    return router


# --- Callmarker's callback ------------------------------------------------------------------


def callmarker_router(deps: handlers.Deps) -> APIRouter:
    """``POST /api/telephony/callmarker/tags``: Callmarker attaches tags to a call."""
    router = APIRouter(prefix="/api/telephony/callmarker", tags=["callmarker"])

    @router.post(
        "/tags",
        responses={
            401: {"description": f"missing or wrong token (header {TOKEN_HEADER})"},
            404: {"description": "unknown call"},
            413: {"description": "body too large"},
            422: {"description": "invalid body"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": CallTagsIn.model_json_schema()}},
            }
        },
    )
    async def tag_call(
        request: Request,
        x_callmarker_token: Annotated[str | None, Header()] = None,
    ) -> CallTagsOut:
        # The token first: an unauthenticated caller learns nothing about the body.
        await handlers.check_callmarker_token(deps, x_callmarker_token)
        raw = await read_body(request, deps.settings.callmarker_tags_max_bytes)
        try:
            body = CallTagsIn.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidRequest(_field_errors(list(exc.errors()))) from exc
        tags = await handlers.tag_call(deps, body.call_id, body.tags)
        return CallTagsOut(call_id=body.call_id, tags=tags)

    return router
