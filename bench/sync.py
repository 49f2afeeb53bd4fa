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

Then the clock's tempo moves to 126 bpm (the internal clock by ``/lyria/bpm``, the JACK
master's tempo, the Link peer's) and the run goes on for ``--after`` seconds; without a lock,
``/lyria/bpm 126`` is sent to the service at the same moment, as a musician would.

Prints, for the lock and the baseline: kicks compared (from 8 beats after the first, up to the
change), the median, 95th percentile and largest distance from the clock's beats, and the ratio
of the medians; the time to lock (from the first kick heard to the first of 8 kicks in a row
within 15 ms of the beats); the tempo-follow delay (from the change to the first of 2 kick
intervals in a row nearer the new tempo's beat than the old one's); and, locked, how long the
service's new context (its answer to the new bpm) was heard off the beats before 8 kicks in a
row were within 15 ms again. docs/performance.md ("Lock to a clock") holds the figures.

Exits with status 1 when the lock misses its bounds (on the beats within 8 of them, median
within 10 ms and 95 % within 15 ms over ``--seconds``, every kick after the change within
15 ms): ``make sync`` is the minute-long proof of what tests/test_lock_*.py check for less.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from in_process import playing_off_tempo, send

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
NEW_BPM = 126.0
SKIP_BEATS = 8
#: On the beats: this many kicks in a row within this many seconds of the clock's beats.
RUN, WITHIN = 8, 0.015
#: At a tempo: this many kick intervals in a row nearer its beat than the other tempo's.
INTERVALS = 2


@dataclass
class Run:
    """The kicks heard in one run: when, how late on the clock's nearest beat, the change."""

    times: np.ndarray
    errors: np.ndarray
    changed: float

    @property
    def steady(self) -> np.ndarray:
        """The errors from 8 beats after the first kick up to the change."""
        t = self.times
        steady: np.ndarray = self.errors[(t >= t[0] + SKIP_BEATS * 60 / BPM) & (t < self.changed)]
        return steady

    def on_the_beats(self, since: float) -> float | None:
        """Seconds from ``since`` to the first of :data:`RUN` kicks in a row on the beats."""
        ok = np.abs(self.errors) <= WITHIN
        for i in np.flatnonzero(self.times >= since):
            if i + RUN <= len(ok) and ok[i : i + RUN].all():
                return float(self.times[i] - since)
        return None

    def follow_delay(self) -> float | None:
        """Seconds from the change to the first of :data:`INTERVALS` kick intervals in a row
        nearer the new tempo's beat than the old one's."""
        t = self.times
        gaps = np.diff(t)
        nearer = np.abs(gaps - 60 / NEW_BPM) < np.abs(gaps - 60 / BPM)
        for i in np.flatnonzero(t[:-1] >= self.changed):
            if i + INTERVALS <= len(nearer) and nearer[i : i + INTERVALS].all():
                return float(t[i] - self.changed)
        return None

    def new_context(self) -> tuple[float, float | None] | None:
        """After the change, when the first kick was heard off the beats (seconds after the
        change), and how long until :data:`RUN` in a row were on them again; None: none off."""
        t = self.times
        off = np.flatnonzero((t > self.changed) & (np.abs(self.errors) > WITHIN))
        if not len(off):
            return None
        first = float(t[off[0]])
        return first - self.changed, self.on_the_beats(first)


