"""A long run, time-compressed, with memory, file descriptors, tasks and latency sampled: nothing
may grow.

Run: .venv/bin/python bench/soak_resources.py [--minutes 10] [--cap 30] [--rate 200]
     [--no-rotate] [--continuity stretch|off] [--preroll 2] [--output null|jack]

An hour of an installation holds about six session rotations and a few hundred thousand OSC
messages. This compresses the rotations honestly: the embedded engine caps every session at
``--cap`` seconds (close 1011, as the service does at ~600 s), and oscserver rotates
``--cap - 10`` seconds into each, with a 2 s crossfade; so ten minutes hold as many rotations as
a long evening. With ``--no-rotate`` every cap is a reconnect instead (``--cap 10``: a session
closed every 10 s, the worst a service has done). Meanwhile a sender plays: ``--rate`` messages
a second, prompt weights and texts, config values, a glide now and then, a bad message in ten,
status queries. Audio goes through the continuity feeder (``--continuity stretch``, the
server's default, with ``--snap auto``; its target is ``--preroll``, Google's 2 s by default)
to the null output, paced in real time, or with ``--output jack`` to a private ``jackd -d
dummy`` through the real JACK sink (its real-time process's memory is sampled too).

Every ``--sample`` seconds it records the resident memory (VmRSS), open file descriptors and
asyncio tasks of this process (oscserver runs in it), the audio waiting in the output, and the
latency of the chunks written since the last sample (the audio ahead of each when it was
written: how long it waits to be heard; a chunk that ends a bridge is heard at once and not
counted). The first quarter is warm-up; the check compares the median of the last quarter with
the median of the second (see :func:`growth`): no growth beyond 5 %. After the first
:data:`SETTLE` seconds every chunk's latency must be within the target +- 0.5 s
(:func:`latency_outside`). It also reports the rotations, reconnects, underruns and bridges.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import math
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from in_process import oscserver_on

from oscserver.adapters.audio.base import AudioSink
from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.adapters.jackd import PrivateJackd
from oscserver.core.continuity import Settings
from oscserver.core.osc_codec import encode_message
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions
from oscserver.options import AUTO_SNAP_QUIET

#: Seconds after the music starts before the latency is held to its target: the controller
#: measures the service's pace over its first 15 s (oscserver.core.continuity).
SETTLE = 30.0
#: How far a chunk's latency may be from the target.
TOLERANCE = 0.5

WORDS = ["deep house", "ambient pads", "acid techno", "jazz trio", "dub", "strings", "lo-fi"]


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_of(pid: int | None) -> int:
    """VmRSS of another process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError):
        pass
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


class Sample(NamedTuple):
    """One sample: seconds since the start, this process's RSS (KiB), its open file
    descriptors and asyncio tasks, the audio waiting in the output (s), the real-time audio
    process's RSS (KiB; 0 for the null output), and the lowest and highest latency of the
    chunks written since the sample before (s; NaN when none was, or without continuity)."""

    t: float
    rss: int
    fds: int
    tasks: int
    buffered: float
    audio_rss: int
    latency_low: float = math.nan
    latency_high: float = math.nan


@dataclass
class Figures:
    """What one soak did, and how each figure grew after warm-up (see :func:`growth`)."""

    sent: int
    rotations: int
    sessions: int
    underruns: int
    xruns: int
    refused: int
    samples: list[Sample] = field(default_factory=list)
    growth: dict[str, float] = field(default_factory=dict)
    #: The continuity feeder's target (0 without it), and each chunk's (seconds since the
    #: start, latency) once settled, but those that ended a bridge.
    target: float = 0.0
    latencies: list[tuple[float, float]] = field(default_factory=list)
    bridged: float = 0.0
    bridges: int = 0

    def latency_outside(self) -> list[tuple[float, float]]:
        """The settled chunks whose latency was not within the target +- :data:`TOLERANCE`."""
        return [(t, a) for t, a in self.latencies if abs(a - self.target) > TOLERANCE]


