"""The PBX webhooks under ``/api/telephony/pbx``: the generic one and each cloud PBX's own.

* ``POST /pbx/events``: the generic JSON format, signed with the integration token
  (:mod:`switchboard_telephony.domain.signing`);
* ``POST /pbx/<name>[/<path>]``: a cloud PBX's native deliveries, checked with that
  provider's own signature scheme and translated by its adapter
  (:mod:`switchboard_telephony.adapters.pbx`).

Both refuse the same things the same way: an unsigned or wrongly signed delivery (401,
the reason said, no secret in it or in the logs), a stale one (401), a replay of one
already accepted (409, remembered in Redis by every replica), and answer only once every
event is acknowledged on ``pbx.events.raw`` (else 503, nothing counted as accepted).

No ``from __future__ import annotations``: FastAPI reads the handlers' annotations.
"""

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse

from switchboard_contracts import PBX_EVENTS_RAW
from switchboard_runtime.kafka import Broker, acknowledged
from switchboard_runtime.logging import get_logger
from switchboard_telephony.adapters.delivery_log import DeliveryLog, DeliveryLogUnavailable
from switchboard_telephony.adapters.pbx.base import (
    InvalidDelivery,
    WebhookAdapter,
    WebhookDelivery,
)
from switchboard_telephony.adapters.pbx_generic import InvalidPbxEvent, parse_generic
from switchboard_telephony.domain import signing
from switchboard_telephony.settings import TelephonySettings

__all__ = ["cloud_pbx_router", "pbx_router", "read_body"]

log = get_logger(__name__)

# Starlette renamed these constants; the numbers are what clients see.
HTTP_413 = 413
HTTP_422 = 422


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one over ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length", "")
    too_large = HTTPException(HTTP_413, f"body over {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _retry_later(why: str) -> HTTPException:
    """503 with ``Retry-After``: nothing of the delivery was accepted, send it again."""
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, f"{why}; retry later", headers={"Retry-After": "5"}
    )


def _refused(reason: str, **fields: Any) -> HTTPException:
    log.info("pbx.webhook_refused", reason=reason, **fields)
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason)


async def _publish_items(
    settings: TelephonySettings, broker: Broker, items: Sequence[Any]
) -> tuple[int, list[dict[str, Any]]]:
    """Publish the valid items to ``pbx.events.raw``, acks awaited; (accepted, rejected)."""
    valid: list[tuple[str, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            event, raw = parse_generic(item)
        except InvalidPbxEvent as exc:
            errors.append({"index": index, "reason": exc.reason, "errors": exc.errors})
            continue
        valid.append((event.call_id, raw))
    # Accepted means durable: wait for every acknowledgement (acks=all) before answering.
    topic = settings.topic(PBX_EVENTS_RAW)
    futures = await broker.send_many(
        (topic, call_id.encode(), json.dumps(raw, separators=(",", ":")).encode())
        for call_id, raw in valid
    )
    await acknowledged(futures)
    if errors:
        log.info("pbx.webhook_rejected_items", accepted=len(valid), rejected=len(errors))
    return len(valid), errors


async def _accept_once(
    settings: TelephonySettings,
    broker: Broker,
    deliveries: DeliveryLog,
    replay_key: str,
    ttl: int,
    items: Sequence[Any],
) -> tuple[int, list[dict[str, Any]]]:
    """Remember the delivery (409 if it was already accepted), then publish its items; a
    delivery that could not be stored is forgotten again, so that its retry gets through."""
    try:
        first = await deliveries.first_time(replay_key, ttl)
    except DeliveryLogUnavailable as exc:
        log.warning("pbx.delivery_log_unavailable", error=str(exc))
        raise _retry_later("cannot check for replays right now") from None
    if not first:
        log.info("pbx.webhook_replay_refused")
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "this delivery (same content and signature) was already accepted",
        )
    try:
        return await _publish_items(settings, broker, items)
    except Exception as exc:
        # Events that did reach the topic are deduplicated downstream.
        with contextlib.suppress(DeliveryLogUnavailable):
            await deliveries.forget(replay_key)
        if isinstance(exc, KafkaError):
            log.warning("pbx.webhook_kafka_unavailable", error=repr(exc))
            raise _retry_later("the events could not be stored durably right now") from None
        raise


_COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "this delivery was already accepted (a replay)"},
    413: {"description": "body too large"},
    422: {"description": "some or all events invalid; valid ones accepted"},
    503: {"description": "Kafka or the replay check is unavailable; retry later"},
}


