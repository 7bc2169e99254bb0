"""The message layer against real Kafka and PostgreSQL: a handler table consumes, publish()
stages with the contracts' topic and key and wakes the relay after the commit."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard_contracts import CallStarted, CallTagged, Envelope, make_envelope
from switchboard_runtime.db import ensure_database, make_metadata
from switchboard_runtime.kafka import ensure_topics
from switchboard_runtime.messaging import Subscription, outbox_session_info, publish
from switchboard_runtime.service import ServiceRuntime
from switchboard_runtime.settings import ServiceSettings, service_config
from switchboard_runtime.testing import wait_until
from switchboard_runtime.testing.plugin import TopicReader

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

metadata = make_metadata()
tags = sa.Table(
    "tags_seen",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("via", sa.Text, nullable=False),
)


class MessagingSettings(ServiceSettings):
    service_name: ClassVar[str] = "messaging-probe"
    model_config = service_config("MSGPROBE_")


async def on_tagged(session: AsyncSession, envelope: Envelope[CallTagged], via: str) -> None:
    event = envelope.payload
    await session.execute(
        sa.insert(tags).values(call_id=event.call_id, tags=",".join(event.tags), via=via)
    )


def _tagged(call_id: str) -> CallTagged:
    return CallTagged(
        call_id=call_id, tags=["vip"], source="callmarker", tagged_at=datetime.now(UTC)
    )


async def _runtime(run_id: str) -> ServiceRuntime:
    # A prefix of its own: the group reads the whole topic from the start.
    settings = MessagingSettings(
        topic_prefix=f"t{run_id}.msg{uuid.uuid4().hex[:6]}.",
        # Long enough that only the wake after the commit publishes within the test's wait.
        outbox_poll_interval_seconds=10,
    )
    await ensure_database(settings.service_database_url)
    runtime = ServiceRuntime(settings, migrations_dir=None, configure_logs=False)
    async with runtime.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return runtime


async def test_handlers_get_their_events_and_bad_ones_are_dead_lettered(
    run_id: str, infra: Any
) -> None:
    runtime = await _runtime(run_id)
    prefix = runtime.settings.topic_prefix
    runtime.handle(Subscription(group="probe", handlers={CallTagged: on_tagged}), "handler")
    dead = TopicReader(infra.kafka_bootstrap_servers, prefix + "telephony.calls.dlq.probe")
    await runtime.start()
    await dead.start()
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        tagged = make_envelope(_tagged("c-1"), producer="t", occurred_at=datetime.now(UTC))
        started = make_envelope(
            CallStarted(
                call_id="c-2",
                direction="incoming",
                caller="+74951234567",
                callee="101",
                started_at=datetime.now(UTC),
            ),
            producer="t",
            occurred_at=datetime.now(UTC),
        )
        for value in (b'{"event_type": "Nonsense"}', started.to_bytes(), tagged.to_bytes()):
            await producer.send_and_wait(prefix + "telephony.calls", value, key=b"k")
        await producer.send_and_wait(prefix + "telephony.calls", tagged.to_bytes(), key=b"k")

        async def seen() -> list[Any]:
            async with runtime.sessions() as session:
                return list(await session.execute(sa.select(tags.c.call_id, tags.c.via)))

        assert await wait_until(seen, message="the tag applied") == [("c-1", "handler")]
        records = await dead.wait_for(lambda r: len(r) >= 1, message="the dead letter")
        assert dict(records[0].headers)["x-dlq-reason"] == b"invalid_event"
        await dead.read_to_end()
        assert len(dead.records) == 1  # the CallStarted was skipped, not dead-lettered
        assert await seen() == [("c-1", "handler")]  # the duplicate applied once
    finally:
        await producer.stop()
        await dead.stop()
        await runtime.stop()


async def test_publish_stages_on_the_contract_topic_and_wakes_the_relay_after_commit(
    run_id: str, infra: Any
) -> None:
    runtime = await _runtime(run_id)
    prefix = runtime.settings.topic_prefix
    await ensure_topics(runtime.settings, [prefix + "telephony.calls"])
    calls = TopicReader(infra.kafka_bootstrap_servers, prefix + "telephony.calls")
    await runtime.start()
    await calls.start()
    try:
        # The relay first drains what is there, then waits for a wake or its long poll.
        await calls.read_to_end()
        with pytest.raises(RuntimeError):
            async with runtime.sessions() as session, session.begin():
                await publish(session, _tagged("lost"))
                raise RuntimeError("the handler failed after staging its event")
        async with runtime.sessions() as session, session.begin():
            [staged] = await publish(session, _tagged("kept"))
        # Sooner than the relay's own poll: the commit woke it.
        records = await calls.wait_for(
            lambda r: len(r) >= 1, timeout=8, message="the committed event"
        )
        assert [r.key for r in records] == [b"kept"]
        value = json.loads(records[0].value)
        assert (value["event_id"], value["producer"], value["correlation_id"]) == (
            str(staged.event_id),
            "messaging-probe",
            "kept",
        )
        await calls.read_to_end()
        assert len(calls.records) == 1
    finally:
        await calls.stop()
        await runtime.stop()


async def test_publish_needs_a_session_of_the_runtime() -> None:
    with pytest.raises(RuntimeError, match="session from the service's runtime"):
        await publish(AsyncSession(), _tagged("c"))


async def test_the_relay_is_woken_by_the_outer_commit_only(run_id: str) -> None:
    runtime = await _runtime(run_id)
    woken: list[str] = []
    sessions = async_sessionmaker(
        runtime.engine, info=outbox_session_info(runtime.settings, lambda: woken.append("wake"))
    )
    try:
        async with sessions() as session:
            async with session.begin():
                await publish(session, _tagged("saved"))
                async with session.begin_nested():
                    pass  # releasing a savepoint makes nothing visible yet
                assert woken == []
            assert woken == ["wake"]
            woken.clear()
            with pytest.raises(RuntimeError):
                async with session.begin():
                    await publish(session, _tagged("lost"))
                    raise RuntimeError("rolled back")
            async with session.begin():
                pass  # a later commit of the same session publishes nothing new
            assert woken == []
    finally:
        await runtime.engine.dispose()
