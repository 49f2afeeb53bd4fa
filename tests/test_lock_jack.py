"""The lock on a real JACK server: a model that plays 4 % fast from a random beat phase, and
the kicks that leave oscserver's JACK ports (recorded by another client, timed by the cycles
they left in) falling on the clock's beats."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from audio_analysis import harmony_change_by_place, kick_onsets, largest_step
from beat_timeline import BeatTimeline
from conftest import needs_stretch_and_beats, timeout
from jack_recorder import Recorder

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.adapters.clock.internal import InternalClock
from oscserver.core.continuity import Settings
from oscserver.core.lock import ClockReading
from oscserver.engine.voices import DrumKit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import playing_off_tempo, send

pytestmark = [
    pytest.mark.jack,
    pytest.mark.usefixtures("no_api_key"),
    needs_stretch_and_beats,
]

SECONDS = 16.0
#: Beats after the first kick heard by which the kicks must be on the clock's beats.
ENGAGE_BEATS = 8


def locked(server: str, name: str) -> tuple[JackSink, StretchingSink, InternalClock]:
    """JACK ports named ``name`` behind the feeder, locked to an internal clock at 120 bpm
    (the test starts it)."""
    jack = JackSink(name, server, preroll_seconds=0.1)
    sink = StretchingSink(jack, Settings(target=2.0), lead=0.3, track_beats=True)
    clock = InternalClock(120.0)
    sink.lock_to(clock)
    return jack, sink, clock


def errors_against(clock: InternalClock, times: np.ndarray) -> np.ndarray:
    """Seconds each time lies from the clock's nearest beat (negative: early)."""
    reading = clock.read()
    assert reading is not None
    position = np.array([reading.beat_at(t) for t in times])
    return (position - np.round(position)) * reading.period


def assert_on_the_beats(clock: InternalClock, heard: np.ndarray) -> None:
    """The kicks heard (at least 12) are on a 120 bpm clock's beats: median error within
    10 ms, 95 % within 15 ms; and their tempo, heard, is the clock's (the music plays 124.8)."""
    error = errors_against(clock, heard)
    print(
        f"kicks {len(heard)}; error ms: median {np.median(np.abs(error)) * 1e3:.1f}, "
        f"p95 {np.percentile(np.abs(error), 95) * 1e3:.1f}, max {np.abs(error).max() * 1e3:.1f}"
    )
    assert len(heard) >= 12
    assert np.median(np.diff(heard)) == pytest.approx(0.5, abs=0.002)
    assert np.median(np.abs(error)) <= 0.010
    assert np.percentile(np.abs(error), 95) <= 0.015


async def test_the_kicks_leave_the_jack_ports_on_the_internal_clocks_beats(private_jackd):
    server = private_jackd(rate=48000, period=256).server_name
    jack, sink, clock = locked(server, "locked")
    recorder = Recorder(server, jack.port_names, SECONDS + 10)
    try:
        async with playing_off_tempo(sink):
            clock.start()
            await asyncio.sleep(timeout(SECONDS))
            audio = recorder.since(0)
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks)
    finally:
        recorder.close()
    assert len(kicks) > 16
    heard = times[times >= times[0] + ENGAGE_BEATS * 0.5]
    assert_on_the_beats(clock, heard)


async def test_through_late_chunks_the_bridge_and_the_music_after_it_stay_on_the_beats(
    private_jackd,
):
    """Every 5th chunk 3 s late, more than the 2 s buffered: the bridge loops the last bar as
    played (a bar of the clock's), and when the stream goes on, out of phase by the gap, the
    lock engages afresh: the kicks leaving the ports stay on the clock's beats throughout."""
    server = private_jackd(rate=48000, period=256).server_name
    jack, sink, clock = locked(server, "bridged")
    recorder = Recorder(server, jack.port_names, 40)
    try:
        async with playing_off_tempo(sink, faults=("late:5:3",)):
            clock.start()
            await asyncio.sleep(timeout(30.0))
            audio = recorder.since(0)
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks)
            bridges, underruns = sink.bridges, jack.stats().underruns
    finally:
        recorder.close()
    print(f"{bridges} bridges, {underruns} underruns")
    assert bridges >= 2 and underruns == 0
    heard = times[times >= times[0] + ENGAGE_BEATS * 0.5]
    assert_on_the_beats(clock, heard)


