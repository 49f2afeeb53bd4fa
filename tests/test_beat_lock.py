"""The feeder's beat lock with plain numbers: which grid each frame of the stream is on across a
new context, the ratio before the new context's beats are found, and what the status says.

The beat watch is stood in for by its published result (``found``), which is all the lock
reads; the watch itself is tested on real audio in test_beats.py and test_tempo_app.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from oscserver.adapters.audio.beat_lock import BeatLock, Piece
from oscserver.adapters.clock.internal import InternalClock
from oscserver.dsp.beats import Grid

RATE = 48000


class Published:
    """What a beat watch publishes: the latest grid and the frame its stream began at."""

    def __init__(self) -> None:
        self.found: tuple[int, Grid] | None = None
        self.forgotten: list[int] = []
        self.moved: dict[int, int] = {}

    def forget(self, start: int) -> None:
        self.forgotten.append(start)


class Time:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A beat lock on a stand-in watch, asked for ``bpm`` (a list: the test may change it), and
    an internal clock at 120 bpm on a time the test moves (``t.now``), started at 10 s."""

    def __init__(self, bpm: float = 120.0, locked: bool = True) -> None:
        self.watch, self.bpm, self.t = Published(), [bpm], Time()
        self.lock = BeatLock(self.watch, RATE, 0.06, lambda: self.bpm[0])  # type: ignore[arg-type]
        self.clock = InternalClock(120.0, self.t)
        self.clock.start()
        if locked:
            self.lock.lock_to(self.clock)


def grid(bpm: float, anchor: float) -> Grid:
    return Grid(period=60 * RATE / bpm, anchor=anchor, rate=RATE, spread=0.001, beats=8)


def test_each_stream_keeps_its_grid_and_the_new_one_is_locked_afresh():
    rig = Rig()
    watch, bpm, t, clock, lock = rig.watch, rig.bpm, rig.t, rig.clock, rig.lock
    lock.first_chunk()
    assert lock.decide(0, heard_at=t.now + 2.0) == Piece(None)  # no beats yet
    assert lock.state() == "seeking"
    old = grid(124.8, anchor=10000.0)  # its next beat a third of a beat late
    watch.found = (0, old)
    ratio, skip, _, _ = lock.decide(48000, heard_at=t.now + 2.0)
    assert ratio == pytest.approx(124.8 / 120.0, rel=0.03)  # slower, to the clock's tempo
    assert 0.0 < skip < 60 / 124.8  # engaging: less than a beat of the stream dropped
    # A new context from frame 96000, asked for 126: the old audio still waiting keeps its grid.
    bpm[0] = 126.0
    lock.new_stream(96000)
    assert watch.forgotten == [96000]
    assert lock.grid_at(90000) is old and lock.grid_at(96000) is None
    assert lock.steady_beat(90000) == pytest.approx(60 / 124.8)
    # Before the new stream's beats are found: the tempo the model made of the last bpm asked
    # (124.8 for 120), at the new bpm, stretched to the clock's.
    clock.propose_tempo(126.0)
    ratio, skip, _, _ = lock.decide(100000, heard_at=t.now + 2.0)
    assert ratio == pytest.approx(126 * 1.04 / 126) and skip == 0.0
    assert lock.state() == "seeking" and lock.error() == 0.0
    # Its beats found: engaged afresh (a cut), then held.
    watch.found = (96000, grid(131.04, anchor=97000.0))
    _, skip, _, _ = lock.decide(100000, heard_at=t.now + 2.0)
    assert skip > 0.0
    ratio, skip, _, _ = lock.decide(101000, heard_at=t.now + 2.0 + skip)
    assert skip == 0.0 and ratio == pytest.approx(1.04, abs=0.04)


