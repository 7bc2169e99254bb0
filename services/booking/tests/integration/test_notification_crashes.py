"""Exactly once when a worker process dies, and email over STARTTLS with a login."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from switchboard_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

API = "/api/booking"
BIN = Path(sys.executable).parent


class BlackHole:
    """A TCP server that accepts connections and never answers: an SMTP server (or SMS
    gateway) that hangs, so a worker is caught between its claim and the send."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self.writers.append(writer)

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()


async def _booked_email_row(booking: Any, aid: str) -> dict[str, Any] | None:
    response = await booking.get("anna", f"{API}/appointments/{aid}/notifications")
    rows = [
        n for n in response.json()["items"] if n["kind"] == "booked" and n["channel"] == "email"
    ]
    return rows[0] if rows else None


async def test_a_worker_killed_between_claim_and_send_leaves_the_email_sent_once(
    booking: Any, delivery: Any, smtp_catcher: Any, clock: Any
) -> None:
    from booking_standins import subprocess_env

    tag = uuid.uuid4().hex[:8]
    client = (
        await booking.post(
            "anna",
            f"{API}/clients",
            {"first_name": "Kira", "last_name": f"K{tag}", "email": f"kira-{tag}@example.com"},
        )
    ).json()
    response = await booking.post(
        "anna",
        f"{API}/appointments",
        {
            "service_id": "svc-consult",
            "clinic_id": "clinic-msk-center",
            "practitioner_id": "pr-ivanova",
            "starts_at": booking.msk(booking.monday(), 17),
            "client_id": client["client_id"],
        },
    )
    assert response.status_code == 201, response.text
    aid = response.json()["appointment_id"]
    await wait_until(lambda: _booked_email_row(booking, aid), timeout=30, message="planned")

    hole = BlackHole()
    port = await hole.start()
    binary = str(BIN / "switchboard-booking")
    # Starting a process is quick; it then runs on its own (not awaited here).
    worker = subprocess.Popen(  # noqa: ASYNC220
        [binary, "deliver"],
        env=subprocess_env(
            BOOKING_SMTP_HOST="127.0.0.1",
            BOOKING_SMTP_PORT=str(port),
            BOOKING_SMTP_SECURITY="none",
            BOOKING_SMTP_TIMEOUT_SECONDS="120",
            BOOKING_SMS_PROVIDER="webhook",
            BOOKING_SMS_WEBHOOK_URL=f"http://127.0.0.1:{port}/sms",
            BOOKING_SMS_TIMEOUT_SECONDS="120",
            BOOKING_NOTIFICATIONS_LEASE_SECONDS="300",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        async def claimed() -> dict[str, Any] | None:
            row = await _booked_email_row(booking, aid)
            return row if row and row["attempts"] == 1 and hole.connections else None

        row = await wait_until(claimed, timeout=60, message="the worker claimed and connected")
        assert row["status"] == "queued"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        await hole.stop()
    assert to_me(smtp_catcher.emails(), client["email"]) == []

    lease_end = datetime.fromisoformat(row["next_attempt_at"])
    assert lease_end > clock.now, "the claim holds the row for a lease"
    survivor = delivery()
    await survivor.run_once()
    assert to_me(smtp_catcher.emails(), client["email"]) == [], "taken before the lease ended"
    clock.move_to(lease_end + timedelta(seconds=1))
    await survivor.run_once()
    clock.advance(minutes=10)
    await survivor.run_once()
    assert len(to_me(smtp_catcher.emails(), client["email"])) == 1
    row = await _booked_email_row(booking, aid)
    assert row is not None and (row["status"], row["attempts"]) == ("sent", 2)


def to_me(messages: list[dict[str, Any]], address: str) -> list[dict[str, Any]]:
    return [m for m in messages if address in m["to"]]


async def test_email_over_starttls_with_a_login(tmp_path: Path) -> None:
    from booking_standins import STANDINS, Process, delivery_settings, free_port

    from switchboard_booking.adapters.email_smtp import SmtpSender
    from switchboard_booking.domain.delivery import OutgoingMessage, SendFailed

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: ASYNC221 - a second of key generation before anything runs
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    port = free_port()
    script = str(STANDINS / "smtp_catcher.py")
    args = [script, "--port", str(port), "--out", str(tmp_path / "mail")]
    args += ["--starttls", str(cert), str(key), "--login", "clinic:s3cret"]
    server = Process(args, port, tmp_path / "smtp.log", out=tmp_path / "mail").start()
    try:
        settings = dict(smtp_security="starttls", smtp_ca_file=str(cert), smtp_username="clinic")
        message = OutgoingMessage("email", "tls@example.com", "Hi", "Over TLS", "k-1", "https://u")
        sender = SmtpSender(delivery_settings(port, 1, smtp_password="s3cret", **settings))
        message_id = await sender.send(message)
        [email] = server.emails()
        assert email["subject"] == "Hi" and email["message_id"] in message_id
        wrong = SmtpSender(delivery_settings(port, 1, smtp_password="nope", **settings))
        with pytest.raises(SendFailed) as refused:
            await wrong.send(message)
        assert refused.value.temporary and "login refused" in refused.value.reason
        assert "nope" not in refused.value.reason
    finally:
        server.stop()
