"""oscserver as a separate process, as a user runs it, for the benchmarks that measure it
from outside (bench/control_latency.py, bench/osc_ingest.py, bench/osc_soak.py)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from oscserver.core.osc_codec import decode_packet, encode_message

#: Keys that must not reach a benchmark's server: it would try Google.
KEYS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def free_port() -> int:
    """A UDP port nobody uses now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def oscserver(
    *options: str, log_level: str = "warning"
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Run ``python -m oscserver --output null`` on a free OSC port with ``options``.

    Yields:
        The process and its OSC port; it is stopped (SIGTERM, then killed) on leaving.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "oscserver", "--output", "null", "--osc-port", str(port),
         "--log-level", log_level, *options],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_status(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> list[object]:
    """Ask ``/lyria/status`` until the server answers; returns the answer's arguments.

    Raises:
        RuntimeError: The process exited, or gave no answer within ``seconds``.
    """
    ask = encode_message("/lyria/status")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"oscserver exited with code {proc.returncode}")
            probe.sendto(ask, ("127.0.0.1", port))
            try:
                return list(decode_packet(probe.recv(65536))[0].args)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"oscserver did not answer within {seconds:g} s") from None
