"""The pulse watch on signals of known truth, its sender a plain list: the beats of a click
track at the clicks' times and numbered into bars, onsets on them, a report per period; what
is written during pre-roll placed once the output plays; a rewind takes back what was cut;
locked to a clock, the clock's beats."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import timeout
from test_stretch import clicks

from oscserver.adapters.audio.pulse_watch import PulseWatch
from oscserver.core.lock import ClockReading
from oscserver.core.pulse import Timed
from oscserver.dsp import beats
from oscserver.dsp.beat_map import BeatMark

RATE = 48000
T0 = 1000.0  # when output place 0 is heard


class Kept:
    """A sender that keeps what it is given (the real one sends it: test_pulse_sender.py)."""

    def __init__(self) -> None:
        self.messages: list[Timed] = []
        self.forgotten: list[float] = []
        self.shifts: list[float] = []

    def wanted(self, topic: str) -> bool:
        return True

    def add(self, messages: list[Timed]) -> None:
        self.messages += messages

    def forget_from(self, heard_at: float) -> None:
        self.forgotten.append(heard_at)
        self.messages = [m for m in self.messages if m.heard_at < heard_at]

    def clear(self) -> None:
        self.messages.clear()

    def shift(self, seconds: float) -> None:
        self.shifts.append(seconds)

    def at(self, address: str) -> list[Timed]:
        return [m for m in self.messages if m.address == address]


def feed(
    watch: PulseWatch,
    audio: np.ndarray,
    start: int = 0,
    playing: bool = True,
    late: float = 0.0,
    marks: list[BeatMark] | None = None,
) -> None:
    """Write ``audio`` in pieces, no faster than the watch takes them (as an output would).

    ``marks``: the stream's beats, placed from ``start``, handed on with the pieces they are
    in (None: not known)."""
    for at in range(0, audio.shape[1], 2048):
        while watch._queue.qsize() > 16:
            time.sleep(0.001)
        place = start + at
        jitter = 0.00002 * (at // 2048 % 3 - 1)  # (the cycles' start times, as JACK says them)
        heard = T0 + late + place / RATE + jitter if playing else None
        piece = audio[:, at : at + 2048]
        told = None
        if marks is not None:
            told = [m.moved(-at) for m in marks if at <= m.at < at + piece.shape[1]]
        watch.written(place, piece, heard, RATE, told)


def settle(watch: PulseWatch) -> None:
    assert watch.idle(timeout(20)) and watch.skipped == 0


@pytest.mark.skipif(not beats.available(), reason="no aubio on this platform")
def test_a_click_tracks_beats_onsets_and_levels_at_their_times():
    sender = Kept()
    watch = PulseWatch(sender, 30.0)  # type: ignore[arg-type]
    try:
        feed(watch, clicks(12.0, 120.0))
        settle(watch)
    finally:
        watch.close()
    heard = np.array([m.heard_at for m in sender.at("/lyria/beat")]) - T0
    assert len(heard) >= 12  # from when four beats make a steady grid
    errors = (heard + 0.25) % 0.5 - 0.25  # from the nearest click (every 0.5 s from 0)
    assert np.max(np.abs(errors)) < 0.003
    numbers = [m.args[:2] for m in sender.at("/lyria/beat")]
    assert [b for _, b in numbers[:5]] == [1, 2, 3, 4, 1] and numbers[4][0] == 2
    onsets = np.array([m.heard_at for m in sender.at("/lyria/onset")]) - T0
    assert len(onsets) == 24 and np.max(np.abs(onsets - np.arange(24) * 0.5)) < 0.003
    levels = sender.at("/lyria/level")
    assert len(levels) == 12 * 30
    # (within the estimates' jitter: 20 us either way)
    assert np.allclose(np.diff([m.heard_at for m in levels]), 1 / 30, atol=4.1e-5)


def test_what_was_written_in_pre_roll_is_placed_once_the_output_plays():
    sender = Kept()
    watch = PulseWatch(sender, 30.0)  # type: ignore[arg-type]
    try:
        audio = clicks(2.0, 120.0)
        feed(watch, audio[:, :RATE], playing=False)
        settle(watch)
        assert sender.messages == []  # not known when it is heard yet
        feed(watch, audio[:, RATE:], start=RATE)
        settle(watch)
    finally:
        watch.close()
    levels = [m.heard_at - T0 for m in sender.at("/lyria/level")]
    assert levels[0] == pytest.approx(0.0, abs=2.1e-5) and len(levels) == 60


def test_a_rewind_takes_back_what_was_cut_and_measures_what_replaces_it():
    sender = Kept()
    watch = PulseWatch(sender, 30.0)  # type: ignore[arg-type]
    try:
        loud = np.full((2, 2 * RATE), 0.5, np.float32)
        feed(watch, loud)
        watch.rewound(RATE)
        feed(watch, np.zeros((2, RATE), np.float32), start=RATE)
        settle(watch)
    finally:
        watch.close()
    assert sender.forgotten == [pytest.approx(T0 + 1.0, abs=0.003)]
    levels = sender.at("/lyria/level")
    assert all(m.args[0] == pytest.approx(0.5) for m in levels if m.heard_at < T0 + 0.99)
    assert all(m.args[0] == 0.0 for m in levels if m.heard_at > T0 + 1.01)
    assert levels[-1].heard_at == pytest.approx(T0 + 2.0 - 1 / 30, abs=0.003)


def test_a_step_of_the_outputs_timing_moves_what_waits_to_be_sent():
    sender = Kept()
    watch = PulseWatch(sender, 30.0)  # type: ignore[arg-type]
    late = 256 / RATE  # the server skipped a cycle: all that follows is heard a period later
    try:
        feed(watch, np.zeros((2, RATE), np.float32))
        feed(watch, np.zeros((2, RATE), np.float32), start=RATE, late=late)
        settle(watch)
    finally:
        watch.close()
    assert sender.shifts == [pytest.approx(late, abs=4.1e-5)]
    levels = [m.heard_at - T0 for m in sender.at("/lyria/level")]
    assert levels[-1] == pytest.approx(2.0 - 1 / 30 + late, abs=4.1e-5)


def test_locked_to_a_clock_the_beats_are_the_clocks():
    sender = Kept()
    reading = ClockReading(time=T0, beat=6.5, tempo=100.0, quantum=4.0)
    watch = PulseWatch(sender, 30.0, locked_clock=lambda: reading)  # type: ignore[arg-type]
    try:
        feed(watch, np.zeros((2, 3 * RATE), np.float32))
        settle(watch)
    finally:
        watch.close()
    got = sender.at("/lyria/beat")
    assert [m.args for m in got] == [
        (2, 4, 100.0),
        (3, 1, 100.0),
        (3, 2, 100.0),
        (3, 3, 100.0),
        (3, 4, 100.0),
    ]
    assert [m.heard_at - T0 for m in got] == pytest.approx([0.3, 0.9, 1.5, 2.1, 2.7], abs=1e-6)


@pytest.mark.skipif(not beats.available(), reason="no aubio on this platform")
def test_the_streams_beats_handed_on_are_told_and_where_none_are_the_trackers():
    """Clicks every 0.5 s; for the first 8 s the feeder says the stream's beats are 0.25 s after
    each click (100 bpm as heard, bars known): those are told, at their places, numbered by
    their places in the bar, and nothing at the clicks. For the next 8 s nothing is handed on:
    the output's own tracker tells the clicks, without a beat told twice at the change."""
    sender = Kept()
    watch = PulseWatch(sender, 30.0)  # type: ignore[arg-type]
    said = [BeatMark(0.25 * RATE + n * 0.5 * RATE, (n + 2) % 4, 100.0) for n in range(16)]
    try:
        audio = clicks(16.0, 120.0)
        feed(watch, audio[:, : 8 * RATE], marks=said)
        feed(watch, audio[:, 8 * RATE :], start=8 * RATE)
        settle(watch)
    finally:
        watch.close()
    told = sender.at("/lyria/beat")
    heard = np.array([m.heard_at for m in told]) - T0
    first = heard < 8.0
    assert heard[first] == pytest.approx([0.25 + n * 0.5 for n in range(16)], abs=4.1e-5)
    assert [m.args[1] for m in told[:6]] == [3, 4, 1, 2, 3, 4]  # (the first at place 2)
    assert [m.args[0] for m in told[:6]] == [1, 1, 2, 2, 2, 2]
    assert all(m.args[2] == 100.0 for m in np.array(told)[first])
    later = heard[~first]
    assert len(later) >= 12 and watch.stream_beats == 16 and watch.tracked_beats == len(later)
    errors = (later + 0.25) % 0.5 - 0.25  # from the nearest click
    assert np.max(np.abs(errors)) < 0.003
    assert np.min(np.diff(heard)) > 0.2  # (none told twice where one source gives way)
