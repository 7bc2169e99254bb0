"""Every endpoint of every service, for every role: who gets in, who gets 403, who gets 401.

The table below names each route of each service's app (read from the apps' own route
tables, so a new endpoint without a row here fails :func:`test_the_table_names_every_route`)
and what each caller may do. The columns are no session, a forged token (signed with
another secret), an expired token, and a real session of each role from booking's login.

* ``Guarded(allowed)`` — needs a session: 401 without a valid one; the ``allowed`` roles get
  in (anything but 401/403), the other roles get 403. Each row sends a request that would
  succeed for an allowed role (valid body, existing ids), so a 403 is the role rule and not
  a side effect of bad input.
* ``Public(reason)`` — the explicit exceptions (login, health, metrics, API docs, the
  console's static bundle): no column is refused.
* ``OwnCredential(reason)`` — integration endpoints with a credential of their own (the PBX
  webhook's signature, Callmarker's token): a session opens nothing, every column is 401.
* ``Proxy`` — the console gateway relays ``/api/...`` to the services; through it a sample
  endpoint answers exactly as the service itself does (the gateway adds no access).

Requests go to the real processes of :func:`secure_platform`. The call-center ownership rule
(an operator of call center B cannot move or cancel call center A's appointment) is tested
in ``services/booking/tests/integration/test_booking_api.py``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import WebSocketRoute

from switchboard_runtime.auth import ROLES

pytestmark = pytest.mark.integration

#: Columns of the matrix, refused ones first so that an allowed role's change (a cancelled
#: appointment, a deleted DID) cannot turn a refused column's 403 into a 404 or 409.
COLUMNS = ("anon", "forged", "expired", "manager", "clinic_staff", "call_centre", "admin")
UNAUTHENTICATED = ("anon", "forged", "expired")
EVERYONE = ROLES
ADMIN = ("admin",)
BOOKERS = ("admin", "call_centre", "clinic_staff")
REPORT_READERS = ("admin", "manager")
MSK = ZoneInfo("Europe/Moscow")

HEALTH = "health and metrics: probed by Kubernetes and scraped by Prometheus; no operator data"
DOCS = "API documentation (schemas only, no data)"
BUNDLE = "the console's static bundle: the login page loads before there is a session"
UNSUBSCRIBE = "a patient's unsubscribe link from an email: its signed token is the credential"


@dataclass(frozen=True)
class Req:
    """What to send; ``{name}`` in the path, params and body is filled from the world."""

    path: str | None = None
    params: dict[str, str] | None = None
    body: Any = None
    #: Sent instead of the column's session (logout would end the session the rest of
    #: the matrix uses).
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Guarded:
    """Needs a session; ``allowed`` roles get in, the others get 403."""

    allowed: tuple[str, ...]
    req: Req = field(default_factory=Req)


@dataclass(frozen=True)
class Public:
    """Reachable without a session, on purpose (``reason``)."""

    reason: str
    req: Req = field(default_factory=Req)


@dataclass(frozen=True)
class OwnCredential:
    """Authenticated by an integration credential of its own: every session column is 401."""

    reason: str
    req: Req = field(default_factory=Req)


@dataclass(frozen=True)
class Proxy:
    """The gateway's relay; checked through the ``sample`` row of a service."""

    sample: tuple[str, str, str]
    reason: str = "the gateway relays to the service, which decides (sample row checked)"


@dataclass(frozen=True)
class Refused:
    """Nobody gets this method here (the gateway relays it, no service route takes it)."""

    status: int
    reason: str


Row = Guarded | Public | OwnCredential | Proxy | Refused


def _docs(service: str) -> dict[tuple[str, str, str], Row]:
    rows: dict[tuple[str, str, str], Row] = {}
    for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"):
        for method in ("GET", "HEAD"):
            rows[(service, method, path)] = Public(DOCS)
    for path in ("/healthz", "/readyz", "/metrics"):
        rows[(service, "GET", path)] = Public(HEALTH)
    return rows


