"""What a console sends over its WebSocket, and the reply to each message.

A frame is a JSON object with a ``"type"``: ``ping`` (answered with ``pong``), ``pong``,
``{"type": "take", "call_id": …}`` ("I'll take it") and ``{"type": "dismiss", "call_id": …}``
(end a wrap-up without a result). Anything else is answered with an ``error``; the session
stays open.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from switchboard_notify import handlers

if TYPE_CHECKING:
    from switchboard_notify.entrypoints.console_session import ConsoleSession


async def reply_to(session: ConsoleSession, text: str | None) -> dict[str, Any] | None:
    """The reply to one frame from the session's console (None: nothing to send)."""
    limit = session.deps.settings.max_client_message_bytes
    if text is None:
        return _error("bad_request", "send JSON text frames")
    if len(text) > limit:
        return _error("bad_request", f"message over {limit} bytes")
    try:
        body = json.loads(text)
    except ValueError:
        return _error("bad_request", "not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return _error("bad_request", 'expected an object with a "type"')
    kind = body["type"]
    if kind == "ping":
        return {"type": "pong", "server_time": server_time()}
    if kind == "pong":
        return None
    if kind not in ("take", "dismiss"):
        return _error("bad_request", f"unknown message type {kind[:40]!r}")
    call_id = body.get("call_id")
    if not isinstance(call_id, str) or not 0 < len(call_id) <= 200:
        return _error("bad_request", f"{kind} needs a call_id")
    if kind == "dismiss":
        return await _dismiss(session, call_id)
    return await _take(session, call_id)


async def _dismiss(session: ConsoleSession, call_id: str) -> dict[str, Any] | None:
    # Success shows as the call.current.cleared every tab of this operator gets.
    try:
        done = await session.deps.current_calls.dismiss(call_id, session.operator_id)
    except (RedisError, OSError):
        return _error("unavailable", "try again", call_id=call_id)
    if not done:
        return _error("not_found", "no call of yours in wrap-up", call_id=call_id)
    return None


async def _take(session: ConsoleSession, call_id: str) -> dict[str, Any]:
    try:
        outcome = await handlers.take_call(
            call_id=call_id,
            operator_id=session.operator_id,
            name=session.name,
            extensions=session.extensions,
            store=session.deps.store,
            current_calls=session.deps.current_calls,
            sessions=session.deps.sessions,
        )
    except handlers.RedisUnavailable:
        return _error("unavailable", "try again", call_id=call_id)
    if outcome.status == "taken":
        return {"type": "take.result", "call_id": call_id, "ok": True}
    if outcome.status == "already_closed":
        close = outcome.close or {}
        return _error(
            "already_closed",
            "the call was already handled",
            call_id=call_id,
            reason=close.get("reason"),
            handled_by=close.get("handled_by"),
        )
    return _error("not_found", "no open pop-up for this call", call_id=call_id)


def _error(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail, **extra}


def server_time() -> str:
    """Now, as every message's ``server_time`` gives it (UTC, ``Z``)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
