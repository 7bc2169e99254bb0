"""Pop-ups identify the caller with touch creation switched off, as on a new deployment.

booking (its real API: two admins sharing one extension, a patient) → ``booking.directory``
and ``booking.clients``; crm-touch with touch creation off (its fresh-deployment default);
two notify replicas with the admins' consoles connected over real WebSockets. Calls enter
``telephony.calls`` as telephony publishes them. The known patient's name reaches every
admin, an unknown number shows as unknown with the number, and with crm-touch stopped the
pop-up still appears and shows the number once the identification bound has passed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from switchboard_contracts import CallStarted
from switchboard_runtime.testing import wait_until
from switchboard_runtime.testing.live import (
    EventFeed,
    LiveServer,
    WsClient,
    start_server,
    stop_server,
)
from switchboard_runtime.testing.plugin import TopicReader

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BOOKING = "/api/booking"
#: Short enough to wait for in a test, long enough for crm-touch to answer first.
IDENTIFICATION_BOUND_SECONDS = 3.0


def _mobile() -> tuple[str, str, str]:
    """A fresh Russian mobile: (E.164, as the PBX writes it, as the pop-up shows it)."""
    digits = f"{random.randrange(10**7):07d}"
    return (
        f"+7915{digits}",
        f"8 (915) {digits[:3]}-{digits[3:5]}-{digits[5:]}",
        f"+7 915 {digits[:3]}-{digits[3:5]}-{digits[5:]}",
    )


def _ringing(call_id: str, caller: str, extension: str) -> CallStarted:
    return CallStarted(
        call_id=call_id,
        direction="incoming",
        caller=caller,
        callee="+74951234567",
        extension=extension,
        clinic_id="clinic-msk-center",
        started_at=datetime.now(UTC),
    )


@asynccontextmanager
async def _notify_replicas(**isolated: str) -> AsyncIterator[list[LiveServer]]:
    """Two notify replicas of one deployment, with the test's identification bound."""
    from switchboard_notify.bootstrap import build_app
    from switchboard_notify.settings import NotifySettings

    replicas: list[LiveServer] = []
    try:
        for _ in range(2):
            settings = NotifySettings(
                log_json=False,
                identification_timeout_seconds=IDENTIFICATION_BOUND_SECONDS,
                **isolated,  # type: ignore[arg-type]
            )
            replicas.append(await start_server(build_app(settings)))
        yield replicas
    finally:
        for replica in replicas:
            await stop_server(replica)


