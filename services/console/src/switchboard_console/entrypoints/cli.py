"""``switchboard-console serve [--host H] [--port P]``: the console and its API gateway."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``switchboard-console`` command."""
    parser = argparse.ArgumentParser(prog="switchboard-console")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the console and relay /api to the services")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)

    import uvicorn

    from switchboard_console.bootstrap import build_app
    from switchboard_console.settings import ConsoleSettings

    settings = ConsoleSettings()
    uvicorn.run(
        build_app(settings),
        host=args.host or settings.http_host,
        port=args.port or settings.http_port,
        log_config=None,
        access_log=False,
        # The app believes forwarded headers from CONSOLE_TRUSTED_PROXIES only (bootstrap);
        # uvicorn's own default would believe any client on 127.0.0.1.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        ws="websockets-sansio",
        # As the services: no per-connection deflate context for small pop-up messages.
        ws_per_message_deflate=False,
    )
