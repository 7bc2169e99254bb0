"""A merge in booking moves crm-touch's touches, end to end through real Kafka and PostgreSQL.

booking (its real API) registers two clients → ``booking.clients`` → crm-touch's caller
identification; a call from the first client's number (published onto ``telephony.calls``
as telephony would) → a touch for that client on ``crm.touches``; booking merges the first
client (the duplicate) into the second (the primary) → ``ClientsMerged`` → the touch now
shows the primary, in crm-touch's API and in a ``TouchUpdated``.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from switchboard_contracts import CallStarted, make_envelope
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BOOKING = "/api/booking"


def _mobile() -> str:
    return f"+7915{random.randrange(10**7):07d}"


async def test_a_merge_in_booking_moves_the_touch_to_the_primary(
    settings_env: dict[str, str], running_service: Any, topic_reader: Any, infra: Any
) -> None:
    from switchboard_booking.bootstrap import build_app as build_booking
    from switchboard_booking.entrypoints.seed import seed
    from switchboard_booking.settings import BookingSettings
    from switchboard_crm_touch.bootstrap import build_app as build_crm
    from switchboard_crm_touch.settings import CrmTouchSettings

    duplicate_phone, primary_phone = _mobile(), _mobile()
    call_id = f"merge-{uuid.uuid4().hex[:10]}"
    touches = await topic_reader("crm.touches")
    booking_app = build_booking(BookingSettings(log_json=False))
    # As under `make run`: touches are created although telephony never sent the switch.
    crm_app = build_crm(CrmTouchSettings(log_json=False, calltouch_enabled_default=True))
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        async with (
            running_service(booking_app) as booking,
            running_service(crm_app) as crm,
        ):
            await seed(booking_app.state.runtime.sessions, booking_app.state.runtime.settings)
            login = await booking.post(
                f"{BOOKING}/auth/login", json={"username": "admin", "password": "admin"}
            )
            assert login.status_code == 200, login.text
            booking.cookies.clear()
            admin = {"Authorization": f"Bearer {login.json()['token']}"}
            # crm-touch checks booking's tokens with the shared secret; any role may read.
            secret = crm_app.state.runtime.settings.auth_secret.get_secret_value()
            reader = {
                "Authorization": "Bearer "
                + issue_token(Principal("op-maria", "Maria", "manager"), secret)
            }

            async def new_client(first: str, last: str, mobile: str) -> str:
                response = await booking.post(
                    f"{BOOKING}/clients",
                    headers=admin,
                    json={"first_name": first, "last_name": last, "mobile": mobile},
                )
                assert response.status_code == 201, response.text
                return str(response.json()["client_id"])

            duplicate = await new_client("Daria", "Kovaleva", duplicate_phone)
            primary = await new_client("Daria", "Kovaleva-Smirnova", primary_phone)

            async def identified(phone: str, client_id: str) -> bool:
                response = await crm.get(
                    "/api/crm/identify", params={"phone": phone}, headers=reader
                )
                assert response.status_code == 200, response.text
                contact = response.json()["contact"]
                return contact is not None and contact["id"] == client_id

            await wait_until(
                lambda: identified(duplicate_phone, duplicate),
                timeout=20,
                message="crm-touch knows the duplicate's number",
            )

            # A call from the duplicate's number, written as the PBX wrote it.
            started = CallStarted(
                call_id=call_id,
                direction="incoming",
                caller="8" + duplicate_phone[2:],
                callee="101",
                extension="101",
                clinic_id="clinic-msk",
                started_at=datetime.now(UTC),
            )
            envelope = make_envelope(started, producer="telephony", occurred_at=started.started_at)
            await producer.send_and_wait(
                settings_env["TOPIC_PREFIX"] + "telephony.calls",
                envelope.to_bytes(),
                key=call_id.encode(),
            )

            def of_call(records: list[Any]) -> list[dict[str, Any]]:
                values = [json.loads(r.value) for r in records]
                return [v for v in values if v["payload"].get("call_id") == call_id]

            records = await touches.wait_for(
                lambda recs: any(v["event_type"] == "TouchCreated" for v in of_call(recs)),
                timeout=20,
                message="TouchCreated",
            )
            [created] = [v for v in of_call(records) if v["event_type"] == "TouchCreated"]
            touch_id = created["payload"]["touch_id"]
            assert created["payload"]["contact"]["id"] == duplicate
            assert created["payload"]["contact"]["display_name"] == "Daria Kovaleva"

            merged = await booking.post(
                f"{BOOKING}/clients/merge",
                headers=admin,
                json={"primary_client_id": primary, "duplicate_client_id": duplicate},
            )
            assert merged.status_code == 200, merged.text

            def moved(records: list[Any]) -> list[dict[str, Any]]:
                return [
                    v
                    for v in of_call(records)
                    if v["event_type"] == "TouchUpdated"
                    and v["payload"]["touch_id"] == touch_id
                    and (v["payload"]["contact"] or {}).get("id") == primary
                ]

            records = await touches.wait_for(
                lambda recs: bool(moved(recs)), timeout=20, message="TouchUpdated to primary"
            )
            update = moved(records)[-1]["payload"]
            assert update["contact"]["display_name"] == "Daria Kovaleva-Smirnova"

            touch = (await crm.get(f"/api/crm/touches/{touch_id}", headers=reader)).json()
            assert touch["contact"] == {
                "id": primary,
                "kind": "patient",
                "display_name": "Daria Kovaleva-Smirnova",
            }
            # Both numbers now find the primary alone.
            await wait_until(
                lambda: identified(duplicate_phone, primary),
                timeout=20,
                message="the duplicate's number finds the primary",
            )
            assert await identified(primary_phone, primary)
            timeline = (
                await crm.get(f"/api/crm/contacts/{primary}/timeline", headers=reader)
            ).json()
            assert touch_id in {(i["touch"] or {}).get("touch_id") for i in timeline["items"]}
    finally:
        await producer.stop()