def _admin_only(
    service: str, collection: str, item: str, item_id: str, create: Any, change: Any
) -> dict[tuple[str, str, str], Row]:
    """A list only the admin keeps (DIDs, extensions): list, create, read, change, delete
    ``{collection}/{item}``, the item being ``item_id``."""
    template, path = f"{collection}/{{{item}}}", f"{collection}/{item_id}"
    return {
        (service, "GET", collection): Guarded(ADMIN),
        (service, "POST", collection): Guarded(ADMIN, Req(body=create)),
        (service, "GET", template): Guarded(ADMIN, Req(path)),
        (service, "PUT", template): Guarded(ADMIN, Req(path, body=change)),
        (service, "DELETE", template): Guarded(ADMIN, Req(path)),
    }


def _admin_edited(
    service: str, collection: str, item: str, item_id: str, create: Any, change: Any
) -> dict[tuple[str, str, str], Row]:
    """A list every role reads and only the admin edits (clinics, services, ...): list,
    create, and change ``{collection}/{item}``, the item being ``item_id``."""
    return {
        (service, "GET", collection): Guarded(EVERYONE),
        (service, "POST", collection): Guarded(ADMIN, Req(body=create)),
        (service, "PATCH", f"{collection}/{{{item}}}"): Guarded(
            ADMIN, Req(f"{collection}/{item_id}", body=change)
        ),
    }


