"""Running an image as Kubernetes would, with Debian's buildah and no container engine.

``buildah run --isolation chroot`` runs a command in a working container's root filesystem
(host network, no cgroups, which is all this machine allows; ``podman run`` needs cgroups).
What a pod's security context adds is done by hand here:

* the root filesystem is read-only: the container's overlay is mounted and remounted
  read-only before the command starts, after creating the files buildah bind-mounts over
  (``/etc/hosts``, ``/etc/resolv.conf``, as a kubelet does). buildah also binds
  ``/run/.containerenv`` and deletes it afterwards, so ``/run`` is a small root-owned tmpfs,
  which the service user cannot write either;
* ``/tmp`` is a writable directory of the test's, owned by the service user (the pods'
  ``emptyDir``);
* the user is the image's own ``USER``, which ``buildah run`` applies.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILDAH = "buildah"
#: The uid and gid the images run as (and the manifests' runAsUser / runAsGroup).
SERVICE_UID = 10001


def buildah(*args: str, timeout: float = 120) -> str:
    """Run a buildah command and return its standard output; raise with its errors."""
    done = subprocess.run(
        [BUILDAH, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def image_config(image: str) -> dict[str, Any]:
    """The OCI config of a local image: ``User``, ``Entrypoint``, ``Cmd``, ``Env`` ..."""
    config: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", image))["OCIv1"][
        "config"
    ]
    return config


@dataclass
class Container:
    """A working container made from an image, with a read-only root."""

    name: str
    image: str
    work_dir: Path
    mountpoint: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def tmp_dir(self) -> Path:
        """What the container sees as ``/tmp``."""
        return self.work_dir / "tmp"

    @property
    def entrypoint(self) -> list[str]:
        """The image's own ENTRYPOINT."""
        return list(image_config(self.image).get("Entrypoint") or [])

    def create(self) -> None:
        """Make the working container and turn its root filesystem read-only."""
        buildah("from", "--pull=never", "--name", self.name, self.image)
        self.mountpoint = buildah("mount", self.name)
        root = Path(self.mountpoint)
        for stub in ("etc/hosts", "etc/resolv.conf"):
            (root / stub).touch(exist_ok=True)
        _mount("-o", "remount,ro", self.mountpoint)
        _mount("-t", "tmpfs", "-o", "mode=0755,size=1m", "tmpfs", str(root / "run"))
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.tmp_dir, SERVICE_UID, SERVICE_UID)
        self.tmp_dir.chmod(0o700)

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the container; its output goes to ``log``."""
        flags = [f"--env={name}={value}" for name, value in env.items()]
        with log.open("ab") as out:
            process = subprocess.Popen(
                [
                    BUILDAH,
                    "run",
                    "--isolation=chroot",
                    "--network=host",
                    f"--volume={self.tmp_dir}:/tmp",
                    *flags,
                    self.name,
                    "--",
                    *argv,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def run(self, argv: list[str], env: dict[str, str], log: Path, timeout: float) -> int:
        """Run ``argv`` to its end and return its exit code."""
        process = self.start(argv, env, log)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(process)
            raise

    def remove(self) -> None:
        """Stop what still runs, unmount and delete the working container."""
        for process in self.processes:
            stop(process)
        if self.mountpoint:
            subprocess.run(["umount", str(Path(self.mountpoint) / "run")], check=False)
        subprocess.run([BUILDAH, "umount", self.name], capture_output=True, check=False)
        subprocess.run([BUILDAH, "rm", self.name], capture_output=True, check=False)
        shutil.rmtree(self.work_dir, ignore_errors=True)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, deepest last."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except FileNotFoundError:
            continue
        for child in map(int, children):
            found.append(child)
            found.extend(_descendants(child))
    return found


def command_pid(process: subprocess.Popen[bytes]) -> int:
    """The pid of the command a ``buildah run`` process runs: the deepest of its tree."""
    below = _descendants(process.pid)
    return below[-1] if below else process.pid


def resident_bytes(pid: int) -> int:
    """A process's resident memory (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for {pid}")


def terminate(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command itself, as a kubelet sends it to a container's process.

    ``buildah run`` answers a SIGTERM of its own by killing the command, so the signal goes
    to the command.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(command_pid(process), signal.SIGTERM)


def stop(process: subprocess.Popen[bytes], grace: float = 30) -> bool:
    """Terminate gracefully; kill the whole process group after ``grace`` seconds.

    True when the process ended within the grace period (or had ended already).
    """
    if process.poll() is not None:
        return True
    terminate(process)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return False
    return True


def wait_for(probe: Any, *, timeout: float, what: str, interval: float = 0.25) -> Any:
    """Call ``probe`` until it returns something truthy; its result, or TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)
