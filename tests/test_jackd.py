"""The private jackd that `make run` starts: real-time scheduling when the user may, and said."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import timeout

from oscserver.adapters.jackd import PrivateJackd, clear_stale_registry, realtime_allowed


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


def test_a_registry_full_of_killed_servers_is_cleared_and_jackd_starts():
    """JACK 2 keeps 8 servers in its registry, and a killed jackd keeps its place: after eight
    killed servers no JACK server starts ("Too many servers already active") until the
    registry is removed. In a /dev/shm and a /proc of its own, so that the machine's servers
    are neither seen nor touched."""
    if os.geteuid() != 0:
        pytest.skip("a mount and PID namespace (unshare -m -p) needs root")
    script = Path(__file__).with_name("jack_registry_full.py")
    done = subprocess.run(
        [
            *("unshare", "-m", "-p", "-f", "--mount-proc", "sh", "-c"),
            f"mount -t tmpfs tmpfs /dev/shm && exec {sys.executable} {script}",
        ],
        capture_output=True,
        text=True,
        timeout=timeout(120),
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Too many servers already active" in seen["ninth_said"]
    assert seen["started"], seen.get("error")
    assert "registry held only servers that were killed; cleared it" in done.stderr


@pytest.mark.parametrize(
    ("running", "cleared"), [("python3", True), ("jackd", False), ("jackdbus", False)]
)
def test_the_registry_is_cleared_only_when_no_jack_server_runs(tmp_path, running, cleared):
    shm, proc = tmp_path / "shm", tmp_path / "proc"
    shm.mkdir()
    (proc / "4242").mkdir(parents=True)
    (proc / "4242" / "comm").write_text(running + "\n")
    (shm / "jack-shm-registry").write_bytes(b"\0" * 64)
    assert clear_stale_registry(shm, proc) is cleared
    assert (shm / "jack-shm-registry").exists() is not cleared
    assert clear_stale_registry(tmp_path / "empty", proc) is False  # no registry: nothing to do
