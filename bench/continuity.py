"""An hour of the service's pace, compressed: --continuity stretch and off side by side.

Run: .venv/bin/python bench/continuity.py [--minutes 6] [--compress 10]   (make continuity)

Two oscservers in this process, each against its own embedded engine with the same seeded
faults: ``wander`` (the service's measured pace: a new pace between 0.77 and 1.03 of real time
every minute, 0.98 on average) with its minute compressed ``--compress`` times (10: an hour of
pace changes in six minutes of audio), and one chunk 17 s late halfway (the worst seen). One
plays through the continuity feeder (stretch and bridge), the other as the stream comes; both
to the null output, paced in real time, with Google's 2 s pre-roll. Sampled every 0.1 s:

- silence: seconds the output was not playing after the music first started;
- bridged: seconds the last bar was looped;
- mean |stretch|: the mean distance of the time ratio from 1;
- the latency: the audio waiting for the output at the bottom of each chunk's sawtooth (the
  lowest level over 4 s), against its target (the pre-roll): its p1 and p99;
- CPU of the stretch per second of audio.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass, field

import numpy as np
from in_process import oscserver_on, send_play

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions

PREROLL = 2.0
TICK = 0.1


@dataclass
class Figures:
    """What one oscserver did."""

    name: str
    silence: float = 0.0
    bridged: float = 0.0
    underruns: int = 0
    ratios: list[float] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    cpu_per_second: float = 0.0

    def floors(self) -> np.ndarray:
        window = round(4.0 / TICK)
        levels = np.array(self.levels)
        return np.array(
            [levels[i : i + window].min() for i in range(0, len(levels) - window, window // 2)]
        )


async def play(name: str, stretch: bool, faults: tuple[str, ...], seconds: float) -> Figures:
    options = EngineOptions(faults=tuple(parse_fault(f) for f in faults), seed=1)
    null = NullSink(preroll_seconds=PREROLL)
    sink = StretchingSink(null, Settings(target=PREROLL)) if stretch else null
    figures = Figures(name)
    async with oscserver_on(options, sink) as (app, _):
        loop = asyncio.get_running_loop()
        await send_play(app)
        while not null.stats().playing:
            await asyncio.sleep(TICK)
        start = loop.time()
        while loop.time() - start < seconds:
            await asyncio.sleep(TICK)
            stats = sink.stats()
            figures.silence += 0.0 if null.stats().playing else TICK
            figures.ratios.append(stats.stretch_ratio)
            figures.levels.append(sink.buffered_seconds())
        stats = sink.stats()
        figures.underruns, figures.bridged = stats.underruns, stats.bridged_seconds
        if isinstance(sink, StretchingSink) and sink.stream_seconds:
            figures.cpu_per_second = sink.cpu_seconds / sink.stream_seconds
    return figures


def report(f: Figures) -> str:
    floors = f.floors()
    mean_stretch = float(np.mean(np.abs(np.array(f.ratios) - 1.0)))
    return (
        f"{f.name:8s} silence {f.silence:6.1f} s  underruns {f.underruns:3d}  bridged "
        f"{f.bridged:5.1f} s  mean |stretch| {mean_stretch * 100:4.2f} %  latency floor p1 "
        f"{np.percentile(floors, 1):4.2f} s p99 {np.percentile(floors, 99):4.2f} s "
        f"(target {PREROLL:g} s)  stretch CPU {f.cpu_per_second * 100:4.1f} % of a core"
    )


async def main_async(minutes: float, compress: float) -> None:
    seconds = minutes * 60
    period = 60.0 / compress
    late_chunk = round(seconds / 2 / 2.0)  # one chunk 17 s late, halfway
    faults = (f"wander:0:0.98:0.77:1.03:{period:g}", f"late:{late_chunk}:17")
    print(f"{minutes:g} min of audio, the pace changing every {period:g} s, faults {faults}")
    results = await asyncio.gather(
        play("stretch", True, faults, seconds), play("off", False, faults, seconds)
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
