"""Run by tests/test_jackd.py in a mount and PID namespace of its own (a /dev/shm and a /proc
of its own): JACK's server registry filled with servers that were killed, then a private
jackd started. Prints what happened as JSON."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time

from oscserver.adapters.jackd import PrivateJackd

logging.basicConfig(level=logging.WARNING, format="%(message)s")


def main() -> None:
    seen: dict[str, object] = {}
    # Eight servers killed: each keeps its place in JACK's registry (8 places).
    for i in range(8):
        server = subprocess.Popen(
            ["jackd", "--no-realtime", "-n", f"killed-{i}", "-d", "dummy", "-p", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.6)
        server.send_signal(signal.SIGKILL)
        server.wait()
    full = subprocess.run(
        ["jackd", "--no-realtime", "-n", "ninth", "-d", "dummy", "-p", "256"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    seen["ninth_said"] = full.stdout + full.stderr
    jackd = PrivateJackd(server_name="after-the-killed", realtime=False)
    try:
        jackd.start(timeout=20)
        seen["started"] = True
    except RuntimeError as exc:
        seen["started"] = False
        seen["error"] = str(exc)
    finally:
        jackd.stop()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
