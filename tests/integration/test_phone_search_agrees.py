"""A number a person types finds the same records everywhere numbers are searched.

booking (its real API) registers clients whose mobiles are typed the ways people type them →
``booking.clients`` → crm-touch's caller identification; a call from (and some calls to)
each number enter ``telephony.calls`` as telephony publishes them → analytics' call log.
Then hypothesis generates numbers — the registered ones, their near neighbours and numbers
nobody has — and their spellings: international, ``00`` and ``8~10`` prefixes, national
with the trunk prefix, bare, the country code without ``+``, separators, digits of other
scripts, and fragments (the beginning of a spelling, any run of digits). For each one:

* booking's client search, the call log's ``phone`` filter and free-text ``q``, and the
  calls report's "phone contains" each find exactly what the one rule
  (:meth:`switchboard_phones.SearchDigits.matches`) finds among their stored numbers, so
  the clients booking finds are the clients whose calls the call log and report find;
* crm-touch's ``/identify`` knows exactly the clients holding the number when the text is
  a whole number, and answers 422 when it is not one;
* the spelled number's own client and calls are always found.

Services run in-process on this run's Kafka and PostgreSQL, with topics and databases of
their own. Hypothesis draws the spellings first, derandomized (the same ones every run),
before the services start: drawing while they run would share the global ``random`` with
their event loop. Then each spelling is asked of every place; a failure names the spelling.
No sleeps, only waiting on conditions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import phonenumbers
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from switchboard_contracts import CallEnded, CallStarted, make_envelope
from switchboard_phones import search_digits, try_normalise
from switchboard_phones.strategies import Spelling, spellings, valid_numbers
from switchboard_runtime.auth import Principal, issue_token
from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REGION = "RU"  # every service's default_region here
EXAMPLES = 150
#: The longest text booking's search accepts.
MAX_TYPED = 40
EXTENSION = "101"
DAY = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _neighbours() -> list[str]:
    """Numbers whose digits overlap: shared beginnings, one inside another, the same tail,
    the toll-free 8 800 range, Kazakhstan's +7 7…, foreign ones, and a number phonenumbers
    calls possible but not valid (the acceptance rule takes it)."""
    return [
        "+79161234567",
        "+79161234500",
        "+79161299999",
        "+79031234567",
        "+74957916123",
        "+74951234567",
        "+78005553535",
        "+78916123456",
        "+77012345678",
        "+12125550100",
        "+442079460958",
        "+4930123456",
        "+375291234567",
        "+70001234567",
    ]


def _population(rng: random.Random) -> list[str]:
    """The neighbours and a few drawn valid numbers of several regions (fixed seed)."""
    numbers = _neighbours()
    for region in ("RU", "RU", "KZ", "BY", "US", "GB", "DE", "FR"):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            assert example is not None
            nsn = phonenumbers.national_significant_number(example)
            candidate = f"+{example.country_code}{nsn[:-4]}{rng.randrange(10**4):04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                numbers.append(candidate)
    return list(dict.fromkeys(numbers))


def _typed_at_registration(number: str, n: int) -> str:
    """How the operator typed the mobile when registering the client: national for +7,
    international otherwise, every third one in Arabic-Indic digits."""
    parsed = phonenumbers.parse(number)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 7
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    text = phonenumbers.format_number(parsed, style)
    if n % 3 == 0:
        text = text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    return text


@dataclass(frozen=True)
class Call:
    """A call as analytics stores it."""

    call_id: str
    src: str
    dst: str


@dataclass(frozen=True)
class Answers:
    """What each place found for one typed text."""

    booking: dict[str, str]  # client id → mobile
    identify_status: int
    identified: set[str]  # client ids
    call_log: set[str]  # call ids
    free_text: set[str]  # call ids
    report_total: int


def _call_events(call: Call, at: datetime) -> list[Any]:
    direction = "incoming" if call.src.startswith("+") else "outgoing"
    started = CallStarted(
        call_id=call.call_id,
        direction=direction,
        caller=call.src,
        callee=call.dst,
        extension=EXTENSION,
        clinic_id="clinic-msk",
        started_at=at,
    )
    ended = CallEnded(
        call_id=call.call_id,
        ended_at=at + timedelta(seconds=70),
        disposition="answered",
        wait_seconds=10,
        talk_seconds=60,
        total_seconds=70,
        direction=direction,
        caller=call.src,
        callee=call.dst,
        extension=EXTENSION,
        clinic_id="clinic-msk",
        started_at=at,
        answered_at=at + timedelta(seconds=10),
    )
    return [started, ended]


def _check(
    spelling: Spelling, answers: Answers, clients: dict[str, str], calls: list[Call]
) -> None:
    """The agreement, for one typed text (``clients``: client id → mobile)."""
    search = search_digits(spelling.text, REGION)
    found_clients = {cid for cid, number in clients.items() if search.matches(number)}
    found_calls = {c.call_id for c in calls if search.matches(c.src) or search.matches(c.dst)}
    assert set(answers.booking) == found_clients, "booking's client search"
    assert answers.call_log == found_calls, "the call log's phone filter"
    assert answers.free_text == found_calls, "the call log's free-text search"
    assert answers.report_total == len(found_calls), "the report's phone contains"
    # Whom booking finds, the call log finds the calls of (and the report counts them).
    numbers_found = set(answers.booking.values())
    assert {c.call_id for c in calls if c.src in numbers_found or c.dst in numbers_found} <= (
        answers.call_log
    )

    whole = try_normalise(spelling.text, REGION)
    if whole is None:
        assert answers.identify_status == 422, "identify refuses what is not a whole number"
    else:
        assert answers.identify_status == 200
        holders = {cid for cid, number in clients.items() if number == whole}
        assert answers.identified == holders, "identify knows exactly the number's holders"
        assert holders <= set(answers.booking), "booking finds whom identify knows"

    own = {cid for cid, number in clients.items() if number == spelling.number}
    assert own <= set(answers.booking), "a number's own client is found however it is typed"
    own_calls = {c.call_id for c in calls if spelling.number in (c.src, c.dst)}
    assert own_calls <= answers.call_log
    if spelling.whole:
        assert whole == spelling.number
        assert answers.identified == own


async def test_a_typed_number_finds_the_same_records_in_booking_crm_touch_and_analytics(
    settings_env: dict[str, str], running_service: Any, infra: Any, run_id: str
) -> None:
    from switchboard_analytics.bootstrap import build_app as build_analytics
    from switchboard_analytics.settings import AnalyticsSettings
    from switchboard_booking.bootstrap import build_app as build_booking
    from switchboard_booking.settings import BookingSettings
    from switchboard_crm_touch.bootstrap import build_app as build_crm
    from switchboard_crm_touch.settings import CrmTouchSettings

    # Topics and databases of this test alone: no other test's clients or calls.
    topic_prefix = f"t{run_id}.phones."
    own: dict[str, Any] = {
        "topic_prefix": topic_prefix,
        "database_suffix": f"_phones_{run_id}",
        "log_json": False,
        "default_region": REGION,
    }
    booking_app = build_booking(BookingSettings(**own))
    crm_app = build_crm(CrmTouchSettings(**own))
    analytics_app = build_analytics(AnalyticsSettings(**own))
    secret = BookingSettings(**own).auth_secret.get_secret_value()
    headers = {
        "Authorization": "Bearer "
        + issue_token(Principal("op-phones", "Phones Admin", "admin"), secret)
    }

    population = _population(random.Random(20260310))
    typed = _drawn_spellings(population)
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        async with (
            running_service(booking_app) as booking,
            running_service(crm_app) as crm,
            running_service(analytics_app) as analytics,
        ):
            clients = await _register(booking, headers, population)
            calls = await _publish_calls(producer, topic_prefix, population)
            await _wait_until_projected(crm, analytics, headers, clients, calls)

            for spelling in typed:
                answers = await _ask_everyone(booking, crm, analytics, headers, spelling.text)
                try:
                    _check(spelling, answers, clients, calls)
                except AssertionError as exc:
                    raise AssertionError(f"{spelling}: {exc}") from exc
    finally:
        await producer.stop()


def _drawn_spellings(population: list[str]) -> list[Spelling]:
    """Hypothesis's spellings (``EXAMPLES`` of them, derandomized) of registered numbers,
    valid numbers of the region and of anywhere, each typed in ``REGION``."""
    drawn: dict[str, Spelling] = {}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=[HealthCheck.filter_too_much],
    )
    @given(data=st.data())
    def draw(data: st.DataObject) -> None:
        # Mostly registered numbers (found by their spellings and their neighbours'
        # fragments), some the region's and anywhere's that nobody has.
        registered = st.sampled_from(population)
        number = data.draw(
            st.one_of(registered, registered, valid_numbers((REGION,)), valid_numbers()),
            label="number",
        )
        spelling = data.draw(spellings(number, REGION), label="spelling")
        assume(len(spelling.text) <= MAX_TYPED)
        drawn.setdefault(spelling.text, spelling)

    draw()
    return list(drawn.values())


async def _register(
    booking: httpx.AsyncClient, headers: dict[str, str], population: list[str]
) -> dict[str, str]:
    """One client per number, and a second client on the first number (a shared number);
    client id → the mobile booking stored."""
    clients: dict[str, str] = {}
    for n, number in enumerate([*population, population[0]]):
        response = await booking.post(
            "/api/booking/clients",
            headers=headers,
            json={
                # Letters only: the call log's free text also searches names.
                "first_name": "Client " + "".join(chr(ord("a") + int(d)) for d in str(n)),
                "last_name": "Phones",
                "mobile": _typed_at_registration(number, n),
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["mobile"] == number
        clients[response.json()["client_id"]] = number
    return clients


async def _publish_calls(
    producer: AIOKafkaProducer, prefix: str, population: list[str]
) -> list[Call]:
    """A call from every number, and a call to every other one, as telephony publishes."""
    calls = [Call(f"in-{n}", number, EXTENSION) for n, number in enumerate(population)]
    calls += [Call(f"out-{n}", EXTENSION, number) for n, number in enumerate(population[::2])]
    for n, call in enumerate(calls):
        at = DAY + timedelta(minutes=n)
        for event in _call_events(call, at):
            envelope = make_envelope(event, producer="telephony", occurred_at=at)
            await producer.send_and_wait(
                prefix + envelope.topic, envelope.to_bytes(), key=envelope.key.encode()
            )
    return calls


async def _wait_until_projected(
    crm: httpx.AsyncClient,
    analytics: httpx.AsyncClient,
    headers: dict[str, str],
    clients: dict[str, str],
    calls: list[Call],
) -> None:
    async def identified_all() -> bool:
        for number in set(clients.values()):
            response = await crm.get("/api/crm/identify", params={"phone": number}, headers=headers)
            if response.status_code != 200 or response.json()["contact"] is None:
                return False
        return True

    async def logged_all() -> bool:
        response = await analytics.get(
            "/api/analytics/calls", params={"limit": 500}, headers=headers
        )
        return response.status_code == 200 and len(response.json()["items"]) == len(calls)

    await wait_until(identified_all, timeout=60, message="crm-touch knows every client's number")
    await wait_until(logged_all, timeout=60, message="analytics logged every call")


async def _ask_everyone(
    booking: httpx.AsyncClient,
    crm: httpx.AsyncClient,
    analytics: httpx.AsyncClient,
    headers: dict[str, str],
    text: str,
) -> Answers:
    found = await booking.get(
        "/api/booking/clients", params={"phone": text, "limit": 200}, headers=headers
    )
    assert found.status_code == 200, found.text
    identify = await crm.get("/api/crm/identify", params={"phone": text}, headers=headers)
    assert identify.status_code in (200, 422), identify.text
    identified: set[str] = set()
    if identify.status_code == 200:
        body = identify.json()
        identified = {c["id"] for c in [body["contact"], *body["candidates"]] if c}

    async def call_ids(**params: str) -> set[str]:
        response = await analytics.get(
            "/api/analytics/calls", params={**params, "limit": "500"}, headers=headers
        )
        assert response.status_code == 200, response.text
        return {item["call_id"] for item in response.json()["items"]}

    report = await analytics.get(
        "/api/analytics/reports/calls",
        params={"group_by": "day", "phone": text},
        headers=headers,
    )
    assert report.status_code == 200, report.text
    return Answers(
        booking={c["client_id"]: c["mobile"] for c in found.json()["items"]},
        identify_status=identify.status_code,
        identified=identified,
        call_log=await call_ids(phone=text),
        free_text=await call_ids(q=text),
        report_total=sum(row["total"]["count"] for row in report.json()["rows"]),
    )
