"""What the platform writes to its logs never holds a secret or a full phone number.

A full run on the real processes at DEBUG, in the production log format: operators log in
(one with a password of its own), the PBX delivers calls from known numbers written the
ways PBXes write them (and deliveries that must be refused: an old client sending the token
itself, a forged signature, a replay), an operator's console socket opens with its session
token in the query string, an appointment is booked for a new client with a mobile number,
clients are searched and callers identified by phone. Then every log file of the run is
searched: the integration token, each session token, the passwords and every full phone
number (E.164, national, digits only and as sent) must not be there. Masked forms
(``***567``) are what the logs keep.

It also runs after the role matrix on the same platform, so that matrix's forged, expired and
real session tokens are searched for too.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus
from zoneinfo import ZoneInfo

import httpx
import pytest
import websockets

from switchboard_runtime.testing.waiting import wait_until
from switchboard_telephony.domain.signing import signed_json

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MSK = ZoneInfo("Europe/Moscow")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Each caller as the PBX writes it → its E.164 form. Subscriber numbers unique to this test.
CALLERS = {
    "8 (916) 487-31-52": "+79164873152",
    "+7 916 487 31 53": "+79164873153",
    "79164873154": "+79164873154",
}
#: The new client's mobile as the operator types it → E.164.
MOBILE = ("8 916 487-31-59", "+79164873159")


def _forms(e164: str) -> set[str]:
    """Every way the full number can be written down: E.164, with the trunk 8, without the
    country code (the ten digits that identify the subscriber)."""
    national = e164[2:]
    return {e164, e164[1:], "8" + national, national}


def _started(call_id: str, caller: str, at: datetime) -> dict[str, Any]:
    return {
        "type": "call.started",
        "call_id": call_id,
        "timestamp": at.isoformat(),
        "from": caller,
        "to": "101",
        "extension": "101",
    }


def _ended(call_id: str, at: datetime) -> dict[str, Any]:
    return {
        "type": "call.ended",
        "call_id": call_id,
        "timestamp": at.isoformat(),
        "status": "no_answer",
    }


def _post_raw(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def test_no_secret_or_full_phone_number_reaches_the_logs(
    secure_platform: Any, sessions: Any, helpers: Any
) -> None:
    platform = secure_platform
    run = uuid.uuid4().hex[:6]
    gateway = httpx.AsyncClient(base_url=platform.console_url, timeout=30)
    anna = sessions.headers("call_centre")
    admin = sessions.headers("admin")

    # A log-in through the gateway, with a password the logs must not show.
    password = sessions.passwords[0]
    logged_in = await gateway.post(
        "/api/booking/auth/login", json={"username": "clara", "password": password}
    )
    assert logged_in.status_code == 200, logged_in.text
    sessions.tokens["clara-again"] = logged_in.json()["token"]
    wrong = await gateway.post(
        "/api/booking/auth/login", json={"username": "clara", "password": password + "x"}
    )
    assert wrong.status_code == 401

    # Anna's console socket, the session token in the query string (notify accepts it there).
    ws_url = platform.service_url("notify").replace("http://", "ws://") + "/api/notify/ws"
    token = sessions.tokens["call_centre"]
    async with websockets.connect(f"{ws_url}?token={token}", open_timeout=10) as console:
        assert json.loads(await console.recv())["type"] == "hello"

        # The calls, from numbers written three ways, ringing Anna's extension.
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        call_ids = [f"sec-log-{run}-{n}" for n in range(len(CALLERS))]
        helpers.send_pbx(
            platform, [_started(c, raw, started) for c, raw in zip(call_ids, CALLERS, strict=True)]
        )

        async def popup_seen() -> bool | None:
            try:
                message = json.loads(await asyncio.wait_for(console.recv(), timeout=1))
            except TimeoutError:
                return None
            return True if message.get("type") == "call.popup" else None

        await wait_until(popup_seen, timeout=30, message="a pop-up for one of the calls")
        helpers.send_pbx(platform, [_ended(c, datetime.now(UTC)) for c in call_ids])

    # Deliveries the webhook must refuse, each carrying a number and (for the old client)
    # the token itself.
    webhook = platform.service_url("telephony") + "/api/telephony/pbx/events"
    refused_call = [_started(f"sec-log-{run}-refused", "8 (916) 487-31-52", started)]
    body, signed = signed_json(helpers.PBX_TOKEN, refused_call)
    old_client = {"X-Integration-Token": helpers.PBX_TOKEN, "Content-Type": "application/json"}
    _, forged = signed_json("guessed-token", refused_call)
    assert _post_raw(webhook, body, old_client) == 401
    assert _post_raw(webhook, body, forged) == 401
    assert _post_raw(webhook, body, signed) == 202
    assert _post_raw(webhook, body, signed) == 409

    # Caller identification and client search by phone, as the console does.
    for raw in CALLERS:
        found = await gateway.get("/api/crm/identify", params={"phone": raw}, headers=anna)
        assert found.status_code == 200, found.text
    # An appointment for a new client with a mobile number.
    day = datetime.now(MSK).date() + timedelta(days=7 - datetime.now(MSK).weekday(), weeks=11)
    booked = await gateway.post(
        "/api/booking/appointments",
        json={
            "service_id": "svc-consult",
            "clinic_id": "clinic-msk-center",
            "practitioner_id": "pr-ivanova",
            "starts_at": datetime(day.year, day.month, day.day, 11, tzinfo=MSK).isoformat(),
            "new_client": {"first_name": "Log", "last_name": "Search", "mobile": MOBILE[0]},
            "call_id": call_ids[0],
        },
        headers=anna,
    )
    assert booked.status_code == 201, booked.text
    searched = await gateway.get("/api/booking/clients", params={"phone": MOBILE[0]}, headers=anna)
    assert searched.status_code == 200 and searched.json()["items"], searched.text

    # Wait until every consumer has had the calls: in the call log, with touches.
    async def all_logged() -> list[Any] | None:
        response = await gateway.get("/api/analytics/calls", params={"limit": 500}, headers=admin)
        rows = [r for r in response.json()["items"] if r["call_id"] in call_ids]
        return rows if len(rows) == len(call_ids) else None

    rows = await wait_until(all_logged, timeout=60, message="the calls in the call log")
    assert {r["src"] for r in rows} == set(CALLERS.values())

    async def touched() -> bool | None:
        response = await gateway.get(
            "/api/crm/touches", params={"call_id": call_ids[0]}, headers=anna
        )
        return True if response.json()["items"] else None

    await wait_until(touched, timeout=60, message="the touch of the first call")
    await gateway.aclose()

    logs = {
        path.name: _ANSI.sub("", path.read_text(errors="replace"))
        for path in sorted(helpers.LOG_DIR.glob("*.log"))
        if path.name != "booking-seed.log"  # the seed prints the demo logins on purpose
    }
    assert set(logs) >= {f"{s}.log" for s in ("telephony", "booking", "crm-touch", "notify")}
    everything = "\n".join(logs.values())
    # The run is really logged, at DEBUG, with the numbers masked rather than left out.
    assert '"level": "debug"' in everything
    assert any(f"***{e164[-3:]}" in everything for e164 in CALLERS.values())

    secrets: dict[str, str] = {"the PBX integration token": helpers.PBX_TOKEN}
    for name, value in {**sessions.tokens, "forged": sessions.forged}.items():
        secrets[f"the {name} session token"] = value
        # A JWT's signature alone is enough to forge nothing, but is still the secret part.
        secrets[f"the signature of the {name} session token"] = value.rsplit(".", 1)[-1]
    secrets["the expired token's signature"] = sessions.expired.rsplit(".", 1)[-1]
    for n, value in enumerate(sessions.passwords):
        secrets[f"password {n}"] = value
    numbers = {**CALLERS, MOBILE[0]: MOBILE[1]}
    for raw, e164 in numbers.items():
        secrets[f"{e164} as sent"] = raw
        # As an HTTP client writes it into a logged URL's query string.
        secrets[f"{e164} as sent, URL-encoded"] = quote_plus(raw)
        secrets[f"{e164} as sent, percent-encoded"] = quote(raw)
        for form in _forms(e164):
            secrets[f"{e164} written {form}"] = form

    leaks = [
        f"{what} in {name}: …{text[max(0, i - 80) : i + 80]}…"
        for what, value in secrets.items()
        for name, text in logs.items()
        if (i := text.find(value)) >= 0
    ]
    assert leaks == [], "\n".join(leaks)
