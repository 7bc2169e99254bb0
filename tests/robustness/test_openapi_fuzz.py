"""Schemathesis against every service's OpenAPI: no generated request gets a 5xx.

Each service is built by its own ``build_app`` on real PostgreSQL, Kafka and Redis
(booking seeded with the demo chain, so ids in paths sometimes exist), started once in
schemathesis' event loop and called in-process. Requests carry a valid admin session, so
the generated data reaches the handlers and the database instead of stopping at the login
check; a second pass without any session proves the refusal is a clean 4xx too.

Checks: ``not_a_server_error`` (the one that matters: a 5xx is a product bug) and, for
successful answers, ``response_schema_conformance``. Generation is derandomized and small
enough that the file runs in about two minutes on two cores.

The console gateway documents no operation of its own (it relays ``/api/<service>/…``):
crm-touch's schema is fuzzed through it (the services served on real loopback sockets),
and arbitrary paths, methods and bodies are thrown at it. The PBX webhook reads raw bytes
(no documented body), so its bodies are fuzzed with hypothesis, signed as a PBX would sign
them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robust_services import SERVICES, build_service, pbx_headers, session_headers
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from switchboard_runtime.testing import wait_until

pytestmark = [
    pytest.mark.integration,
    # Raised inside schemathesis' own strategies (it draws with ``random``), not by this file.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

#: Examples per operation: about 60 operations in all. ``SB_FUZZ_EXAMPLES=500`` digs deeper
#: (still derandomized: the same number always generates the same requests).
EXAMPLES = int(os.environ.get("SB_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
UNAUTHENTICATED = settings(FUZZ, max_examples=4)


def success_body_conforms(ctx: Any, response: Any, case: Any) -> bool | None:
    """``response_schema_conformance`` for successful answers: what clients parse.

    Error bodies are ``{"detail": …}`` with what was wrong; their exact shape is not
    documented per operation, so checking them against FastAPI's default 422 schema
    would report the documentation, not the service.
    """
    if response.status_code >= 400:
        return None
    return response_schema_conformance(ctx, response, case)


CHECKS = [not_a_server_error, success_body_conforms]

PBX_WEBHOOK = "/api/telephony/pbx/events"

#: Operations a caller without a session may use.
PUBLIC = {("POST", "/api/booking/auth/login"), ("POST", "/api/booking/auth/logout")}


class DeferredApp:
    """The ASGI app schemathesis calls, standing for a service that a fixture builds later.

    Schemas must exist when the module is imported (schemathesis makes one test per
    operation from them), but the service can only be built once the run's infrastructure
    is known; the fixture ``apps`` puts the real app in.

    Schemathesis starts and stops an app's lifespan around every test; the service behind
    this stand-in starts once, on first use, in schemathesis' event loop (where its
    requests run), and stops when :meth:`stop` is called at the end of the module.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.app: FastAPI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            assert self.app is not None, f"{self.name} is not started (use the apps fixture)"
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start(self) -> None:
        if self._task is not None:
            return
        app = self.app
        assert app is not None
        self._loop = asyncio.get_running_loop()
        stop = self._stop = asyncio.Event()
        started = asyncio.Event()

        async def serve() -> None:
            async with app.router.lifespan_context(app):
                started.set()
                await stop.wait()

        self._task = asyncio.create_task(serve())
        up = asyncio.create_task(started.wait())
        await asyncio.wait({self._task, up}, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            up.cancel()
            task, self._task = self._task, None
            task.result()  # what stopped the service from starting

    def stop(self, timeout: float) -> None:
        """Stop the service (from the test's thread) and wait at most ``timeout`` seconds."""
        if self._task is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._finish(), self._loop).result(timeout)

    async def _finish(self) -> None:
        task, stop, self._task = self._task, self._stop, None
        if task is not None and stop is not None:
            stop.set()
            await task


