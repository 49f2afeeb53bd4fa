"""An hour of the service's pace, compressed: --continuity stretch and off side by side.

Run: .venv/bin/python bench/continuity.py [--minutes 6] [--compress 10]   (make continuity)

Two oscservers in this process, each against its own embedded engine with the same seeded
faults: ``wander`` (the service's measured pace: a new pace between 0.77 and 1.03 of real time
every minute, 0.98 on average) with its minute compressed ``--compress`` times (10: an hour of
pace changes in six minutes of audio), and one chunk 17 s late halfway (the worst seen). Three
play side by side: through the continuity feeder (stretch and bridge) with ``--snap on``, the
same with ``--snap off``, and as the stream comes (``--continuity off``); all to the null
output, paced in real time, with Google's 2 s pre-roll. Every 15 s each gets the same control
change (density 0.3, then 0.7, ...). Sampled every 0.1 s:

- silence: seconds the output was not playing after the music first started;
- bridged: seconds the last bar was looped;
- mean |stretch|: the mean distance of the time ratio from 1;
- the latency: the audio waiting for the output at the bottom of each chunk's sawtooth (the
  lowest level over 4 s), against its target (the pre-roll): its p1 and p99;
- CPU of the stretch per second of audio;
- for each change: the service's delay (from the change to the arrival of the first chunk
  generated from it, known by its sourceMetadata: the floor no client can go below) and the
  change-to-heard latency (to when that chunk is heard, as the output reports it; checked
  against a JACK recording by tests/test_snap_jack.py): their medians and p90.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass, field

import numpy as np
from in_process import oscserver_on, send, send_play

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions

PREROLL = 2.0
TICK = 0.1
#: Seconds between two control changes.
CHANGE_EVERY = 15.0


@dataclass
class Figures:
    """What one oscserver did."""

    name: str
    silence: float = 0.0
    bridged: float = 0.0
    underruns: int = 0
    ratios: list[float] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    #: Seconds of audio ahead of each chunk as it was written (the feeder's record), but the
    #: chunks that end a bridge (heard at once: the bridge covered their lateness).
    latencies: list[float] = field(default_factory=list)
    cpu_per_second: float = 0.0
    #: (service delay, change-to-heard latency) of each control change.
    changes: list[tuple[float, float]] = field(default_factory=list)
    sent: int = 0

    def floors(self) -> np.ndarray:
        """The latency: per chunk from the feeder, else the lowest level over each 4 s."""
        if self.latencies:
            return np.array(self.latencies)
        window = round(4.0 / TICK)
        levels = np.array(self.levels)
        return np.array(
            [levels[i : i + window].min() for i in range(0, len(levels) - window, window // 2)]
        )


async def play(
    name: str, stretch: bool, snap: bool, faults: tuple[str, ...], seconds: float
) -> Figures:
    options = EngineOptions(faults=tuple(parse_fault(f) for f in faults), seed=1)
    null = NullSink(preroll_seconds=PREROLL)
    sink = StretchingSink(null, Settings(target=PREROLL)) if stretch else null
    figures = Figures(name)
    async with oscserver_on(options, sink, snap=snap) as (app, _):
        loop = asyncio.get_running_loop()
        await send(app, "/lyria/bpm", 120)
        await send_play(app)
        while not null.stats().playing:
            await asyncio.sleep(TICK)
        start = loop.time()
        changed, seen, sent = start, 0, 0
        while loop.time() - start < seconds:
            await asyncio.sleep(TICK)
            if loop.time() - changed >= CHANGE_EVERY:
                changed, sent = loop.time(), sent + 1
                await send(app, "/lyria/density", 0.3 if sent % 2 else 0.7)
            if app.changes_heard != seen:
                seen = app.changes_heard
                figures.changes.append((app.change_arrived, app.change_heard))
            stats = sink.stats()
            figures.silence += 0.0 if null.stats().playing else TICK
            figures.ratios.append(stats.stretch_ratio)
            figures.levels.append(sink.buffered_seconds())
        figures.sent = sent
        stats = sink.stats()
        figures.underruns, figures.bridged = stats.underruns, stats.bridged_seconds
        if isinstance(sink, StretchingSink) and sink.stream_seconds:
            figures.cpu_per_second = sink.cpu_seconds / sink.stream_seconds
            settled = start + 30.0  # the pace is measured over the first 15-30 s
            figures.latencies = [a for t, a, bridge in sink.latencies if t > settled and not bridge]
    return figures


def report(f: Figures) -> str:
    floors = f.floors()
    mean_stretch = float(np.mean(np.abs(np.array(f.ratios) - 1.0)))
    delays = np.array([d for d, _ in f.changes]) if f.changes else np.zeros(1)
    heard = np.array([h for _, h in f.changes]) if f.changes else np.zeros(1)
    return (
        f"{f.name:13s} silence {f.silence:5.1f} s  underruns {f.underruns:2d}  bridged "
        f"{f.bridged:5.1f} s  mean |stretch| {mean_stretch * 100:4.2f} %  latency p1 "
        f"{np.percentile(floors, 1):4.2f} s p99 {np.percentile(floors, 99):4.2f} s "
        f"(target {PREROLL:g} s)  stretch CPU {f.cpu_per_second * 100:4.1f} % of a core\n"
        f"{'':13s} {len(f.changes)} of {f.sent} changes measured: service delay median "
        f"{np.median(delays):4.2f} s "
        f"p90 {np.percentile(delays, 90):4.2f} s; heard after median {np.median(heard):4.2f} s "
        f"p90 {np.percentile(heard, 90):4.2f} s"
    )


async def main_async(minutes: float, compress: float) -> None:
    seconds = minutes * 60
    period = 60.0 / compress
    late_chunk = round(seconds / 2 / 2.0)  # one chunk 17 s late, halfway
    faults = (f"wander:0:0.98:0.77:1.03:{period:g}", f"late:{late_chunk}:17")
    print(f"{minutes:g} min of audio, the pace changing every {period:g} s, faults {faults}")
    results = await asyncio.gather(
        play("stretch+snap", True, True, faults, seconds),
        play("stretch", True, False, faults, seconds),
        play("off", False, False, faults, seconds),
    )
    for figures in results:
        print(report(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0, help="of audio (6)")
    parser.add_argument("--compress", type=float, default=10.0, help="minutes per period (10)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    asyncio.run(main_async(args.minutes, args.compress))


if __name__ == "__main__":
    main()
