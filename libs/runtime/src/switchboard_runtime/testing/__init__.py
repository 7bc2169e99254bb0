"""Test support shared by every service's tests: real infrastructure, waiting helpers.

The pytest plugin (:mod:`switchboard_runtime.testing.plugin`) is loaded by the root
``pyproject.toml``; :func:`wait_until` is how tests wait for asynchronous outcomes;
:func:`fail_next_publish` injects a Kafka publish failure.
"""

from switchboard_runtime.testing.faults import fail_next_publish
from switchboard_runtime.testing.infra import Endpoints, resolve_endpoints
from switchboard_runtime.testing.waiting import wait_until

__all__ = ["Endpoints", "fail_next_publish", "resolve_endpoints", "wait_until"]