async def test_pop_ups_identify_callers_with_touch_creation_off(
    run_id: str, running_service: Any, infra: Any
) -> None:
    from switchboard_booking.bootstrap import build_app as build_booking
    from switchboard_booking.entrypoints.seed import seed
    from switchboard_booking.settings import BookingSettings
    from switchboard_crm_touch.bootstrap import build_app as build_crm
    from switchboard_crm_touch.settings import CrmTouchSettings

    patient_e164, patient_as_dialled, patient_display = _mobile()
    stranger_e164, stranger_as_dialled, stranger_display = _mobile()
    run = uuid.uuid4().hex[:8]
    extension = str(700_000 + random.randrange(100_000))
    # Topics and databases of its own (within this run's, so the run's clean-up removes
    # them): a fresh deployment, where no Calltouch switch was ever seen, whatever other
    # tests of the run switched.
    isolated = {"topic_prefix": f"t{run_id}.pi.", "database_suffix": f"_pi_{run_id}"}
    crm_events = TopicReader(infra.kafka_bootstrap_servers, f"t{run_id}.pi.crm.touches")
    booking_app = build_booking(BookingSettings(log_json=False, **isolated))
    crm_app = build_crm(
        CrmTouchSettings(log_json=False, calltouch_enabled_default=False, **isolated)
    )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    feed = EventFeed(producer, isolated["topic_prefix"])
    consoles: list[WsClient] = []
    try:
        async with (
            _notify_replicas(**isolated) as replicas,
            running_service(booking_app) as booking,
        ):
            await crm_events.start()
            await seed(booking_app.state.runtime.sessions, booking_app.state.runtime.settings)
            admin = await _login(booking, "admin", "admin")
            # Two admins of one call center share a new extension; a patient with a mobile.
            admins = []
            for n, name in enumerate(("Irina Popova", "Oleg Sidorov")):
                username = f"shared{n}-{run}"
                response = await booking.post(
                    f"{BOOKING}/operators",
                    headers=admin,
                    json={
                        "name": name,
                        "username": username,
                        "password": f"pw-{run}-{n}",
                        "role": "call_centre",
                        "call_center_id": "cc-central",
                        "extension": extension,
                    },
                )
                assert response.status_code == 201, response.text
                admins.append((name, await _login(booking, username, f"pw-{run}-{n}")))
            response = await booking.post(
                f"{BOOKING}/clients",
                headers=admin,
                json={"first_name": "Nadezhda", "last_name": "Belova", "mobile": patient_e164},
            )
            assert response.status_code == 201, response.text
            patient_id = response.json()["client_id"]

            async with running_service(crm_app) as crm:
                await _until_crm_knows(crm, admin, patient_e164, patient_id)
                # Each admin's console on another replica, once notify knows the extension.
                for (name, headers), replica in zip(admins, replicas, strict=True):
                    await _until_notify_places(replica, headers, extension)
                    token = headers["Authorization"].removeprefix("Bearer ")
                    console = WsClient(replica.websocket("/api/notify/ws"), token, name)
                    consoles.append(await console.open())

                known = f"ident-known-{run}"
                await feed.send(_ringing(known, patient_as_dialled, extension), producer="t")
                for console in consoles:
                    shown = await console.wait_for(
                        lambda m: m.get("call_id") == known and m.get("identification") == "known",
                        message="the patient's name",
                    )
                    assert shown["contact"]["name"] == "Nadezhda Belova"
                    assert shown["contact"]["link"] == f"/clients/{patient_id}"
                    assert shown["caller"]["display"] == patient_display

                unknown = f"ident-unknown-{run}"
                await feed.send(_ringing(unknown, stranger_as_dialled, extension), producer="t")
                for console in consoles:
                    shown = await console.wait_for(
                        lambda m: (
                            m.get("call_id") == unknown and m.get("identification") == "unknown"
                        ),
                        message="the unknown number",
                    )
                    assert shown["contact"] is None
                    assert shown["caller"] == {"number": stranger_e164, "display": stranger_display}

                # crm-touch said so itself (not the bound): and recorded no touch for either.
                await crm_events.wait_for(
                    lambda _: (
                        {e["payload"]["call_id"] for e in _identified(crm_events)}
                        >= {known, unknown}
                    ),
                    message="CallerIdentified of both calls",
                )
                assert not [
                    e
                    for e in crm_events.values()
                    if e["event_type"] == "TouchCreated"
                    and e["payload"]["call_id"] in (known, unknown)
                ]

            # crm-touch is stopped: the pop-up still appears, pending, then shows the number.
            alone = f"ident-alone-{run}"
            await feed.send(_ringing(alone, patient_as_dialled, extension), producer="t")
            for console in consoles:
                unknown_shown = await console.wait_for(
                    lambda m: m.get("call_id") == alone and m.get("identification") == "unknown",
                    timeout=IDENTIFICATION_BOUND_SECONDS + 30,
                    message="the number after the bound",
                )
                first = console.about(alone, "call.popup")[0]
                assert (first["update"], first["identification"]) == (False, "pending")
                assert first["caller"]["display"] == patient_display
                assert unknown_shown["update"] is True
                assert unknown_shown["caller"]["display"] == patient_display
                waited = datetime.fromisoformat(unknown_shown["ringing_since"])
                assert (datetime.now(UTC) - waited).total_seconds() >= IDENTIFICATION_BOUND_SECONDS
    finally:
        for console in consoles:
            await console.close()
        await crm_events.stop()
        await producer.stop()


def _identified(reader: Any) -> list[dict[str, Any]]:
    return [e for e in reader.values() if e["event_type"] == "CallerIdentified"]


async def _login(booking: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await booking.post(
        f"{BOOKING}/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    booking.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _until_crm_knows(
    crm: httpx.AsyncClient, headers: dict[str, str], phone: str, client_id: str
) -> None:
    async def known() -> bool:
        response = await crm.get("/api/crm/identify", params={"phone": phone}, headers=headers)
        contact = response.json().get("contact") if response.status_code == 200 else None
        return contact is not None and contact["id"] == client_id

    await wait_until(known, timeout=30, message="crm-touch knows the patient's number")


async def _until_notify_places(
    replica: LiveServer, headers: dict[str, str], extension: str
) -> None:
    async with httpx.AsyncClient(base_url=replica.http) as client:

        async def placed() -> bool:
            response = await client.get("/api/notify/me", headers=headers)
            if response.status_code != 200:
                return False
            body = response.json()
            return body["extensions_source"] == "directory" and body["extensions"] == [extension]

        await wait_until(placed, timeout=60, message="notify's directory has the admin")
