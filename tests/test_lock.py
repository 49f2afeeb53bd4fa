"""The lock controller with plain numbers: a simulated playout that stretches each piece just
before it is heard, the stream's beats at a tempo and phase of their own, and a clock."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from oscserver.core.lock import ClockReading, LockController, LockSettings

PIECE = 4096 / 48000  # seconds of stream stretched at a time
LOOKAHEAD = 0.25  # seconds between a piece's decision and when it starts to be heard


def steady(tempo: float, origin: float = 0.0) -> Callable[[float], ClockReading]:
    """A clock at ``tempo`` whose beat 0 is at ``origin``."""
    return lambda now: ClockReading(now, (now - origin) * tempo / 60.0, tempo)


def changing(before: float, after: float, at: float) -> Callable[[float], ClockReading]:
    """A clock that changes tempo at ``at``, its beats continuous across the change."""

    def read(now: float) -> ClockReading:
        if now < at:
            return ClockReading(now, now * before / 60.0, before)
        return ClockReading(now, at * before / 60.0 + (now - at) * after / 60.0, after)

    return read


def play(
    clock: Callable[[float], ClockReading],
    stream_tempo: float,
    phase: float,
    seconds: float,
    lock: LockController | None = None,
    bars: list[tuple[float, int]] | None = None,
) -> list[tuple[float, float]]:
    """Play ``seconds``; returns (time heard, ms from the nearest clock beat) of each stream
    beat. The stream's beats fall at ``phase + k * period`` seconds of stream.

    ``bars``: the stream's beat ``k = 0`` starts a bar (4 beats), the lock is told so, and the
    clock beat (of its bar) each of its downbeats is heard on is added here, with the time.
    """
    lock = lock or LockController()
    period = 60.0 / stream_tempo
    stream, heard = 0.0, 1.0 + LOOKAHEAD
    beats: list[tuple[float, float]] = []
    while heard < 1.0 + seconds:
        reading = clock(heard - LOOKAHEAD)
        number = math.ceil((stream - phase) / period)  # the stream's next beat
        next_beat = phase + number * period
        place = number % 4 if bars is not None else None
        decision = lock.decide(reading, period, next_beat - stream, heard, place)
        if decision.cut:  # skip that much (as heard) of the stream before stretching it
            stream += decision.cut / decision.ratio
            continue
        stream += decision.move * period  # whole beats dropped (or played again)
        for k in range(math.ceil((stream - phase) / period), 10**9):
            b = phase + k * period
            if b >= stream + PIECE:
                break
            at = heard + (b - stream) * decision.ratio
            truth = clock(at)
            error = truth.beat_at(at) - round(truth.beat_at(at))
            beats.append((at, error * truth.period * 1000))
            if bars is not None and k % 4 == 0:
                bars.append((at, round(truth.beat_at(at)) % 4))
        heard += PIECE * decision.ratio
        stream += PIECE
    return beats


@pytest.mark.parametrize("phase", [0.0, 0.1, 0.23, 0.37, 0.47])
def test_a_stream_off_tempo_and_phase_is_heard_on_the_clocks_beats_within_eight(phase):
    beats = play(steady(120.0), 124.8, phase, 20.0)
    after = [error for at, error in beats if at > 1.0 + LOOKAHEAD + 8 * 0.5]
    assert len(after) > 25
    assert max(abs(e) for e in after) < 1.0, after


def test_the_ratio_is_the_tempos_once_locked():
    lock = LockController()
    play(steady(120.0), 124.8, 0.3, 10.0, lock)
    d = lock.decide(ClockReading(20.0, 40.0, 120.0), 60 / 124.8, 0.0, 20.0)  # on the beat
    assert d.error == 0.0 and d.ratio == pytest.approx(124.8 / 120.0) and d.within


def test_a_tempo_change_is_followed_within_a_beat():
    change = 8.0
    beats = play(changing(120.0, 126.0, change), 124.8, 0.2, 16.0)
    later = [error for at, error in beats if at > change + 60 / 126]
    assert later and max(abs(e) for e in later) < 10.0, later
    # What was stretched before the change is heard after it: the error it leaves is taken
    # out over the next beats.
    settled = [error for at, error in beats if at > change + 8 * 60 / 126]
    assert max(abs(e) for e in settled) < 1.0


def test_the_lock_engages_with_one_cut_then_only_nudges():
    lock = LockController()
    reading = ClockReading(10.0, 20.0, 120.0)
    first = lock.decide(reading, 0.5, next_beat_in=0.15, heard_at=10.0)  # 0.3 beats late
    assert first.error == pytest.approx(0.3) and first.cut == pytest.approx(0.15)
    again = lock.decide(reading, 0.5, next_beat_in=0.15, heard_at=10.0)
    assert again.cut == 0.0 and again.ratio == pytest.approx(1 - LockSettings().nudge)
    early = LockController().decide(reading, 0.5, next_beat_in=0.4, heard_at=10.0)  # 0.2 early
    assert early.error == pytest.approx(-0.2) and early.cut == pytest.approx(0.4)
    lock.release()
    assert lock.decide(reading, 0.5, 0.15, 10.0).cut == pytest.approx(0.15)


def test_tempos_further_apart_than_the_stretch_hold_it_at_the_limit_and_say_so():
    d = LockController().decide(ClockReading(0.0, 0.0, 100.0), 60 / 124.8, 0.0, 0.0)
    assert not d.within and d.ratio == pytest.approx(1.06)
    d = LockController().decide(ClockReading(0.0, 0.0, 126.0), 60 / 124.8, 0.0, 0.0)
    assert d.within and d.ratio == pytest.approx(124.8 / 126.0)


@pytest.mark.parametrize("phase", [0.05, 0.6, 1.1, 1.5])  # (the stream's first downbeat)
def test_once_on_the_beats_the_streams_bars_are_moved_onto_the_clocks(phase):
    """A stream whose bars begin 0 to 3 beats off the clock's: after the beats engage, one
    edit of at most half a bar (two beats) puts its downbeats on the clock's beat 0 of 4, and
    every beat stays on a clock beat."""
    bars: list[tuple[float, int]] = []
    beats = play(steady(120.0), 124.8, phase, 30.0, bars=bars)
    later = [place for at, place in bars if at > 1.0 + 16.0]
    assert len(later) > 5 and set(later) == {0}, bars
    settled = [error for at, error in beats if at > 1.0 + LOOKAHEAD + 8 * 0.5]
    assert max(abs(e) for e in settled) < 1.0


def test_bars_move_once_by_at_most_half_a_bar_and_only_when_seen_alike_for_five_bars():
    moves = []
    for late in (1, 2, 3):
        lock = LockController()
        for i in range(120):  # a piece every quarter beat, the stream's beats on the clock's
            t = 10.0 + i * 0.125
            landing = math.ceil(2 * t) + 1  # the clock beat its next beat is heard on
            place = (landing - late) % 4  # its bar began ``late`` beats after the clock's
            d = lock.decide(ClockReading(t, 2 * t, 120.0), 0.5, landing / 2 - t, t, place)
            assert d.cut == 0.0 and d.error == pytest.approx(0.0)
            if d.move:
                moves.append((late, landing - 21, d.move))
    # Seen alike from the first decision (clock beat 21) for 20 beats: then moved, once.
    assert moves == [(1, 20, 1), (2, 20, 2), (3, 20, -1)]


def test_bars_are_not_moved_onto_a_clock_of_another_quantum_nor_when_the_beat_is_in_doubt():
    for quantum, late in ((3.0, 0.0), (4.0, 0.2)):
        lock = LockController()
        for i in range(160):
            t = 10.0 + i * 0.125
            landing = math.ceil(2 * t) + 1
            reading = ClockReading(t, 2 * t + late, 120.0, quantum)
            d = lock.decide(reading, 0.5, landing / 2 - t, t, (landing + 2) % 4)
            assert d.move == 0  # (a fifth of a beat off: a cut, once, then nudges)


def test_nonsense_is_refused():
    with pytest.raises(ValueError):
        LockController().decide(ClockReading(0.0, 0.0, 120.0), 0.0, 0.0, 0.0)