def pbx_router(
    settings: TelephonySettings,
    broker: Broker,
    deliveries: DeliveryLog,
    *,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """``POST /api/telephony/pbx/events``: one event or a JSON array of them, in a delivery
    signed with the integration token (:mod:`switchboard_telephony.domain.signing`)."""
    router = APIRouter(prefix="/api/telephony", tags=["pbx"])
    tolerance = settings.pbx_signature_tolerance_seconds

    @router.post(
        "/pbx/events",
        status_code=status.HTTP_202_ACCEPTED,
        responses={
            400: {"description": "body is not JSON"},
            401: {
                "description": "unsigned, wrongly signed or stale delivery "
                f"(headers {signing.TIMESTAMP_HEADER}, {signing.SIGNATURE_HEADER})"
            },
            **_COMMON_RESPONSES,
        },
    )
    async def receive_pbx_events(
        request: Request,
        x_switchboard_timestamp: Annotated[str | None, Header()] = None,
        x_switchboard_signature: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        # Cheap checks before the body is read: an unsigned or stale sender learns nothing.
        try:
            timestamp = signing.parse_timestamp(x_switchboard_timestamp)
            signing.check_fresh(timestamp, now=clock(), tolerance_seconds=tolerance)
        except signing.DeliveryRejected as exc:
            raise _refused(exc.reason) from None
        body = await read_body(request, settings.webhook_max_bytes)
        try:
            delivery = signing.verify(
                settings.pbx_token.get_secret_value(), timestamp, x_switchboard_signature, body
            )
        except signing.DeliveryRejected as exc:
            raise _refused(exc.reason) from None
        try:
            decoded: Any = json.loads(body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, limits
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not JSON: {exc}") from exc
        items = decoded if isinstance(decoded, list) else [decoded]
        if len(items) > settings.webhook_max_events:
            raise HTTPException(
                HTTP_413, f"more than {settings.webhook_max_events} events in one batch"
            )
        ttl = signing.replay_ttl_seconds(timestamp, now=clock(), tolerance_seconds=tolerance)
        accepted, rejected = await _accept_once(
            settings, broker, deliveries, delivery.digest, ttl, items
        )
        if rejected:
            return JSONResponse(
                status_code=HTTP_422, content={"accepted": accepted, "rejected": rejected}
            )
        return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content={"accepted": accepted})

    return router


def cloud_pbx_router(
    settings: TelephonySettings,
    broker: Broker,
    deliveries: DeliveryLog,
    adapters: Sequence[WebhookAdapter],
    *,
    known: Sequence[str] = (),
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """``POST /api/telephony/pbx/<name>[/<path>]`` for each webhook adapter.

    ``adapters`` are the configured ones; a name in ``known`` without a configured adapter
    answers 401 saying its secrets are not set, so that a PBX pointed at it learns why.
    """
    router = APIRouter(prefix="/api/telephony", tags=["pbx"])
    window = settings.cloud_pbx_replay_window_seconds
    configured = {a.name: a for a in adapters}

    def public_url(request: Request) -> str:
        # Providers that sign the URL sign the one they called, not what a proxy forwards.
        if not settings.public_base_url:
            return str(request.url)
        query = f"?{request.url.query}" if request.url.query else ""
        return settings.public_base_url.rstrip("/") + request.url.path + query

    async def receive(name: str, request: Request, path: str) -> JSONResponse:
        adapter = configured.get(name)
        if adapter is None:
            # No key to check a signature with: no delivery can be authentic.
            raise _refused(f"the {name} adapter is not configured (its secrets are not set)")
        body = await read_body(request, settings.webhook_max_bytes)
        delivery = WebhookDelivery(
            url=public_url(request),
            path=path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        try:
            verified = adapter.verify(delivery)
        except signing.DeliveryRejected as exc:
            raise _refused(exc.reason, pbx=name) from None
        except InvalidDelivery as exc:
            raise _refused(f"unreadable delivery: {exc}", pbx=name) from None
        now = clock()
        if verified.sent_at is not None and abs(now - verified.sent_at) > window:
            raise _refused(
                f"stale delivery: its time is {abs(int(now - verified.sent_at))} s from the "
                f"server's clock, window {window} s",
                pbx=name,
            )
        try:
            items = adapter.translate(delivery)
        except InvalidDelivery as exc:
            raise HTTPException(HTTP_422, f"cannot read this {name} delivery: {exc}") from None
        accepted, rejected = await _accept_once(
            settings, broker, deliveries, f"{name}:{verified.digest}", window, items
        )
        content: dict[str, Any] = {"accepted": accepted}
        if rejected:
            return JSONResponse(status_code=HTTP_422, content={**content, "rejected": rejected})
        return JSONResponse(status_code=status.HTTP_200_OK, content=content)

    for name in sorted({*known, *configured}):
        _add_routes(router, name, receive)
    return router


def _add_routes(router: APIRouter, name: str, receive: Any) -> None:
    responses: dict[int | str, dict[str, Any]] = {
        401: {"description": f"not signed as {name} signs, stale, or {name} not configured"},
        **_COMMON_RESPONSES,
    }

    @router.post(
        f"/pbx/{name}",
        responses=responses,
        name=f"receive_{name}",
        summary=f"{name} deliveries",
    )
    async def root(request: Request) -> JSONResponse:
        return await receive(name, request, "")  # type: ignore[no-any-return]

    @router.post(
        f"/pbx/{name}/{{path:path}}",
        responses=responses,
        name=f"receive_{name}_path",
        summary=f"{name} deliveries to a sub-path",
    )
    async def sub_path(request: Request, path: str) -> JSONResponse:
        return await receive(name, request, path)  # type: ignore[no-any-return]
