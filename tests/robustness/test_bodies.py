# ruff: noqa: RUF001 - digits and signs of other scripts are what these tests are about
"""Bad bodies against the running services, and what an operator expects back.

Oversized (20 MB), truncated, wrongly typed and wrongly labelled bodies get a clear 4xx
quickly, never a 500 or a hang; names in any script are stored and returned exactly as
typed (and published so); phone numbers typed in other digits are read as the same number;
NUL characters, which PostgreSQL cannot store, are a 422; and booking on the days Berlin
changes its clocks gives the slots a Berlin receptionist would list.

(The webhook's own 413s with a declared length, analytics' grouping of calls on DST days
and availability's DST arithmetic are tested beside their services; here the webhook gets
a streamed body with no declared length, and booking's DST days go through the API.)
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from robust_services import build_service, pbx_headers, session_headers

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

MB = 1024 * 1024
#: Longest an answer to a bad body may take (a hang is a failure too).
ANSWER_WITHIN = 60.0
BERLIN = ZoneInfo("Europe/Berlin")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(
    robust_settings: dict[str, Any], seeded_booking: Any, running_service: Any
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Every service started for real; an HTTP client per service."""
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(running_service(build_service(name, settings)))
            for name, settings in robust_settings.items()
        }
        yield clients


def admin(robust_settings: dict[str, Any], service: str) -> dict[str, str]:
    return session_headers(robust_settings[service])


def operator(robust_settings: dict[str, Any]) -> dict[str, str]:
    """Anna of the central call center (seeded), who books appointments."""
    return session_headers(
        robust_settings["booking"],
        role="call_centre",
        operator_id="op-anna",
        call_center_id="cc-central",
    )


async def answered(request: Any) -> httpx.Response:
    """The response, which must come within :data:`ANSWER_WITHIN` seconds."""
    return await asyncio.wait_for(request, timeout=ANSWER_WITHIN)


def detail(response: httpx.Response) -> str:
    """The error body as text (what the caller reads to learn what was wrong)."""
    return json.dumps(response.json(), ensure_ascii=False)


