"""Integration tokens are stored encrypted, and a key rotation keeps them working."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from switchboard_runtime.secret_box import new_key

CALLMARKER = "/api/telephony/settings/integrations/callmarker"
TAGS = "/api/telephony/callmarker/tags"
TOKEN = "cm-token-at-rest-7f3a"
OLD_KEYS = "old:" + new_key()


async def _stored_token(telephony: Any) -> str:
    from switchboard_telephony.adapters.tables import integration_settings

    async with telephony.app.state.runtime.sessions() as session:
        stored = await session.scalar(
            sa.select(integration_settings.c.token).where(
                integration_settings.c.integration == "callmarker"
            )
        )
    assert isinstance(stored, str)
    return stored


async def test_tokens_are_ciphertext_and_rotation_keeps_the_integration_working(
    start_telephony: Any, helpers: Any
) -> None:
    from switchboard_telephony.entrypoints.secrets_commands import rotate
    from switchboard_telephony.settings import TelephonySettings

    tag = helpers.unique_tag("secrets")
    body = {
        "enabled": True,
        "call_data_url": "https://callmarker.example/calls",
        "request_data_url": "https://callmarker.example/push",
        "integration_id": "cm-1",
        "token": TOKEN,
        "time_lag_minutes": 0,
    }
    async with start_telephony(tag, TELEPHONY_SECRET_KEYS=OLD_KEYS) as telephony:
        saved = await telephony.client.put(CALLMARKER, json=body, headers=telephony.auth("admin"))
        assert saved.status_code == 200, saved.text
        assert TOKEN not in saved.text
        stored = await _stored_token(telephony)
        assert stored.startswith("sb1:old:") and TOKEN not in stored

    new_keys = f"new:{new_key()},{OLD_KEYS}"
    async with start_telephony(tag, TELEPHONY_SECRET_KEYS=new_keys) as telephony:
        assert await rotate(TelephonySettings()) == ["callmarker"]
        assert await rotate(TelephonySettings()) == []  # nothing left on the old key
        stored = await _stored_token(telephony)
        assert stored.startswith("sb1:new:") and TOKEN not in stored

    # The old key dropped: the token still opens, and Callmarker's callback is checked with it.
    async with start_telephony(tag, TELEPHONY_SECRET_KEYS=new_keys.split(",")[0]) as telephony:
        shown = await telephony.client.get(CALLMARKER, headers=telephony.auth("admin"))
        assert shown.json()["token_set"] is True and TOKEN not in shown.text
        wrong = await telephony.client.post(
            TAGS, json={"call_id": "c-1", "tags": ["a"]}, headers={"X-Callmarker-Token": "no"}
        )
        assert wrong.status_code == 401
        right = await telephony.client.post(
            TAGS, json={"call_id": "c-1", "tags": ["a"]}, headers={"X-Callmarker-Token": TOKEN}
        )
        assert right.status_code != 401, right.text