DID = "+74950000123"
TABLE: dict[tuple[str, str, str], Row] = {
    # --- telephony ---------------------------------------------------------------------
    **_docs("telephony"),
    ("telephony", "POST", "/api/telephony/pbx/events"): OwnCredential(
        "the PBX signs each delivery with the integration token; a session is no credential",
        Req(body=[{"type": "call.started", "call_id": "sec-x", "timestamp": 1}]),
    ),
    **{
        ("telephony", "POST", path): OwnCredential(
            f"{pbx} signs each delivery with its own secret; a session is no credential",
            Req(path.replace("{path:path}", "events/call"), body={"CallSid": "CA-sec"}),
        )
        for pbx in ("mango", "twilio")
        for path in (f"/api/telephony/pbx/{pbx}", f"/api/telephony/pbx/{pbx}/{{path:path}}")
    },
    ("telephony", "POST", "/api/telephony/callmarker/tags"): OwnCredential(
        "Callmarker's callback carries Callmarker's token (X-Callmarker-Token)",
        Req(body={"call_id": "sec-x", "tags": ["a"]}),
    ),
    **_admin_only(
        "telephony",
        "/api/telephony/dids",
        "did",
        quote(DID),
        create={"did": DID, "clinic_id": "clinic-msk-center"},
        change={"clinic_id": "clinic-msk-north"},
    ),
    **_admin_only(
        "telephony",
        "/api/telephony/extensions",
        "extension",
        "190",
        create={"extension": "190", "clinic_id": "clinic-msk-center"},
        change={"description": "security"},
    ),
    # Not configured in the matrix's platform: an allowed role gets 503 (or 409 without an
    # extension), never 401/403; managers do not make calls.
    ("telephony", "POST", "/api/telephony/click-to-call"): Guarded(
        BOOKERS, Req(body={"number": "+74951234567"})
    ),
    ("telephony", "GET", "/api/telephony/settings/integrations/{integration}"): Guarded(
        ADMIN, Req("/api/telephony/settings/integrations/calltouch")
    ),
    ("telephony", "PUT", "/api/telephony/settings/integrations/{integration}"): Guarded(
        ADMIN, Req("/api/telephony/settings/integrations/callmarker", body={"enabled": False})
    ),
    ("telephony", "GET", "/api/telephony/settings/integrations/callmarker/deliveries"): Guarded(
        ADMIN
    ),
    # --- booking -----------------------------------------------------------------------
    **_docs("booking"),
    ("booking", "POST", "/api/booking/auth/login"): Public(
        "logging in is how a session starts",
        Req(body={"username": "maria", "password": "maria"}),
    ),
    ("booking", "POST", "/api/booking/auth/logout"): Public(
        "ends only the session it is sent with (tests/security/test_sessions.py)",
        Req(headers={}),
    ),
    # A seeded operator no column logs in as, so the matrix's own sessions live on.
    ("booking", "POST", "/api/booking/operators/{operator_id}/sessions/end"): Guarded(
        ADMIN, Req("/api/booking/operators/op-boris/sessions/end")
    ),
    ("booking", "POST", "/api/booking/auth/password"): Public(
        "choosing a new password proves the current one, as logging in does",
        Req(body={"username": "maria", "current_password": "maria", "new_password": "x"}),
    ),
    # An operator of the matrix's own, so no column's login is reset.
    ("booking", "POST", "/api/booking/operators/{operator_id}/password-reset"): Guarded(
        ADMIN, Req("/api/booking/operators/{reset_operator_id}/password-reset", body={})
    ),
    ("booking", "GET", "/api/booking/auth/me"): Guarded(EVERYONE),
    ("booking", "POST", "/api/booking/clients"): Guarded(
        BOOKERS, Req(body={"first_name": "Role", "last_name": "Matrix", "email": "r@example.org"})
    ),
    ("booking", "GET", "/api/booking/clients"): Guarded(EVERYONE, Req(params={"name": "Role"})),
    ("booking", "GET", "/api/booking/clients/merge-preview"): Guarded(
        BOOKERS,
        Req(params={"primary_client_id": "{primary}", "duplicate_client_id": "{duplicate}"}),
    ),
    ("booking", "POST", "/api/booking/clients/merge"): Guarded(
        BOOKERS, Req(body={"primary_client_id": "{primary}", "duplicate_client_id": "{duplicate}"})
    ),
    ("booking", "GET", "/api/booking/clients/{client_id}"): Guarded(
        EVERYONE, Req("/api/booking/clients/{client_id}")
    ),
    ("booking", "PATCH", "/api/booking/clients/{client_id}"): Guarded(
        BOOKERS, Req("/api/booking/clients/{client_id}", body={"first_name": "Rolf"})
    ),
    ("booking", "GET", "/api/booking/clients/{client_id}/notifications"): Guarded(
        EVERYONE, Req("/api/booking/clients/{client_id}/notifications")
    ),
    ("booking", "GET", "/api/booking/availability"): Guarded(
        EVERYONE,
        Req(
            params={"clinic_id": "clinic-msk-center", "service_id": "svc-consult", "date": "{day}"}
        ),
    ),
    ("booking", "POST", "/api/booking/appointments"): Guarded(
        BOOKERS,
        Req(
            body={
                "service_id": "svc-consult",
                "clinic_id": "clinic-msk-center",
                "practitioner_id": "pr-ivanova",
                "starts_at": "{free_slot}",
                "client_id": "{client_id}",
            }
        ),
    ),
    ("booking", "GET", "/api/booking/appointments"): Guarded(
        EVERYONE, Req(params={"date": "{day}", "clinic_id": "clinic-msk-center"})
    ),
    ("booking", "GET", "/api/booking/appointments/{appointment_id}/notifications"): Guarded(
        EVERYONE, Req("/api/booking/appointments/{appointment_id}/notifications")
    ),
    ("booking", "GET", "/api/booking/notification-templates"): Guarded(
        EVERYONE, Req(params={"clinic_id": "clinic-msk-center"})
    ),
    (
        "booking",
        "PUT",
        "/api/booking/notification-templates/{clinic_id}/{kind}/{channel}/{language}",
    ): Guarded(
        ADMIN,
        Req(
            "/api/booking/notification-templates/clinic-msk-center/booked/sms/en",
            body={"subject": "", "body": "Booked at {{ clinic.name }}"},
        ),
    ),
    (
        "booking",
        "DELETE",
        "/api/booking/notification-templates/{clinic_id}/{kind}/{channel}/{language}",
    ): Guarded(ADMIN, Req("/api/booking/notification-templates/clinic-msk-center/booked/sms/en")),
    ("booking", "POST", "/api/booking/notification-templates/preview"): Guarded(
        ADMIN,
        Req(
            body={
                "clinic_id": "clinic-msk-center",
                "kind": "booked",
                "channel": "sms",
                "language": "en",
                "subject": "",
                "body": "Booked",
            }
        ),
    ),
    ("booking", "GET", "/api/booking/unsubscribe/{token}"): Public(
        UNSUBSCRIBE, Req("/api/booking/unsubscribe/not-a-signed-token")
    ),
    ("booking", "POST", "/api/booking/unsubscribe/{token}"): Public(
        UNSUBSCRIBE, Req("/api/booking/unsubscribe/not-a-signed-token")
    ),
    ("booking", "GET", "/api/booking/appointments/{appointment_id}"): Guarded(
        EVERYONE, Req("/api/booking/appointments/{appointment_id}")
    ),
    # Owned by call center Central, whose operators are the call_centre and clinic_staff
    # sessions; another call center's operator is refused (booking's own tests).
    ("booking", "POST", "/api/booking/appointments/{appointment_id}/reschedule"): Guarded(
        BOOKERS,
        Req("/api/booking/appointments/{appointment_id}/reschedule", body={"starts_at": "{move}"}),
    ),
    ("booking", "POST", "/api/booking/appointments/{appointment_id}/cancel"): Guarded(
        BOOKERS,
        Req("/api/booking/appointments/{appointment_id}/cancel", body={"reason_id": "other"}),
    ),
    **_admin_edited(
        "booking",
        "/api/booking/clinics",
        "clinic_id",
        "clinic-ekb",
        create={"name": "Security clinic", "time_zone": "Europe/Moscow"},
        change={"city": "Yekaterinburg"},
    ),
    **_admin_edited(
        "booking",
        "/api/booking/services",
        "service_id",
        "svc-dental",
        create={"name": "Security check", "duration_minutes": 30, "meeting_methods": ["phone"]},
        change={"active": True},
    ),
    **_admin_edited(
        "booking",
        "/api/booking/practitioners",
        "practitioner_id",
        "pr-smith",
        create={"name": "Dr Security"},
        change={"active": True},
    ),
    **_admin_edited(
        "booking",
        "/api/booking/call-centers",
        "call_center_id",
        "cc-partner",
        create={"name": "Security CC", "kind": "external"},
        change={"name": "Partner"},
    ),
    **_admin_edited(
        "booking",
        "/api/booking/cancellation-reasons",
        "reason_id",
        "other",
        create={"label": "Security reason"},
        change={"label": "Other"},
    ),
    **_admin_edited(
        "booking",
        "/api/booking/operators",
        "operator_id",
        "op-boris",
        create={
            "name": "Matrix Operator",
            "username": "matrix-op",
            "password": "{new_password}",
            "role": "manager",
        },
        change={"name": "Boris"},
    ),
    ("booking", "GET", "/api/booking/practitioners/{practitioner_id}/absences"): Guarded(
        ADMIN, Req("/api/booking/practitioners/pr-smith/absences")
    ),
    ("booking", "POST", "/api/booking/practitioners/{practitioner_id}/absences"): Guarded(
        ADMIN, Req("/api/booking/practitioners/pr-smith/absences", body={"starts_on": "2099-01-02"})
    ),
    # An unknown absence: the admin's 404 shows the guard let them through.
    ("booking", "DELETE", "/api/booking/practitioners/{practitioner_id}/absences/{absence_id}"): (
        Guarded(ADMIN, Req("/api/booking/practitioners/pr-smith/absences/matrix-none"))
    ),
    ("booking", "GET", "/api/booking/clinics/{clinic_id}/closures"): Guarded(
        ADMIN, Req("/api/booking/clinics/clinic-ekb/closures")
    ),
    ("booking", "POST", "/api/booking/clinics/{clinic_id}/closures"): Guarded(
        ADMIN, Req("/api/booking/clinics/clinic-ekb/closures", body={"starts_on": "2099-01-02"})
    ),
    ("booking", "DELETE", "/api/booking/clinics/{clinic_id}/closures/{closure_id}"): Guarded(
        ADMIN, Req("/api/booking/clinics/clinic-ekb/closures/matrix-none")
    ),
    ("booking", "GET", "/api/booking/appointments/to-reschedule"): Guarded(
        ("admin", "call_centre")
    ),
    # --- crm-touch ---------------------------------------------------------------------
    **_docs("crm-touch"),
    ("crm-touch", "GET", "/api/crm/identify"): Guarded(
        EVERYONE, Req(params={"phone": "+79160000123"})
    ),
    ("crm-touch", "GET", "/api/crm/touches"): Guarded(EVERYONE),
    ("crm-touch", "GET", "/api/crm/touches/{touch_id}"): Guarded(
        EVERYONE, Req("/api/crm/touches/sec-no-touch")
    ),
    ("crm-touch", "PATCH", "/api/crm/touches/{touch_id}"): Guarded(
        BOOKERS, Req("/api/crm/touches/sec-no-touch", body={"notes": "role matrix"})
    ),
    ("crm-touch", "GET", "/api/crm/contacts/{contact_id}"): Guarded(
        EVERYONE, Req("/api/crm/contacts/{client_id}")
    ),
    ("crm-touch", "GET", "/api/crm/contacts/{contact_id}/timeline"): Guarded(
        EVERYONE, Req("/api/crm/contacts/{client_id}/timeline")
    ),
    ("crm-touch", "GET", "/api/crm/settings"): Guarded(EVERYONE),
    # --- analytics ---------------------------------------------------------------------
    **_docs("analytics"),
    ("analytics", "GET", "/api/analytics/calls"): Guarded(EVERYONE),
    ("analytics", "GET", "/api/analytics/reports/calls"): Guarded(REPORT_READERS),
    ("analytics", "GET", "/api/analytics/reports/when"): Guarded(REPORT_READERS),
    ("analytics", "GET", "/api/analytics/dids"): Guarded(REPORT_READERS),
    ("analytics", "GET", "/api/analytics/reports/conversion"): Guarded(
        REPORT_READERS, Req(params={"group_by": "day"})
    ),
    ("analytics", "GET", "/api/analytics/reports/service-level"): Guarded(
        REPORT_READERS, Req(params={"group_by": "day"})
    ),
    ("analytics", "GET", "/api/analytics/service-level-targets"): Guarded(REPORT_READERS),
    ("analytics", "PUT", "/api/analytics/service-level-targets/{clinic_id}"): Guarded(
        ADMIN,
        Req("/api/analytics/service-level-targets/sec-clinic", body={"target_seconds": 25}),
    ),
    ("analytics", "DELETE", "/api/analytics/service-level-targets/{clinic_id}"): Guarded(
        ADMIN, Req("/api/analytics/service-level-targets/sec-clinic")
    ),
    ("analytics", "GET", "/api/analytics/calls/{call_id}/recording"): Guarded(
        EVERYONE, Req("/api/analytics/calls/sec-no-call/recording")
    ),
    ("analytics", "GET", "/api/analytics/recording-listens"): Guarded(ADMIN),
    ("analytics", "GET", "/api/analytics/worklist"): Guarded(EVERYONE),
    ("analytics", "GET", "/api/analytics/worklist/count"): Guarded(EVERYONE),
    # Managers read the worklist; those who call back act on it (no such entry: 404).
    ("analytics", "POST", "/api/analytics/worklist/{call_id}/claim"): Guarded(
        BOOKERS, Req("/api/analytics/worklist/sec-no-call/claim")
    ),
    ("analytics", "POST", "/api/analytics/worklist/{call_id}/release"): Guarded(
        BOOKERS, Req("/api/analytics/worklist/sec-no-call/release")
    ),
    ("analytics", "POST", "/api/analytics/worklist/{call_id}/close"): Guarded(
        BOOKERS, Req("/api/analytics/worklist/sec-no-call/close", body={"result": "no_answer"})
    ),
    ("analytics", "GET", "/api/analytics/audit"): Guarded(ADMIN),
    # --- notify ------------------------------------------------------------------------
    **_docs("notify"),
    ("notify", "GET", "/api/notify/me"): Guarded(EVERYONE),
    ("notify", "POST", "/api/notify/calls/{call_id}/take"): Guarded(
        EVERYONE, Req("/api/notify/calls/sec-no-call/take")
    ),
    # --- console gateway ---------------------------------------------------------------
    ("console", "GET", "/openapi.json"): Public(DOCS),
    ("console", "HEAD", "/openapi.json"): Public(DOCS),
    ("console", "GET", "/healthz"): Public(HEALTH),
    ("console", "GET", "/readyz"): Public(HEALTH),
    ("console", "GET", "/{path:path}"): Public(BUNDLE),
    ("console", "HEAD", "/{path:path}"): Public(BUNDLE),
    ("console", "GET", "/api/{rest:path}"): Proxy(
        ("analytics", "GET", "/api/analytics/reports/calls")
    ),
    ("console", "POST", "/api/{rest:path}"): Proxy(
        ("booking", "POST", "/api/booking/cancellation-reasons")
    ),
    ("console", "PUT", "/api/{rest:path}"): Proxy(
        ("telephony", "PUT", "/api/telephony/settings/integrations/{integration}")
    ),
    ("console", "PATCH", "/api/{rest:path}"): Proxy(
        ("crm-touch", "PATCH", "/api/crm/touches/{touch_id}")
    ),
    ("console", "DELETE", "/api/{rest:path}"): Proxy(
        ("telephony", "DELETE", "/api/telephony/extensions/{extension}")
    ),
    ("console", "HEAD", "/api/{rest:path}"): Refused(405, "no service route takes HEAD"),
    ("console", "OPTIONS", "/api/{rest:path}"): Refused(405, "no service route takes OPTIONS"),
}

