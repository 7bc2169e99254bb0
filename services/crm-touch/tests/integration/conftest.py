"""crm-touch started for real (PostgreSQL, Kafka, outbox relay), once for these tests, and
what they need around it: a producer onto this run's input topics, operator tokens, and a
reader of ``crm.touches``."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest_asyncio
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from switchboard_contracts import (
    CallAnswered,
    CallEnded,
    CallStarted,
    ClientRegistered,
    Envelope,
    Event,
    IntegrationSettingsChanged,
    make_envelope,
    message_key,
    topic_for,
)
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until
from switchboard_runtime.testing.plugin import TopicReader


def random_mobile() -> str:
    """A valid Russian mobile number (E.164) no other test uses."""
    return f"+7916{random.randrange(10**7):07d}"


# --- event builders ------------------------------------------------------------------------


def new_call_id() -> str:
    """A fresh call id."""
    return f"call-{uuid.uuid4().hex[:12]}"


def call_started(
    call_id: str, caller: str, *, direction: str = "incoming", **kw: Any
) -> CallStarted:
    """A CallStarted happening now, ringing extension 101 of clinic-msk."""
    values: dict[str, Any] = {
        "call_id": call_id,
        "direction": direction,
        "caller": caller,
        "callee": "101",
        "extension": "101",
        "clinic_id": "clinic-msk",
        "started_at": datetime.now(UTC).replace(microsecond=0),
    }
    values.update(kw)
    return CallStarted(**values)


def call_answered(started: CallStarted, operator_id: str = "op-anna") -> CallAnswered:
    """The call answered 6 s after it started."""
    return CallAnswered(
        call_id=started.call_id,
        answered_at=started.started_at + timedelta(seconds=6),
        extension=started.extension,
        operator_id=operator_id,
    )


def call_ended(started: CallStarted, *, answered: bool = True) -> CallEnded:
    """The call's end: 6 s wait and 75 s talk when answered, else missed after 20 s."""
    talk = 75 if answered else 0
    wait = 6 if answered else 20
    return CallEnded(
        call_id=started.call_id,
        ended_at=started.started_at + timedelta(seconds=wait + talk),
        disposition="answered" if answered else "missed",
        wait_seconds=wait,
        talk_seconds=talk,
        total_seconds=wait + talk,
        direction=started.direction,
        caller=started.caller,
        callee=started.callee,
        extension=started.extension,
        clinic_id=started.clinic_id,
        started_at=started.started_at,
        answered_at=started.started_at + timedelta(seconds=6) if answered else None,
        operator_id="op-anna" if answered else None,
    )


async def register_client(
    crm: Crm, name: str, phones: list[str], *, occurred_at: datetime | None = None, **kw: Any
) -> str:
    """Publish a ClientRegistered as booking would; wait until crm-touch applied it."""
    client_id = str(uuid.uuid4())
    first, last = name.split()
    envelope = await crm.publish(
        ClientRegistered(
            client_id=client_id,
            first_name=first,
            last_name=last,
            display_name=name,
            phones=phones,
            **kw,
        ),
        occurred_at=occurred_at,
    )
    await crm.wait_processed(envelope)
    return client_id