class DeferredGateway(DeferredApp):
    """The console gateway in front of the deferred services, relaying over real sockets.

    On first use it starts the services, serves each on a free port of 127.0.0.1 (uvicorn,
    the services' lifespans already running) and builds the gateway pointing at them.
    """

    def __init__(self, services: dict[str, DeferredApp]) -> None:
        super().__init__("console")
        self.services = services
        self._servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def _start(self) -> None:
        if self._task is not None:
            return
        from switchboard_console.bootstrap import build_app as build_console
        from switchboard_console.settings import ConsoleSettings

        urls: dict[str, str] = {}
        for name, service in self.services.items():
            await service._start()
            assert service.app is not None
            urls[name.split("-")[0] + "_url"] = await self._serve(service.app)
        # A page of its own to serve: the gateway's answers must not depend on whether the
        # console bundle happens to be built (or being rebuilt) in this checkout.
        static = Path(tempfile.mkdtemp(prefix="gateway-static-"))
        (static / "index.html").write_text("<!doctype html><title>Switchboard console</title>")
        self.app = build_console(ConsoleSettings(log_json=False, static_dir=static, **urls))
        await super()._start()

    async def _serve(self, app: FastAPI) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._servers.append((server, task))

        async def started() -> bool:
            if task.done():
                task.result()
            return server.started

        await wait_until(started, timeout=30, message="service listening")
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def _finish(self) -> None:
        await super()._finish()
        for server, task in self._servers:
            server.should_exit = True
            await task
        self._servers.clear()


def _schema(name: str) -> tuple[Any, DeferredApp]:
    """The OpenAPI schema of service ``name`` (as its code generates it) and its stand-in."""
    document = build_service(name, SERVICES_SETTINGS[name](log_json=False)).openapi()
    deferred = DeferredApp(name)
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = deferred
    return loaded, deferred


def _settings_class(name: str) -> Any:
    import importlib

    _, module, cls = SERVICES[name]
    return getattr(importlib.import_module(module), cls)


SERVICES_SETTINGS = {name: _settings_class(name) for name in SERVICES}
telephony, _telephony_app = _schema("telephony")
booking, _booking_app = _schema("booking")
crm, _crm_app = _schema("crm-touch")
analytics, _analytics_app = _schema("analytics")
notify, _notify_app = _schema("notify")
DEFERRED = {
    "telephony": _telephony_app,
    "booking": _booking_app,
    "crm-touch": _crm_app,
    "analytics": _analytics_app,
    "notify": _notify_app,
}
GATEWAY = DeferredGateway(DEFERRED)


def _through_the_gateway(name: str) -> Any:
    """Service ``name``'s schema, called through the console gateway."""
    loaded, _ = _schema(name)
    loaded.app = GATEWAY
    return loaded


crm_via_gateway = _through_the_gateway("crm-touch")


@pytest.fixture(scope="module", autouse=True)
def apps(robust_settings: dict[str, Any], seeded_booking: Any) -> Iterator[None]:
    """Every service built on this run's infrastructure (each starts on first use), stopped
    at the end of the module."""
    for name, service_settings in robust_settings.items():
        DEFERRED[name].app = build_service(name, service_settings)
    yield
    # Stop the services (consumers, relays, pools) before the run's databases are dropped.
    schemathesis_asgi.shutdown_lifespans()
    for deferred in (GATEWAY, *DEFERRED.values()):
        deferred.stop(timeout=60)


def _as_admin(case: Any, service_settings: Any) -> Any:
    headers = session_headers(service_settings)
    if case.path == PBX_WEBHOOK:
        # The webhook documents no body (it reads raw bytes): sign the empty delivery, so
        # that the request gets past the signature check; bodies are fuzzed below.
        headers.update(pbx_headers(b""))
    return case.call_and_validate(headers=headers, checks=CHECKS)


def _without_session(case: Any) -> None:
    # Whatever headers schemathesis made up, no session: the Authorization it may have
    # generated is garbage, never a signed token.
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    if (case.method.upper(), case.path) not in PUBLIC:
        assert response.status_code >= 400, (
            f"{case.method} {case.path} answered {response.status_code} without a session"
        )


@telephony.parametrize()
@FUZZ
def test_telephony_api_never_fails_on_bad_input(case: Any, robust_settings: dict[str, Any]) -> None:
    _as_admin(case, robust_settings["telephony"])


@booking.parametrize()
@FUZZ
def test_booking_api_never_fails_on_bad_input(case: Any, robust_settings: dict[str, Any]) -> None:
    _as_admin(case, robust_settings["booking"])


@crm.parametrize()
@FUZZ
def test_crm_touch_api_never_fails_on_bad_input(case: Any, robust_settings: dict[str, Any]) -> None:
    _as_admin(case, robust_settings["crm-touch"])


@analytics.parametrize()
@FUZZ
def test_analytics_api_never_fails_on_bad_input(case: Any, robust_settings: dict[str, Any]) -> None:
    _as_admin(case, robust_settings["analytics"])


@notify.parametrize()
@FUZZ
def test_notify_api_never_fails_on_bad_input(case: Any, robust_settings: dict[str, Any]) -> None:
    _as_admin(case, robust_settings["notify"])


@booking.parametrize()
@UNAUTHENTICATED
def test_booking_without_a_session_is_refused_cleanly(case: Any) -> None:
    _without_session(case)


