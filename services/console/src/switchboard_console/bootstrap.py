"""The one place that builds the gateway's adapters from settings and wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from switchboard_console.adapters.http_proxy import make_client
from switchboard_console.adapters.static import StaticBundle
from switchboard_console.entrypoints.api import gateway_router
from switchboard_console.entrypoints.hardening import SecurityHeaders
from switchboard_console.settings import ConsoleSettings
from switchboard_runtime.logging import configure_logging, get_logger

log = get_logger(__name__)


def build_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """The console gateway: the built console at ``/``, the services under ``/api``."""
    settings = settings or ConsoleSettings()
    configure_logging("console", level=settings.log_level, json=settings.log_json)
    bundle = StaticBundle(settings.static_dir)
    holder: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        holder["client"] = make_client(
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            max_connections=settings.max_connections,
        )
        if not bundle.built:
            log.warning("console.bundle_missing", static_dir=str(bundle.root))
        log.info(
            "console.started",
            static_dir=str(bundle.root),
            proxy=settings.proxy_enabled,
            **(
                {f"{k}_url": v for k, v in settings.upstreams().items()}
                if settings.proxy_enabled
                else {}
            ),
        )
        try:
            yield
        finally:
            await holder.pop("client").aclose()

    app = FastAPI(
        title="Switchboard console gateway", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.include_router(gateway_router(settings, bundle, lambda: holder["client"]))
    # Outermost first: the trusted proxies' word on scheme and client, then the headers
    # that depend on the scheme (HSTS only over TLS).
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
