"""The real platform for browser tests: every service and the console gateway as processes.

Each process gets this run's environment (topic prefix, database suffix), its own free
port and a log file under ``test-artifacts/e2e-logs/``. Booking is seeded first (the demo
chain and its logins). The console bundle is built when it is missing or older than its
sources.

Also runnable by hand, to click around a throwaway platform::

    uv run python tests/e2e/live_platform.py        # prints the console URL; Ctrl-C stops it
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from switchboard_runtime.testing.standins import free_port

REPO = Path(__file__).resolve().parents[2]
CONSOLE_DIR = REPO / "console"
LOCALES = CONSOLE_DIR / "src" / "locales"
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SERVICES = ("telephony", "booking", "crm-touch", "analytics", "notify")
PBX_TOKEN = "dev-pbx-token"
PBX_RECORDING_USER = "pbx"
PBX_RECORDING_PASSWORD = "pbx-recordings-secret"
#: The Asterisk manager user click-to-call logs in as, and where ``Originate`` sends the
#: dialled number (the browser tests check what the fake AMI server heard against these).
AMI_USERNAME = "switchboard-originate"
AMI_SECRET = "e2e-ami-secret"
ORIGINATE_CONTEXT = "clinic-outbound"
#: The fake AMI server (``services/telephony/tests/fakes/ami_server.py``) run as a process.
FAKE_AMI = REPO / "services" / "telephony" / "tests" / "fakes" / "ami_server.py"


def _bin(name: str) -> str:
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else name


def bundle_is_stale() -> bool:
    """Whether ``console/dist`` is missing or older than any console source file."""
    index = CONSOLE_DIR / "dist" / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [
        CONSOLE_DIR / "index.html",
        CONSOLE_DIR / "package-lock.json",
        CONSOLE_DIR / "vite.config.ts",
    ]
    sources += list((CONSOLE_DIR / "src").rglob("*"))
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def build_console() -> None:
    """``npm ci`` (when node_modules is missing) and ``npm run build`` in ``console/``."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to build the console (Node 20.19+)")
    if not (CONSOLE_DIR / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CONSOLE_DIR, check=True)
    subprocess.run([npm, "run", "build"], cwd=CONSOLE_DIR, check=True)


