"""The command line every service shares: ``serve`` and ``migrate``, plus its own.

A service's ``entrypoints/cli.py`` is a few lines: it hands its app factory, its
migrations folder and any extra commands to :func:`service_main`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Callable, Sequence

from fastapi import FastAPI

from switchboard_runtime.db import migrate, migrations_path
from switchboard_runtime.settings import ServiceSettings

Command = Callable[[argparse.Namespace], None]


def service_main(
    *,
    package: str,
    settings: Callable[[], ServiceSettings],
    build_app: Callable[[ServiceSettings], FastAPI],
    commands: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Command]] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse ``argv`` and run ``serve`` (HTTP + consumers), ``migrate`` or an extra command.

    ``package`` is the service's package name (``switchboard_telephony``); its
    ``migrations/`` folder is the one ``migrate`` applies.
    """
    module = importlib.import_module(package)
    migrations_dir = migrations_path(module.__file__ or "")
    name = package.removeprefix("switchboard_").replace("_", "-")
    parser = argparse.ArgumentParser(prog=f"switchboard-{name}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="run the HTTP API, consumers and outbox relay")
    serve_p.add_argument("--host", default=None)
    serve_p.add_argument("--port", type=int, default=None)
    sub.add_parser("migrate", help="create the database if needed and upgrade it to head")
    extra = commands or {}
    for command, (configure, _) in extra.items():
        configure(sub.add_parser(command))
    args = parser.parse_args(argv)

    if args.command == "serve":
        import uvicorn

        cfg = settings()
        uvicorn.run(
            build_app(cfg),
            host=args.host or cfg.http_host,
            port=args.port or cfg.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=20,
            # Pop-ups are small JSON; a deflate context per open console costs ~35 KiB of
            # notify's memory per connection (bench/README.md, notify), for little saved.
            ws_per_message_deflate=False,
        )
    elif args.command == "migrate":
        asyncio.run(migrate(migrations_dir, settings().service_database_url))
    else:
        extra[args.command][1](args)