#: Every WebSocket route: (service, path) → the path to open on that service.
SOCKETS: dict[tuple[str, str], str] = {
    ("notify", "/api/notify/ws"): "/api/notify/ws",
    # The gateway relays any /api/<service>/... socket; notify's is the one there is.
    ("console", "/api/{rest:path}"): "/api/notify/ws",
}

SERVICES = {
    "telephony": "switchboard_telephony",
    "booking": "switchboard_booking",
    "crm-touch": "switchboard_crm_touch",
    "analytics": "switchboard_analytics",
    "notify": "switchboard_notify",
    "console": "switchboard_console",
}


def app_routes() -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """Every (service, method, path) and every WebSocket (service, path) the apps serve."""
    http: set[tuple[str, str, str]] = set()
    sockets: set[tuple[str, str]] = set()
    for service, package in SERVICES.items():
        app = importlib.import_module(f"{package}.bootstrap").build_app()
        for route in iter_route_contexts(app.routes):
            if isinstance(route.original_route, WebSocketRoute) or route.methods is None:
                sockets.add((service, str(route.path)))
                continue
            for method in route.methods:
                http.add((service, method, str(route.path)))
    return http, sockets


def test_the_table_names_every_route() -> None:
    """A route without a row (or a row without a route) fails: decide who may call it."""
    http, sockets = app_routes()
    assert sorted(http - set(TABLE)) == [], "routes missing from TABLE"
    assert sorted(set(TABLE) - http) == [], "TABLE rows for routes that do not exist"
    assert sockets == set(SOCKETS)


