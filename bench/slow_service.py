"""A service a little slower than real time: how often does the output run dry?

Run: .venv/bin/python bench/slow_service.py [--pace 0.98] [--minutes 6] [--preroll 2]

docs/protocol.md sums up measurements of Lyria RealTime generating at 0.97 to 0.99 of real time on
average. The embedded engine reproduces that (fault ``slow:0:PACE``); oscserver plays to the null
output (paced in real time) with Google's pre-roll (2 s), the watchdog at its defaults, and no
rotation. Printed: each underrun as it happens, and the count. At 0.98 the buffer loses 0.02 s
a second, so a 2 s pre-roll lasts about 100 s; each underrun is a fade out, then silence for
the pre-roll, then a fade in. This is oscserver without ``--continuity stretch``;
bench/continuity.py compares the two.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from in_process import oscserver_on, send_play

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions


async def run(pace: float, minutes: float, preroll: float) -> int:
    """Play for ``minutes`` against an engine at ``pace``; returns the underruns."""
    engine_options = EngineOptions(faults=(parse_fault(f"slow:0:{pace}"),))
    sink = NullSink(preroll_seconds=preroll)
    async with oscserver_on(engine_options, sink) as (app, _):
        loop = asyncio.get_running_loop()
        await send_play(app)
        start, seen = loop.time(), 0
        while loop.time() - start < minutes * 60:
            await asyncio.sleep(1.0)
            underruns = sink.stats().underruns
            if underruns != seen:
                seen = underruns
                print(f"{loop.time() - start:6.0f} s  underrun {underruns}", flush=True)
        return sink.stats().underruns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pace", type=float, default=0.98, help="share of real time")
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--preroll", type=float, default=2.0, help="seconds (Google's default)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    underruns = asyncio.run(run(args.pace, args.minutes, args.preroll))
    per_hour = underruns / args.minutes * 60
    print(
        f"pace {args.pace:g}, pre-roll {args.preroll:g} s: {underruns} underruns in "
        f"{args.minutes:g} min ({per_hour:.0f} an hour)"
    )


if __name__ == "__main__":
    main()