STEP = 240  # frames between two of the recording's times looked up


def harmony_by_clock_place(
    audio: np.ndarray, when: np.ndarray, reading: ClockReading, end: float, beats: int
) -> np.ndarray:
    """The harmony's change into each beat of the clock's bar (as ``reading`` numbers them)
    over the ``beats`` whole beats before ``end`` (monotonic seconds); ``when``: the times of
    every :data:`STEP`-th frame recorded."""
    step = STEP
    last = math.floor(reading.beat_at(min(end, when[-1]))) - 1
    numbers = np.arange(last - beats, last + 1)
    frames = np.interp([reading.time_at(b) for b in numbers], when, np.arange(len(when)) * step)
    return harmony_change_by_place(audio, 48000, frames, numbers % 4)


async def test_the_musics_bars_are_moved_to_begin_on_the_clocks_bar_lines(private_jackd):
    """ "techno", whose chord changes on the first beat of each bar, locked to the internal
    clock; after 22 s the clock's bar lines move (as a transport relocated) so that the music's
    bars begin a beat before the clock's (where they were, from the recording so far): the
    stream is moved once, a beat played again, so that its bars begin on the clock's (beat 0 of
    4). Over the last 12 s the harmony changes most, by far, on the clock's first beats, and
    the kicks are on its beats."""
    server = private_jackd(rate=48000, period=256).server_name
    jack, sink, clock = locked(server, "barred")
    recorder = Recorder(server, jack.port_names, 70)
    try:
        async with playing_off_tempo(sink, prompt="techno"):
            clock.start()
            await asyncio.sleep(timeout(22.0))
            audio = recorder.since(0)
            when = recorder.times(np.arange(0, audio.shape[1], STEP))
            before = clock.read()
            assert before is not None
            was = harmony_by_clock_place(audio, when, before, time.monotonic(), 16)
            ahead = (3 - int(np.argmax(was))) % 4  # beats to move the clock's bar lines by
            clock.start(beat=before.beat_at(time.monotonic()) + ahead)
            moves = sink.bar_moves
            await asyncio.sleep(timeout(26.0))  # five bars to be sure, then the last 12 s
            after = clock.read()
            audio = recorder.since(0)
            when = recorder.times(np.arange(0, audio.shape[1], STEP))
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks)
            moves = sink.bar_moves - moves
    finally:
        recorder.close()
    assert after is not None
    change = harmony_by_clock_place(audio, when, after, after.time, 24)
    print(f"the harmony's change into each beat of the clock's bar before: {np.round(was, 2)}; "
          f"moved {ahead} beat(s) on; the bars moved {moves} time(s); the harmony's change "
          f"over the last 12 s: {np.round(change, 2)}")  # fmt: skip
    assert was.max() >= 2 * np.sort(was)[-2]  # (where the bars were: clear)
    assert moves == 1
    assert change[0] >= 2 * change[1:].max()
    heard = times[times >= after.time_at(math.floor(after.beat_at(after.time)) - 25)]
    assert_on_the_beats(clock, heard)


async def test_a_clock_chosen_while_playing_puts_the_kicks_on_its_beats(private_jackd):
    """Started without a clock (each chunk stretched as it comes), playing; then
    ``/lyria/clock internal`` over UDP: within 8 beats of the clock's start the kicks leaving
    the ports are on its beats."""
    server = private_jackd(rate=48000, period=256).server_name
    jack = JackSink("switched", server, preroll_seconds=0.1)
    sink = StretchingSink(jack, Settings(target=2.0), track_beats=True)  # as --clock none
    opened: list[InternalClock] = []

    def open_clock(name: str) -> InternalClock:
        assert name == "internal"
        opened.append(InternalClock(120.0))
        return opened[-1]

    recorder = Recorder(server, jack.port_names, SECONDS + 20)
    try:
        async with playing_off_tempo(sink, open_clock=open_clock) as app:
            await asyncio.sleep(timeout(4.0))
            assert sink.lead is None  # not locked: stretched as each chunk comes
            switched = recorder.mark()
            await send(app, "/lyria/clock", "internal")
            await asyncio.sleep(timeout(SECONDS))
            assert app.state.local.clock == "internal" and len(opened) == 1
            audio = recorder.since(0)
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks[kicks > switched])
    finally:
        recorder.close()
    clock = opened[0]
    reading = clock.read()
    assert reading is not None
    started = reading.time_at(0.0)  # the clock's first beat: when the message was taken
    heard = times[times >= started + ENGAGE_BEATS * 0.5]
    assert_on_the_beats(clock, heard)


