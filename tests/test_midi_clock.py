"""The MIDI clock's ticks from beats, with plain inputs: 24 a beat, the beat's own on it, Start
before the first, Stop at a pause; ticks go on at the last tempo when beats are missed; beats
told early, late, twice or moving are followed without a tick lost or added."""

from __future__ import annotations

import numpy as np
import pytest

from oscserver.core.midi_clock import CLOCK, START, STOP, TICKS_PER_BEAT, MidiClock


def ticks(messages: list[tuple[float, int]]) -> np.ndarray:
    return np.array([t for t, status in messages if status == CLOCK])


def test_steady_beats_give_24_even_ticks_a_beat_each_beat_on_its_own():
    clock = MidiClock()
    out = []
    for k in range(8):  # 120 bpm, each beat told a beat ahead, the ticks asked for in small steps
        clock.beat(10.0 + 0.5 * k, 120.0)
    for horizon in np.arange(10.0, 14.0, 0.02):
        out += clock.until(float(horizon))
    assert out[0] == (10.0, START) and out[1] == (10.0, CLOCK)
    got = ticks(out)
    assert len(got) == 8 * 24  # up to 13.98 s, past the last beat (13.5 s) at its tempo
    assert np.allclose(np.diff(got), 0.5 / 24, atol=1e-12)
    assert np.allclose(got[::TICKS_PER_BEAT][:8], 10.0 + 0.5 * np.arange(8), atol=1e-12)
    assert [t for t, status in out if status != CLOCK] == [10.0]  # one Start, nothing else


def test_uneven_beats_each_fall_on_their_tick_and_count_24():
    rng = np.random.default_rng(1)
    beats = 10.0 + 0.5 * np.arange(12) + rng.uniform(-0.004, 0.004, 12)
    clock = MidiClock()
    out = []
    for k, at in enumerate(beats):
        clock.beat(float(at), 120.0)
        if k >= 2:  # the ticks run two beats behind what is known, as the output is ahead
            out += clock.until(float(beats[k - 2]) + 0.01)
    got = ticks(out)
    assert np.allclose(got[::TICKS_PER_BEAT][:10], beats[:10], atol=1e-12)
    spacing = np.diff(got)
    assert spacing.min() > 0.5 / 24 * 0.95 and spacing.max() < 0.5 / 24 * 1.05


def test_missed_beats_are_bridged_at_the_last_tempo_and_the_count_kept():
    clock = MidiClock()
    clock.beat(0.0, 100.0)
    out = clock.until(0.3)
    # Two beats not found (0.6, 1.2): the ticks go on; the next found beat is 3 beats on.
    out += clock.until(1.5)
    clock.beat(1.8, 100.0)
    out += clock.until(2.5)
    got = ticks(out)
    beat = 0.6
    assert np.allclose(got[::TICKS_PER_BEAT][:5], [0.0, 0.6, 1.2, 1.8, 2.4], atol=1e-9)
    assert np.allclose(np.diff(got), beat / 24, atol=1e-9)


def test_a_beat_told_again_or_too_late_changes_nothing_or_only_what_follows():
    clock = MidiClock()
    clock.beat(0.0, 120.0)
    clock.beat(0.5, 120.0)
    clock.beat(0.5, 120.0)  # told again (after a rewind of the output)
    clock.beat(0.5005, 120.0)  # or found again, a hair off
    got = ticks(clock.until(0.7))
    assert np.allclose(got[::TICKS_PER_BEAT], [0.0, 0.5], atol=1e-12)
    # A beat told after its tick went out, 3 ms later than the ticks put it: what follows moves.
    got = np.concatenate([got, ticks(clock.until(1.01))])
    clock.beat(1.003, 120.0)
    every = np.concatenate([got, ticks(clock.until(1.6))])
    assert np.all(np.diff(every) > 0)
    assert every[2 * TICKS_PER_BEAT] == pytest.approx(1.0)  # gone out before it was told
    assert every[3 * TICKS_PER_BEAT] == pytest.approx(1.503)  # the next beat after it: moved


def test_a_tempo_change_is_followed_from_its_beat():
    clock = MidiClock()
    clock.beat(0.0, 120.0)
    clock.beat(0.5, 120.0)
    clock.beat(1.0, 150.0)  # from here a beat is 0.4 s
    got = ticks(clock.until(2.0))
    assert np.allclose(got[::TICKS_PER_BEAT][:4], [0.0, 0.5, 1.0, 1.4], atol=1e-12)
    assert np.allclose(np.diff(got[got >= 1.0]), 0.4 / 24, atol=1e-12)


def test_stop_says_stop_once_and_the_next_beat_starts_again():
    clock = MidiClock()
    assert clock.stop(0.0) == []  # never started: nothing to stop
    clock.beat(0.0, 120.0)
    clock.beat(0.5, 120.0)
    clock.until(0.25)
    assert clock.stop(0.3) == [(0.3, STOP)] and not clock.running
    assert clock.until(5.0) == [] and clock.stop(0.4) == []
    clock.beat(2.0, 90.0)
    out = clock.until(2.7)
    assert out[:2] == [(2.0, START), (2.0, CLOCK)]
    assert ticks(out)[1] - 2.0 == pytest.approx(60 / 90 / 24)


def test_nonsense_tempi_are_ignored():
    clock = MidiClock()
    clock.beat(0.0, 0.0)
    clock.beat(0.0, -5.0)
    assert not clock.running and clock.until(10.0) == []
