"""The command line: the reference stays current, and start-up mistakes are explained."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_udp_port, timeout

from oscserver.core.osc_codec import encode_message
from oscserver.core.reference import markdown

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oscserver", *args],
        capture_output=True,
        text=True,
        timeout=timeout(60),
        env=env,
    )


def test_docs_osc_md_is_the_generated_reference():
    assert (ROOT / "docs" / "osc.md").read_text() == markdown(), (
        "docs/osc.md is stale: run make docs"
    )


def test_addresses_command_prints_every_address():
    result = run("addresses")
    assert result.returncode == 0
    assert result.stdout == markdown()
    assert (
        "| `/lyria/prompt/N/weight` | `weight`: float -2..2; `seconds`: float 0..3600 (optional) |"
        in (result.stdout)
    )


def test_engine_google_without_a_key_is_refused_before_anything_starts():
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    result = run("--engine", "google", env=env)
    assert result.returncode == 2
    assert "--engine google needs GEMINI_API_KEY or GOOGLE_API_KEY" in result.stderr


@pytest.mark.jack
def test_osc_port_in_use_is_explained(jack_server):
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["JACK_DEFAULT_SERVER"] = jack_server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run("--osc-port", str(port), "--no-start-jack", "--jack-name", "cli-test", env=env)
    assert result.returncode == 1
    assert f"cannot listen for OSC on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_engine_command_serves_the_protocol_standalone():
    import asyncio

    import websockets

    from oscserver.adapters.lyria_ws import MUSIC_PATH

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "oscserver", "engine", "--port", str(port), "--key", "k1"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert f"embedded Lyria engine at ws://127.0.0.1:{port}{MUSIC_PATH}" in line

        async def session() -> str:
            url = f"ws://127.0.0.1:{port}{MUSIC_PATH}?key=k1"
            async with websockets.connect(url) as ws:
                await ws.send('{"setup": {"model": "models/lyria-realtime-exp"}}')
                return str(await asyncio.wait_for(ws.recv(), timeout(10)))

        assert asyncio.run(session()) == '{"setupComplete": {}}'
    finally:
        proc.send_signal(2)
        assert proc.wait(timeout(10)) == 0


def test_realistic_means_the_cap_jitter_and_a_wandering_pace_unless_told_otherwise():
    from oscserver.cli import _engine_parser, engine_options

    options = engine_options(_engine_parser().parse_args(["--realistic"]))
    kinds = {f.kind: f for f in options.faults}
    assert kinds["close"].after == 600 and kinds["close"].code == 1011
    assert (kinds["wander"].factor, kinds["wander"].low, kinds["wander"].high) == (0.98, 0.77, 1.03)
    assert options.jitter_seconds == 0.5
    steady = engine_options(_engine_parser().parse_args(["--realistic", "--fault", "slow:0:1"]))
    assert [f.kind for f in steady.faults] == ["slow", "close"]  # a pace given wins


def test_engine_command_explains_a_bad_fault():
    result = run("engine", "--fault", "explode:3")
    assert result.returncode == 2
    assert "bad fault 'explode:3': use close:S:CODE[:REASON]" in result.stderr


# oscserver as on Windows, where asyncio's loop.add_signal_handler raises NotImplementedError.
WINDOWS_LIKE = (
    "import sys, asyncio.unix_events as u\n"
    "def refuse(*args, **kwargs): raise NotImplementedError\n"
    "u._UnixSelectorEventLoop.add_signal_handler = refuse\n"
    "from oscserver.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


@pytest.mark.parametrize("windows_like", [False, True], ids=["posix", "no-add_signal_handler"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_session_with_a_close_frame(sig, windows_like, tmp_path):
    """Ctrl-C or systemd's SIGTERM: oscserver ends its session properly (close 1000), as the
    engine on the other end of the WebSocket sees it, and exits 0; also where the event loop
    cannot take signal handlers (Windows), for the server and the engine alike."""
    oscserver = [sys.executable] + (["-c", WINDOWS_LIKE] if windows_like else ["-m", "oscserver"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        engine_port = s.getsockname()[1]
    engine_log = tmp_path / "engine.log"
    with open(engine_log, "w") as log:
        engine = subprocess.Popen(
            [*oscserver, "engine", "--port", str(engine_port), "--log-level", "info"],
            stderr=log, text=True,
        )  # fmt: skip
    server_log = tmp_path / "oscserver.log"
    try:
        deadline = time.monotonic() + timeout(20)
        while "embedded Lyria engine at" not in engine_log.read_text():
            assert time.monotonic() < deadline and engine.poll() is None, engine_log.read_text()
            time.sleep(0.05)
        env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
        with open(server_log, "w") as log:
            server = subprocess.Popen(
                [*oscserver, "--output", "null", "--no-oscquery", "--osc-port",
                 str(free_udp_port()), "--engine", f"ws://127.0.0.1:{engine_port}"],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        try:
            while "session 1 set up" not in engine_log.read_text():
                assert time.monotonic() < deadline and server.poll() is None, server_log.read_text()
                time.sleep(0.05)
            server.send_signal(sig)
            assert server.wait(timeout(15)) == 0, server_log.read_text()
        finally:
            if server.poll() is None:
                server.kill()
        while "session 1 ended" not in engine_log.read_text():
            assert time.monotonic() < deadline, engine_log.read_text()
            time.sleep(0.05)
        assert "session 1 ended: closed by the client (1000 'oscserver stopping')" in (
            engine_log.read_text()
        )
        assert "Traceback" not in server_log.read_text()
    finally:
        engine.send_signal(signal.SIGINT)
        assert engine.wait(timeout(10)) == 0, engine_log.read_text()
    assert "Traceback" not in engine_log.read_text()


def test_continuity_stretch_is_announced_and_bad_limits_are_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    bad = run("--output", "null", "--no-oscquery", "--osc-port", str(free_udp_port()),
              "--continuity", "stretch", "--max-stretch", "0.7", env=env)  # fmt: skip
    assert bad.returncode == 2
    assert "--continuity stretch: target must be above 0 and max_stretch within 0..0.5" in (
        bad.stderr
    )
    log = tmp_path / "out.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "oscserver", "--output", "null", "--no-oscquery",
             "--osc-port", str(free_udp_port()), "--continuity", "stretch"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout(30)
        while "press Ctrl-C to stop" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout(15)) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "continuity: the stream is stretched up to 6 % to hold 0.5 s of audio" in (
        log.read_text()
    )


def status_of(sock: socket.socket, port: int) -> list:
    """Ask a running oscserver for /lyria/status over UDP; its arguments."""
    from oscserver.core.osc_codec import decode_packet, encode_message

    sock.sendto(encode_message("/lyria/status"), ("127.0.0.1", port))
    while True:
        data, _ = sock.recvfrom(65536)
        for message in decode_packet(data):
            if message.address == "/lyria/status":
                return list(message.args)


@contextlib.contextmanager
def serve_null(port: int, log: Path, env: dict[str, str], *args: str) -> Iterator[socket.socket]:
    """oscserver on the null output with OSC on ``port``, logging to ``log``, once it listens.

    Yields a UDP socket (on 127.0.0.1) to talk to it; on leaving, Ctrl-C (SIGINT) must stop
    it cleanly (exit 0), and it is killed if it did not.
    """
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "oscserver", "--output", "null", "--no-oscquery",
             "--osc-port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(timeout(5))
    try:
        deadline = time.monotonic() + timeout(30)
        while "press Ctrl-C to stop" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield sock
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout(15)) == 0
    finally:
        sock.close()
        if proc.poll() is None:
            proc.kill()


def test_clock_internal_locks_the_music_and_takes_the_users_bpm(tmp_path):
    """``--clock internal``: after play, the status says the music is locked to a 120 bpm
    clock; a new /lyria/bpm moves the clock; without stretching the clock is refused."""
    from oscserver.core.osc_codec import encode_message

    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    refused = run("--output", "null", "--no-oscquery", "--osc-port", str(free_udp_port()),
                  "--continuity", "off", "--clock", "internal", env=env)  # fmt: skip
    assert refused.returncode == 2
    assert "--clock internal needs --continuity stretch" in refused.stderr
    no_server = run("--output", "null", "--no-oscquery", "--osc-port", str(free_udp_port()),
                    "--clock", "jack", "--jack-server", "no-such-server", env=env)  # fmt: skip
    assert no_server.returncode == 2
    assert "--clock jack: no JACK server to follow" in no_server.stderr
    port = free_udp_port()
    log = tmp_path / "out.log"
    with serve_null(port, log, env, "--clock", "internal") as sock:
        assert status_of(sock, port)[10:] == ["internal", 0.0, "seeking", 0.0]  # no beat yet
        sock.sendto(encode_message("/lyria/play"), ("127.0.0.1", port))
        deadline = time.monotonic() + timeout(30)
        while (args := status_of(sock, port))[12] != "locked":
            assert time.monotonic() < deadline, (args, log.read_text())
            time.sleep(0.5)
        assert args[10:12] == ["internal", 120.0]
        assert abs(args[13]) <= 10.0  # ms
        sock.sendto(encode_message("/lyria/bpm", [126]), ("127.0.0.1", port))
        deadline = time.monotonic() + timeout(10)
        while (args := status_of(sock, port))[11] != 126.0:
            assert time.monotonic() < deadline, args
            time.sleep(0.2)
    assert "clock: the music's beats are put on the internal clock at 120 bpm" in log.read_text()


def reply_to(sock: socket.socket, port: int, address: str, *args: object) -> tuple[str, list]:
    """Send one message to a running oscserver; the first reply (address, arguments)."""
    from oscserver.core.osc_codec import decode_packet, encode_message

    sock.sendto(encode_message(address, list(args)), ("127.0.0.1", port))
    data, _ = sock.recvfrom(65536)
    message = decode_packet(data)[0]
    return message.address, list(message.args)


def test_the_clock_is_chosen_over_osc_while_the_music_plays(tmp_path):
    """``/lyria/clock``: started without a clock, playing; internal locks the music, a JACK
    server that is not there is refused and the clock kept, none lets go."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    port = free_udp_port()
    log = tmp_path / "out.log"
    with serve_null(port, log, env, "--jack-server", "no-such-server") as sock:
        assert reply_to(sock, port, "/lyria/get/clock") == ("/lyria/clock", ["none"])
        sock.sendto(encode_message("/lyria/bpm", [120]), ("127.0.0.1", port))
        sock.sendto(encode_message("/lyria/play"), ("127.0.0.1", port))
        time.sleep(2.0)  # playing, unlocked, stretched as each chunk comes
        assert status_of(sock, port)[10:] == ["none", 0.0, "", 0.0]

        sock.sendto(encode_message("/lyria/clock", ["Internal"]), ("127.0.0.1", port))
        deadline = time.monotonic() + timeout(30)
        while (args := status_of(sock, port))[12] != "locked":
            assert time.monotonic() < deadline, (args, log.read_text())
            time.sleep(0.5)
        assert args[10:12] == ["internal", 120.0] and abs(args[13]) <= 10.0
        assert reply_to(sock, port, "/lyria/get/clock") == ("/lyria/clock", ["internal"])

        address, said = reply_to(sock, port, "/lyria/clock", "jack")
        assert address == "/lyria/error"
        assert "no JACK server to follow" in said[0] and "still on internal" in said[0]
        assert reply_to(sock, port, "/lyria/get/clock") == ("/lyria/clock", ["internal"])
        assert status_of(sock, port)[10] == "internal"

        sock.sendto(encode_message("/lyria/clock", [0]), ("127.0.0.1", port))  # a menu's index
        deadline = time.monotonic() + timeout(10)
        while (args := status_of(sock, port))[10] != "none":
            assert time.monotonic() < deadline, args
            time.sleep(0.2)
        assert args[10:] == ["none", 0.0, "", 0.0]
        assert status_of(sock, port)[1] == "playing"
    said = log.read_text()
    assert "clock: the music's beats are put on the internal clock at 120 bpm" in said
    assert "clock: none (the music keeps its own beats)" in said
