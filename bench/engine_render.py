"""How fast the embedded engine renders, and how soon the first audio arrives after PLAY.

Run: .venv/bin/python bench/engine_render.py [seconds]

Prints the render speed as a multiple of real time on one core (CPU time; baseline: real time
itself, 1.0x means the engine would just keep up) for the default and the busiest music, and
the latency from PLAY to the first decoded chunk over a real WebSocket connection, against the
targets (50x, 300 ms). Also run by `make bench`.
"""

from __future__ import annotations

import asyncio
import sys
import time

import websockets

from oscserver.adapters.lyria_ws import engine_url
from oscserver.core.lyria import (
    MusicGenerationConfig,
    ServerContent,
    WeightedPrompt,
    decode_server,
)
from oscserver.engine.server import EngineServer
from oscserver.engine.synth import SAMPLE_RATE, Synth


def render_speed(seconds: float, busy: bool = False) -> float:
    """Seconds of audio rendered per CPU second (one core)."""
    synth = Synth()
    if busy:  # the worst case: every voice, dense, vocals on
        synth.set_prompts((WeightedPrompt("drum and bass jazz", 1.0),))
        synth.set_config(
            MusicGenerationConfig(density=1.0, brightness=1.0, music_generation_mode="VOCALIZATION")
        )
        synth.reset()
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
    for label, busy in (("default", False), ("busiest", True)):
        speed = render_speed(seconds, busy)
        verdict = "meets" if speed >= 50 else "MISSES"
        print(f"render speed, {label}: {speed:.1f}x real time ({verdict} the 50x target)")
    latencies = sorted(asyncio.run(first_audio_latency()) for _ in range(5))
    verdict = "meets" if latencies[2] <= 0.3 else "MISSES"
    print(
        f"first audio after PLAY: median {latencies[2] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms ({verdict} the 300 ms target)"
    )


if __name__ == "__main__":
    main()