async def created(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    """POST ``body`` to ``path``, which must answer 201; returns what was created."""
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


# --- oversized, truncated, wrongly typed, wrongly labelled -----------------------------------

#: (service, method, path, a JSON object that would be valid but for its size)
BODY_ENDPOINTS = [
    ("booking", "POST", "/api/booking/clients", {"first_name": "x", "last_name": "y"}),
    ("booking", "POST", "/api/booking/clinics", {"name": "x", "time_zone": "Europe/Berlin"}),
    ("telephony", "POST", "/api/telephony/dids", {"did": "+74951234567", "clinic_id": "c"}),
    ("crm-touch", "PATCH", "/api/crm/touches/t-unknown", {"notes": "x"}),
    ("telephony", "POST", "/api/telephony/extensions", {"extension": "101", "clinic_id": "c"}),
]


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` with one string field grown to about ``size`` bytes."""
    grown = dict(body, **{next(iter(body), "pad"): "я" * (size // 2)})
    return json.dumps(grown, ensure_ascii=False).encode()


@dataclass(frozen=True)
class BodyEndpoint:
    """One row of :data:`BODY_ENDPOINTS`, called as its service's admin with a JSON label."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    method: str
    path: str
    body: dict[str, Any]

    async def send(self, content: bytes) -> httpx.Response:
        """Send ``content`` as the body, labelled ``application/json``."""
        return await self.client.request(
            self.method, self.path, content=content, headers=self.headers
        )


@pytest.fixture(params=BODY_ENDPOINTS, ids=[e[2] for e in BODY_ENDPOINTS])
def endpoint(
    request: pytest.FixtureRequest,
    services: dict[str, httpx.AsyncClient],
    robust_settings: dict[str, Any],
) -> BodyEndpoint:
    """Each endpoint of :data:`BODY_ENDPOINTS` in turn (one test per endpoint)."""
    service, method, path, body = request.param
    headers = {**admin(robust_settings, service), "content-type": "application/json"}
    return BodyEndpoint(services[service], headers, method, path, body)


async def test_a_20_mb_body_is_refused_with_a_4xx_without_hanging(endpoint: BodyEndpoint) -> None:
    valid_json = await answered(endpoint.send(padded(endpoint.body, 20 * MB)))
    junk = await answered(endpoint.send(b"\x00\xff" * (10 * MB)))
    for response in (valid_json, junk):
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
        assert detail(response)


async def test_a_streamed_20_mb_delivery_to_the_pbx_webhook_is_a_413(
    services: dict[str, httpx.AsyncClient],
) -> None:
    # No Content-Length: the webhook must stop reading at its limit, not buffer 20 MB.
    chunk = b"[" + b" " * (MB - 1)
    sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(20):
            sent += 1
            yield chunk

    response = await answered(
        services["telephony"].post(
            "/api/telephony/pbx/events", content=stream(), headers=pbx_headers(chunk * 20)
        )
    )
    assert response.status_code == 413, response.text
    assert sent < 20, "the webhook read the whole 20 MB"


async def test_truncated_json_is_a_4xx_saying_so(endpoint: BodyEndpoint) -> None:
    whole = json.dumps(endpoint.body, ensure_ascii=False).encode()
    for cut in {1, len(whole) // 2, len(whole) - 1}:
        response = await endpoint.send(whole[:cut])
        assert response.status_code == 422, (cut, response.text)
        assert "json" in detail(response).lower(), response.text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
async def test_a_json_body_labelled_as_something_else_creates_nothing(
    services: dict[str, httpx.AsyncClient], robust_settings: dict[str, Any], content_type: str
) -> None:
    booking = services["booking"]
    marker = f"Label{uuid.uuid4().hex[:8]}"
    body = json.dumps({"first_name": marker, "last_name": "Test"}).encode()
    response = await booking.post(
        "/api/booking/clients",
        content=body,
        headers={**admin(robust_settings, "booking"), "content-type": content_type},
    )
    assert 400 <= response.status_code < 500, response.text
    found = await booking.get(
        "/api/booking/clients", params={"name": marker}, headers=admin(robust_settings, "booking")
    )
    assert found.status_code == 200 and found.json()["items"] == []


async def test_wrongly_typed_fields_are_named_in_the_422(
    services: dict[str, httpx.AsyncClient], robust_settings: dict[str, Any]
) -> None:
    response = await services["booking"].post(
        "/api/booking/clients",
        json={
            "first_name": 5,
            "last_name": ["Ivanov"],
            "sms_consent": "maybe",
            "date_of_birth": "31.12.1990",
            "phones": "+79161234567",
        },
        headers=admin(robust_settings, "booking"),
    )
    assert response.status_code == 422, response.text
    text = detail(response)
    for field in ("first_name", "last_name", "sms_consent", "date_of_birth", "phones"):
        assert field in text, (field, text)
    telephony = await services["telephony"].post(
        "/api/telephony/extensions",
        json={"extension": 101, "clinic_id": None, "shared": "yes"},
        headers=admin(robust_settings, "telephony"),
    )
    assert telephony.status_code == 422, telephony.text
    assert "extension" in detail(telephony)


# --- NUL, the one character PostgreSQL refuses ----------------------------------------------


async def test_a_nul_character_in_text_is_a_422_not_a_500(
    services: dict[str, httpx.AsyncClient], robust_settings: dict[str, Any]
) -> None:
    in_a_body = await services["booking"].post(
        "/api/booking/call-centers",
        json={"name": "Night\x00shift", "kind": "internal"},
        headers=admin(robust_settings, "booking"),
    )
    in_json = await services["booking"].post(
        "/api/booking/services",
        json={
            "name": f"Check-up {uuid.uuid4().hex[:6]}",
            "duration_minutes": 30,
            "meeting_methods": ["phone"],
            "questions": [{"question_id": "q1", "text": "Allergies\x00?"}],
        },
        headers=admin(robust_settings, "booking"),
    )
    in_a_query = await services["analytics"].get(
        "/api/analytics/reports/calls",
        params={"group_by": "day", "admin": "op\x00anna"},
        headers=admin(robust_settings, "analytics"),
    )
    for response in (in_a_body, in_json, in_a_query):
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["detail"]


# --- names and numbers as people type them --------------------------------------------------


def unique_mobile() -> str:
    """A Moscow mobile (E.164) no other test uses."""
    return f"+7916{uuid.uuid4().int % 10**7:07d}"


NAMES = [
    ("Анна-Мария", "Ёлкина"),  # Cyrillic with Ё and a hyphen
    ("محمد", "عبد الله"),  # Arabic, right to left
    ("王", "小明"),  # Chinese
    ("山田", "太郎"),  # Japanese
    ("Zoë", "Nguyễn 👩‍⚕️"),  # Latin with diacritics and an emoji sequence (ZWJ)
    ("Jose\u0301", "O'Brien"),  # a decomposed accent (NFD), kept as typed
    ("דוד", "Cohen"),  # Hebrew next to Latin
    ("ნინო", "გელაშვილი"),  # Georgian
    ("अनीता", "शर्मा"),  # Devanagari
]


@pytest.mark.parametrize(("first", "last"), NAMES, ids=[n[0] for n in NAMES])
async def test_names_in_any_script_are_stored_returned_and_published_unchanged(
    services: dict[str, httpx.AsyncClient],
    robust_settings: dict[str, Any],
    topic_reader: Any,
    first: str,
    last: str,
) -> None:
    booking = services["booking"]
    headers = admin(robust_settings, "booking")
    clients_topic = await topic_reader("rob.booking.clients")
    body = {"first_name": first, "last_name": last, "mobile": unique_mobile()}
    client_id = (await created(booking, "/api/booking/clients", body, headers))["client_id"]
    stored = (await booking.get(f"/api/booking/clients/{client_id}", headers=headers)).json()
    assert (stored["first_name"], stored["last_name"]) == (first, last)
    found = await booking.get("/api/booking/clients", params={"name": last}, headers=headers)
    assert client_id in [c["client_id"] for c in found.json()["items"]]

    def registered(records: list[Any]) -> bool:
        return any(
            json.loads(r.value)["payload"].get("client_id") == client_id
            and json.loads(r.value)["event_type"] == "ClientRegistered"
            for r in records
        )

    await clients_topic.wait_for(registered, timeout=30, message="ClientRegistered")
    event = next(
        v["payload"]
        for v in clients_topic.values()
        if v["event_type"] == "ClientRegistered" and v["payload"]["client_id"] == client_id
    )
    assert (event["first_name"], event["last_name"]) == (first, last)


MOBILES = [
    "+٧ ٩١٦ ١٢٣-٤٥-٦٧",  # Arabic-Indic digits
    "۸ ۹۱۶ ۱۲۳ ۴۵ ۶۷",  # Persian digits
    "８ (９１６) １２３-４５-６７",  # fullwidth digits
    "+7 916 123 45 67",
]


async def test_a_mobile_typed_in_other_digits_is_the_same_number(
    services: dict[str, httpx.AsyncClient], robust_settings: dict[str, Any]
) -> None:
    booking = services["booking"]
    headers = admin(robust_settings, "booking")
    subscriber = f"916{uuid.uuid4().int % 10**7:07d}"
    expected = f"+7{subscriber}"
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    typed = "+" + "7".translate(arabic) + " " + subscriber.translate(arabic)
    client = await created(
        booking,
        "/api/booking/clients",
        {"first_name": "Лейла", "last_name": "Арабова", "mobile": typed},
        headers,
    )
    client_id = client["client_id"]
    assert client["mobile"] == expected
    fullwidth = str.maketrans("0123456789", "０１２３４５６７８９")
    search = await booking.get(
        "/api/booking/clients",
        params={"phone": "8" + subscriber.translate(fullwidth)},
        headers=headers,
    )
    assert client_id in [c["client_id"] for c in search.json()["items"]]
    letters = await booking.post(
        "/api/booking/clients",
        json={"first_name": "No", "last_name": "Number", "mobile": "call me maybe"},
        headers=headers,
    )
    assert letters.status_code == 422, letters.text
    assert "phone" in detail(letters)


@pytest.mark.parametrize("mobile", MOBILES)
async def test_caller_identification_reads_any_digits_or_says_what_it_accepts(
    services: dict[str, httpx.AsyncClient], robust_settings: dict[str, Any], mobile: str
) -> None:
    response = await services["crm-touch"].get(
        "/api/crm/identify",
        params={"phone": mobile},
        headers=admin(robust_settings, "crm-touch"),
    )
    if response.status_code == 422:
        # Caller identification accepts ASCII digits only, and says so.
        assert "digits" in detail(response), response.text
        assert mobile != "+7 916 123 45 67"
        return
    assert response.status_code == 200, response.text
    assert "+79161234567" in json.dumps(response.json())


# --- the days Berlin changes its clocks -----------------------------------------------------


def _changes_clocks(day: date) -> bool:
    start = datetime.combine(day, time(0), tzinfo=BERLIN)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN)
    return start.utcoffset() != end.utcoffset()


#: Sundays a year ahead: clocks go forward (02:00 → 03:00) and back (03:00 → 02:00).
SPRING_FORWARD = date(2027, 3, 28)
FALL_BACK = date(2027, 10, 31)


async def _berlin_clinic(
    booking: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[str, str, str]:
    """A Berlin clinic open 01:00-05:00 on Sundays, a 30-minute service, one doctor."""
    tag = uuid.uuid4().hex[:6]
    sunday_night = [{"weekday": 6, "opens": "01:00", "closes": "05:00"}]
    clinic = await created(
        booking,
        "/api/booking/clinics",
        {
            "name": f"Berlin Mitte {tag}",
            "city": "Berlin",
            "time_zone": "Europe/Berlin",
            "opening_hours": sunday_night,
        },
        headers,
    )
    clinic_id = clinic["clinic_id"]
    service = await created(
        booking,
        "/api/booking/services",
        {
            "name": f"Night consultation {tag}",
            "duration_minutes": 30,
            "meeting_methods": ["in_person"],
        },
        headers,
    )
    service_id = service["service_id"]
    doctor = await created(
        booking,
        "/api/booking/practitioners",
        {
            "name": f"Dr Weber {tag}",
            "languages": ["de"],
            "clinic_ids": [clinic_id],
            "service_ids": [service_id],
            "working_hours": [
                {"clinic_id": clinic_id, "weekday": 6, "starts": "01:00", "ends": "05:00"}
            ],
        },
        headers,
    )
    return clinic_id, service_id, doctor["practitioner_id"]


def _berlin_wall_clock(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(BERLIN).strftime("%H:%M %Z")


async def test_booking_on_the_days_berlin_changes_its_clocks(
    services: dict[str, httpx.AsyncClient], robust_settings: dict[str, Any]
) -> None:
    assert _changes_clocks(SPRING_FORWARD) and _changes_clocks(FALL_BACK)
    booking = services["booking"]
    headers = admin(robust_settings, "booking")
    clinic_id, service_id, doctor_id = await _berlin_clinic(booking, headers)

    async def slots(day: date) -> list[str]:
        response = await booking.get(
            "/api/booking/availability",
            params={"clinic_id": clinic_id, "service_id": service_id, "date": day.isoformat()},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["time_zone"] == "Europe/Berlin"
        return [s["starts_at"] for s in response.json()["slots"]]

    async def book(starts_at: str, first_name: str, last_name: str) -> httpx.Response:
        """Book the Berlin doctor at ``starts_at`` for a new client, as Anna."""
        return await booking.post(
            "/api/booking/appointments",
            json={
                "service_id": service_id,
                "clinic_id": clinic_id,
                "practitioner_id": doctor_id,
                "starts_at": starts_at,
                "new_client": {
                    "first_name": first_name,
                    "last_name": last_name,
                    "mobile": unique_mobile(),
                },
            },
            headers=operator(robust_settings),
        )

    step = timedelta(minutes=robust_settings["booking"].slot_step_minutes)

    def expected(day: date) -> list[datetime]:
        # Every step from 01:00 to 04:30 Berlin time, counted in real (UTC) time.
        opens = datetime.combine(day, time(1), tzinfo=BERLIN).astimezone(UTC)
        closes = datetime.combine(day, time(5), tzinfo=BERLIN).astimezone(UTC)
        out = []
        while opens + timedelta(minutes=30) <= closes:
            out.append(opens)
            opens += step
        return out

    # Spring forward: 02:00-03:00 never happens, so 01:00-05:00 is three hours of work.
    spring = [datetime.fromisoformat(s) for s in await slots(SPRING_FORWARD)]
    assert spring == expected(SPRING_FORWARD)
    assert spring[-1] - spring[0] == timedelta(hours=2, minutes=30)
    assert not [s for s in spring if s.astimezone(BERLIN).hour == 2]
    # Fall back: 02:00-03:00 happens twice, so 01:00-05:00 is five hours of work.
    autumn_iso = await slots(FALL_BACK)
    autumn = [datetime.fromisoformat(s) for s in autumn_iso]
    assert autumn == expected(FALL_BACK)
    assert autumn[-1] - autumn[0] == timedelta(hours=4, minutes=30)
    walls = [_berlin_wall_clock(s) for s in autumn_iso]
    assert "02:30 CEST" in walls and "02:30 CET" in walls

    # The second 02:30 (CET, 01:30 UTC) is booked; the first (CEST, 00:30 UTC) stays free.
    second_half_past_two = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    booked = await book(second_half_past_two.isoformat(), "Jürgen", "Groß")
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert datetime.fromisoformat(appointment["starts_at"]) == second_half_past_two
    assert datetime.fromisoformat(appointment["ends_at"]) == second_half_past_two + timedelta(
        minutes=30
    )
    after = [_berlin_wall_clock(s) for s in await slots(FALL_BACK)]
    assert "02:30 CET" not in after and "02:30 CEST" in after

    # 02:30 on the spring day does not exist: whatever offset it is written with, it is a
    # real instant (03:30 CEST or 01:30 CET) and the answer is a clear booking or refusal.
    ghost = await book("2027-03-28T02:30:00+01:00", "Ghost", "Hour")
    assert ghost.status_code == 201, ghost.text
    assert _berlin_wall_clock(ghost.json()["starts_at"]) == "03:30 CEST"
