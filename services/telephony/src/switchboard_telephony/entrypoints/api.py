"""Telephony's HTTP API: the PBX webhook."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker

from switchboard_contracts import PBX_EVENTS_RAW
from switchboard_runtime.auth import secrets_equal
from switchboard_runtime.logging import get_logger
from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, parse_generic
from switchboard_telephony.settings import TelephonySettings

log = get_logger(__name__)


def pbx_router(settings: TelephonySettings, broker: KafkaBroker) -> APIRouter:
    """``POST /api/telephony/pbx/events``: one event or a JSON array of them."""
    router = APIRouter(prefix="/api/telephony", tags=["pbx"])

    @router.post(
        "/pbx/events",
        status_code=status.HTTP_202_ACCEPTED,
        responses={
            401: {"description": "missing or wrong integration token"},
            413: {"description": "batch too large"},
            422: {"description": "some or all events invalid; valid ones accepted"},
        },
    )
    async def receive_pbx_events(
        request: Request,
        x_integration_token: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        if not secrets_equal(x_integration_token, settings.pbx_token.get_secret_value()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong integration token")
        body = await request.body()
        if len(body) > settings.webhook_max_bytes:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"body over {settings.webhook_max_bytes} bytes",
            )
        try:
            decoded: Any = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from exc
        items = decoded if isinstance(decoded, list) else [decoded]
        if len(items) > settings.webhook_max_events:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"more than {settings.webhook_max_events} events in one batch",
            )
        valid: list[tuple[str, dict[str, Any]]] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                event, raw = parse_generic(item)
            except InvalidPbxEvent as exc:
                errors.append({"index": index, "reason": exc.reason, "errors": exc.errors})
                continue
            valid.append((event.call_id, raw))
        # 202 means durable: wait for every acknowledgement (acks=all) before answering.
        futures = [
            await broker.publish(
                json.dumps(raw, separators=(",", ":")).encode(),
                topic=settings.topic(PBX_EVENTS_RAW),
                key=call_id.encode(),
                headers={"content-type": "application/json"},
                no_confirm=True,
            )
            for call_id, raw in valid
        ]
        for future in futures:
            await future
        if errors:
            log.info("pbx.webhook_rejected_items", accepted=len(valid), rejected=len(errors))
            return JSONResponse(
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
                content={"accepted": len(valid), "rejected": errors},
            )
        return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content={"accepted": len(valid)})

    return router
