"""The container images, built as `make images` builds them and run as Kubernetes runs them.

``scripts/images.sh build`` makes every image under this run's own tag (the base and the
layers come from buildah's cache after the first build). Each image is then started through
its own ENTRYPOINT with ``buildah run --isolation chroot`` on the host's network, as uid 10001
on a read-only root filesystem (``buildah_containers``), against this run's Kafka, PostgreSQL
and Redis with a topic prefix and database suffix of its own:

1. every service's ``migrate`` (the migration Job's command) migrates its database;
2. every service and the console answer ``/readyz``;
3. a signed PBX delivery posted to the telephony container shows up in the call log served by
   the analytics container;
4. each server's idle memory leaves headroom under its Deployment's limit, and each shuts down
   cleanly on SIGTERM.

The run's containers and image tags are removed at the end. Needs root (skipped, saying so,
without); ``buildah`` and ``mmdebstrap`` are installed when missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from buildah_containers import (
    SERVICE_UID,
    Container,
    command_pid,
    image_config,
    resident_bytes,
    stop,
    wait_for,
)
from live_platform import build_console, bundle_is_stale, free_port

REPO = Path(__file__).resolve().parents[2]
LOGS = REPO / "test-artifacts" / "images"
SERVICES = ("telephony", "booking", "crm-touch", "analytics", "notify")
PBX_TOKEN = "images-test-pbx-token"
AUTH_SECRET = "images-test-auth-secret-" + "x" * 16

pytestmark = [
    pytest.mark.integration,
    # A first build on a new machine makes the base and every layer (about 1.5 minutes here).
    pytest.mark.timeout(1500),
    # buildah --isolation chroot, mounts and mmdebstrap need root (scripts/images.sh installs
    # buildah and mmdebstrap when they are missing).
    pytest.mark.skipif(os.geteuid() != 0, reason="building and running the images needs root"),
]


def env_prefix(service: str) -> str:
    """A service's settings prefix: ``crm-touch`` → ``CRM_TOUCH_``."""
    return service.upper().replace("-", "_") + "_"


