"""The private jackd that `make run` starts: real-time scheduling when the user may, and said."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import timeout

from oscserver.adapters.jackd import PrivateJackd, realtime_allowed


@pytest.mark.parametrize(
    ("euid", "rtprio", "allowed"),
    [
        (0, 0, True),  # root
        (1000, 0, False),  # an ordinary user without an rtprio limit
        (1000, 95, True),  # in Debian's audio group (/etc/security/limits.d/audio.conf)
        (1000, resource.RLIM_INFINITY, True),
    ],
)
def test_who_may_have_real_time_scheduling(euid, rtprio, allowed):
    assert realtime_allowed(euid, rtprio) is allowed


def scheduling_policies(pid: int) -> set[int]:
    """The scheduling policy of every thread of a process."""
    policies = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):  # the thread ended meanwhile
            policies.add(os.sched_getscheduler(int(tid)))
    return policies


@pytest.mark.jack
def test_the_private_jackd_runs_real_time_when_the_user_may_and_says_which():
    server = PrivateJackd(server_name=f"oscs-rt-{uuid.uuid4().hex[:8]}")
    server.start(timeout(20))
    try:
        assert server.realtime is realtime_allowed()
        pid = server._proc.pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        real_time_threads = os.SCHED_FIFO in scheduling_policies(pid)
        if server.realtime:
            assert b"--realtime" in cmdline
            assert real_time_threads  # jackd's cycle thread really runs SCHED_FIFO
            assert server.description == "jackd -d dummy, 48 kHz, real-time scheduling"
        else:
            assert b"--no-realtime" in cmdline and not real_time_threads
            assert "without real-time scheduling: run as root" in server.description
    finally:
        server.stop()


@pytest.mark.jack
def test_make_run_says_how_its_private_jackd_runs(tmp_path):
    """oscserver as `make run` starts it, with no JACK server running: the note says which."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["JACK_DEFAULT_SERVER"] = f"oscs-run-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "out.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oscserver",
                "--output",
                "jack",
                "--osc-port",
                "0",
                "--no-oscquery",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + timeout(30)
        while b"press Ctrl-C to stop" not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout(20))
    text = log.read_text()
    how = "real-time scheduling)" if realtime_allowed() else "without real-time scheduling"
    assert "started a private one (jackd -d dummy, 48 kHz, " + how in text, text
