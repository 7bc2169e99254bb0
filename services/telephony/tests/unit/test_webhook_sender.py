"""The simulator's webhook sender: what it retries and what it gives up on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from switchboard_telephony.entrypoints.pbx_commands import WebhookRefused, webhook_sender

EVENTS = [{"event_id": "e1", "call_id": "c1"}]


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Response]:
    """The webhook's answers, in order; the sender's client is pointed at them."""
    queued: list[httpx.Response] = []
    real_client = httpx.AsyncClient

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/telephony/pbx/events"
        return queued.pop(0)

    def client(**options: Any) -> httpx.AsyncClient:
        return real_client(transport=httpx.MockTransport(handle), **options)

    monkeypatch.setattr(httpx, "AsyncClient", client)
    return queued


async def test_a_failing_service_is_retried_until_it_takes_the_batch(
    answers: list[httpx.Response],
) -> None:
    answers += [httpx.Response(503), httpx.Response(202, json={"accepted": 1})]
    async with webhook_sender("http://pbx.test", SecretStr("t"), attempts=2) as send:
        assert await send(EVENTS) == 1
    assert answers == []


async def test_a_refused_token_is_not_retried(answers: list[httpx.Response]) -> None:
    answers += [httpx.Response(401, text="bad token"), httpx.Response(202)]
    async with webhook_sender("http://pbx.test", SecretStr("t")) as send:
        with pytest.raises(WebhookRefused, match="401"):
            await send(EVENTS)
    assert len(answers) == 1


async def test_a_service_that_keeps_failing_is_given_up_on(
    answers: list[httpx.Response],
) -> None:
    answers += [httpx.Response(502)]
    async with webhook_sender("http://pbx.test", SecretStr("t"), attempts=1) as send:
        with pytest.raises(WebhookRefused, match="keeps failing: 502"):
            await send(EVENTS)
