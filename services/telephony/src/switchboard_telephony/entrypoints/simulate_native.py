"""Playing a simulated day in a PBX's own format (``simulate --format``).

* ``mango`` and ``twilio``: each delivery signed as the provider signs it, with the secrets
  telephony reads (``TELEPHONY_MANGO_API_KEY`` and ``..._SALT``, ``TELEPHONY_TWILIO_AUTH_TOKEN``)
  and posted to that provider's endpoint; Twilio's signature covers the URL, so it is made
  for ``TELEPHONY_PUBLIC_BASE_URL`` when set, as the service checks it;
* ``freeswitch``: a stand-in Event Socket (:class:`~..adapters.pbx.esl_server.EslServer`)
  serves the events, and the FreeSWITCH connector — the one ``switchboard-telephony
  freeswitch`` runs — reads them and publishes to ``pbx.events.raw``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from switchboard_runtime.logging import get_logger
from switchboard_runtime.retrying import RetryPolicy
from switchboard_runtime.testing.waiting import wait_until
from switchboard_telephony.adapters.pbx import mango, twilio
from switchboard_telephony.adapters.pbx.base import SignedRequest
from switchboard_telephony.adapters.pbx.esl import EslEndpoint
from switchboard_telephony.adapters.pbx.esl_server import EslServer
from switchboard_telephony.entrypoints.connectors import freeswitch_connector
from switchboard_telephony.settings import TelephonySettings

__all__ = ["esl_sender", "native_webhook_sender"]

log = get_logger(__name__)

SendBatch = Callable[[list[dict[str, Any]]], Awaitable[int]]


class NativeRefused(RuntimeError):
    """The endpoint refused a delivery for good (a wrong secret, a missing one)."""


class _Failing(Exception):
    """5xx: the service is in trouble, worth another try."""


def _signer(
    url: str, fmt: str, settings: TelephonySettings
) -> Callable[[dict[str, Any]], SignedRequest]:
    """How one delivery of ``fmt`` is signed for the service at ``url``."""
    public = (settings.public_base_url or url).rstrip("/")
    if fmt == "mango":
        if settings.mango_api_key is None or settings.mango_api_salt is None:
            raise SystemExit("set TELEPHONY_MANGO_API_KEY and TELEPHONY_MANGO_API_SALT")
        key = settings.mango_api_key.get_secret_value()
        salt = settings.mango_api_salt.get_secret_value()
        base = f"{public}/api/telephony/pbx/mango"
        return lambda event: mango.signed_request(base, key, salt, event["path"], event["payload"])
    if settings.twilio_auth_token is None:
        raise SystemExit("set TELEPHONY_TWILIO_AUTH_TOKEN")
    token = settings.twilio_auth_token.get_secret_value()
    base = f"{public}/api/telephony/pbx/twilio"
    return lambda event: twilio.signed_request(
        base, token, event["payload"]["params"], event["payload"]["query"]
    )


@asynccontextmanager
async def native_webhook_sender(
    url: str, fmt: str, settings: TelephonySettings, *, attempts: int = 6
) -> AsyncIterator[SendBatch]:
    """Posts each delivery of ``fmt`` to its endpoint, signed; returns how many were stored.

    A replay refused with 409 (the day's duplicates, a retry whose answer was lost) was
    stored before and counts as accepted; 5xx and unreachable are retried with backoff.
    """
    import httpx

    sign = _signer(url, fmt, settings)
    public = (settings.public_base_url or url).rstrip("/")
    retry = RetryPolicy(
        first_delay=0.5,
        max_delay=10.0,
        attempts=attempts,
        retry_on=(httpx.TransportError, _Failing),
    )
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def post(event: dict[str, Any]) -> int:
            request = sign(event)
            target = url.rstrip("/") + request.url.removeprefix(public)
            response = await client.post(target, content=request.body, headers=request.headers)
            if response.status_code in (200, 409):
                return 1
            if response.status_code == 422:
                log.warning("simulator.delivery_rejected", pbx=fmt, detail=response.text[:300])
                return 0
            if response.status_code < 500:
                raise NativeRefused(
                    f"{fmt} endpoint answered {response.status_code}: {response.text[:300]}"
                )
            raise _Failing(response.status_code)

        async def send(events: list[dict[str, Any]]) -> int:
            accepted = 0
            for event in events:
                try:
                    accepted += await retry.call(functools.partial(post, event))
                except _Failing as exc:
                    raise NativeRefused(f"the {fmt} endpoint keeps failing: {exc}") from exc
            return accepted

        yield send


@asynccontextmanager
async def esl_sender(settings: TelephonySettings, *, port: int = 0) -> AsyncIterator[SendBatch]:
    """Serves the events on a stand-in Event Socket that the FreeSWITCH connector reads.

    The password is ``ESL_PASSWORD`` (FreeSWITCH's default ``ClueCon`` if unset). On exit it
    waits until the connector has read every event, then stops both.
    """
    password = os.environ.get("ESL_PASSWORD") or "ClueCon"
    async with EslServer(password=password, port=port) as server:
        print(f"stand-in FreeSWITCH Event Socket on 127.0.0.1:{server.port}", flush=True)
        endpoint = EslEndpoint("127.0.0.1", server.port, SecretStr(password))
        async with freeswitch_connector(settings, endpoint) as (connector, task):
            pushed = 0

            async def send(events: list[dict[str, Any]]) -> int:
                nonlocal pushed
                await server.push([[tuple(p) for p in e["payload"]["headers"]] for e in events])
                pushed += len(events)
                return len(events)

            yield send

            async def drained() -> bool:
                if task.done():
                    task.result()  # the connector failed: say why
                # Every event translated, and the last one's publish acknowledged.
                read = connector.translator.translated + connector.translator.ignored
                return server.done and read >= pushed and not connector.publishing

            await wait_until(drained, timeout=120, message="the connector read every event")
