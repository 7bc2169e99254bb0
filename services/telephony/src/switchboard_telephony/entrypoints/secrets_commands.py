"""``switchboard-telephony rotate-secrets``: seal every stored integration token again
with the current key (the first of ``TELEPHONY_SECRET_KEYS``)."""

from __future__ import annotations

import argparse
import asyncio

from switchboard_runtime.db import make_engine, make_session_factory
from switchboard_runtime.secret_box import SecretBox
from switchboard_telephony.adapters import directory_repository
from switchboard_telephony.settings import TelephonySettings


def configure_rotate(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``switchboard-telephony rotate-secrets`` (none: keys come from settings)."""
    parser.description = (
        "Re-encrypt the stored integration tokens with the current key (the first of "
        "TELEPHONY_SECRET_KEYS); plaintext tokens of older releases are encrypted too. "
        "Keep the old keys configured until this has run."
    )


async def rotate(settings: TelephonySettings) -> list[str]:
    """Re-seal what needs it, in one transaction; returns the integrations changed."""
    box = SecretBox.from_setting(settings.secret_keys.get_secret_value())
    engine = make_engine(settings.service_database_url, pool_size=1)
    try:
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            return await directory_repository.reseal_tokens(session, box)
    finally:
        await engine.dispose()


def run_rotate(_args: argparse.Namespace) -> None:
    """``switchboard-telephony rotate-secrets``: re-seal and say what changed."""
    changed = asyncio.run(rotate(TelephonySettings()))
    print(f"re-encrypted: {', '.join(changed) if changed else 'nothing needed it'}")
