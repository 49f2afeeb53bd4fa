"""The MIDI clock on a real JACK server, recorded by another client as a drum machine would
take it: Start, then 24 ticks a beat on the beat grid the music is locked to (an internal clock
at 120 bpm: the ticks within 1 ms of it, none lost or added, the count from Start on its
beats), and Stop when the music pauses."""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_stretch_and_beats, timeout
from jack_midi_recorder import MidiRecorder

from oscserver.adapters.audio.jack_sink import MIDI_CLOCK_PORT, JackSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.adapters.clock.internal import InternalClock
from oscserver.core.continuity import Settings
from oscserver.core.midi_clock import CLOCK, START, STOP

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import playing_off_tempo, send

pytestmark = [
    pytest.mark.jack,
    pytest.mark.usefixtures("no_api_key"),
    needs_stretch_and_beats,
]

SECONDS = 14.0
#: Seconds after the first tick from which the ticks are judged (the lock has engaged: the
#: beats are the clock's; before, the music's own, found in the output).
JUDGED_FROM = 6.0
#: A cycle the server ran without oscserver's callback (an xrun: a loaded machine) puts the
#: events due in it into the next, a period late: the ticks this long either side of an xrun
#: the server reports are left out (the report comes later, on a thread of its own).
AROUND_XRUN = 0.25


async def test_the_midi_clock_ticks_on_the_beats_from_start_to_stop(private_jackd):
    server = private_jackd(rate=48000, period=256).server_name
    jack = JackSink("mclock", server, preroll_seconds=0.1, midi_clock=True)
    sink = StretchingSink(jack, Settings(target=2.0), lead=0.3, track_beats=True)
    clock = InternalClock(120.0)
    sink.lock_to(clock)
    midi = MidiRecorder(server, f"mclock:{MIDI_CLOCK_PORT}")
    try:
        async with playing_off_tempo(sink) as app:
            clock.start()
            await asyncio.sleep(SECONDS)  # a measurement, not a wait: not scaled
            await send(app, "/lyria/pause")
            await asyncio.sleep(timeout(1.0))
            events, xruns = midi.events(), midi.xruns()
            frames = events[1:-1, 1]
            ticks = midi.times(frames)
            latency = jack.output_latency()
            reading = clock.read()
    finally:
        midi.close()
    assert reading is not None
    status = events[:, 2].astype(int)
    # Start, ticks, Stop: in that order, each of the first and last once.
    assert status[0] == START and list(status).count(START) == 1
    assert status[-1] == STOP and list(status).count(STOP) == 1
    assert set(status[1:-1]) == {CLOCK}
    assert len(ticks) > 24 * 2 * (SECONDS - 3)  # ticking all along (2 beats a second)
    judged = ticks >= ticks[0] + JUDGED_FROM
    for at in xruns:
        judged &= np.abs(frames - at) > AROUND_XRUN * 48000
    assert judged.sum() >= 24 * 3  # (at least three beats' ticks away from any xrun)
    # Where each tick falls on the clock's grid of ticks (24 a beat), as heard.
    grid = np.array([reading.beat_at(t + latency) for t in ticks[judged]]) * 24
    error = (grid - np.round(grid)) * reading.period / 24
    print(
        f"{judged.sum()} ticks judged, {len(xruns)} xruns; error ms: median "
        f"{np.median(np.abs(error)) * 1e3:.3f}, max {np.abs(error).max() * 1e3:.3f}"
    )
    assert np.abs(error).max() <= 0.001
    # None lost or added: 24 ticks from each beat to the next (where no xrun came between:
    # a client late for its cycle can lose the recorder that cycle's events).
    beat_ticks = np.flatnonzero(judged)[np.round(grid) % 24 == 0]
    clean = [
        (a, b)
        for a, b in itertools.pairwise(beat_ticks)
        if not any(frames[a] - 2 * 256 <= x <= frames[b] + 2 * 256 for x in xruns)
    ]
    assert len(clean) >= 3
    assert [int(b - a) for a, b in clean] == [24] * len(clean)
