"""``switchboard-booking serve | migrate | seed | deliver``."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date

from switchboard_runtime.cli import service_main


def _configure_seed(parser: argparse.ArgumentParser) -> None:
    parser.description = "create the demo clinic chain (idempotent) and print the logins"
    parser.add_argument(
        "--day",
        type=date.fromisoformat,
        default=None,
        help="the day of the demo appointments, YYYY-MM-DD (default: the next weekday)",
    )


def _run_seed(args: argparse.Namespace) -> None:
    import switchboard_booking
    from switchboard_booking.entrypoints.seed import print_logins, seed
    from switchboard_booking.settings import BookingSettings
    from switchboard_runtime.db import make_engine, make_session_factory, migrate, migrations_path
    from switchboard_runtime.messaging import outbox_session_info

    async def main() -> dict[str, int]:
        settings = BookingSettings()
        await migrate(migrations_path(switchboard_booking.__file__), settings.service_database_url)
        engine = make_engine(settings.service_database_url)
        try:
            sessions = make_session_factory(engine)
            # What the seed publishes waits in the outbox for the service's relay.
            sessions.configure(info=outbox_session_info(settings, lambda: None))
            return await seed(sessions, settings, scenario_day=args.day)
        finally:
            await engine.dispose()

    added = asyncio.run(main())
    print("Seeded:", ", ".join(f"{k} +{v}" for k, v in added.items()))
    print_logins()


def main() -> None:
    """Entry point of the ``switchboard-booking`` command."""
    from switchboard_booking.bootstrap import build_app
    from switchboard_booking.entrypoints.worker import configure_deliver, run_deliver
    from switchboard_booking.settings import BookingSettings

    service_main(
        package="switchboard_booking",
        settings=BookingSettings,
        build_app=build_app,  # type: ignore[arg-type]
        commands={
            "seed": (_configure_seed, _run_seed),
            "deliver": (configure_deliver, run_deliver),
        },
    )
