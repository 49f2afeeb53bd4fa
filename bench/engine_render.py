"""How fast the embedded engine renders, and how soon the first audio arrives after PLAY.

Run: .venv/bin/python bench/engine_render.py [seconds]

Prints the render speed as a multiple of real time on one core (baseline: real time itself,
i.e. 1.0x means the engine would just keep up), and the latency from PLAY to the first
decoded chunk over a real WebSocket connection.
"""

from __future__ import annotations

import asyncio
import sys
import time

import websockets

from oscserver.adapters.lyria_ws import engine_url
from oscserver.core.lyria import ServerContent, decode_server
from oscserver.engine.server import EngineServer
from oscserver.engine.synth import SAMPLE_RATE, Synth


def render_speed(seconds: float) -> float:
    synth = Synth()
    frames = 2 * SAMPLE_RATE
    chunks = max(1, int(seconds / 2))
    start = time.process_time()
    for _ in range(chunks):
        synth.render(frames)
    used = time.process_time() - start
    return chunks * 2.0 / used


async def first_audio_latency() -> float:
    server = EngineServer()
    host, port = await server.start()
    try:
        async with websockets.connect(engine_url(host, port), max_size=None) as ws:
            await ws.send('{"setup": {"model": "models/lyria-realtime-exp"}}')
            await ws.recv()
            await ws.send('{"clientContent": {"weightedPrompts": [{"text": "x", "weight": 1}]}}')
            start = time.perf_counter()
            await ws.send('{"playbackControl": "PLAY"}')
            while True:
                if isinstance(decode_server(await ws.recv()), ServerContent):
                    return time.perf_counter() - start
    finally:
        await server.close()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    speed = render_speed(seconds)
    latency = asyncio.run(first_audio_latency())
    print(f"render speed: {speed:.1f}x real time (one core, {seconds:.0f} s of audio)")
    print(f"first audio after PLAY: {latency * 1000:.0f} ms")


if __name__ == "__main__":
    main()
