"""Run inside a private network namespace by tests/test_osc_multicast.py: three oscservers
(the real command line, ``--output null``) and one sender that plays them all through a
multicast group. Prints what the sender heard back as JSON.

Servers ``a`` and ``b`` listen on 127.0.0.1 (ports of their own) and join the group on port
GROUP_PORT, on loopback; ``c`` listens on every address at OTHER_PORT and joins the group there
(the group on its own socket). The namespace routes 224.0.0.0/4 to lo, so nothing leaves it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from oscserver.core.osc_codec import decode_packet, encode_message

GROUP = "239.255.0.9"
GROUP_PORT = 9100
OTHER_PORT = 9200
PORTS = {"a": 9011, "b": 9012}
SCALE = float(os.environ.get("OSCSERVER_TEST_TIMEOUT_SCALE", "1"))


def start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    argv = [sys.executable, "-m", "oscserver", "--output", "null", "--no-oscquery"]
    argv += ["--prompt", "", "--engine", "embedded", *args]
    return subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)


def wait_joined(server: subprocess.Popen[str], log: list[str]) -> None:
    """Read the server's log until it says it is ready (it joined its group before)."""
    assert server.stderr is not None
    for line in server.stderr:
        log.append(line)
        if "press Ctrl-C to stop" in line:
            return
    raise SystemExit("a server stopped before it was ready:\n" + "".join(log))


def heard(sock: socket.socket, seconds: float) -> list[tuple[int, str, list[object]]]:
    """What came back within ``seconds``: (the replying port, address, arguments)."""
    got: list[tuple[int, str, list[object]]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, (_, port) = sock.recvfrom(65536)
        except TimeoutError:
            break
        for message in decode_packet(data):
            got.append((port, message.address, list(message.args)))
    return got


def main() -> None:
    servers = {
        name: start("--osc-port", str(port), "--osc-multicast", f"{GROUP}:{GROUP_PORT}")
        for name, port in PORTS.items()
    }
    servers["c"] = start(
        "--osc-host", "0.0.0.0", "--osc-port", str(OTHER_PORT), "--osc-multicast", GROUP
    )
    logs: dict[str, list[str]] = {name: [] for name in servers}
    seen: dict[str, object] = {}
    try:
        for name, server in servers.items():
            wait_joined(server, logs[name])
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.bind(("127.0.0.1", 0))
        group = (GROUP, GROUP_PORT)
        wait = 2.0 * SCALE
        # One message to the group: both servers on it take it.
        sender.sendto(encode_message("/lyria/bpm", [124]), group)
        time.sleep(0.3)
        sender.sendto(encode_message("/lyria/get/bpm", []), group)
        seen["bpm"] = heard(sender, wait)
        # A mistake sent to the group: each server explains it to the sender.
        sender.sendto(encode_message("/lyria/bpm", ["fast"]), group)
        seen["errors"] = heard(sender, wait)
        # One server told apart, by its own port: the group still reaches both.
        sender.sendto(encode_message("/lyria/bpm", [90]), ("127.0.0.1", PORTS["a"]))
        time.sleep(0.3)
        sender.sendto(encode_message("/lyria/get/bpm", []), group)
        seen["after_unicast"] = heard(sender, wait)
        # The server on every address: its port's group and unicast, on one socket.
        sender.sendto(encode_message("/lyria/bpm", [100]), (GROUP, OTHER_PORT))
        time.sleep(0.3)
        sender.sendto(encode_message("/lyria/get/bpm", []), ("127.0.0.1", OTHER_PORT))
        seen["c"] = heard(sender, wait)
        seen["ports"] = {**PORTS, "c": OTHER_PORT}
    finally:
        for server in servers.values():
            server.terminate()
        for name, server in servers.items():
            _, rest = server.communicate(timeout=20 * SCALE)
            logs[name].append(rest)
    seen["logs"] = {name: "".join(lines) for name, lines in logs.items()}
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
