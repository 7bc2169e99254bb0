"""The stand-in processes of ``scripts/standins`` (SMTP catcher, SMS gateway, the PBX's HTTP
side) started as real processes on ports of their own, for tests that talk to them."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: ``scripts/standins`` of this checkout (the testing package is only used from one).
STANDINS = Path(__file__).resolve().parents[5] / "scripts" / "standins"


#: The ports :func:`free_port` handed out in this process.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on right now, and not handed out before by
    this process: a port handed out is free to the kernel until its server binds it, and
    the kernel gave the same one twice to a platform's ten servers (two then bound it)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Process:
    """A stand-in server process (``args``: the script and its arguments, ``--port``
    included) on a fixed ``port``; its output goes to ``log``."""

    args: list[str]
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its base URL (for the HTTP stand-ins)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Process:
        """Start it and wait until it accepts connections."""
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - a stand-in script of this repository
                [sys.executable, *self.args], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.args[0]} not listening on {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 10 s) and wait until it is gone."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen = None


def standin_process(script: str, *args: object, log_dir: Path) -> Process:
    """``scripts/standins/<script>`` with ``args`` on a free port (not started)."""
    port = free_port()
    argv = [str(STANDINS / script), "--port", str(port), *map(str, args)]
    return Process(argv, port, log_dir / f"{Path(script).stem}.log")


@contextmanager
def running_standin(script: str, *args: object, log_dir: Path) -> Iterator[Process]:
    """:func:`standin_process` started, stopped on exit."""
    process = standin_process(script, *args, log_dir=log_dir).start()
    try:
        yield process
    finally:
        process.stop()
