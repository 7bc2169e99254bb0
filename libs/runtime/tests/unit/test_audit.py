"""The audit record's "who" and "from where", built from a request the way every service
builds it."""

from __future__ import annotations

from starlette.requests import Request

from switchboard_runtime.audit import audit_event, client_address
from switchboard_runtime.auth import Principal

GATEWAY = ["127.0.0.0/8"]


def _request(peer: str, headers: dict[str, str]) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": (peer, 40000),
        }
    )


def test_only_a_trusted_proxy_says_where_the_browser_is() -> None:
    # Through the gateway: the entry it appended (the last) is the browser; earlier ones
    # are whatever the browser claimed.
    forwarded = {"X-Forwarded-For": "10.9.9.9, 203.0.113.5"}
    assert client_address(_request("127.0.0.1", forwarded), GATEWAY) == "203.0.113.5"
    # Straight from a browser: its own X-Forwarded-For is not believed.
    assert client_address(_request("198.51.100.7", forwarded), GATEWAY) == "198.51.100.7"
    assert client_address(_request("127.0.0.1", {}), GATEWAY) == "127.0.0.1"
    assert client_address(_request("127.0.0.1", forwarded), []) == "127.0.0.1"


def test_the_record_names_the_operator_the_action_and_the_browser() -> None:
    request = _request("127.0.0.1", {"X-Forwarded-For": "203.0.113.5", "User-Agent": "x" * 1000})
    principal = Principal("op-anna", "Anna", "call_centre", "cc-a", "101")
    event = audit_event(
        request,
        principal,
        "client.viewed",
        "client",
        "client-1",
        {"why": "a call"},
        trusted_proxies=GATEWAY,
    )
    assert (event.actor_id, event.actor_name, event.actor_role) == (
        "op-anna",
        "Anna",
        "call_centre",
    )
    assert (event.action, event.subject_type, event.subject_id) == (
        "client.viewed",
        "client",
        "client-1",
    )
    assert event.details == {"why": "a call"}
    assert event.client_address == "203.0.113.5"
    assert event.user_agent == "x" * 300
    assert event.occurred_at.tzinfo is not None
