"""Where the tests' Kafka, PostgreSQL and Redis are.

In order: a Docker engine that answers (testcontainers starts all three); the
endpoints in ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL`` and ``REDIS_URL`` when all
three are set (an explicit choice beats starting anything); otherwise the local
processes of ``scripts/infra.sh``, started if they are not running.
``SB_TEST_INFRA=docker|env|local`` forces one of them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ENV_VARS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL")


@dataclass
class Endpoints:
    """The three infrastructure endpoints tests connect to, and where they came from."""

    kafka_bootstrap_servers: str
    database_url: str
    redis_url: str
    source: str
    kafka_version: str = "unknown"
    _cleanup: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Stop whatever was started for the tests (testcontainers only)."""
        for stop in reversed(self._cleanup):
            stop()


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _from_docker() -> Endpoints:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    kafka = KafkaContainer("apache/kafka:3.9.1").with_kraft()
    postgres = PostgresContainer("postgres:15", driver="asyncpg")
    redis = RedisContainer("redis:7")
    for container in (kafka, postgres, redis):
        container.start()
    host = redis.get_container_host_ip()
    return Endpoints(
        kafka_bootstrap_servers=kafka.get_bootstrap_server(),
        database_url=postgres.get_connection_url(),
        redis_url=f"redis://{host}:{redis.get_exposed_port(6379)}/0",
        source="testcontainers",
        kafka_version="3.9.1 (apache/kafka image)",
        _cleanup=[kafka.stop, postgres.stop, redis.stop],
    )


def _from_env() -> Endpoints:
    kafka, database, redis = (os.environ[v] for v in ENV_VARS)
    return Endpoints(kafka, database, redis, source="environment")


def _infra_script(repo: Path, command: str) -> str:
    """Run ``scripts/infra.sh COMMAND`` (the project's own script) and return its output."""
    script = repo / "scripts" / "infra.sh"
    done = subprocess.run(  # noqa: S603 - a fixed script of this repository
        ["/bin/bash", str(script), command], check=True, capture_output=True, text=True
    )
    return done.stdout


def _from_local(repo: Path) -> Endpoints:
    _infra_script(repo, "up")
    values: dict[str, str] = {}
    for line in (repo / ".cache" / "infra" / "env").read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = value.strip().strip('"')
    status = _infra_script(repo, "status")
    version = next(
        (
            line.split("version", 1)[1].strip()
            for line in status.splitlines()
            if line.startswith("kafka") and "version" in line
        ),
        "unknown",
    )
    kafka, database, redis = (values[v] for v in ENV_VARS)
    return Endpoints(
        kafka,
        database,
        redis,
        source="local processes (scripts/infra.sh)",
        kafka_version=f"Apache Kafka {version}",
    )


def resolve_endpoints(repo: Path) -> Endpoints:
    """Find (or start) real Kafka, PostgreSQL and Redis for a test run."""
    choice = os.environ.get("SB_TEST_INFRA", "auto")
    if choice == "docker" or (choice == "auto" and _docker_reachable()):
        return _from_docker()
    if choice == "env" or (choice == "auto" and all(os.environ.get(v) for v in ENV_VARS)):
        return _from_env()
    return _from_local(repo)
