"""Click-to-call: the action Asterisk actually receives (the fake AMI server over TCP),
the signed command a webhook PBX receives (the HTTP stand-in as a process), and who may."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import ami_server as fake_ami
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from switchboard_runtime.auth import Principal, authenticator, issue_token
from switchboard_runtime.redis_client import make_redis
from switchboard_runtime.sessions import SessionRevocations
from switchboard_runtime.testing.infra import Endpoints
from switchboard_runtime.testing.standins import running_standin
from switchboard_telephony.adapters.ami import AmiEndpoint
from switchboard_telephony.adapters.originate import (
    AmiOriginator,
    Originator,
    WebhookOriginator,
)
from switchboard_telephony.entrypoints.click_to_call import click_to_call_router

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parents[2]
SECRET = "click-to-call-test-secret-of-32-bytes"
TOKEN = "dev-pbx-token"


Client = Callable[[Originator | None], httpx.AsyncClient]


@pytest.fixture
async def client_for(infra: Endpoints, run_id: str) -> AsyncIterator[Client]:
    """The click-to-call API over ``originator``, checking sessions against real Redis."""
    redis = make_redis(infra.redis_url)
    revocations = SessionRevocations(redis, prefix=f"t{run_id}.click-to-call:")

    def make(originator: Originator | None) -> httpx.AsyncClient:
        app = FastAPI()
        current = authenticator(lambda: SECRET, revocations)
        app.include_router(click_to_call_router(current, originator, "RU"))
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    yield make
    await redis.aclose()


def _as(role: str, extension: str | None = "101") -> dict[str, str]:
    principal = Principal("op-anna", "Anna", role, "cc-a", extension)  # type: ignore[arg-type]
    return {"Authorization": "Bearer " + issue_token(principal, SECRET)}


def _ami(port: int, **options: Any) -> AmiOriginator:
    return AmiOriginator(
        AmiEndpoint("127.0.0.1", port, "switchboard", SecretStr("s3cret-ami")), **options
    )


async def test_asterisk_gets_an_originate_from_the_operators_extension(client_for: Client) -> None:
    async with fake_ami.FakeAmi(events=[]) as ami:
        originator = _ami(
            ami.port, context="clinic-out", caller_id_template="Switchboard <{number}>"
        )
        async with client_for(originator) as client:
            answer = await client.post(
                "/api/telephony/click-to-call",
                json={"number": "8 (916) 123-45-67"},
                headers=_as("call_centre"),
            )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ringing"
    assert answer.json()["number"] == "+79161234567"
    login, originate, logoff = ami.actions
    assert (login["action"], login["username"], login["events"]) == ("Login", "switchboard", "off")
    reference = answer.json()["reference"]
    assert originate == {
        "action": "Originate",
        "actionid": f"originate-{reference}",
        "channel": "PJSIP/101",
        "context": "clinic-out",
        "exten": "+79161234567",
        "priority": "1",
        "callerid": "Switchboard <+79161234567>",
        "timeout": "30000",
        "async": "true",
        "variable": f"SWITCHBOARD_ORIGINATE={reference}",
    }
    assert logoff["action"] == "Logoff"


async def test_asterisk_refusing_says_why(client_for: Client) -> None:
    refusal = {"Response": "Error", "Message": "Permission denied"}
    async with fake_ami.FakeAmi(events=[], originate_answer=refusal) as ami:
        client = client_for(_ami(ami.port, channel_template="SIP/{extension}"))
        async with client:
            answer = await client.post(
                "/api/telephony/click-to-call", json={"number": "102"}, headers=_as("admin")
            )
    assert answer.status_code == 502
    assert answer.json()["status"] == "failed"
    assert answer.json()["reason"] == "Permission denied"
    assert ami.actions[1]["channel"] == "SIP/101" and ami.actions[1]["exten"] == "102"
    # A wrong AMI secret, and no AMI at all, fail with a reason too (never the secret).
    async with fake_ami.FakeAmi(events=[], secret="another") as ami:
        result = await _ami(ami.port).originate("101", "102", "op-anna")
    assert (result.status, result.reason) == ("failed", "the PBX refused the AMI login")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = await _ami(closed).originate("101", "102", "op-anna")
    assert result.status == "failed" and "s3cret" not in (result.reason or "")


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``scripts/standins/pbx_http.py`` checking the integration token's signature."""
    folder = tmp_path_factory.mktemp("pbx")
    args = ("--recordings", folder, "--token", TOKEN)
    with running_standin("pbx_http.py", *args, log_dir=folder) as process:
        yield process.url


async def test_a_webhook_pbx_gets_a_signed_command(standin: str, client_for: Client) -> None:
    originator = WebhookOriginator(standin + "/originate", SecretStr(TOKEN))
    async with client_for(originator) as client:
        answer = await client.post(
            "/api/telephony/click-to-call",
            json={"number": "+7 495 123-45-67"},
            headers=_as("clinic_staff"),
        )
    assert answer.status_code == 200 and answer.json()["status"] == "ringing"
    async with httpx.AsyncClient() as plain:
        commands = (await plain.get(standin + "/commands")).json()
    assert commands[-1] == {
        "type": "originate",
        "reference": answer.json()["reference"],
        "extension": "101",
        "number": "+74951234567",
        "operator_id": "op-anna",
    }
    # Signed with another token, the stand-in (as a PBX would) refuses: failed, with why.
    forged = WebhookOriginator(standin + "/originate", SecretStr("not-the-token"))
    result = await forged.originate("101", "+74951234567", "op-anna")
    assert result.status == "failed"
    assert result.reason == "signature does not match the body and the integration token"


async def test_who_may_call_and_what_is_refused(client_for: Client) -> None:
    async with fake_ami.FakeAmi(events=[]) as ami, client_for(_ami(ami.port)) as client:
        url, body = "/api/telephony/click-to-call", {"number": "102"}
        assert (await client.post(url, json=body)).status_code == 401
        assert (await client.post(url, json=body, headers=_as("manager"))).status_code == 403
        no_extension = await client.post(url, json=body, headers=_as("call_centre", None))
        assert no_extension.status_code == 409
        bad = await client.post(url, json={"number": "call me"}, headers=_as("admin"))
        assert bad.status_code == 422
        assert ami.logins == 0  # nothing refused reached the PBX
    async with client_for(None) as off:
        assert (await off.post(url, json=body, headers=_as("admin"))).status_code == 503
