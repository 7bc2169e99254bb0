"""``switchboard-telephony publish-dids``: tell the platform every configured public number.

Telephony publishes a number's state (``DidChanged``) whenever an admin adds, changes or
removes it. Numbers configured before that event existed were never published: this
command publishes them all once (through the outbox, in one transaction; the running
service's relay sends them), so analytics can label its reports by number.
"""

from __future__ import annotations

import argparse
import asyncio

from switchboard_runtime.db import make_engine, make_session_factory
from switchboard_runtime.messaging import outbox_session_info
from switchboard_telephony.adapters import queries
from switchboard_telephony.handlers import publish_did
from switchboard_telephony.settings import TelephonySettings


def configure_publish_dids(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``switchboard-telephony publish-dids`` (none)."""
    parser.description = (
        "Publish every configured public number (DidChanged on telephony.directory), once "
        "after upgrading: numbers configured before the event existed were never published."
    )


async def publish_dids(settings: TelephonySettings) -> list[str]:
    """Put every configured number's state in the outbox, in one transaction; returns them."""
    engine = make_engine(settings.service_database_url, pool_size=1)
    try:
        sessions = make_session_factory(engine)
        # No relay here to wake: the running service's relay finds the rows.
        sessions.configure(info=outbox_session_info(settings, lambda: None))
        async with sessions() as session, session.begin():
            rows = await queries.list_dids(session)
            for row in rows:
                await publish_did(session, row)
        return [row.did for row in rows]
    finally:
        await engine.dispose()


def run_publish_dids(_args: argparse.Namespace) -> None:
    """``switchboard-telephony publish-dids``: publish and say how many."""
    numbers = asyncio.run(publish_dids(TelephonySettings()))
    print(f"published {len(numbers)} numbers")
