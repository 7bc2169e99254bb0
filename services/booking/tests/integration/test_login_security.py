"""Logins: lockouts shared by replicas, the same answer for every failure, and old
password hashes upgraded. Time moves with the test's clock, never by sleeping."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
import sqlalchemy as sa
from booking_standins import Clock
from conftest import Booking

LOGIN = "/api/booking/auth/login"


@pytest_asyncio.fixture(loop_scope="session")
async def replicas(running_service: Any) -> AsyncIterator[tuple[Clock, list[httpx.AsyncClient]]]:
    """Two booking replicas sharing PostgreSQL, Kafka and Redis, and one movable clock."""
    from switchboard_booking.bootstrap import build_app
    from switchboard_booking.settings import BookingSettings

    clock = Clock()
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            app = build_app(
                BookingSettings(log_json=False, notifications_worker=False), clock=clock
            )
            clients.append(await stack.enter_async_context(running_service(app)))
        yield clock, clients


async def new_operator(booking: Booking, password: str) -> str:
    """A call centre operator made by the admin; its username."""
    username = f"op-{uuid.uuid4().hex[:10]}"
    created = await booking.post(
        "admin",
        "/api/booking/operators",
        {
            "name": "Lock Test",
            "username": username,
            "password": password,
            "role": "call_centre",
            "call_center_id": "cc-central",
        },
    )
    assert created.status_code == 201, created.text
    return username


def attempt(client: httpx.AsyncClient, username: str, password: str, address: str) -> Any:
    # The test client is a trusted proxy (loopback): X-Forwarded-For names the browser,
    # one address per test so no other test's failures count against it.
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_twenty_wrong_passwords_lock_out_on_every_replica(
    booking: Booking, replicas: tuple[Clock, list[httpx.AsyncClient]]
) -> None:
    clock, (first, second) = replicas
    username = await new_operator(booking, "right-password-1")
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    answers: list[int] = []
    failures = 0
    while failures < 20:
        replica = (first, second)[len(answers) % 2]
        response = await attempt(replica, username, "wrong", address)
        answers.append(response.status_code)
        if response.status_code == 401:
            failures += 1
            assert response.json() == {"detail": "unknown username or wrong password"}
        else:
            assert response.status_code == 429, response.text
            assert response.json() == {"detail": "too many failed logins, try again later"}
            clock.move_to(clock.now + timedelta(seconds=int(response.headers["Retry-After"])))
    # Five free failures and the sixth that locks, then every other try refused at once
    # (the replicas alternate, so each lockout was seen by the other replica).
    assert answers[:7] == [401] * 6 + [429]
    assert 429 in answers[7:]

    # An unknown username fails the same way a wrong password does.
    unknown = await attempt(second, f"nobody-{uuid.uuid4().hex}", "wrong", address)
    assert unknown.status_code == 401
    assert unknown.json() == {"detail": "unknown username or wrong password"}

    # After the 20th failure the lockout has doubled up to its cap: the right password
    # is refused on both replicas until it ends.
    locked = await attempt(first, username, "right-password-1", address)
    assert locked.status_code == 429
    retry_after = int(locked.headers["Retry-After"])
    assert retry_after == 900
    clock.move_to(clock.now + timedelta(seconds=retry_after - 5))
    still = await attempt(second, username, "right-password-1", address)
    assert still.status_code == 429 and int(still.headers["Retry-After"]) <= 5
    clock.move_to(clock.now + timedelta(seconds=6))
    assert (await attempt(second, username, "right-password-1", address)).status_code == 200
    # Success forgets the username's failures: one more mistake is not a lockout.
    assert (await attempt(first, username, "wrong", address)).status_code == 401
    assert (await attempt(first, username, "right-password-1", address)).status_code == 200


async def test_failures_from_one_address_lock_it_out_for_every_username(
    booking: Booking, replicas: tuple[Clock, list[httpx.AsyncClient]]
) -> None:
    clock, (first, second) = replicas
    username = await new_operator(booking, "right-password-2")
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    for i in range(30):  # 30 different usernames: no username lockout, the address's own
        guessed = await attempt(
            (first, second)[i % 2], f"guess-{i}-{uuid.uuid4().hex}", "x", address
        )
        assert guessed.status_code == 401
    assert (await attempt(first, f"guess-{uuid.uuid4().hex}", "x", address)).status_code == 401
    refused = await attempt(second, username, "right-password-2", address)
    assert refused.status_code == 429
    # Another address is not locked out.
    assert (await attempt(first, username, "right-password-2", "192.0.2.7")).status_code == 200
    clock.move_to(clock.now + timedelta(seconds=int(refused.headers["Retry-After"])))
    assert (await attempt(second, username, "right-password-2", address)).status_code == 200


async def test_a_scrypt_hash_is_upgraded_to_argon2id_at_login(booking: Booking) -> None:
    from switchboard_booking.adapters.tables import operators
    from switchboard_runtime.auth import verify_password

    username = await new_operator(booking, "placeholder")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(b"old-password", salt=salt, n=2**14, r=8, p=1)
    scrypt_hash = f"scrypt${salt.hex()}${digest.hex()}"
    sessions = booking.app.state.runtime.sessions
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(operators)
            .where(operators.c.username == username)
            .values(password_hash=scrypt_hash)
        )

    logged_in = await booking.client.post(
        LOGIN, json={"username": username, "password": "old-password"}
    )
    assert logged_in.status_code == 200, logged_in.text
    async with sessions() as session:
        stored = await session.scalar(
            sa.select(operators.c.password_hash).where(operators.c.username == username)
        )
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("old-password", stored)
    again = await booking.client.post(
        LOGIN, json={"username": username, "password": "old-password"}
    )
    assert again.status_code == 200
