"""Control latency: an OSC datagram in, the WebSocket frame it causes out. p50/p99 for isolated
changes, against the bare transport measured in the same run.

Run: .venv/bin/python bench/control_latency.py [--count 200] [--gap 0.3]

A stand-in for the service runs in this process: a WebSocket server that answers setup,
streams 2 s audio chunks in real time while playing (as the service does, so oscserver is
decoding audio while it handles OSC), and timestamps every clientContent frame it receives.
This process also sends the OSC: one ``/lyria/prompt/1/weight`` change every ``--gap`` seconds
(longer than the 200 ms throttle window, so each is an isolated change that must go out at
once), and takes the time from ``sendto`` to the frame's arrival on the same clock.

Two relays are measured, each as a process of its own:

- ``oscserver``: the real server (``--engine ws://...``, null audio output);
- ``baseline``: the least a relay can do: an asyncio UDP endpoint that decodes the datagram
  and sends one clientContent frame on a WebSocket, nothing else.

Target: oscserver's p99 <= 2 ms on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import socket
import statistics
import time

import websockets
from server_process import free_port, oscserver

from oscserver.core.osc_codec import decode_packet, encode_message

CHUNK = json.dumps(
    {
        "serverContent": {
            "audioChunks": [
                {
                    "data": base64.b64encode(bytes(2 * 2 * 96000)).decode(),
                    "mimeType": "audio/l16;rate=48000;channels=2",
                }
            ]
        }
    }
)


class Service:
    """The stand-in: setup, audio while playing, and a timestamp per clientContent weight."""

    def __init__(self) -> None:
        self.arrivals: dict[float, float] = {}
        self.ready = asyncio.Event()

    async def serve(self, ws: websockets.ServerConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):  # a relay being stopped
            await self._serve(ws)

    async def _serve(self, ws: websockets.ServerConnection) -> None:
        await ws.recv()  # setup
        await ws.send(json.dumps({"setupComplete": {}}))
        self.ready.set()
        streamer: asyncio.Task[None] | None = None
        try:
            async for frame in ws:
                now = time.perf_counter()
                body = json.loads(frame)
                if "clientContent" in body:
                    for prompt in body["clientContent"]["weightedPrompts"]:
                        self.arrivals.setdefault(round(prompt["weight"], 5), now)
                control = body.get("playbackControl")
                if control == "PLAY" and streamer is None:
                    streamer = asyncio.create_task(self._stream(ws))
        finally:
            if streamer:
                streamer.cancel()

    async def _stream(self, ws: websockets.ServerConnection) -> None:
        while True:
            await ws.send(CHUNK)
            await asyncio.sleep(2.0)


def baseline_relay(osc_port: int, url: str) -> None:
    """The bare transport: OSC in, one frame out."""

    async def main() -> None:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"setup": {"model": "models/lyria-realtime-exp"}}))
            await ws.recv()
            queue: asyncio.Queue[bytes] = asyncio.Queue()

            class Endpoint(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: object) -> None:
                    for message in decode_packet(data):
                        weight = float(message.args[0])  # type: ignore[arg-type]
                        frame = {
                            "clientContent": {"weightedPrompts": [{"text": "x", "weight": weight}]}
                        }
                        queue.put_nowait(json.dumps(frame).encode())

            loop = asyncio.get_running_loop()
            await loop.create_datagram_endpoint(Endpoint, local_addr=("127.0.0.1", osc_port))
            await ws.send(json.dumps({"playbackControl": "PLAY"}))

            async def drain() -> None:
                async for _ in ws:
                    pass

            drainer = asyncio.create_task(drain())
            while not drainer.done():
                await ws.send((await queue.get()).decode())

    asyncio.run(main())


async def measure(relay: str, count: int, gap: float) -> list[float]:
    service = Service()
    server = await websockets.serve(service.serve, "127.0.0.1", 0, max_size=None)
    port = server.sockets[0].getsockname()[1]
    url = f"ws://127.0.0.1:{port}"
    osc_port = free_port()
    with contextlib.ExitStack() as stack:
        if relay == "oscserver":
            _, osc_port = stack.enter_context(oscserver("--engine", url, "--rotate-after", "0"))
        else:
            relay_process = multiprocessing.get_context("spawn").Process(
                target=baseline_relay, args=(osc_port, url), daemon=True
            )
            relay_process.start()
            stack.callback(relay_process.join)
            stack.callback(relay_process.kill)
        try:
            return await _measure(service, osc_port, relay, count, gap)
        finally:
            server.close()
            await server.wait_closed()


async def _measure(
    service: Service, osc_port: int, relay: str, count: int, gap: float
) -> list[float]:
    """Send ``count`` isolated weight changes and time each to its frame at the service."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        await asyncio.wait_for(service.ready.wait(), 30)
        await asyncio.sleep(1.0)
        if relay == "oscserver":
            sender.sendto(encode_message("/lyria/play"), ("127.0.0.1", osc_port))
            await asyncio.sleep(1.0)
        latencies = []
        for i in range(count):
            weight = round(0.3 + (i % 2) * 0.4 + i * 1e-4, 5)
            sent = time.perf_counter()
            sender.sendto(
                encode_message("/lyria/prompt/1/weight", [weight]), ("127.0.0.1", osc_port)
            )
            deadline = sent + 1.0
            while weight not in service.arrivals and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            if weight in service.arrivals:
                latencies.append((service.arrivals[weight] - sent) * 1000)
            await asyncio.sleep(max(0.0, gap - (time.perf_counter() - sent)))
        return latencies
    finally:
        sender.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="changes per relay")
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between changes")
    args = parser.parse_args()
    print(f"{args.count} isolated weight changes, {args.gap} s apart, audio streaming")
    print(f"{'relay':>10} {'got':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    results = {}
    for relay in ("baseline", "oscserver"):
        got = asyncio.run(measure(relay, args.count, args.gap))
        results[relay] = got
        print(
            f"{relay:>10} {len(got):>5} {statistics.median(got):>7.2f} "
            f"{percentile(got, 99):>7.2f} {max(got):>7.2f}",
            flush=True,
        )
    base, ours = results["baseline"], results["oscserver"]
    print(
        f"oscserver / baseline: p50 {statistics.median(ours) / statistics.median(base):.2f}x, "
        f"p99 {percentile(ours, 99) / percentile(base, 99):.2f}x; "
        f"target p99 <= 2 ms: {'met' if percentile(ours, 99) <= 2.0 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
