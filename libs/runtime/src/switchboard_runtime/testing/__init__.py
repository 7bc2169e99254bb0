"""Test support shared by every service's tests: real infrastructure, waiting helpers.

The pytest plugin (:mod:`switchboard_runtime.testing.plugin`) is loaded by the root
``pyproject.toml``; :func:`wait_until` is how tests wait for asynchronous outcomes.
"""

from switchboard_runtime.testing.infra import Endpoints, resolve_endpoints
from switchboard_runtime.testing.waiting import wait_until

__all__ = ["Endpoints", "resolve_endpoints", "wait_until"]