@dataclass
class Platform:
    """The running processes and where they listen."""

    env: dict[str, str]
    #: Today in Moscow when the platform was made; the seed's day and the tests' booking
    #: day follow from it (:func:`demo_days`).
    today: date = field(default_factory=lambda: datetime.now(ZoneInfo("Europe/Moscow")).date())
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path = ARTIFACTS / "e2e-logs"

    @property
    def seed_day(self) -> date:
        """The day of the seed's demo appointments."""
        return demo_days(self.today)[0]

    @property
    def booking_day(self) -> date:
        """The day the tests book on: a weekday with none of the seed's appointments."""
        return demo_days(self.today)[1]

    @property
    def console_url(self) -> str:
        """Where the browser goes."""
        return f"http://127.0.0.1:{self.ports['console']}"

    def service_url(self, name: str) -> str:
        """A service's own address (for the PBX webhook and direct checks)."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def _environment(self) -> dict[str, str]:
        # Readable logs unless the caller asks for the production format (LOG_JSON=true).
        env = {**os.environ, "LOG_JSON": "false", **self.env, "PYTHONUNBUFFERED": "1"}
        env["TELEPHONY_PBX_TOKEN"] = PBX_TOKEN
        # As in `make run`: touches are recorded until the Calltouch setting says otherwise
        # (pop-ups identify callers either way).
        env.setdefault("CRM_TOUCH_CALLTOUCH_ENABLED_DEFAULT", "true")
        for name in SERVICES:
            env[f"{name.upper().replace('-', '_')}_HTTP_PORT"] = str(self.ports[name])
        # Patient notifications go to the stand-ins (started with the services).
        env.update(
            BOOKING_SMTP_HOST="127.0.0.1",
            BOOKING_SMTP_PORT=str(self.ports["smtp"]),
            BOOKING_SMTP_SECURITY="none",
            BOOKING_SMS_PROVIDER="webhook",
            BOOKING_SMS_WEBHOOK_URL=f"http://127.0.0.1:{self.ports['sms']}/sms",
            BOOKING_PUBLIC_URL=self.console_url,
        )
        # The PBX's HTTP side: its recording server.
        env.update(
            ANALYTICS_RECORDING_BASE_URL=f"{self.pbx_url}/recordings/",
            ANALYTICS_RECORDING_USERNAME=PBX_RECORDING_USER,
            ANALYTICS_RECORDING_PASSWORD=PBX_RECORDING_PASSWORD,
        )
        # Click-to-call through Asterisk's AMI (the fake server). Only `serve` runs here:
        # the AMI event connector is its own command (`switchboard-telephony ami`), so these
        # settings originate calls and read no events; calls still come by the webhook.
        env.update(
            TELEPHONY_CLICK_TO_CALL="ami",
            TELEPHONY_AMI_HOST="127.0.0.1",
            TELEPHONY_AMI_PORT=str(self.ports["ami"]),
            TELEPHONY_AMI_USERNAME=AMI_USERNAME,
            TELEPHONY_AMI_SECRET=AMI_SECRET,
            TELEPHONY_ORIGINATE_CHANNEL="PJSIP/{extension}",
            TELEPHONY_ORIGINATE_CONTEXT=ORIGINATE_CONTEXT,
            TELEPHONY_ORIGINATE_PRIORITY="1",
            TELEPHONY_ORIGINATE_CALLER_ID="{number} <{number}>",
        )
        env.update(
            CONSOLE_TELEPHONY_URL=self.service_url("telephony"),
            CONSOLE_BOOKING_URL=self.service_url("booking"),
            CONSOLE_CRM_URL=self.service_url("crm-touch"),
            CONSOLE_ANALYTICS_URL=self.service_url("analytics"),
            CONSOLE_NOTIFY_URL=self.service_url("notify"),
            CONSOLE_STATIC_DIR=str(CONSOLE_DIR / "dist"),
        )
        return env

    def start(self, timeout: float = 120.0) -> None:
        """Seed booking, start every service and the gateway, wait until all are ready."""
        if bundle_is_stale():
            build_console()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.allocate_ports()
        env = self._environment()
        self.seed(env)
        self.start_standins()
        for name in (*SERVICES, "console"):
            log = (self.log_dir / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                [_bin(f"switchboard-{name}"), "serve", "--port", str(self.ports[name])],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        deadline = time.monotonic() + timeout
        for name in (*SERVICES, "console"):
            self._wait_ready(name, deadline)
        # Nothing calls the AMI until a click: make sure it is there before one can come.
        self._wait_listening("fake-ami", self.ports["ami"], deadline)

    def allocate_ports(self) -> None:
        """A free port for every service, the gateway and the stand-ins (SMTP, SMS, the PBX's
        HTTP side and its AMI)."""
        for name in (*SERVICES, "console", "smtp", "sms", "pbx", "ami"):
            self.ports[name] = free_port()

    @property
    def mail_dir(self) -> Path:
        """Where the SMTP stand-in keeps the emails booking sent."""
        return self.log_dir / "mail"

    @property
    def pbx_url(self) -> str:
        """The PBX HTTP stand-in (recordings under ``/recordings/``)."""
        return f"http://127.0.0.1:{self.ports['pbx']}"

    @property
    def ami_actions(self) -> Path:
        """Every AMI action the fake AMI server heard, one JSON object a line."""
        return self.log_dir / "ami-actions.jsonl"

    @property
    def recordings_dir(self) -> Path:
        """The files the PBX stand-in serves as recordings."""
        return self.log_dir / "recordings"

    def start_standins(self) -> None:
        """The SMTP catcher and the SMS gateway stand-in booking sends notifications to,
        the PBX's HTTP side (recordings) with one minute of audio, and its AMI (the fake
        server telephony's click-to-call originates through)."""
        standins = REPO / "scripts" / "standins"
        write_wav(self.recordings_dir / "minute.wav", seconds=60)
        self.ami_actions.unlink(missing_ok=True)
        commands = {
            "smtp-catcher": [standins / "smtp_catcher.py", "--out", self.mail_dir],
            "sms-gateway": [standins / "sms_gateway.py", "--out", self.log_dir / "sms.jsonl"],
            "pbx-http": [
                standins / "pbx_http.py",
                *("--recordings", self.recordings_dir),
                *("--username", PBX_RECORDING_USER, "--password", PBX_RECORDING_PASSWORD),
            ],
            "fake-ami": [
                FAKE_AMI,
                *("--username", AMI_USERNAME, "--secret", AMI_SECRET),
                *("--out", self.ami_actions),
            ],
        }
        for name, port in (
            ("smtp-catcher", self.ports["smtp"]),
            ("sms-gateway", self.ports["sms"]),
            ("pbx-http", self.ports["pbx"]),
            ("fake-ami", self.ports["ami"]),
        ):
            log = (self.log_dir / f"{name}.log").open("wb")
            self.processes[name] = subprocess.Popen(
                [sys.executable, *map(str, commands[name]), "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def seed(self, env: dict[str, str]) -> None:
        """Seed booking's demo chain, its appointments on :attr:`seed_day`."""
        with (self.log_dir / "booking-seed.log").open("wb") as log:
            subprocess.run(
                [_bin("switchboard-booking"), "seed", "--day", self.seed_day.isoformat()],
                env=env,
                stdout=log,
                stderr=log,
                check=True,
            )

    def _wait_listening(self, name: str, port: int, deadline: float) -> None:
        while True:
            if self.processes[name].poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited:\n{tail}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not listening on {port}")
            time.sleep(0.25)

    def _wait_ready(self, name: str, deadline: float) -> None:
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        while True:
            process = self.processes[name]
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready; see {self.log_dir / (name + '.log')}")
            time.sleep(0.25)

    def stop(self) -> None:
        """Terminate every process (SIGTERM, then SIGKILL after a grace period)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def write_wav(path: Path, seconds: int) -> None:
    """``seconds`` of a quiet 440 Hz tone, 8 kHz 16-bit mono (what PBXes record)."""
    import math
    import struct
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<h", int(800 * math.sin(2 * math.pi * 440 * n / 8000))) for n in range(8000)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames * seconds)


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def send_pbx(platform: Platform, events: list[dict[str, Any]]) -> None:
    """POST events to telephony's PBX webhook, signed with the integration token as the PBX
    does."""
    from switchboard_telephony.domain.signing import signed_json

    body, headers = signed_json(PBX_TOKEN, events)
    request = urllib.request.Request(
        platform.service_url("telephony") + "/api/telephony/pbx/events",
        data=body,
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.read()


def api_get(platform: Platform, path: str, username: str) -> Any:
    """GET through the console gateway as ``username`` (bearer token from booking's login)."""
    return api_request(platform, "GET", path, username)


def api_request(platform: Platform, method: str, path: str, username: str, body: Any = None) -> Any:
    """A request through the console gateway as ``username``; the JSON answer."""
    login = urllib.request.Request(
        platform.console_url + "/api/booking/auth/login",
        data=json.dumps({"username": username, "password": username}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(login, timeout=10) as response:
        token = json.loads(response.read())["token"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        platform.console_url + path, data=data, headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def iso(moment: datetime) -> str:
    """An ISO 8601 timestamp with offset, as the PBX sends it."""
    return moment.astimezone(UTC).isoformat()


class ConsoleWords:
    """The console's own texts in one language, read from ``console/src/locales``, so a flow
    can be driven in either language: ``say("clinics.saved", name="X")`` is ``X saved.`` in
    English and ``X: сохранено.`` in Russian. ``weekdays`` are Monday to Sunday as the
    console writes them in full (``Intl``'s names, not in the locale files)."""

    def __init__(self, language: str, weekdays: tuple[str, ...]) -> None:
        self.language = language
        self.weekdays = weekdays
        self._texts = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))

    def __call__(self, key: str, **values: object) -> str:
        found: Any = self._texts
        for part in key.split("."):
            found = found[part]
        if not isinstance(found, str):
            raise KeyError(f"{key} is not a text in {self.language}.json")
        text = found
        for name, value in values.items():
            text = text.replace(f"{{{{{name}}}}}", str(value))
        return text


IN_ENGLISH = ConsoleWords(
    "en", ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
)
IN_RUSSIAN = ConsoleWords(
    "ru", ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
)


def demo_days(today: date) -> tuple[date, date]:
    """The seed's scenario day and the tests' own booking day, for ``today`` in Moscow: two
    different weekdays after today (the seeded doctors work Monday to Friday), so what the
    tests book never meets the seed's own appointments, whatever the date."""
    from switchboard_booking.entrypoints.seed import next_weekday

    seed_day = next_weekday(today)
    return seed_day, next_weekday(seed_day)


if __name__ == "__main__":
    import uuid

    run = uuid.uuid4().hex[:8]
    platform = Platform(env={"TOPIC_PREFIX": f"m{run}.", "DATABASE_SUFFIX": f"_m{run}"})
    # SIGTERM stops the platform as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    platform.start()
    print(
        f"console: {platform.console_url}  (logins: admin/admin, anna/anna, boris/boris, petr/petr)"
    )
    print("services:", {k: v for k, v in platform.ports.items()}, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        platform.stop()