async def soak(
    minutes: float,
    cap: float,
    rate: float,
    sample: float,
    output: str = "null",
    report: Callable[[Sample], None] | None = None,
    *,
    rotate: bool = True,
    continuity: bool = True,
    preroll: float = 2.0,
    settle: float = SETTLE,
) -> Figures:
    """Run the soak; ``report`` (if given) receives each sample as it is taken.

    ``continuity`` needs pylibrb (:func:`oscserver.dsp.stretch.available`); the latency is
    held to its target from ``settle`` seconds on.
    """
    jackd: PrivateJackd | None = None
    inner: AudioSink
    if output == "jack":
        name = f"oscserver-soak-{os.getpid()}"
        jackd = PrivateJackd(server_name=name)
        jackd.start()
        inner = JackSink(client_name="soak", server_name=name, preroll_seconds=preroll)
    else:
        inner = NullSink(preroll_seconds=preroll)
    audio_pid = inner.process_id if isinstance(inner, JackSink) else None
    feeder = StretchingSink(inner, Settings(target=preroll)) if continuity else None
    sink = feeder or inner
    engine_options = EngineOptions(faults=(parse_fault(f"cap:{cap}"),))
    options = {
        "prompt": "",
        "rotate_after": max(5.0, cap - 10) if rotate else 0.0,
        "crossfade": 2.0,
        "snap": continuity,  # --snap auto
        "snap_quiet": AUTO_SNAP_QUIET,
    }
    try:
        async with oscserver_on(engine_options, sink, **options) as (app, engine):
            if feeder is not None:
                feeder.bpm = lambda: app.state.config.bpm
            stop = asyncio.Event()
            sender = asyncio.create_task(play(app.osc_address[1], rate, stop))
            samples: list[Sample] = []
            loop = asyncio.get_running_loop()
            start = loop.time()
            seen = 0.0  # when the last chunk already sampled was written
            try:
                while loop.time() - start < minutes * 60:
                    await asyncio.sleep(sample)
                    low = high = math.nan
                    if feeder is not None:
                        new = [a for t, a, bridge in feeder.latencies if t > seen and not bridge]
                        seen = feeder.latencies[-1][0] if feeder.latencies else seen
                        if new:
                            low, high = min(new), max(new)
                    taken = Sample(
                        loop.time() - start,
                        rss_kib(),
                        fds(),
                        len(asyncio.all_tasks()),
                        sink.buffered_seconds(),
                        rss_of(audio_pid),
                        low,
                        high,
                    )
                    samples.append(taken)
                    if report is not None:
                        report(taken)
            finally:
                stop.set()
                stats = sink.stats()
                figures = Figures(
                    await sender,
                    app.rotations,
                    engine.sessions,
                    stats.underruns,
                    stats.xruns,
                    app.refused,
                )
                if feeder is not None:
                    began = start + settle
                    figures.target = preroll
                    figures.latencies = [
                        (t - start, a)
                        for t, a, bridge in feeder.latencies
                        if t > began and not bridge
                    ]
                    figures.bridged = feeder.bridged_seconds
                    figures.bridges = feeder.bridges
                    feeder.bpm = lambda: None  # no cycle through the app left at exit
    finally:
        if jackd is not None:
            jackd.stop()
    figures.samples = samples
    figures.growth = growth(samples)
    return figures


def growth(samples: list[Sample]) -> dict[str, float]:
    """Growth of each figure from just after warm-up to the end of the run.

    The first quarter is warm-up. Each figure's level is its median over a window (the second
    quarter, then the last quarter): a leak raises it, while a sample taken as a rotation is
    under way (a second session's socket and tasks, one more) or in the middle of a reconnect
    (the session's socket and tasks gone, one fewer) does not. (The smallest value was used
    before: one sample in the middle of a reconnect made a 10 s-cap run look like +175 % tasks.)
    """
    quarter = max(1, len(samples) // 4)
    early, late = samples[quarter : 2 * quarter], samples[-quarter:]

    def change(column: int) -> float:
        before = float(np.median([float(s[column]) for s in early]))
        after = float(np.median([float(s[column]) for s in late]))
        return (after - before) / before if before else 0.0

    return {"rss": change(1), "fds": change(2), "tasks": change(3), "audio_rss": change(5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cap", type=float, default=30.0, help="engine session cap, seconds")
    parser.add_argument("--no-rotate", action="store_true", help="reconnect at each cap")
    parser.add_argument("--rate", type=float, default=200.0, help="OSC messages per second")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--output", choices=["null", "jack"], default="null")
    parser.add_argument("--continuity", choices=["stretch", "off"], default="stretch")
    parser.add_argument("--preroll", type=float, default=2.0, help="and continuity's target")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the bad messages sent on purpose are counted below
    print(
        f"{'t (s)':>7} {'RSS KiB':>9} {'fds':>5} {'tasks':>6} {'buffer s':>8} {'audio KiB':>9} "
        f"{'latency s':>11}"
    )

    def show(s: Sample) -> None:
        latency = "" if math.isnan(s.latency_low) else f"{s.latency_low:.2f}-{s.latency_high:.2f}"
        print(
            f"{s.t:>7.0f} {s.rss:>9} {s.fds:>5} {s.tasks:>6} {s.buffered:>8.1f} {s.audio_rss:>9} "
            f"{latency:>11}",
            flush=True,
        )

    r = asyncio.run(
        soak(
            args.minutes,
            args.cap,
            args.rate,
            args.sample,
            args.output,
            show,
            rotate=not args.no_rotate,
            continuity=args.continuity == "stretch",
            preroll=args.preroll,
        )
    )
    g = r.growth
    print(
        f"{r.sent} OSC datagrams, {r.rotations} rotations over {r.sessions} sessions, "
        f"{r.underruns} underruns, {r.xruns} JACK xruns, {r.refused} refused"
    )
    print(
        f"growth after warm-up: RSS {g['rss']:+.1%}, fds {g['fds']:+.1%}, "
        f"tasks {g['tasks']:+.1%}, audio process RSS {g['audio_rss']:+.1%}; target <= 5 %"
    )
    failed = [name for name, grew in g.items() if grew > 0.05]
    if r.underruns:
        failed.append("underruns")
    if r.target:
        waits = [a for _, a in r.latencies]
        outside = r.latency_outside()
        print(
            f"latency after {SETTLE:g} s: {min(waits, default=0):.2f} to "
            f"{max(waits, default=0):.2f} s over {len(waits)} chunks (target {r.target:g} +- "
            f"{TOLERANCE:g} s: {len(outside)} outside"
            f"{': ' + str(outside[:5]) if outside else ''}); "
            f"{r.bridged:.1f} s bridged in {r.bridges} gaps"
        )
        if outside or not waits:
            failed.append("latency")
    print("FAILED: " + ", ".join(failed) if failed else "passed")
    gc.collect()  # the app's cycles go before exit (with JACK, nanobind may still report
    # pylibrb objects alive at shutdown: a message, not a leak; the memory figures say so)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
