"""Each audited action in booking, telephony and crm-touch leaves exactly one record in analytics'
audit trail, end to end through the services' real APIs, real Kafka and PostgreSQL: who
(the session's operator), what, which record, and from where (the address the console
gateway forwarded; the test client is the gateway's peer, on loopback)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from switchboard_contracts import CallStarted, make_envelope
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BOOKING = "/api/booking"
BROWSER = "192.0.2.44"


def _mobile() -> str:
    return f"+7916{random.randrange(10**7):07d}"


Record = Callable[[str, str], Awaitable[dict[str, Any]]]


async def test_each_audited_action_leaves_exactly_one_record(
    settings_env: dict[str, str], running_service: Any, infra: Any
) -> None:
    from switchboard_analytics.bootstrap import build_app as build_analytics
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_booking.bootstrap import build_app as build_booking
    from switchboard_booking.entrypoints.seed import seed
    from switchboard_booking.settings import BookingSettings
    from switchboard_crm_touch.bootstrap import build_app as build_crm
    from switchboard_crm_touch.settings import CrmTouchSettings
    from switchboard_telephony.bootstrap import build_app as build_telephony
    from switchboard_telephony.settings import TelephonySettings

    booking_app = build_booking(BookingSettings(log_json=False))
    analytics_app = build_analytics(AnalyticsSettings(log_json=False))
    telephony_app = build_telephony(TelephonySettings(log_json=False))
    # As under `make run`: touches are created although telephony never sent the switch.
    crm_app = build_crm(CrmTouchSettings(log_json=False, calltouch_enabled_default=True))
    async with (
        running_service(booking_app) as booking,
        running_service(analytics_app) as analytics,
        running_service(telephony_app) as telephony,
        running_service(crm_app) as crm,
    ):
        await seed(booking_app.state.runtime.sessions, booking_app.state.runtime.settings)
        login = await booking.post(
            f"{BOOKING}/auth/login", json={"username": "admin", "password": "admin"}
        )
        assert login.status_code == 200, login.text
        booking.cookies.clear()
        token = login.json()["token"]
        admin = {
            "Authorization": f"Bearer {token}",
            "X-Forwarded-For": BROWSER,
            "User-Agent": "Chromium audit test",
        }

        async def records(**params: str) -> list[dict[str, Any]]:
            page = await analytics.get("/api/analytics/audit", params=params, headers=admin)
            assert page.status_code == 200, page.text
            return list(page.json()["items"])

        async def one_record(action: str, subject_id: str) -> dict[str, Any]:
            found = await wait_until(
                lambda: records(action=action, subject_id=subject_id),
                timeout=30,
                message=f"{action} of {subject_id} on record",
            )
            assert len(found) == 1, found
            record = found[0]
            assert (record["actor_id"], record["actor_role"]) == ("op-admin", "admin")
            assert (record["client_address"], record["user_agent"]) == (
                BROWSER,
                "Chromium audit test",
            )
            return record

        async def new_client(first: str, last: str) -> str:
            response = await booking.post(
                f"{BOOKING}/clients",
                headers=admin,
                json={"first_name": first, "last_name": last, "mobile": _mobile()},
            )
            assert response.status_code == 201, response.text
            return str(response.json()["client_id"])

        # A client's card viewed.
        viewed = await new_client("Irina", "Volkova")
        assert (await booking.get(f"{BOOKING}/clients/{viewed}", headers=admin)).status_code == 200
        record = await one_record("client.viewed", viewed)
        assert (record["subject_type"], record["producer"]) == ("client", "booking")
        # A card that does not exist was not viewed.
        missing = await booking.get(f"{BOOKING}/clients/no-such-client", headers=admin)
        assert missing.status_code == 404

        # Clients merged.
        duplicate = await new_client("Oleg", "Sokolov")
        primary = await new_client("Oleg", "Sokolov-Petrov")
        merged = await booking.post(
            f"{BOOKING}/clients/merge",
            headers=admin,
            json={"primary_client_id": primary, "duplicate_client_id": duplicate},
        )
        assert merged.status_code == 200, merged.text
        record = await one_record("clients.merged", primary)
        assert record["details"] == {"duplicate_client_id": duplicate}

        # An operator created, changed, deactivated; their sessions ended.
        operator_id = f"op-audit-{random.randrange(10**6)}"
        created = await booking.post(
            f"{BOOKING}/operators",
            headers=admin,
            json={
                "operator_id": operator_id,
                "name": "Nina Audit",
                "username": operator_id,
                "password": "a-long-password-1",
                "role": "call_centre",
            },
        )
        assert created.status_code == 201, created.text
        record = await one_record("operator.created", operator_id)
        assert record["details"]["fields"]["password"] == "(changed)"
        assert "a-long-password-1" not in str(record)
        changed = await booking.patch(
            f"{BOOKING}/operators/{operator_id}", headers=admin, json={"role": "manager"}
        )
        assert changed.status_code == 200, changed.text
        record = await one_record("operator.changed", operator_id)
        assert record["details"] == {"fields": {"role": "manager"}}
        ended = await booking.post(f"{BOOKING}/operators/{operator_id}/sessions/end", headers=admin)
        assert ended.status_code == 204, ended.text
        await one_record("operator.sessions_ended", operator_id)
        reset = await booking.post(
            f"{BOOKING}/operators/{operator_id}/password-reset", headers=admin, json={}
        )
        assert reset.status_code == 200, reset.text
        record = await one_record("operator.password_reset", operator_id)
        assert reset.json()["temporary_password"] not in str(record)
        deactivated = await booking.patch(
            f"{BOOKING}/operators/{operator_id}", headers=admin, json={"active": False}
        )
        assert deactivated.status_code == 200, deactivated.text
        await one_record("operator.deactivated", operator_id)

        # Telephony: integration settings, a DID, an extension.
        settings = await telephony.put(
            "/api/telephony/settings/integrations/calltouch",
            headers=admin,
            json={
                "enabled": True,
                "call_data_url": "https://calltouch.example/calls",
                "request_data_url": "https://calltouch.example/requests",
                "integration_id": "ct-77",
                "token": "calltouch-secret-token",
                "time_lag_minutes": 0,
            },
        )
        assert settings.status_code == 200, settings.text
        record = await one_record("integration_settings.changed", "calltouch")
        assert record["producer"] == "telephony"
        assert "token" in record["details"]["changed"]
        assert "calltouch-secret-token" not in str(record)
        extension = str(random.randrange(1000, 9999))
        added = await telephony.post(
            "/api/telephony/extensions",
            headers=admin,
            json={"extension": extension, "clinic_id": None, "description": "Audit desk"},
        )
        assert added.status_code == 201, added.text
        record = await one_record("extension.created", extension)
        assert record["details"]["fields"]["description"] == "Audit desk"

        await _directory_changes(booking, admin, one_record)
        await _crm_touch_actions(crm, admin, one_record, settings_env, infra)

        # Another role than admin cannot read the trail.
        secret = analytics_app.state.runtime.settings.auth_secret.get_secret_value()
        manager = {
            "Authorization": "Bearer "
            + issue_token(Principal("op-maria", "Maria", "manager"), secret)
        }
        refused = await analytics.get("/api/analytics/audit", headers=manager)
        assert refused.status_code == 403


async def _directory_changes(
    booking: httpx.AsyncClient, admin: dict[str, str], one_record: Record
) -> None:
    """Booking's directory: each kind of entry created and changed (with the fields set);
    a clinic's notification template given and taken back to the built-in one."""
    suffix = uuid.uuid4().hex[:8]
    entries = {
        "clinic": ("clinics", {"name": f"Audit clinic {suffix}", "time_zone": "Europe/Moscow"}),
        "service": (
            "services",
            {
                "name": f"Audit service {suffix}",
                "duration_minutes": 30,
                "meeting_methods": ["in_person"],
            },
        ),
        "practitioner": ("practitioners", {"name": f"Dr Audit {suffix}"}),
        "call_center": ("call-centers", {"name": f"Audit desk {suffix}", "kind": "external"}),
    }
    ids: dict[str, str] = {}
    for subject, (path, body) in entries.items():
        created = await booking.post(f"{BOOKING}/{path}", headers=admin, json=body)
        assert created.status_code == 201, created.text
        entry_id = ids[subject] = str(created.json()[f"{subject}_id"])
        record = await one_record(f"{subject}.created", entry_id)
        assert record["subject_type"] == subject
        assert record["details"]["fields"]["name"] == body["name"]
        changed = await booking.patch(
            f"{BOOKING}/{path}/{entry_id}", headers=admin, json={"active": False}
        )
        assert changed.status_code == 200, changed.text
        record = await one_record(f"{subject}.changed", entry_id)
        assert record["details"] == {"fields": {"active": False}}

    template_id = f"{ids['clinic']}/booked/sms/en"
    template = f"{BOOKING}/notification-templates/{template_id}"
    saved = await booking.put(template, headers=admin, json={"body": "See you, {{ client_name }}"})
    assert saved.status_code == 200, saved.text
    record = await one_record("notification_template.changed", template_id)
    assert record["details"]["fields"]["body"] == "See you, {{ client_name }}"
    restored = await booking.delete(template, headers=admin)
    assert restored.status_code == 200, restored.text
    await one_record("notification_template.reset", template_id)


