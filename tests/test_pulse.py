"""The pulse's sans-I/O core with plain numbers: the output's timeline, the beats of a clock
and of the music numbered into bars, the messages and their schedule."""

from __future__ import annotations

import pytest

from oscserver.core.lock import ClockReading
from oscserver.core.pulse import (
    Beat,
    BeatCounter,
    Schedule,
    Timeline,
    beat_message,
    clock_beats,
    onset_message,
    report_messages,
)

RATE = 48000


def test_the_timeline_takes_the_median_of_its_estimates():
    timeline = Timeline(RATE)
    assert timeline.time_of(0) is None
    truth = 100.0  # frame 0 is heard at 100 s
    # Estimates exact but for the cycles' jitter, and one made as the machine stalled.
    for k, off in enumerate([0.00002, -0.00001, 0.0, 0.00001, 0.012, -0.00002, 0.0]):
        frame = k * 2048
        timeline.observe(frame, truth + frame / RATE + off)
    assert timeline.time_of(RATE) == pytest.approx(truth + 1.0, abs=1e-9)
    # The server skipped a cycle (256 frames): everything is heard that much later, at once.
    late = 256 / RATE
    for k in range(7, 10):
        frame = k * 2048
        timeline.observe(frame, truth + frame / RATE + late)
    assert timeline.time_of(RATE) == pytest.approx(truth + 1.0 + late, abs=1e-9)
    timeline.reset()
    assert timeline.time_of(RATE) is None


def test_the_timeline_forgets_old_estimates():
    timeline = Timeline(RATE, keep=4)
    timeline.observe(0, 10.2)  # an estimate since forgotten (32 writes ago, say)
    for k in range(1, 5):
        timeline.observe(k * 1000, 10.0 + k * 1000 / RATE)
    assert timeline.time_of(0) == pytest.approx(10.0)


def test_a_clocks_beats_in_a_window_with_bars_of_its_quantum():
    reading = ClockReading(time=50.0, beat=10.25, tempo=120.0, quantum=4.0)
    beats = clock_beats(reading, 50.0, 52.0)
    assert [b.heard_at for b in beats] == pytest.approx([50.375, 50.875, 51.375, 51.875])
    assert [(b.bar, b.beat) for b in beats] == [(3, 4), (4, 1), (4, 2), (4, 3)]  # beat 11: 4th
    assert all(b.bpm == 120.0 for b in beats)
    three = clock_beats(ClockReading(0.0, 0.0, 60.0, quantum=3.0), 0.0, 4.0)
    assert [(b.bar, b.beat) for b in three] == [(1, 1), (1, 2), (1, 3), (2, 1)]
    # A beat exactly at the window's start is in it, one at its end is not.
    assert len(clock_beats(ClockReading(0.0, 0.0, 120.0), 0.5, 1.0)) == 1


def test_beats_counted_from_the_first_until_the_bars_are_known():
    counter = BeatCounter()
    assert [counter.next() for _ in range(6)] == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2)]
    # The music's downbeat found: the next beat is the bar's fourth, then a new bar begins.
    assert counter.next(3) == (2, 4)
    assert counter.next(0) == (3, 1)
    assert counter.next(2) == (3, 3)  # (a beat missed: the same bar)
    assert counter.next(1) == (4, 2)  # (back before the last: a new bar)
    counter.reset()
    assert counter.next(2) == (1, 3)


def test_messages_use_only_ints_floats_and_strings():
    messages = [
        beat_message(Beat(2.0, 7, 3, 126.0)),
        *report_messages(2.0, 0.25, 0.9, (0.1,) * 8),
        onset_message(2.0, 0.8),
    ]
    assert [m.address for m in messages] == [
        "/lyria/beat",
        "/lyria/level",
        "/lyria/bands",
        "/lyria/onset",
    ]
    assert messages[0].args == (7, 3, 126.0) and messages[0].topic == "beat"
    assert len(messages[2].args) == 8
    assert all(type(a) in (int, float, str) for m in messages for a in m.args)


def test_the_schedule_gives_messages_when_due_earliest_first_and_drops_stale_ones():
    schedule = Schedule(lookahead=0.5, stale=0.05)
    schedule.add([onset_message(t, 1.0) for t in (3.0, 1.0, 2.0, 0.9)])
    assert schedule.next_due() == pytest.approx(0.4)
    assert schedule.due(0.3) == []
    assert [m.heard_at for m in schedule.due(0.5)] == [0.9, 1.0]  # sent 0.5 s early
    assert [m.heard_at for m in schedule.due(1.5)] == [2.0]
    assert schedule.due(3.2) == [] and schedule.dropped == 1  # heard 0.2 s ago: too late
    schedule.add([onset_message(5.0, 1.0), onset_message(4.0, 1.0)])
    schedule.shift(0.25)  # the output slipped: all of it is heard later
    assert schedule.next_due() == pytest.approx(3.75)
    assert [m.heard_at for m in schedule.due(3.8)] == [4.25]
    assert [m.heard_at for m in schedule.due(4.8)] == [5.25]
    schedule.add([onset_message(5.0, 1.0)])
    schedule.clear()
    assert schedule.next_due() is None and len(schedule) == 0
