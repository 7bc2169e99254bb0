"""What the notification tests send to and how they move time.

* ``smtp_catcher``: the real SMTP server process (aiosmtpd, ``scripts/standins``) on a port
  of its own; it can be stopped and started again on the same port;
* ``sms_gateway``: the HTTP stand-in process for the SMS gateway (webhook and Twilio shapes);
* ``clock``: now, moved by the test (the worker's only notion of time);
* ``delivery``: booking's delivery worker wired by the same code as the service, with
  settings pointing at those processes and the test's clock.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from switchboard_runtime.testing import standins
from switchboard_runtime.testing.standins import STANDINS, free_port

__all__ = [
    "STANDINS",
    "Clock",
    "Process",
    "clock",
    "delivery",
    "delivery_settings",
    "free_port",
    "sms_gateway",
    "smtp_catcher",
    "subprocess_env",
]


@dataclass
class Process(standins.Process):
    """A stand-in server process; ``out`` is where it writes what it received."""

    out: Path = field(default_factory=Path)

    def emails(self) -> list[dict[str, Any]]:
        """What the SMTP catcher received."""
        path = self.out / "messages.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def sms(self) -> list[dict[str, Any]]:
        """What the SMS stand-in received."""
        url = f"http://127.0.0.1:{self.port}/messages"
        with urllib.request.urlopen(url, timeout=5) as response:
            items: list[dict[str, Any]] = json.loads(response.read())["items"]
        return items


@pytest.fixture
def smtp_catcher(tmp_path: Path) -> Iterator[Process]:
    """The SMTP server process (started; ``stop()``/``start()`` it to take it down)."""
    port = free_port()
    out = tmp_path / "mail"
    script = str(STANDINS / "smtp_catcher.py")
    process = Process(
        [script, "--port", str(port), "--out", str(out)], port, tmp_path / "smtp.log", out=out
    )
    yield process.start()
    process.stop()


@pytest.fixture(scope="session")
def sms_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """The SMS gateway stand-in process (webhook token ``t0ken``, Twilio ``AC1:tw1``)."""
    tmp = tmp_path_factory.mktemp("sms")
    port = free_port()
    script = str(STANDINS / "sms_gateway.py")
    args = [script, "--port", str(port), "--out", str(tmp / "sms.jsonl")]
    process = Process(
        [*args, "--token", "t0ken", "--twilio", "AC1:tw1"], port, tmp / "sms.log", out=tmp
    )
    yield process.start()
    process.stop()


@dataclass
class Clock:
    """Now, as the test says. It starts a minute after the real now, so that what the test
    books in its first seconds (events are stamped with the real time) is already due."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC) + timedelta(minutes=1))

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, at: datetime) -> None:
        """Jump to ``at`` (forward only)."""
        assert at >= self.now, "time only moves forward"
        self.now = at

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """A clock the test moves."""
    return Clock()


def delivery_settings(smtp_port: int, sms_port: int, **overrides: Any) -> Any:
    """Booking's settings for a worker sending to the stand-ins."""
    from switchboard_booking.settings import BookingSettings

    values: dict[str, Any] = {
        "log_json": False,
        "notifications_worker": False,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "none",
        "smtp_from": "Clinic <no-reply@clinic.example>",
        "smtp_timeout_seconds": 5,
        "sms_provider": "webhook",
        "sms_webhook_url": f"http://127.0.0.1:{sms_port}/sms",
        "sms_webhook_token": "t0ken",
        "notifications_retry_first_seconds": 30,
        "notifications_retry_max_seconds": 600,
        "notifications_lease_seconds": 60,
        "public_url": "http://console.example",
        **overrides,
    }
    return BookingSettings(**values)


@pytest.fixture
def delivery(
    booking: Any, smtp_catcher: Process, sms_gateway: Process, clock: Clock
) -> Callable[..., Any]:
    """``delivery(**setting_overrides)``: a delivery worker of the running booking service,
    sending to the stand-ins on the test's clock. ``await worker.run_once()`` sends what is
    due at ``clock.now``."""
    from switchboard_booking.adapters.channels import build_senders
    from switchboard_booking.entrypoints.worker import DeliveryWorker

    def make(**overrides: Any) -> DeliveryWorker:
        settings = delivery_settings(smtp_catcher.port, sms_gateway.port, **overrides)
        deps = replace(booking.app.state.deps, settings=settings, clock=clock)
        return DeliveryWorker(deps, build_senders(settings))

    return make


def subprocess_env(**extra: str) -> dict[str, str]:
    """This run's environment (database, topics) for a booking process, plus ``extra``."""
    return {**os.environ, "LOG_JSON": "false", **extra}