async def _crm_touch_actions(
    crm: httpx.AsyncClient,
    admin: dict[str, str],
    one_record: Record,
    settings_env: dict[str, str],
    infra: Any,
) -> None:
    """crm-touch: a touch changed (the fields' names, never the notes), a contact's card
    and timeline viewed (not a card that does not exist)."""
    call_id = f"audit-{uuid.uuid4().hex[:10]}"
    started = CallStarted(
        call_id=call_id,
        direction="incoming",
        caller=_mobile(),
        callee="101",
        extension="101",
        clinic_id="clinic-msk",
        started_at=datetime.now(UTC),
    )
    envelope = make_envelope(started, producer="telephony", occurred_at=started.started_at)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            settings_env["TOPIC_PREFIX"] + "telephony.calls",
            envelope.to_bytes(),
            key=call_id.encode(),
        )
    finally:
        await producer.stop()

    async def touches() -> list[dict[str, Any]]:
        page = await crm.get("/api/crm/touches", params={"call_id": call_id}, headers=admin)
        assert page.status_code == 200, page.text
        return list(page.json()["items"])

    [touch] = await wait_until(touches, timeout=30, message="the call's touch")
    touch_id, contact_id = touch["touch_id"], touch["contact"]["id"]
    changed = await crm.patch(
        f"/api/crm/touches/{touch_id}",
        headers=admin,
        json={"status": "done", "notes": "asked about a private matter"},
    )
    assert changed.status_code == 200, changed.text
    record = await one_record("touch.changed", touch_id)
    assert (record["subject_type"], record["producer"]) == ("touch", "crm-touch")
    assert record["details"] == {"changed": ["notes", "status"]}
    assert "private matter" not in str(record)

    timeline = await crm.get(f"/api/crm/contacts/{contact_id}/timeline", headers=admin)
    assert timeline.status_code == 200, timeline.text
    record = await one_record("contact.timeline_viewed", contact_id)
    assert (record["subject_type"], record["producer"]) == ("contact", "crm-touch")
    card = await crm.get(f"/api/crm/contacts/{contact_id}", headers=admin)
    assert card.status_code == 200, card.text
    record = await one_record("contact.viewed", contact_id)
    assert record["subject_type"] == "contact"
    missing = await crm.get("/api/crm/contacts/no-such-contact", headers=admin)
    assert missing.status_code == 404