def test_a_stream_whose_bars_start_a_beat_late_is_moved_a_beat_in_stream_frames():
    """On the clock's beats, its downbeat known (the beat after the anchor): the lock asks once,
    after five bars of seeing it so, for one beat of the stream to be dropped."""
    rig = Rig()
    lock, t = rig.lock, rig.t
    beat = 24000  # frames: 120 bpm, the clock's tempo
    rig.watch.found = (0, replace(grid(120.0, 0.0), downbeat=float(beat), bar_confidence=0.3))
    pieces = []
    for _ in range(120):  # 12 s, a piece every 0.1 s heard half a second later
        place = round((t.now - 10.0 + 0.5) * RATE)  # stream frame f is heard at 10 + f / RATE
        pieces.append(lock.decide(place, heard_at=t.now + 0.5))
        t.now += 0.1
    assert all(p.skip == 0.0 and p.ratio == pytest.approx(1.0) for p in pieces)
    moved = [p for p in pieces if p.move]
    assert moved == [Piece(pytest.approx(1.0), 0.0, beat, 4 * beat)]
    assert lock.state() == "locked"


def test_the_stream_waiting_is_cut_in_bars_while_a_clocks_bars_hold_them_else_in_beats():
    rig = Rig(locked=False)
    watch, lock = rig.watch, rig.lock
    beats = grid(120.0, 0.0)
    watch.found = (0, beats)
    assert lock.cut_unit(1000) == pytest.approx(0.5)  # no clock: a beat
    lock.lock_to(rig.clock)
    assert lock.cut_unit(1000) == pytest.approx(0.5)  # its downbeat not known: a beat
    watch.found = (0, replace(beats, downbeat=24000.0, bar_confidence=0.3))
    assert lock.cut_unit(1000) == pytest.approx(2.0)  # a bar


def test_no_clock_no_lock():
    watch = Published()
    watch.found = (0, grid(120.0, 0.0))
    lock = BeatLock(watch, RATE, 0.06, lambda: 120.0)  # type: ignore[arg-type]
    assert lock.decide(1000, heard_at=1.0) == Piece(None)
    assert lock.state() == "" and lock.error() == 0.0


def test_a_new_stream_waits_for_its_beats_and_may_be_found_to_begin_a_chunk_later():
    """Locked to the old stream, the first frame of a new one waits (the feeder loops the last
    bar) until its grid is steady; when the watch finds that the stream began a chunk after the
    one marked (that chunk was still the old context's), that chunk plays on the old grid and
    the new stream's grid counts from where it really began."""
    rig = Rig()
    watch, bpm, t, lock = rig.watch, rig.bpm, rig.t, rig.lock
    lock.first_chunk()
    old = grid(124.8, anchor=10000.0)
    watch.found = (0, old)
    lock.decide(48000, heard_at=t.now + 2.0)  # locked to the old stream
    assert not lock.waits(96000)  # (no new stream yet)
    bpm[0] = 126.0
    lock.new_stream(96000)
    assert lock.waits(96000) and not lock.waits(90000)  # its first frame waits, no other
    unsteady = Grid(period=60 * RATE / 131, anchor=100000.0, rate=RATE, spread=0.02, beats=5)
    watch.found = (96000, unsteady)
    assert lock.waits(96000)  # a grid, but not a steady pulse
    new = grid(131.04, anchor=200000.0)
    watch.moved, watch.found = {96000: 192000}, (192000, new)  # it began a chunk later
    assert not lock.waits(96000)  # the chunk marked plays, on the old grid
    assert lock.stream_start == 192000
    assert lock.grid_at(150000) is old and lock.grid_at(192000) is new
    assert not lock.waits(192000)  # steady: the new stream comes in


def test_a_first_stream_or_an_unlocked_one_never_waits():
    watch = Published()
    lock = BeatLock(watch, RATE, 0.06, lambda: 120.0)  # type: ignore[arg-type]
    lock.new_stream(0)
    assert not lock.waits(0)  # no clock
    lock.lock_to(InternalClock(120.0))
    assert not lock.waits(0)  # nothing before it was locked