async def run(server: str, clock_name: str, locked: bool, seconds: float, after: float) -> Run:
    """Play ``seconds``, move the clock to :data:`NEW_BPM`, play ``after`` more."""
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
        assert MASTER is not None
        move = MASTER.tempo
    elif clock_name == "link":
        from aalink import Link

        rig = Link(BPM)  # the rig's peer, there first: its beats are the truth
        rig.quantum = 4
        rig.enabled = True
        await asyncio.sleep(1.0)
        clock = LinkClock(BPM)
        timeline = BeatTimeline(lambda: (time.monotonic(), rig.beat))

        def move(bpm: float) -> None:
            rig.tempo = bpm
    else:
        clock = InternalClock(BPM)
        timeline = BeatTimeline(lambda: (r.time, r.beat) if (r := clock.read()) else None)
        move = clock.propose_tempo
    if locked:
        sink.lock_to(clock)
    recorder = Recorder(server, jack.port_names, seconds + 10)
    try:
        async with playing_off_tempo(sink, int(BPM), clock=clock if locked else None) as app:
            if isinstance(clock, InternalClock):
                clock.start()  # (the app starts it at play when locked; here in both runs)
            await timeline.watch(seconds)
            changed = time.monotonic()
            if locked and isinstance(clock, InternalClock):
                await send(app, "/lyria/bpm", int(NEW_BPM))  # moves the internal clock
            else:
                move(NEW_BPM)
                if not locked:
                    await send(app, "/lyria/bpm", int(NEW_BPM))  # the musician asks the service
            await timeline.watch(after)
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
    times, errors = timeline.errors(times, np.where(times < changed, BPM, NEW_BPM))
    return Run(times, errors, changed)


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def describe(errors: np.ndarray) -> str:
    ms = np.abs(errors) * 1e3
    return (
        f"{len(ms)} kicks, median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
        f"max {ms.max():.1f} ms (signed median {np.median(errors) * 1e3:+.1f} ms: late if +)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--after", type=float, default=20.0)
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
    global MASTER
    master = None
    try:
        if args.clock == "jack":
            master = MASTER = Master(subprocess.Popen(
                [sys.executable, str(TESTS / "jack_timebase_master.py"), server,
                 str(BPM)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            ))  # fmt: skip
            assert master.process.stdout is not None
            assert master.process.stdout.readline() == "ready\n"
            import jack

            starter = jack.Client("sync-transport", servername=server)
            starter.transport_start()
            starter.close()
        locked = await run(server, args.clock, True, args.seconds, args.after)
        if master is not None:
            master.tempo(BPM)
        free = await run(server, args.clock, False, args.seconds, args.after)
    finally:
        if master is not None:
            master.close()
        jackd.stop()
    print(
        f"clock: {args.clock} at {BPM:g} bpm for {args.seconds:g} s, then {NEW_BPM:g} for "
        f"{args.after:g} s; the model plays 4 % fast"
    )
    print(f"locked:   {describe(locked.steady)}")
    print(f"no lock:  {describe(free.steady)}")
    ratio = np.median(np.abs(locked.steady)) / np.median(np.abs(free.steady))
    print(f"median distance from the clock's beats, locked / no lock: {ratio:.3f}")
    first = float(locked.times[0])
    print(
        f"time to lock (from the first kick heard): {seconds(locked.on_the_beats(first))}; "
        f"no lock: {seconds(free.on_the_beats(float(free.times[0])))}"
    )
    print(
        f"tempo-follow delay (from the change to {NEW_BPM:g}): {seconds(locked.follow_delay())}; "
        f"no lock (/lyria/bpm {NEW_BPM:g} sent then): {seconds(free.follow_delay())}"
    )
    context = locked.new_context()
    if context is None:
        print("locked, after the change: every kick on the beats (within 15 ms)")
    else:
        print(
            f"locked, after the change: the first kick off the beats {context[0]:.2f} s after it "
            f"(the service's new context), on them again {seconds(context[1])} later"
        )
    # The lock's promise (docs/sync.md): on the beats within 8 of them, a median within
    # 10 ms and 95 % within 15 ms, and every kick after the tempo change within 15 ms.
    locked_in = locked.on_the_beats(first)
    missed = [
        what
        for what, ok in (
            ("locked within 8 beats", locked_in is not None and locked_in <= 8 * 60.0 / BPM),
            ("median <= 10 ms", np.median(np.abs(locked.steady)) <= 0.010),
            ("p95 <= 15 ms", np.percentile(np.abs(locked.steady), 95) <= 0.015),
            ("every kick after the change within 15 ms", context is None),
        )
        if not ok
    ]
    if missed:
        print(f"the lock MISSED: {', '.join(missed)}")
        sys.exit(1)
    print(
        "the lock met its bounds: on the beats within 8 of them, median <= 10 ms, p95 <= 15 ms, "
        "every kick after the change within 15 ms"
    )


class Master:
    """The JACK timebase master's process (tests/jack_timebase_master.py): a bpm a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def tempo(self, bpm: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{bpm}\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)


MASTER: Master | None = None


if __name__ == "__main__":
    asyncio.run(main())