def steps_by_second(recorder: Recorder, audio: np.ndarray, when: float) -> list[float]:
    """The largest step between neighbouring frames in each of the 6 s of the recording
    before ``when``, and last in the second from it."""
    second = 48000
    at = int(np.searchsorted(recorder.times(np.arange(0, audio.shape[1], 240)), when)) * 240
    return [
        largest_step(audio[:, i : i + second], recorder.missed(i, i + second))
        for i in range(at - 6 * second, at + 1, second)
    ]


async def test_the_kicks_follow_jack_transport_and_its_tempo_change(private_jackd):
    """``--clock jack`` with a timebase master made by the test (tests/jack_timebase_master.py,
    as a DAW would be): on its beats at 120 bpm, and following its move to 126 by stretching:
    the audio already stretched for 120 is made again for 126 (no click), so that from the
    first beat after the change the kicks are as close to the beats as the steady lock keeps
    95 % of them."""
    from test_clock_jack import Master

    from oscserver.adapters.audio.stretching import LOCK_LEAD
    from oscserver.adapters.clock.jack_transport import JackTransportClock

    server = private_jackd(rate=48000, period=256).server_name
    master = Master(server, 120.0)
    master.client.transport_start()
    jack = JackSink("transported", server, preroll_seconds=0.1)
    sink = StretchingSink(jack, Settings(target=2.0), lead=LOCK_LEAD, track_beats=True)
    clock = JackTransportClock("oscserver-clock", server)
    sink.lock_to(clock)
    watcher = JackTransportClock("test-watcher", server)  # the test's own view of the beats
    recorder = Recorder(server, jack.port_names, 36)
    timeline = BeatTimeline(lambda: (r.time, r.beat) if (r := watcher.read()) else None)

    try:
        async with playing_off_tempo(sink, clock=clock) as app:
            await timeline.watch(timeout(12.0))
            changed = timeline.samples[-1][0]
            master.tempo(126.0)
            stream_before = sink.beat_lock.stream_start
            await timeline.watch(timeout(10.0))
            audio = recorder.since(0)
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks)
            asked = app.state.config.bpm
            retakes = sink.retakes
            new_stream = sink.beat_lock.stream_start > stream_before
            holds, held = sink.holds, sink.held_seconds
            steps = steps_by_second(recorder, audio, changed)
    finally:
        recorder.close()
        watcher.close()
        master.close()
    times, error = timeline.errors(times, np.where(times < changed, 120.0, 126.0))
    steady = error[(times >= times[0] + ENGAGE_BEATS * 0.5) & (times < changed)]
    followed = error[(times >= changed + 60 / 126) & (times < changed + 2.5)]
    after = error[times >= changed + 60 / 126]
    print(f"after the change: {np.round(after * 1e3, 1)}; held {holds} time(s), {held:.2f} s")
    ms = np.abs(steady) * 1e3
    print(f"at 120: median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms; "
          f"following 126: {np.round(followed * 1e3, 1)}")  # fmt: skip
    assert len(steady) >= 10 and len(followed) >= 3
    assert np.median(np.abs(steady)) <= 0.010
    assert np.percentile(np.abs(steady), 95) <= 0.015
    assert np.all(np.abs(followed) <= 0.015)
    # The service's new context (its answer to the bpm sent for the clock) came in on the beats.
    assert new_stream and len(after) >= 16
    assert np.median(np.abs(after)) <= 0.010
    assert np.percentile(np.abs(after), 95) <= 0.015
    # Made again once, and the join is no steeper than the music's own steps before it.
    print(f"stretched again {retakes} time(s); largest steps: {np.round(steps, 3)}")
    assert retakes == 1
    assert steps[-1] <= 1.5 * float(np.median(steps[:-1]))
    assert asked == 126  # the service was asked for the clock's tempo
