"""oscserver's own clock: beat 0 at play, the asked tempo, beats continuous across a change."""

from __future__ import annotations

import pytest

from oscserver.adapters.clock.internal import InternalClock


def test_the_internal_clock_counts_beats_from_play_and_keeps_them_across_a_tempo_change():
    now = [10.0]
    clock = InternalClock(120.0, clock=lambda: now[0])
    assert clock.read() is None  # no beat before play
    clock.start()
    now[0] = 12.0
    reading = clock.read()
    assert reading is not None and reading.beat == pytest.approx(4.0) and reading.tempo == 120
    clock.propose_tempo(90.0)
    now[0] = 14.0
    reading = clock.read()
    assert reading is not None and reading.beat == pytest.approx(4.0 + 3.0)  # 2 s at 90
    assert reading.time_at(8.0) == pytest.approx(14.0 + 60 / 90)
    assert clock.describe() == "internal clock at 90 bpm"


def test_the_internal_clock_may_be_started_from_any_beat():
    now = [10.0]
    clock = InternalClock(120.0, clock=lambda: now[0])
    clock.start(beat=5.0)
    now[0] = 11.0
    reading = clock.read()
    assert reading is not None and reading.beat == pytest.approx(7.0)