@analytics.parametrize()
@UNAUTHENTICATED
def test_analytics_without_a_session_is_refused_cleanly(case: Any) -> None:
    _without_session(case)


@telephony.parametrize()
@UNAUTHENTICATED
def test_telephony_without_a_session_is_refused_cleanly(case: Any) -> None:
    _without_session(case)


@crm.parametrize()
@UNAUTHENTICATED
def test_crm_touch_without_a_session_is_refused_cleanly(case: Any) -> None:
    _without_session(case)


@notify.parametrize()
@UNAUTHENTICATED
def test_notify_without_a_session_is_refused_cleanly(case: Any) -> None:
    _without_session(case)


# --- the PBX webhook reads raw bytes: its bodies are fuzzed here ------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["call.started", "call.ended", "2026-11-25T10:00:00+03:00", "101"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)
pbx_like_events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["call.started", "call.answered", "call.ended"]) | json_scalars,
        "call_id": st.text(min_size=1, max_size=12) | json_scalars,
        "timestamp": st.datetimes(
            min_value=datetime(2025, 1, 1),
            max_value=datetime(2026, 11, 20),
            timezones=st.just(UTC),
        ).map(lambda t: t.isoformat())
        | json_scalars,
    },
    optional={"from": json_scalars, "to": json_scalars, "extension": json_scalars},
)
webhook_bodies = st.one_of(
    st.binary(max_size=500),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(pbx_like_events, max_size=6).map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    pbx_like_events.map(lambda v: json.dumps(v).encode()),
)


def _deliver(body: bytes) -> Any:
    with schemathesis_asgi.get_client(DEFERRED["telephony"]) as client:
        return client.post(PBX_WEBHOOK, data=body, headers=pbx_headers(body))


@settings(FUZZ, max_examples=4 * EXAMPLES)
@given(body=webhook_bodies)
def test_the_pbx_webhook_answers_any_signed_body_without_a_server_error(body: bytes) -> None:
    response = _deliver(body)
    assert response.status_code in {202, 400, 409, 413, 422}, (response.status_code, response.text)
    if response.status_code in (202, 422):
        # Every item is either accepted or refused with its index: none silently dropped.
        decoded = json.loads(body)
        items = decoded if isinstance(decoded, list) else [decoded]
        answer = response.json()
        assert answer["accepted"] + len(answer.get("rejected", [])) == len(items)


@pytest.mark.parametrize(
    "body",
    [b"1" * 5000, b"[" * 100_000 + b"]" * 100_000],
    ids=["5000-digit-integer", "nested-100000-deep"],
)
def test_json_the_decoder_cannot_read_is_a_400(body: bytes) -> None:
    response = _deliver(body)
    assert response.status_code == 400, response.text


# --- the console gateway --------------------------------------------------------------------

#: Each request through the gateway crosses two loopback sockets: fewer examples, and one
#: service's schema (the relay does not care which service is behind it).
GATEWAY_FUZZ = settings(FUZZ, max_examples=max(5, EXAMPLES // 5))


def _via_gateway(case: Any, service_settings: Any) -> None:
    case.call_and_validate(headers=session_headers(service_settings), checks=[not_a_server_error])


@crm_via_gateway.parametrize()
@GATEWAY_FUZZ
def test_crm_touch_through_the_gateway_never_fails(
    case: Any, robust_settings: dict[str, Any]
) -> None:
    _via_gateway(case, robust_settings["crm-touch"])


segments = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=12
) | st.sampled_from(["..", ".", "%2e%2e", "%2F", "%00", "%3F", "%23", "assets", "index.html"])
gateway_paths = st.builds(
    lambda head, rest: "/" + "/".join([*head, *rest]),
    st.sampled_from(
        [
            [],
            ["api"],
            ["api", "booking"],
            ["api", "booking", "clients"],
            ["api", "analytics", "calls"],
            ["api", "nowhere"],
            ["assets"],
        ]
    ),
    st.lists(segments, max_size=4),
)


@settings(FUZZ, max_examples=EXAMPLES)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    path=gateway_paths,
    body=st.none() | st.binary(max_size=200),
    query=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
)
def test_the_gateway_answers_any_path_without_a_server_error(
    method: str,
    path: str,
    body: bytes | None,
    query: dict[str, str],
    robust_settings: dict[str, Any],
) -> None:
    with schemathesis_asgi.get_client(GATEWAY) as client:
        response = client.request(
            method,
            path,
            params=query,
            data=body,
            headers=session_headers(robust_settings["booking"]),
        )
    assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