@pytest.fixture(scope="module")
def images(run_id: str) -> Iterator[dict[str, str]]:
    """Every image, built with this run's tag: ``{"telephony": "switchboard/telephony:test-…"}``."""
    if bundle_is_stale():
        build_console()
    LOGS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "IMAGE_TAG": f"test-{run_id}"}
    script = [str(REPO / "scripts" / "images.sh")]
    started = time.monotonic()
    with (LOGS / "build.log").open("wb") as log:
        built = subprocess.run(
            ["/bin/bash", *script, "build"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            check=False,
        )
    summary = built.stdout.decode()
    (LOGS / "sizes.txt").write_text(summary)
    print(f"\nimages built in {time.monotonic() - started:.0f} s:\n{summary}")
    try:
        assert built.returncode == 0, f"image build failed; see {LOGS / 'build.log'}"
        names = subprocess.run(
            ["/bin/bash", *script, "names"], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        yield {ref.split("/", 1)[1].split(":")[0]: ref for ref in names}
    finally:
        subprocess.run(["/bin/bash", *script, "rmi"], env=env, check=False)


@dataclass
class Platform:
    """The containers of this run and where their services listen."""

    run_id: str
    env: dict[str, str]
    images: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    containers: list[Container] = field(default_factory=list)
    migrations: dict[str, int] = field(default_factory=dict)

    def container(self, service: str, role: str) -> Container:
        made = Container(
            name=f"sbt-{self.run_id}-{service}-{role}",
            image=self.images[service],
            work_dir=LOGS / "containers" / f"{service}-{role}",
        )
        self.containers.append(made)
        made.create()
        return made

    def service_env(self, service: str) -> dict[str, str]:
        env = dict(self.env)
        if service in self.ports:
            name = "CONSOLE_" if service == "console" else env_prefix(service)
            env[f"{name}HTTP_PORT"] = str(self.ports[service])
        return env

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _log_tail(name: str) -> str:
    return (LOGS / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def platform(
    images: dict[str, str], settings_env: dict[str, str], run_id: str
) -> Iterator[Platform]:
    """Each service's migration, then every service and the console, in their images."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings_env["KAFKA_BOOTSTRAP_SERVERS"],
        "DATABASE_URL": settings_env["DATABASE_URL"],
        "REDIS_URL": settings_env["REDIS_URL"],
        # Topics, groups and databases of its own (the run's cleanup still finds them).
        "TOPIC_PREFIX": f"{settings_env['TOPIC_PREFIX']}img.",
        "DATABASE_SUFFIX": f"_img{settings_env['DATABASE_SUFFIX']}",
        "AUTH_SECRET": AUTH_SECRET,
        "TELEPHONY_PBX_TOKEN": PBX_TOKEN,
        "LOG_LEVEL": "INFO",
    }
    running = Platform(run_id=run_id, env=env, images=images)
    try:
        # The migration Jobs' command, each in a container of its own, all at once.
        jobs = {}
        for service in SERVICES:
            job = running.container(service, "migrate")
            log = LOGS / f"{service}-migrate.log"
            log.unlink(missing_ok=True)
            jobs[service] = job.start(
                [*job.entrypoint, "migrate"], running.service_env(service), log
            )
        for service, process in jobs.items():
            running.migrations[service] = process.wait(timeout=300)
        # The Deployments' command. The images' CMD listens on 0.0.0.0 (the pod's address);
        # here the containers share the host's network, so they stay on loopback.
        for service in (*SERVICES, "console"):
            running.ports[service] = free_port()
        for service in (*SERVICES, "console"):
            server = running.container(service, "serve")
            log = LOGS / f"{service}.log"
            log.unlink(missing_ok=True)
            server.start(
                [*server.entrypoint, "serve", "--host", "127.0.0.1"],
                running.service_env(service),
                log,
            )
        yield running
    finally:
        for container in running.containers:
            container.remove()


def test_images_run_as_the_manifests_expect(images: dict[str, str]) -> None:
    """Non-root, and the entry points the manifests rely on (the sizes are in
    test-artifacts/images/sizes.txt)."""
    for service, image in images.items():
        config = image_config(image)
        assert config.get("User") == f"{SERVICE_UID}:{SERVICE_UID}", (service, config.get("User"))
        if service == "console":
            assert config["Entrypoint"] == ["/app/.venv/bin/switchboard-console"]
            assert "CONSOLE_PROXY_ENABLED=false" in config["Env"]
        else:
            # deploy/k8s: args ["serve", "--host", "0.0.0.0"], and ["migrate"] for the Job.
            assert config["Entrypoint"] == ["/app/.venv/bin/switchboard-service"]
            assert config["Cmd"] == ["serve", "--host", "0.0.0.0"]
            assert f"SWITCHBOARD_SERVICE={service}" in config["Env"]


def test_the_root_filesystem_is_read_only_and_tmp_is_writable(
    images: dict[str, str], run_id: str
) -> None:
    probe = Container(
        name=f"sbt-{run_id}-probe",
        image=images["telephony"],
        work_dir=LOGS / "containers" / "probe",
    )
    log = LOGS / "probe.log"
    log.unlink(missing_ok=True)
    script = (
        "import errno, os, pathlib\n"
        "print('uid', os.getuid(), os.getgid())\n"
        "try:\n"
        "    pathlib.Path('/app/written').write_text('x')\n"
        "except OSError as e:\n"
        "    print('root', errno.errorcode[e.errno])\n"
        "pathlib.Path('/tmp/written').write_text('x')\n"
        "print('tmp ok')\n"
    )
    try:
        probe.create()
        code = probe.run(["python3", "-c", script], {}, log, timeout=60)
    finally:
        probe.remove()
    output = log.read_text()
    assert code == 0, output
    assert f"uid {SERVICE_UID} {SERVICE_UID}" in output
    assert "root EROFS" in output
    assert "tmp ok" in output


async def test_the_migration_jobs_migrate(platform: Platform) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    failed = {s: _log_tail(f"{s}-migrate") for s, code in platform.migrations.items() if code}
    assert not failed, failed
    server = make_url(platform.env["DATABASE_URL"])
    for service in SERVICES:
        database = f"switchboard_{service.replace('-', '_')}{platform.env['DATABASE_SUFFIX']}"
        engine = create_async_engine(server.set(database=database))
        try:
            async with engine.connect() as conn:
                head = (
                    await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                ).all()
        finally:
            await engine.dispose()
        assert len(head) == 1, (service, head)


def test_every_service_answers_readyz(platform: Platform) -> None:
    for service in (*SERVICES, "console"):
        server = next(c for c in platform.containers if c.name.endswith(f"-{service}-serve"))
        process = server.processes[0]

        def ready(service: str = service, process: Any = process) -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{service} exited:\n{_log_tail(service)}")
            return _get(platform.url(service) + "/readyz")[0] == 200

        wait_for(ready, timeout=180, what=f"{service} /readyz")
    status, page = _get(platform.url("console") + "/")
    assert status == 200
    assert b"<html" in page.lower()


def _memory_limit(service: str) -> int:
    """The memory limit of a service's Deployment in the base manifests, in bytes."""
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    for document in yaml.safe_load_all((REPO / "deploy/k8s/base" / f"{service}.yaml").read_text()):
        if document and document["kind"] == "Deployment":
            (container,) = document["spec"]["template"]["spec"]["containers"]
            limit = str(container["resources"]["limits"]["memory"])
            return int(limit[:-2]) * units[limit[-2:]]
    raise LookupError(service)


def test_every_server_leaves_headroom_under_its_memory_limit(platform: Platform) -> None:
    """Started and idle, each process uses at most 3/4 of its pod's memory limit, leaving
    room for traffic: a limit below that would have the kubelet kill it at once."""
    test_every_service_answers_readyz(platform)
    tight = {}
    for service in (*SERVICES, "console"):
        server = next(c for c in platform.containers if c.name.endswith(f"-{service}-serve"))
        used, limit = resident_bytes(command_pid(server.processes[0])), _memory_limit(service)
        print(f"{service}: {used / 2**20:.0f} MiB resident, limit {limit / 2**20:.0f} MiB")
        if used > limit * 3 / 4:
            tight[service] = f"{used / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB"
    assert not tight, tight


def _events(call_id: str) -> list[dict[str, Any]]:
    # An incoming call from a Moscow mobile written the way a PBX writes it, ringing
    # extension 101: answered after 7 s, then 90 s of talk.
    return [
        {
            "type": "call.started",
            "call_id": call_id,
            "timestamp": "2026-11-25T10:00:00+03:00",
            "from": "8 (916) 123-45-67",
            "to": "101",
            "extension": "101",
        },
        {
            "type": "call.answered",
            "call_id": call_id,
            "timestamp": "2026-11-25T10:00:07+03:00",
            "extension": "101",
            "operator_id": "op-anna",
        },
        {
            "type": "call.ended",
            "call_id": call_id,
            "timestamp": "2026-11-25T10:01:37+03:00",
            "status": "answered",
        },
    ]


def test_a_signed_pbx_delivery_reaches_the_call_log(platform: Platform) -> None:
    from switchboard_runtime.auth import Principal, issue_token
    from switchboard_telephony.domain.signing import signed_json

    test_every_service_answers_readyz(platform)
    call_id = f"img-{uuid.uuid4().hex[:10]}"
    body, headers = signed_json(PBX_TOKEN, _events(call_id))
    request = urllib.request.Request(
        platform.url("telephony") + "/api/telephony/pbx/events",
        data=body,
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.read()

    maria = Principal(operator_id="op-maria", name="Maria", role="manager")
    session = {"Authorization": f"Bearer {issue_token(maria, AUTH_SECRET)}"}

    def logged() -> list[dict[str, Any]]:
        status, page = _get(platform.url("analytics") + "/api/analytics/calls?limit=500", session)
        assert status == 200, page
        return [row for row in json.loads(page)["items"] if row["call_id"] == call_id]

    rows = wait_for(logged, timeout=60, what="the call in the analytics container's call log")
    assert len(rows) == 1
    row = rows[0]
    assert (row["call_type"], row["src"], row["disposition"]) == (
        "incoming",
        "+79161234567",
        "answered",
    )
    assert (row["wait_seconds"], row["talk_seconds"], row["total_seconds"]) == (7, 90, 97)


def test_every_container_stops_cleanly_on_sigterm(platform: Platform) -> None:
    """What the kubelet sends: each server drains, shuts its lifespan down (consumers, relay)
    and ends within the pods' grace period. (uvicorn then ends by re-raising the SIGTERM, so
    buildah reports a signal, not an exit code.)"""
    test_every_service_answers_readyz(platform)
    unclean = {}
    for service in (*SERVICES, "console"):
        server = next(c for c in platform.containers if c.name.endswith(f"-{service}-serve"))
        in_time = stop(server.processes[0], grace=45)
        if not in_time or "Application shutdown complete" not in _log_tail(service):
            unclean[service] = _log_tail(service)
    assert not unclean, unclean
