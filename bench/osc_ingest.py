"""OSC ingest throughput: messages per second fully applied, none lost, against python-osc.

Run: .venv/bin/python bench/osc_ingest.py [--messages 200000] [--window 400]

Two servers take the same flood of ``/lyria/prompt/1/weight <value>`` messages, each a
different value, over UDP on loopback, each server in a process of its own:

- ``oscserver``: the real server (``--output null``, the embedded engine, no OSCQuery): every
  message is decoded, validated against the address table and applied to the musical state,
  and the session sends the service what changed (throttled);
- ``python-osc``: python-osc's stock ``AsyncIOOSCUDPServer`` and ``Dispatcher`` with a handler
  on ``/lyria/prompt/*/weight`` that stores the value, and counts.

So that nothing is lost to a full socket buffer, the sender sends ``--window`` messages, then
asks for the count (oscserver: ``/lyria/status``; python-osc: a ``/count`` handler) and waits
for the answer before the next window. Throughput is messages over the time to the last
answer; every message must have been counted, and the last value must be the one in force.

Target: oscserver >= 3x python-osc.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from typing import cast

from server_process import free_port, oscserver, wait_for_status

from oscserver.core.osc_codec import decode_packet, encode_message


def python_osc_server(port: int, ready: multiprocessing.synchronize.Event) -> None:
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import AsyncIOOSCUDPServer

    state = {"weight": 0.0, "count": 0}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        dispatcher = Dispatcher()

        def weight(address: str, value: float) -> None:
            state["weight"] = value
            state["count"] += 1

        dispatcher.map("/lyria/prompt/*/weight", weight)
        server = AsyncIOOSCUDPServer(("127.0.0.1", port), dispatcher, loop)  # type: ignore[arg-type]
        endpoint, _ = await server.create_serve_endpoint()
        transport = cast(asyncio.DatagramTransport, endpoint)
        # The same receive buffer as oscserver asks for: a fair race.
        transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024
        )

        def count(client: tuple[str, int], address: str, *args: object) -> None:
            transport.sendto(
                encode_message("/count", [int(state["count"]), float(state["weight"])]), client
            )

        dispatcher.map("/count", count, needs_reply_address=True)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def flood(port: int, messages: int, window: int, ask: bytes) -> tuple[float, list[object]]:
    """Send windows of weight changes, each followed by a count request; returns the elapsed
    time and the last answer's arguments."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5.0)
    target = ("127.0.0.1", port)
    datagrams = [
        encode_message("/lyria/prompt/1/weight", [round(0.001 + (i % 1999) / 1000, 3)])
        for i in range(messages)
    ]
    start = time.perf_counter()
    answer: list[object] = []
    for first in range(0, messages, window):
        for datagram in datagrams[first : first + window]:
            sock.sendto(datagram, target)
        sock.sendto(ask, target)
        while True:  # skip anything that is not the answer
            reply = decode_packet(sock.recv(65536))[0]
            if reply.address in ("/count", "/lyria/status"):
                answer = list(reply.args)
                break
    elapsed = time.perf_counter() - start
    sock.close()
    return elapsed, answer


def run_python_osc(messages: int, window: int) -> tuple[float, int, float]:
    port = free_port()
    ready = multiprocessing.get_context("spawn").Event()
    proc = multiprocessing.get_context("spawn").Process(
        target=python_osc_server, args=(port, ready), daemon=True
    )
    proc.start()
    try:
        ready.wait(30)
        time.sleep(0.5)
        elapsed, answer = flood(port, messages, window, encode_message("/count"))
        return elapsed, int(str(answer[0])), float(str(answer[1]))
    finally:
        proc.kill()
        proc.join()


def run_oscserver(messages: int, window: int) -> tuple[float, int, float]:
    ask = encode_message("/lyria/status")
    with oscserver("--engine", "embedded", "--no-oscquery") as (proc, port):
        wait_for_status(port, proc)
        time.sleep(1.0)
        _, before = flood(port, 1, 1, ask)  # one message, one request: the count before
        elapsed, answer = flood(port, messages, window, ask)
        get = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        get.settimeout(5)
        get.sendto(encode_message("/lyria/get/prompt/1/weight"), ("127.0.0.1", port))
        weight = float(str(decode_packet(get.recv(65536))[0].args[0]))
        get.close()
        # Status counts every message received, the status requests too.
        windows = -(-messages // window)
        applied = int(str(answer[5])) - int(str(before[5])) - windows
        return elapsed, applied, weight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()
    last = round(0.001 + ((args.messages - 1) % 1999) / 1000, 3)
    print(f"{args.messages} weight changes in windows of {args.window}, loopback UDP")
    print(f"{'server':>10} {'seconds':>8} {'msgs/s':>9} {'applied':>8} {'last value':>10}")
    rates = {}
    for name, run in (("python-osc", run_python_osc), ("oscserver", run_oscserver)):
        elapsed, applied, weight = run(args.messages, args.window)
        ok = applied == args.messages and abs(weight - last) < 1e-6
        rates[name] = args.messages / elapsed
        print(
            f"{name:>10} {elapsed:>8.2f} {rates[name]:>9.0f} {applied:>8} {weight:>10.3f}"
            + ("" if ok else "  LOST OR WRONG"),
            flush=True,
        )
    ratio = rates["oscserver"] / rates["python-osc"]
    print(
        f"oscserver / python-osc: {ratio:.2f}x; target >= 3x: {'met' if ratio >= 3 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
