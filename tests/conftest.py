"""Shared fixtures: a real JACK server (dummy backend) per test session, and timeouts."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings

from oscserver.dsp import beats, stretch

# Property tests: `make test` (and so CI) runs the same examples every time, so a run is
# reproducible and a red build means a change broke something; `make fuzz` explores fresh ones
# (HYPOTHESIS_PROFILE=explore) and is where new failures are found, then pinned as examples.
settings.register_profile("test", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "test"))

#: Scales every timeout in the tests (websockets' MS idea): raise it on a slow machine.
TIMEOUT_SCALE = float(os.environ.get("OSCSERVER_TEST_TIMEOUT_SCALE", "1"))

#: For tests of the continuity stretch and the beats: Rubber Band (pylibrb) and aubio, which
#: make test installs, may lack a wheel elsewhere.
needs_stretch_and_beats = pytest.mark.skipif(
    not (stretch.available() and beats.available()), reason="no pylibrb or aubio here"
)


def timeout(seconds: float) -> float:
    """A test timeout, scaled by OSCSERVER_TEST_TIMEOUT_SCALE."""
    return seconds * TIMEOUT_SCALE


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, seconds: float = 20.0) -> None:
    """Wait in this thread until ``predicate()`` is true, at most ``seconds`` (scaled)."""
    import time

    deadline = time.monotonic() + timeout(seconds)
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


async def until(predicate, seconds: float = 10.0, what: str = "timed out") -> None:
    """Wait on the running loop until ``predicate()`` is true, at most ``seconds`` (scaled)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout(seconds)
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


@pytest.fixture
def no_api_key(monkeypatch):
    """The embedded engine, never Google's: no API key in the environment."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Clear JACK's server registry of killed servers, when none runs, before any test starts
    one: a run stopped by force (a timeout, Ctrl-C twice) leaves places taken in it (8 in
    all), and once a server runs they can no longer be cleared (oscserver/adapters/jackd.py)."""
    from oscserver.adapters.jackd import clear_stale_registry

    clear_stale_registry()


@pytest.fixture(scope="session")
def jack_server() -> Iterator[str]:
    """The name of a private ``jackd --no-realtime -d dummy`` at 48 kHz, period 256."""
    from oscserver.adapters.jackd import PrivateJackd

    name = f"oscserver-test-{uuid.uuid4().hex[:8]}"
    server = PrivateJackd(rate=48000, period=256, server_name=name, realtime=False)
    server.start(timeout=timeout(20))
    try:
        yield name
    finally:
        server.stop()


@pytest.fixture
def private_jackd():
    """Start private JACK servers (dummy backend) by name and rate; all stop after the test.

    They run without real-time scheduling unless asked (``realtime=None``: when allowed).
    """
    from oscserver.adapters.jackd import PrivateJackd

    started: list[PrivateJackd] = []

    def start(
        name: str | None = None, rate: int = 48000, period: int = 256, realtime: bool | None = False
    ) -> PrivateJackd:
        server = PrivateJackd(
            rate=rate,
            period=period,
            server_name=name or f"oscs-{uuid.uuid4().hex[:8]}",
            realtime=realtime,
        )
        server.start(timeout=timeout(20))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
async def bare_app(monkeypatch):
    """oscserver in-process with no prompt, the embedded engine and the null output: for tests
    that drive it from outside (patches, scripts) and read its state."""
    from oscserver.adapters.audio.null_sink import NullSink
    from oscserver.app import App, Options

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    app = App(Options(osc_port=0, prompt=""), NullSink(preroll_seconds=0.2))
    await app.start()
    yield app
    await app.stop()
    app.sink.close()


def in_private_network(argv: list[str], seconds: float) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a network namespace of its own: only its loopback, multicast routed
    there, so that nothing (Ableton Link, mDNS) leaves the machine. Needs root (CI is)."""

    if os.geteuid() != 0:
        pytest.skip("a private network namespace (unshare -n) needs root")
    script = "ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec " + shlex.join(argv)
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout(seconds),
    )
