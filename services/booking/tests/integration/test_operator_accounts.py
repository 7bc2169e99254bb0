"""The directory's people as the admin keeps them: password resets that force a new
password before any session, operators changing their own, call centers, and who reads
operators' login names."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from conftest import Booking

API = "/api/booking"


def _address() -> dict[str, str]:
    # The test client is a trusted proxy: one browser address per test, so no other
    # test's failed logins count against this one.
    return {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}


async def _new_operator(booking: Booking, password: str, **fields: Any) -> dict[str, Any]:
    username = f"acct-{uuid.uuid4().hex[:10]}"
    created = await booking.post(
        "admin",
        f"{API}/operators",
        {
            "name": "Account Test",
            "username": username,
            "password": password,
            "role": "call_centre",
            "call_center_id": "cc-central",
            **fields,
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _login(
    client: httpx.AsyncClient, username: str, password: str, headers: dict[str, str]
) -> httpx.Response:
    response = await client.post(
        f"{API}/auth/login", json={"username": username, "password": password}, headers=headers
    )
    client.cookies.clear()
    return response


async def _change(
    client: httpx.AsyncClient, username: str, current: str, new: str, headers: dict[str, str]
) -> httpx.Response:
    response = await client.post(
        f"{API}/auth/password",
        json={"username": username, "current_password": current, "new_password": new},
        headers=headers,
    )
    client.cookies.clear()
    return response


def _bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _listed(booking: Booking, user: str, operator_id: str) -> dict[str, Any]:
    listing = await booking.get(user, f"{API}/operators")
    assert listing.status_code == 200, listing.text
    (found,) = [o for o in listing.json()["items"] if o["operator_id"] == operator_id]
    return dict(found)


async def test_a_reset_password_must_be_replaced_before_any_session(booking: Booking) -> None:
    client, address = booking.client, _address()
    operator = await _new_operator(booking, "first-password-1")
    oid, username = operator["operator_id"], operator["username"]
    before = await _login(client, username, "first-password-1", address)
    assert before.status_code == 200, before.text

    # Only admins reset passwords; a typed temporary one follows the policy.
    reset_url = f"{API}/operators/{oid}/password-reset"
    for role_user in ("anna", "maria"):
        assert (await booking.post(role_user, reset_url, {})).status_code == 403
    assert (
        await booking.post("admin", f"{API}/operators/nobody/password-reset", {})
    ).status_code == 404
    short = await booking.post("admin", reset_url, {"password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.json()["detail"]

    reset = await booking.post("admin", reset_url, {})
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert len(temporary) == 12 and reset.json()["must_change_password"] is True
    assert (await _listed(booking, "admin", oid))["must_change_password"] is True

    # The session they had ends at once; the old password no longer opens anything.
    assert (await client.get(f"{API}/auth/me", headers=_bearer(before))).status_code == 401
    assert (await _login(client, username, "first-password-1", address)).status_code == 401

    # The temporary password is right, but opens no session: the body says what to do.
    flagged = await client.post(
        f"{API}/auth/login", json={"username": username, "password": temporary}, headers=address
    )
    assert flagged.status_code == 403
    assert flagged.json()["must_change_password"] is True
    assert "token" not in flagged.json() and "sb_session" not in flagged.cookies
    client.cookies.clear()

    # Choosing the new password: the current one must be right, the new one acceptable.
    wrong = await _change(client, username, "not-the-temporary", "a-good-new-password", address)
    assert wrong.status_code == 401
    for bad, why in (
        ("too-short", "at least 10 characters"),
        (username, "not be the username"),
        (temporary, "differ from the current one"),
    ):
        refused = await _change(client, username, temporary, bad, address)
        assert refused.status_code == 422 and why in refused.json()["detail"], refused.text

    changed = await _change(client, username, temporary, "a-good-new-password", address)
    assert changed.status_code == 200, changed.text
    assert changed.json()["operator"]["operator_id"] == oid
    session = _bearer(changed)
    assert (await client.get(f"{API}/auth/me", headers=session)).json()["operator_id"] == oid
    assert (await client.get(f"{API}/clinics", headers=session)).status_code == 200
    assert (await _listed(booking, "admin", oid))["must_change_password"] is False

    assert (await _login(client, username, temporary, address)).status_code == 401
    again = await _login(client, username, "a-good-new-password", address)
    assert again.status_code == 200 and again.json()["operator"]["operator_id"] == oid


async def test_an_admin_types_the_temporary_password_and_an_own_change_ends_other_sessions(
    booking: Booking,
) -> None:
    client, address = booking.client, _address()
    operator = await _new_operator(booking, "first-password-2")
    oid, username = operator["operator_id"], operator["username"]
    reset = await booking.post(
        "admin", f"{API}/operators/{oid}/password-reset", {"password": "Typed-temporary-7"}
    )
    assert reset.status_code == 200 and reset.json()["temporary_password"] == "Typed-temporary-7"
    chosen = await _change(client, username, "Typed-temporary-7", "chosen-password-7", address)
    assert chosen.status_code == 200, chosen.text

    # Without a reset, an operator changes their own password: their other sessions end.
    other_tab = await _login(client, username, "chosen-password-7", address)
    assert other_tab.status_code == 200
    changed = await _change(client, username, "chosen-password-7", "chosen-password-8", address)
    assert changed.status_code == 200
    assert (await client.get(f"{API}/auth/me", headers=_bearer(other_tab))).status_code == 401
    assert (await client.get(f"{API}/auth/me", headers=_bearer(changed))).status_code == 200


async def test_call_centers_are_created_renamed_and_deactivated_by_admins_only(
    booking: Booking,
) -> None:
    name = f"Desk {uuid.uuid4().hex[:6]}"
    for user in ("anna", "maria"):
        refused = await booking.post(
            user, f"{API}/call-centers", {"name": name, "kind": "internal"}
        )
        assert refused.status_code == 403
    created = await booking.post("admin", f"{API}/call-centers", {"name": name, "kind": "internal"})
    assert created.status_code == 201, created.text
    cid = created.json()["call_center_id"]
    taken = await booking.post("admin", f"{API}/call-centers", {"name": name, "kind": "external"})
    assert taken.status_code == 409
    url = f"{API}/call-centers/{cid}"
    assert (await booking.patch("anna", url, {"name": "Mine now"})).status_code == 403
    renamed = await booking.patch("admin", url, {"name": f"{name} North"})
    assert renamed.status_code == 200 and renamed.json()["name"] == f"{name} North"
    off = await booking.patch("admin", url, {"active": False})
    assert off.json() == {
        "call_center_id": cid,
        "name": f"{name} North",
        "kind": "internal",
        "active": False,
    }
    for user in ("maria", "anna", "petr"):
        listing = await booking.get(user, f"{API}/call-centers")
        assert [c["active"] for c in listing.json()["items"] if c["call_center_id"] == cid] == [
            False
        ]


async def test_login_names_are_read_by_admins_and_managers_only(booking: Booking) -> None:
    operator = await _new_operator(booking, "first-password-3", extension="101")
    oid = operator["operator_id"]
    for user in ("admin", "maria"):
        seen = await _listed(booking, user, oid)
        assert seen["username"] == operator["username"]
        assert seen["must_change_password"] is False
    for user in ("anna", "petr"):
        seen = await _listed(booking, user, oid)
        assert seen == {
            "operator_id": oid,
            "name": "Account Test",
            "role": "call_centre",
            "call_center_id": "cc-central",
            "extension": "101",
            "active": True,
        }
