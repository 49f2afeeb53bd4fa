"""How close the music's beats come to a clock's: the lock (``--clock``) against no lock.

On a private JACK server (dummy backend), oscserver plays the embedded engine's model that
does not obey (``tempo:1.04``: asked for 120 bpm, it plays 124.8 from a random beat phase) for
``--seconds``; another JACK client records its ports, timing every frame by its JACK cycle; the
kicks are found in the recording (matched filter) and each is compared with the clock's nearest
beat. The same run without a lock (the music in its own time, against the same kind of clock
started at play) is the baseline: its kicks drift through the clock's beats.

The clock is oscserver's internal one (``--clock internal``), JACK transport driven by a
timebase master the bench starts (``--clock jack``, as Ardour would be), or an Ableton Link
session a peer made by the bench holds (``--clock link``, as TouchDesigner or Live would): Link
speaks UDP multicast, so the bench runs itself again inside a network namespace of its own
(``unshare -n``, loopback only, multicast routed there; needs root), and nothing leaves the
machine.

Prints, for the lock and the baseline: kicks compared (from 8 beats after the first), the
median, 95th percentile and largest distance from the clock's beats, and the ratio of the
medians. docs/performance.md ("Lock to a clock") holds the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
from in_process import playing_off_tempo

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))  # the JACK recorder and the kick finder the tests use
from audio_analysis import kick_onsets  # noqa: E402
from beat_timeline import BeatTimeline  # noqa: E402
from jack_recorder import Recorder  # noqa: E402

from oscserver.adapters.audio.jack_sink import JackSink  # noqa: E402
from oscserver.adapters.audio.stretching import LOCK_LEAD, StretchingSink  # noqa: E402
from oscserver.adapters.clock.base import ClockSource  # noqa: E402
from oscserver.adapters.clock.internal import InternalClock  # noqa: E402
from oscserver.adapters.clock.jack_transport import JackTransportClock  # noqa: E402
from oscserver.adapters.clock.link import LinkClock  # noqa: E402
from oscserver.adapters.jackd import PrivateJackd  # noqa: E402
from oscserver.core.continuity import Settings  # noqa: E402
from oscserver.engine.voices import DrumKit  # noqa: E402

BPM = 120.0
SKIP_BEATS = 8


async def run(server: str, clock_name: str, locked: bool, seconds: float) -> np.ndarray:
    """Play ``seconds``; the kicks' distances from the clock's beats (seconds)."""
    jack = JackSink(f"sync-{uuid.uuid4().hex[:6]}", server, preroll_seconds=0.1)
    sink = StretchingSink(
        jack, Settings(target=2.0), lead=LOCK_LEAD if locked else None, track_beats=True
    )
    clock: ClockSource
    watcher: ClockSource | None = None
    if clock_name == "jack":
        clock = JackTransportClock(f"sync-clock-{uuid.uuid4().hex[:6]}", server)
        watcher = JackTransportClock(f"sync-watch-{uuid.uuid4().hex[:6]}", server)
        timeline = BeatTimeline(lambda: (r.time, r.beat) if (r := watcher.read()) else None)
    elif clock_name == "link":
        from aalink import Link

        rig = Link(BPM)  # the rig's peer, there first: its beats are the truth
        rig.quantum = 4
        rig.enabled = True
        await asyncio.sleep(1.0)
        clock = LinkClock(BPM)
        timeline = BeatTimeline(lambda: (time.monotonic(), rig.beat))
    else:
        clock = InternalClock(BPM)
        timeline = BeatTimeline(lambda: (r.time, r.beat) if (r := clock.read()) else None)
    if locked:
        sink.lock_to(clock)
    recorder = Recorder(server, jack.port_names, seconds + 10)
    try:
        async with playing_off_tempo(sink, int(BPM), clock=clock if locked else None):
            if isinstance(clock, InternalClock):
                clock.start()  # (the app starts it at play when locked; here in both runs)
            await timeline.watch(seconds)
            kicks = kick_onsets(recorder.since(0), 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks)
    finally:
        recorder.close()
        if watcher is not None:
            watcher.close()
        if not locked:
            clock.close()  # (the app closes the clock it was given)
        if clock_name == "link":
            rig.enabled = False
    times, errors = timeline.errors(times, BPM)
    settled: np.ndarray = errors[times >= times[0] + SKIP_BEATS * 60 / BPM]
    return settled


def describe(errors: np.ndarray) -> str:
    ms = np.abs(errors) * 1e3
    return (
        f"{len(ms)} kicks, median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
        f"max {ms.max():.1f} ms (signed median {np.median(errors) * 1e3:+.1f} ms: late if +)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clock", choices=("internal", "jack", "link"), default="internal")
    args = parser.parse_args()
    if args.clock == "link" and not os.environ.get("SYNC_PRIVATE_NETWORK"):
        # Again, inside a network namespace of its own (tests/conftest.py does the same).
        script = (
            "ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec env "
            "SYNC_PRIVATE_NETWORK=1 " + shlex.join([sys.executable, *sys.argv])
        )
        sys.exit(subprocess.run(["unshare", "-n", "sh", "-c", script]).returncode)
    server = f"sync-{uuid.uuid4().hex[:6]}"
    jackd = PrivateJackd(rate=48000, period=256, server_name=server)
    jackd.start(timeout=20)
    master = None
    try:
        if args.clock == "jack":
            master = subprocess.Popen(
                [sys.executable, str(TESTS / "jack_timebase_master.py"), server,
                 str(BPM)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert master.stdout is not None and master.stdout.readline() == "ready\n"
            import jack

            starter = jack.Client("sync-transport", servername=server)
            starter.transport_start()
            starter.close()
        locked = await run(server, args.clock, True, args.seconds)
        free = await run(server, args.clock, False, args.seconds)
    finally:
        if master is not None and master.stdin is not None:
            master.stdin.close()
            master.wait(10)
        jackd.stop()
    print(f"clock: {args.clock} at {BPM:g} bpm; the model plays 4 % fast ({args.seconds:g} s)")
    print(f"locked:   {describe(locked)}")
    print(f"no lock:  {describe(free)}")
    ratio = np.median(np.abs(locked)) / np.median(np.abs(free))
    print(f"median distance from the clock's beats, locked / no lock: {ratio:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
