"""A long run, time-compressed, with memory, file descriptors and tasks sampled: nothing may grow.

Run: .venv/bin/python bench/soak_resources.py [--minutes 10] [--cap 30] [--rate 200]

An hour of an installation holds about six session rotations and a few hundred thousand OSC
messages. This compresses the rotations honestly: the embedded engine caps every session at
``--cap`` seconds (close 1011, as the service does at ~600 s), and oscserver rotates
``--cap - 10`` seconds into each, with a 2 s crossfade; so ten minutes hold as many rotations as
a long evening. Meanwhile a sender plays: ``--rate`` messages a second, prompt weights and
texts, config values, a glide now and then, a bad message in ten, status queries. Audio goes to
the null output, paced in real time.

Every ``--sample`` seconds it records the resident memory (VmRSS), open file descriptors and
asyncio tasks of this process (oscserver runs in it), and the audio waiting in the output
(which must not grow with the rotations either: that would be latency). The first quarter is
warm-up; the check is the last sample against the first after warm-up: no growth beyond 5 %.
It also reports the rotations, reconnects and underruns.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.lyria_ws import engine_url
from oscserver.app import App, Options
from oscserver.core.osc_codec import encode_message
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

WORDS = ["deep house", "ambient pads", "acid techno", "jazz trio", "dub", "strings", "lo-fi"]


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def play(port: int, rate: float, stop: asyncio.Event) -> int:
    """Send a performance's worth of OSC until ``stop``; returns how many datagrams."""
    rng = random.Random(5)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    sock.sendto(encode_message("/lyria/prompt/1/text", ["deep house"]), target)
    sock.sendto(encode_message("/lyria/play"), target)
    sent = 0
    while not stop.is_set():
        r = rng.random()
        if r < 0.5:
            message = encode_message(f"/lyria/prompt/{rng.randint(1, 3)}/weight", [rng.random()])
        elif r < 0.6:
            message = encode_message(f"/lyria/prompt/{rng.randint(2, 3)}/text", [rng.choice(WORDS)])
        elif r < 0.75:
            message = encode_message("/lyria/density", [rng.random()])
        elif r < 0.8:
            message = encode_message("/lyria/prompt/2/weight", [rng.random(), 3.0])
        elif r < 0.9:
            message = encode_message("/lyria/bpm", [999])  # refused
        else:
            message = encode_message("/lyria/status")
        sock.sendto(message, target)
        sent += 1
        await asyncio.sleep(1 / rate)
    sock.close()
    return sent


async def soak(minutes: float, cap: float, rate: float, sample: float) -> dict[str, object]:
    engine = EngineServer(EngineOptions(faults=(parse_fault(f"cap:{cap}"),)))
    host, port = await engine.start()
    sink = NullSink(preroll_seconds=0.5)
    options = Options(
        osc_port=0,
        engine=engine_url(host, port),
        prompt="",
        rotate_after=max(5.0, cap - 10),
        crossfade=2.0,
    )
    app = App(options, sink)
    await app.start()
    stop = asyncio.Event()
    sender = asyncio.create_task(play(app.osc_address[1], rate, stop))
    samples: list[tuple[float, int, int, int, float]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        while loop.time() - start < minutes * 60:
            await asyncio.sleep(sample)
            buffered = sink.stats().buffered_seconds
            samples.append(
                (loop.time() - start, rss_kib(), fds(), len(asyncio.all_tasks()), buffered)
            )
    finally:
        stop.set()
        sent = await sender
        figures = {
            "sent": sent,
            "rotations": app.rotations,
            "sessions": engine.sessions,
            "underruns": sink.stats().underruns,
            "refused": app.refused,
        }
        await app.stop()
        sink.close()
        await engine.close()
    warm = samples[len(samples) // 4]
    last = samples[-1]
    figures["samples"] = samples
    figures["growth"] = {
        "rss": (last[1] - warm[1]) / warm[1],
        "fds": (last[2] - warm[2]) / warm[2],
        "tasks": (last[3] - warm[3]) / warm[3],
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cap", type=float, default=30.0, help="engine session cap, seconds")
    parser.add_argument("--rate", type=float, default=200.0, help="OSC messages per second")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    r = asyncio.run(soak(args.minutes, args.cap, args.rate, args.sample))
    print(f"{'t (s)':>7} {'RSS KiB':>9} {'fds':>5} {'tasks':>6} {'buffer s':>8}")
    for t, rss, fd, tasks, buffered in r["samples"]:  # type: ignore[attr-defined]
        print(f"{t:>7.0f} {rss:>9} {fd:>5} {tasks:>6} {buffered:>8.1f}")
    g = r["growth"]
    print(
        f"{r['sent']} OSC datagrams, {r['rotations']} rotations over {r['sessions']} sessions, "
        f"{r['underruns']} underruns, {r['refused']} refused"
    )
    print(
        f"growth after warm-up: RSS {g['rss']:+.1%}, fds {g['fds']:+.1%}, "  # type: ignore[index]
        f"tasks {g['tasks']:+.1%}; target <= 5 %"  # type: ignore[index]
    )


if __name__ == "__main__":
    main()
