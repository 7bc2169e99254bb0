"""Ports for the servers a test starts: free, and never the same one twice."""

from __future__ import annotations

import socket

from switchboard_runtime.testing.standins import free_port


def test_a_platforms_worth_of_ports_are_distinct_and_bindable() -> None:
    # The kernel picks each port afresh; among a few hundred, it repeats one more often
    # than not. Every server of a platform must still get its own.
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    for port in ports[:20]:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
