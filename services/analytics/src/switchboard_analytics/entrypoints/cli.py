"""``switchboard-analytics serve | migrate | rebuild | prune-audit``."""

from __future__ import annotations

import argparse
import asyncio
import json

from switchboard_runtime.cli import service_main


def _configure_rebuild(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Replay booking.directory, telephony.directory, crm.touches, booking.appointments and "
        "telephony.calls from offset 0 into fresh tables and swap them in for the live "
        "projection (the service may keep running)."
    )
    parser.add_argument(
        "--keep-old",
        action="store_true",
        help="keep the replaced tables in an analytics_retired_* schema instead of dropping them",
    )


def _run_rebuild(args: argparse.Namespace) -> None:
    from switchboard_analytics.bootstrap import projection_for
    from switchboard_analytics.rebuild import rebuild
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.logging import configure_logging

    settings = AnalyticsSettings()
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    report = asyncio.run(
        rebuild(
            settings,
            projection_for(settings),
            keep_old=args.keep_old,
            progress=lambda message: print(message, flush=True),
        )
    )
    print(json.dumps(report.as_dict(), indent=2))


def _configure_prune(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Delete the audit trail's records older than ANALYTICS_AUDIT_RETENTION_DAYS (the "
        "retention job: run it daily, e.g. from a CronJob)."
    )


def _run_prune(_args: argparse.Namespace) -> None:
    from switchboard_analytics.adapters.audit import prune_audit
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_runtime.db import make_engine, make_session_factory

    settings = AnalyticsSettings()

    async def prune() -> int:
        engine = make_engine(settings.service_database_url)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                return await prune_audit(session, settings.audit_retention_days)
        finally:
            await engine.dispose()

    deleted = asyncio.run(prune())
    print(json.dumps({"deleted": deleted, "retention_days": settings.audit_retention_days}))


def main() -> None:
    """Entry point of the ``switchboard-analytics`` command."""
    from switchboard_analytics.bootstrap import build_app
    from switchboard_analytics.settings import AnalyticsSettings

    service_main(
        package="switchboard_analytics",
        settings=AnalyticsSettings,
        build_app=build_app,  # type: ignore[arg-type]
        commands={
            "rebuild": (_configure_rebuild, _run_rebuild),
            "prune-audit": (_configure_prune, _run_prune),
        },
    )
