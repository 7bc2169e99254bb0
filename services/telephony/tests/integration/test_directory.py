"""DIDs and extensions (admin API), operators from booking's directory events, and the
clinic and extension that ``CallStarted`` carries because of them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DIDS = "/api/telephony/dids"
EXTENSIONS = "/api/telephony/extensions"


async def test_only_admins_manage_dids_and_extensions(start_telephony: Any, helpers: Any) -> None:
    body = {"did": "+74951112233", "clinic_id": "clinic-msk"}
    async with start_telephony(helpers.unique_tag("dirroles")) as telephony:
        client = telephony.client
        for role, code in ((None, 401), ("call_centre", 403), ("manager", 403), ("admin", 200)):
            headers = telephony.auth(role)
            assert (await client.get(DIDS, headers=headers)).status_code == code, role
            assert (await client.get(EXTENSIONS, headers=headers)).status_code == code, role
            if role != "admin":
                created = await client.post(DIDS, json=body, headers=headers)
                assert created.status_code == code, role
        assert (await client.get(DIDS, headers=telephony.auth("admin"))).json() == {"items": []}


async def test_dids_and_extensions_route_calls_and_operators_share_extensions(
    start_telephony: Any, topic_reader: Any, infra: Any, helpers: Any
) -> None:
    from aiokafka import AIOKafkaProducer

    from switchboard_contracts import ClinicChanged, OperatorChanged, make_envelope

    suffix = uuid.uuid4().hex[:6]
    async with start_telephony(helpers.unique_tag("dir")) as telephony:
        client = telephony.client
        admin = telephony.auth("admin")
        calls_topic = await topic_reader(telephony.logical("telephony.calls"))
        settings_topic = await topic_reader(telephony.logical("telephony.directory"))

        # --- DIDs: any spelling in, E.164 stored; clear 4xx for what is wrong
        created = await client.post(
            DIDS,
            json={"did": "8 (495) 123-45-67", "clinic_id": "clinic-msk", "description": "main"},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        assert created.json()["did"] == "+74951234567"
        again = await client.post(
            DIDS, json={"did": "+74951234567", "clinic_id": "clinic-x"}, headers=admin
        )
        assert again.status_code == 409
        for bad, field in (
            ({"did": "101", "clinic_id": "c"}, "did"),
            ({"did": "call me", "clinic_id": "c"}, "did"),
            ({"did": "+74950000001", "clinic_id": ""}, "clinic_id"),
            ({"did": "+74950000001"}, "clinic_id"),
            ({"did": "+74950000001", "clinic_id": "c", "colour": "red"}, "colour"),
        ):
            response = await client.post(DIDS, json=bad, headers=admin)
            assert response.status_code == 422, (bad, response.text)
            assert field in [e["field"] for e in response.json()["errors"]], response.text
        moved = await client.put(
            f"{DIDS}/84951234567", json={"clinic_id": "clinic-msk-center"}, headers=admin
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["clinic_id"] == "clinic-msk-center"
        assert (await client.get(f"{DIDS}/+74951234567", headers=admin)).json()[
            "clinic_id"
        ] == "clinic-msk-center"
        assert (await client.get(f"{DIDS}/+74950000009", headers=admin)).status_code == 404
        assert (
            await client.put(f"{DIDS}/+74950000009", json={"clinic_id": "c"}, headers=admin)
        ).status_code == 404
        spb = await client.post(
            DIDS, json={"did": "+78125550000", "clinic_id": "clinic-spb"}, headers=admin
        )
        assert spb.status_code == 201
        assert (await client.delete(f"{DIDS}/+78125550000", headers=admin)).status_code == 204
        assert (await client.delete(f"{DIDS}/+78125550000", headers=admin)).status_code == 404
        listed = (await client.get(DIDS, headers=admin)).json()["items"]
        assert [(d["did"], d["clinic_id"]) for d in listed] == [
            ("+74951234567", "clinic-msk-center")
        ]
        # Every change is published (analytics labels reports with the description).
        await settings_topic.wait_for(lambda records: len(records) >= 4, message="DidChanged")
        # Each number's events in order (one key, one partition; numbers may interleave).
        fields = ("did", "clinic_id", "description", "active")
        published = [
            (r.key, e["event_type"], *(e["payload"][f] for f in fields))
            for r, e in zip(
                settings_topic.records, helpers.envelopes(settings_topic.records), strict=True
            )
        ]
        assert [p[1:] for p in sorted(published, key=lambda p: p[0])] == [
            ("DidChanged", "+74951234567", "clinic-msk", "main", True),
            ("DidChanged", "+74951234567", "clinic-msk-center", None, True),
            ("DidChanged", "+78125550000", "clinic-spb", None, True),
            ("DidChanged", "+78125550000", "clinic-spb", None, False),
        ]
        assert {p[0] for p in published} == {b"+74951234567", b"+78125550000"}

        # --- extensions
        ext = await client.post(
            EXTENSIONS, json={"extension": "201", "clinic_id": "clinic-spb"}, headers=admin
        )
        assert ext.status_code == 201, ext.text
        assert ext.json()["configured"] is True
        for bad in ({"extension": "20a"}, {"extension": ""}, {"extension": "1" * 20}):
            response = await client.post(EXTENSIONS, json=bad, headers=admin)
            assert response.status_code == 422, (bad, response.text)
            assert response.json()["errors"][0]["field"] == "extension"
        assert (
            await client.post(EXTENSIONS, json={"extension": "201"}, headers=admin)
        ).status_code == 409
        assert (await client.get(f"{EXTENSIONS}/555", headers=admin)).status_code == 404

        # --- operators come from booking's directory events
        now = datetime.now(UTC)

        def operator(op: str, extension: str | None, active: bool = True) -> OperatorChanged:
            return OperatorChanged(
                operator_id=f"{op}-{suffix}",
                name=op.title(),
                role="call_centre",
                call_center_id="cc-1",
                extension=extension,
                active=active,
            )

        messages = [
            (operator("anna", "201"), now),
            (operator("boris", "201"), now),
            (operator("vera", "700001"), now),
            (operator("gleb", "201", active=False), now),
            # Booking's older change of Anna, delivered late: the newer one stays.
            (operator("anna", "999"), now - timedelta(minutes=5)),
            (
                ClinicChanged(clinic_id="clinic-spb", name="SPb", time_zone="Europe/Moscow"),
                now,
            ),
            # Last on the partition: once Zoe is known, everything before her was processed.
            (operator("zoe", "301"), now),
        ]
        producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
        await producer.start()
        try:
            topic = telephony.topic("booking.directory")
            for event, occurred_at in messages:
                envelope = make_envelope(event, producer="booking", occurred_at=occurred_at)
                await producer.send_and_wait(topic, envelope.to_bytes(), key=b"directory")
        finally:
            await producer.stop()

        async def last_one_processed() -> bool:
            response = await client.get(f"{EXTENSIONS}/301", headers=admin)
            return response.status_code == 200

        await wait_until(last_one_processed, message="every directory event processed")
        ext_201 = (await client.get(f"{EXTENSIONS}/201", headers=admin)).json()
        assert [o["operator_id"] for o in ext_201["operators"]] == [
            f"anna-{suffix}",
            f"boris-{suffix}",
        ]
        assert ext_201["clinic_id"] == "clinic-spb"
        vera = (await client.get(f"{EXTENSIONS}/700001", headers=admin)).json()
        assert vera["configured"] is False
        assert [o["operator_id"] for o in vera["operators"]] == [f"vera-{suffix}"]
        listing = (await client.get(EXTENSIONS, headers=admin)).json()["items"]
        assert [e["extension"] for e in listing] == ["201", "301", "700001"]
        assert (await client.get(f"{EXTENSIONS}/999", headers=admin)).status_code == 404

        # The state machine's directory follows (a six-digit extension is now known).
        config = telephony.app.state.config
        await wait_until(
            lambda: _known(config, "700001"), message="700001 in the state machine's directory"
        )

        # --- calls
        start = helpers.recent_second(minutes_ago=5)
        did_call, ext_call, out_call = (f"{k}-{suffix}" for k in ("did", "ext", "out"))
        events = [
            {
                "type": "call.started",
                "call_id": did_call,
                "timestamp": helpers.pbx_time(start),
                "from": "+79165550121",
                "to": "84951234567",
                "extension": "101",
            },
            {
                "type": "call.started",
                "call_id": ext_call,
                "timestamp": helpers.pbx_time(start),
                "from": "+79165550122",
                "to": "201",
            },
            {
                "type": "call.started",
                "call_id": out_call,
                "timestamp": helpers.pbx_time(start),
                "from": "700001",
                "to": "8 916 555-01-23",
            },
        ]
        assert (await telephony.post_events(events)).status_code == 202
        await calls_topic.wait_for(
            lambda records: all(
                helpers.by_call(records).get(c) for c in (did_call, ext_call, out_call)
            ),
            message="three CallStarted",
        )

    calls = helpers.by_call(calls_topic.records)
    by_did = helpers.one(calls[did_call], "CallStarted")
    assert (by_did["clinic_id"], by_did["extension"], by_did["did"]) == (
        "clinic-msk-center",
        "101",
        "+74951234567",
    )
    by_ext = helpers.one(calls[ext_call], "CallStarted")
    assert (by_ext["clinic_id"], by_ext["extension"], by_ext["direction"]) == (
        "clinic-spb",
        "201",
        "incoming",
    )
    outgoing = helpers.one(calls[out_call], "CallStarted")
    assert (outgoing["direction"], outgoing["extension"], outgoing["callee"]) == (
        "outgoing",
        "700001",
        "+79165550123",
    )


async def _known(config: Any, extension: str) -> bool:
    return extension in config.directory.extensions


async def test_publish_dids_tells_the_platform_numbers_configured_before_the_event(
    start_telephony: Any, topic_reader: Any, helpers: Any
) -> None:
    """Numbers stored without an event (an older release) reach the topic once
    ``publish-dids`` runs, described as they are stored."""
    from switchboard_runtime.db import make_engine, make_session_factory
    from switchboard_telephony.adapters import directory_repository
    from switchboard_telephony.entrypoints.did_commands import publish_dids

    async with start_telephony(helpers.unique_tag("pubdids")) as telephony:
        numbers = await topic_reader(telephony.logical("telephony.directory"))
        engine = make_engine(telephony.settings.service_database_url, pool_size=1)
        try:
            async with make_session_factory(engine)() as session, session.begin():
                for did, description in (("+74957000001", "Old flyer"), ("+74957000002", None)):
                    await directory_repository.insert_did(session, did, "clinic-old", description)
        finally:
            await engine.dispose()
        assert await publish_dids(telephony.settings) == ["+74957000001", "+74957000002"]
        await numbers.wait_for(lambda records: len(records) >= 2, message="DidChanged")
    published = {
        e["payload"]["did"]: (e["payload"]["clinic_id"], e["payload"]["description"])
        for e in helpers.envelopes(numbers.records)
    }
    assert published == {
        "+74957000001": ("clinic-old", "Old flyer"),
        "+74957000002": ("clinic-old", None),
    }