# --- the world the requests refer to ---------------------------------------------------


def _next_monday(weeks_ahead: int) -> date:
    today = datetime.now(MSK).date()
    return today + timedelta(days=7 - today.weekday(), weeks=weeks_ahead)


def _at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=MSK).isoformat()


@pytest.fixture(scope="module")
def world(secure_platform: Any, sessions: Any) -> dict[str, str]:
    """Records the rows act on: clients, one appointment of call center Central."""
    booking = httpx.Client(
        base_url=secure_platform.service_url("booking") + "/api/booking", timeout=20
    )
    admin = sessions.headers("admin")
    anna = sessions.headers("call_centre")

    def client(first: str, last: str, mobile: str) -> str:
        created = booking.post(
            "/clients",
            json={"first_name": first, "last_name": last, "mobile": mobile},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        return str(created.json()["client_id"])

    day = _next_monday(9)
    client_id = client("Matrix", "Owner", "+79165550101")
    booked = booking.post(
        "/appointments",
        json={
            "service_id": "svc-consult",
            "clinic_id": "clinic-msk-center",
            "practitioner_id": "pr-ivanova",
            "starts_at": _at(day, 10),
            "client_id": client_id,
        },
        headers=anna,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["call_center_id"] == "cc-central"
    new_password = "Matrix-" + datetime.now().strftime("%H%M%S%f")
    sessions.passwords.append(new_password)
    reset_operator = booking.post(
        "/operators",
        json={
            "name": "Matrix Reset",
            "username": "matrix-reset-" + datetime.now().strftime("%H%M%S%f"),
            "password": new_password,
            "role": "call_centre",
        },
        headers=admin,
    )
    assert reset_operator.status_code == 201, reset_operator.text
    return {
        "day": day.isoformat(),
        "client_id": client_id,
        "primary": client("Merge", "Primary", "+79165550102"),
        "duplicate": client("Merge", "Duplicate", "+79165550103"),
        "appointment_id": str(booked.json()["appointment_id"]),
        "free_slot": _at(day, 12),
        "move": _at(day, 14),
        "new_password": new_password,
        "reset_operator_id": str(reset_operator.json()["operator_id"]),
    }


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _send(
    base: str, method: str, template: str, req: Req, world: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    path = _fill(req.path or template, world)
    if req.headers is not None:
        headers = req.headers
    kwargs: dict[str, Any] = {"headers": headers}
    if req.params:
        kwargs["params"] = _fill(req.params, world)
    if method in ("POST", "PUT", "PATCH"):
        kwargs["content"] = json.dumps(_fill(req.body or {}, world)).encode()
        kwargs["headers"] = {**headers, "Content-Type": "application/json"}
    return httpx.request(method, base + path, timeout=30, **kwargs)


def _expected(row: Row, column: str) -> str:
    """``"401"``, ``"403"``, ``"in"`` (neither 401 nor 403, nor a 5xx) or a fixed status."""
    if isinstance(row, Refused):
        return str(row.status)
    if isinstance(row, OwnCredential):
        return "401"
    if isinstance(row, Public):
        return "in"
    assert isinstance(row, Guarded)
    if column in UNAUTHENTICATED:
        return "401"
    return "in" if column in row.allowed else "403"


def _check(response: httpx.Response, expected: str, what: str) -> None:
    code = response.status_code
    if expected == "in":
        assert code not in (401, 403) and code < 500, f"{what}: {code} {response.text[:300]}"
    else:
        assert str(code) == expected, f"{what}: {code}, expected {expected}: {response.text[:300]}"


def _cells() -> Iterator[Any]:
    for key in TABLE:
        for column in COLUMNS:
            service, method, path = key
            yield pytest.param(key, column, id=f"{service} {method} {path} as {column}")


@pytest.mark.parametrize(("key", "column"), list(_cells()))
def test_the_role_matrix(
    key: tuple[str, str, str],
    column: str,
    secure_platform: Any,
    sessions: Any,
    world: dict[str, str],
) -> None:
    service, method, template = key
    row = TABLE[key]
    headers = sessions.headers(column)
    if isinstance(row, Proxy):
        _, sample_method, sample_path = row.sample
        sample = TABLE[row.sample]
        assert isinstance(sample, Guarded) and sample_method == method
        response = _send(
            secure_platform.console_url, method, sample_path, sample.req, world, headers
        )
        _check(response, _expected(sample, column), f"{method} {sample_path} via the gateway")
        return
    base = (
        secure_platform.console_url
        if service == "console"
        else secure_platform.service_url(service)
    )
    if isinstance(row, Refused):
        response = _send(base, method, "/api/analytics/calls", Req(), world, headers)
    else:
        path = "/" if template == "/{path:path}" else template
        response = _send(base, method, path, row.req, world, headers)
    _check(response, _expected(row, column), f"{service} {method} {template} as {column}")


# --- WebSockets ----------------------------------------------------------------------------


def _ws_url(platform: Any, key: tuple[str, str]) -> str:
    service, _ = key
    base = platform.console_url if service == "console" else platform.service_url(service)
    return base.replace("http://", "ws://") + SOCKETS[key]


async def _open(url: str, headers: dict[str, str]) -> tuple[str, int | None]:
    """``("accepted", None)``, ``("refused", http status)`` or ``("closed", close code)``."""
    import websockets

    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=10) as ws:
            try:
                await ws.recv()
            except websockets.ConnectionClosed as closed:
                return "closed", closed.rcvd.code if closed.rcvd else None
            return "accepted", None
    except websockets.InvalidStatus as exc:
        return "refused", exc.response.status_code


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("key", list(SOCKETS), ids=[f"{s} {p}" for s, p in SOCKETS])
@pytest.mark.parametrize("column", COLUMNS)
async def test_websockets_refuse_the_unauthenticated(
    key: tuple[str, str], column: str, secure_platform: Any, sessions: Any
) -> None:
    outcome, code = await _open(_ws_url(secure_platform, key), sessions.headers(column))
    if column in UNAUTHENTICATED:
        # Refused at the handshake (HTTP 401), or, through the gateway, closed with 4401.
        assert (outcome, code) in (("refused", 401), ("closed", 4401)), (outcome, code)
    else:
        assert outcome == "accepted", (outcome, code)
