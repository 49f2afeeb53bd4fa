"""Shared fixtures: a real JACK server (dummy backend) per test session, and timeouts."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

#: Scales every timeout in the tests (websockets' MS idea): raise it on a slow machine.
TIMEOUT_SCALE = float(os.environ.get("OSCSERVER_TEST_TIMEOUT_SCALE", "1"))


def timeout(seconds: float) -> float:
    """A test timeout, scaled by OSCSERVER_TEST_TIMEOUT_SCALE."""
    return seconds * TIMEOUT_SCALE


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def jack_server() -> Iterator[str]:
    """The name of a private ``jackd --no-realtime -d dummy`` at 48 kHz, period 256."""
    from oscserver.adapters.jackd import PrivateJackd

    name = f"oscserver-test-{uuid.uuid4().hex[:8]}"
    server = PrivateJackd(rate=48000, period=256, server_name=name)
    server.start(timeout=timeout(20))
    try:
        yield name
    finally:
        server.stop()