@dataclass
class Crm:
    """The running service, a client for its API, and ways to feed and watch it."""

    app: FastAPI
    client: httpx.AsyncClient
    producer: AIOKafkaProducer
    topic_prefix: str
    touches: TopicReader
    bootstrap: str

    def headers(self, role: str = "call_centre", operator_id: str = "op-test") -> dict[str, str]:
        """A session for an operator of ``role``, signed with the shared secret."""
        secret = self.app.state.runtime.settings.auth_secret.get_secret_value()
        token = issue_token(Principal(operator_id, "Test Operator", role), secret)  # type: ignore[arg-type]
        return {"Authorization": f"Bearer {token}"}

    async def get(self, url: str, role: str = "call_centre", **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.headers(role))

    async def patch(self, url: str, body: Any, role: str = "call_centre") -> httpx.Response:
        return await self.client.patch(url, json=body, headers=self.headers(role))

    async def publish(
        self,
        event: Event,
        *,
        occurred_at: datetime | None = None,
        event_id: UUID | None = None,
    ) -> Envelope[Any]:
        """Publish ``event`` onto this run's topic for it, keyed as the contracts say."""
        envelope = make_envelope(
            event,
            producer="test",
            occurred_at=occurred_at or datetime.now(UTC),
            event_id=event_id,
        )
        await self.send(envelope)
        return envelope

    async def send(self, envelope: Envelope[Any]) -> None:
        """Publish an envelope as it is (again, for duplicates)."""
        await self.producer.send_and_wait(
            self.topic_prefix + topic_for(envelope.event_type),
            envelope.to_bytes(),
            key=message_key(envelope.payload).encode(),
        )

    def touch_events(self, **payload: Any) -> list[dict[str, Any]]:
        """Touch events read so far from crm.touches whose payload has these values."""
        return [e for e in self._crm_events(**payload) if e["event_type"] != "CallerIdentified"]

    def identifications(self, call_id: str) -> list[dict[str, Any]]:
        """The ``CallerIdentified`` payloads of a call read so far from crm.touches."""
        return [
            e["payload"]
            for e in self._crm_events(call_id=call_id)
            if e["event_type"] == "CallerIdentified"
        ]

    def _crm_events(self, **payload: Any) -> list[dict[str, Any]]:
        out = []
        for record in self.touches.records:
            value = json.loads(record.value)
            if all(value["payload"].get(k) == v for k, v in payload.items()):
                out.append(value)
        return out

    async def wait_touch_events(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        message: str,
        timeout: float = 20.0,
        **payload: Any,
    ) -> list[dict[str, Any]]:
        """Wait until the crm.touches envelopes matching ``payload`` satisfy ``predicate``."""
        await self.touches.wait_for(
            lambda _records: predicate(self.touch_events(**payload)),
            message=message,
            timeout=timeout,
        )
        return self.touch_events(**payload)

    async def touch_created(self, call_id: str) -> dict[str, Any]:
        """The one TouchCreated of a call (waiting for it)."""
        found = await self.wait_touch_events(
            lambda evs: any(e["event_type"] == "TouchCreated" for e in evs),
            f"TouchCreated of {call_id}",
            call_id=call_id,
        )
        return next(e for e in found if e["event_type"] == "TouchCreated")

    async def caught_up(self) -> None:
        """Wait until everything crm-touch staged is published and read back by
        ``touches``: its outbox is empty, and the reader has reached every partition's end."""

        async def outbox_empty() -> bool:
            async with self.app.state.runtime.sessions() as session:
                return not await session.scalar(sa.text("SELECT count(*) FROM outbox"))

        await wait_until(outbox_empty, timeout=20, message="crm-touch's outbox drained")
        await self.touches.read_to_end(timeout=20)

    async def set_calltouch(self, enabled: bool) -> None:
        """Switch Calltouch as telephony would, and wait until crm-touch follows."""
        changed_at = datetime.now(UTC)
        await self.publish(
            IntegrationSettingsChanged(
                integration="calltouch", enabled=enabled, changed_at=changed_at
            )
        )

        async def applied() -> bool:
            body = (await self.get("/api/crm/settings")).json()
            return bool(
                body["source"] == "telephony"
                and body["calltouch_enabled"] is enabled
                and datetime.fromisoformat(body["changed_at"]) >= changed_at
            )

        await wait_until(applied, timeout=20, message=f"calltouch enabled={enabled}")

    async def call_decision(self, call_id: str) -> str | None:
        """What crm-touch decided about a call's touch (``None`` until it saw the call)."""
        from switchboard_crm_touch.adapters.tables import calls

        async with self.app.state.runtime.sessions() as session:
            return await session.scalar(
                sa.select(calls.c.touch_decision).where(calls.c.call_id == call_id)
            )

    async def processed(self, envelope: Envelope[Any]) -> bool:
        """Whether crm-touch's consumer has applied this event."""
        async with self.app.state.runtime.sessions() as session:
            return bool(
                await session.scalar(
                    sa.text("SELECT 1 FROM processed_events WHERE event_id = :id"),
                    {"id": str(envelope.event_id)},
                )
            )

    async def wait_processed(self, *envelopes: Envelope[Any]) -> None:
        """Wait until crm-touch has applied every one of ``envelopes``."""

        async def done() -> bool:
            return all([await self.processed(e) for e in envelopes])

        await wait_until(done, timeout=20, message="events processed by crm-touch")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def crm(settings_env: dict[str, str], running_service: Any, infra: Any) -> AsyncIterator[Crm]:
    """crm-touch with Calltouch switched on (by a settings event, as telephony would)."""
    from switchboard_crm_touch.bootstrap import build_app
    from switchboard_crm_touch.settings import CrmTouchSettings

    app = build_app(CrmTouchSettings(log_json=False))
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    touches = TopicReader(
        infra.kafka_bootstrap_servers, settings_env["TOPIC_PREFIX"] + "crm.touches"
    )
    await producer.start()
    try:
        async with running_service(app) as client:
            await touches.start()
            service = Crm(
                app,
                client,
                producer,
                settings_env["TOPIC_PREFIX"],
                touches,
                infra.kafka_bootstrap_servers,
            )
            await service.set_calltouch(True)
            yield service
            await touches.stop()
    finally:
        await producer.stop()
