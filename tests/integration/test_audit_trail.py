"""Each audited action in booking and telephony leaves exactly one record in analytics'
audit trail, end to end through the services' real APIs, real Kafka and PostgreSQL: who
(the session's operator), what, which record, and from where (the address the console
gateway forwarded; the test client is the gateway's peer, on loopback)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BOOKING = "/api/booking"
BROWSER = "192.0.2.44"


def _mobile() -> str:
    return f"+7916{random.randrange(10**7):07d}"


async def test_each_audited_action_leaves_exactly_one_record(
    settings_env: dict[str, str], running_service: Any
) -> None:
    from switchboard_analytics.bootstrap import build_app as build_analytics
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_booking.bootstrap import build_app as build_booking
    from switchboard_booking.entrypoints.seed import seed
    from switchboard_booking.settings import BookingSettings
    from switchboard_telephony.bootstrap import build_app as build_telephony
    from switchboard_telephony.settings import TelephonySettings

    booking_app = build_booking(BookingSettings(log_json=False))
    analytics_app = build_analytics(AnalyticsSettings(log_json=False))
    telephony_app = build_telephony(TelephonySettings(log_json=False))
    async with (
        running_service(booking_app) as booking,
        running_service(analytics_app) as analytics,
        running_service(telephony_app) as telephony,
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

        # Another role than admin cannot read the trail.
        secret = analytics_app.state.runtime.settings.auth_secret.get_secret_value()
        manager = {
            "Authorization": "Bearer "
            + issue_token(Principal("op-maria", "Maria", "manager"), secret)
        }
        refused = await analytics.get("/api/analytics/audit", headers=manager)
        assert refused.status_code == 403
