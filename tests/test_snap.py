"""Snapping to a change: the ring's waiting audio is cut back in whole beats and crossfaded into
the chunk that first reflects the change (RingSink.write_fresh), the callback driven by hand as
JACK would, with the Python and the C playout."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import wait_for

from oscserver.adapters.audio import playout_native
from oscserver.adapters.audio.base import SNAP_MARGIN, RingSink
from oscserver.adapters.audio.playout import Playout
from oscserver.adapters.audio.shared import SharedBlock
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch
from oscserver.dsp.bridge import FADE

RATE = 48000
BEAT = 0.5  # 120 bpm
IMPLEMENTATIONS = {"python": Playout, "c": playout_native.NativePlayout}


class Sink(RingSink):
    description = "test"

    def __init__(self, playout: type) -> None:
        super().__init__(SharedBlock(10 * RATE), preroll_seconds=0.0)
        self._rate_known(RATE)
        self.playout = playout(self.block, 32)

    def close(self) -> None:
        pass

    def play(self, frames: int, period: int = 256) -> np.ndarray:
        out = []
        for start in range(0, frames, period):
            n = min(period, frames - start)
            left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
            self.playout.process(left, right, n)
            out.append(left)
        return np.concatenate(out)


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def sink(request: pytest.FixtureRequest) -> Sink:
    return Sink(IMPLEMENTATIONS[request.param])


def counting(start: int, n: int) -> np.ndarray:
    """Frames whose value is their index in the stream (scaled), so positions can be read back."""
    values = (np.arange(start, start + n, dtype=np.float64) * 1e-6).astype(np.float32)
    return np.vstack([values, values])


def started(sink: Sink, seconds: float) -> None:
    """``seconds`` of the old stream written, the first 0.5 s of it played."""
    sink.set_playing(True)
    sink.write(counting(0, round(seconds * RATE)))
    sink.play(RATE // 2)


def test_a_snap_drops_whole_beats_of_what_waits_and_plays_the_change_after_the_margin(sink):
    started(sink, 3.5)  # 3 s wait: 5 whole beats can go and leave 0.5 s >= the margin
    times: list[float] = []
    fresh = np.full((2, 2 * RATE), 0.25, dtype=np.float32)
    before = time.monotonic()
    sink.write_fresh(fresh, BEAT, times.append)
    after = time.monotonic()

    assert sink.snaps == 1 and sink.snapped_seconds == pytest.approx(5 * BEAT)
    assert sink.buffered_seconds() == pytest.approx(0.5 + 2.0)
    heard = sink.play(round(1.5 * RATE))  # (not to the end: the ring's last frames fade out)
    # The old stream plays on untouched up to the cut, half a second on...
    assert np.array_equal(heard[: RATE // 2], counting(RATE // 2, RATE // 2)[0])
    # ...then the change, crossfaded in over 20 ms, then exactly as it came.
    assert np.array_equal(heard[RATE // 2 + FADE :], fresh[0, FADE:RATE])
    join = heard[RATE // 2 - 1 : RATE // 2 + FADE + 1]
    assert np.all(np.abs(np.diff(join)) < 0.25 / FADE * 2)  # a ramp, not a step
    # The caller is told when its first frame is heard: half a second after the write.
    assert before + 0.5 <= times[0] <= after + 0.5


def test_a_beat_that_does_not_fit_before_the_margin_is_not_cut(sink):
    started(sink, 0.5 + SNAP_MARGIN + BEAT - 0.01)
    sink.write_fresh(np.full((2, RATE), 0.25, dtype=np.float32), BEAT, None)
    assert sink.snaps == 0
    heard = sink.play(round((SNAP_MARGIN + BEAT - 0.01) * RATE))
    assert np.array_equal(heard, counting(RATE // 2, len(heard))[0])  # all the old, in order


def test_without_a_beat_the_change_plays_after_everything_waiting(sink):
    started(sink, 2.5)
    times: list[float] = []
    before = time.monotonic()
    sink.write_fresh(np.full((2, RATE), 0.25, dtype=np.float32), None, times.append)
    assert sink.snaps == 0
    assert sink.buffered_seconds() == pytest.approx(3.0)
    assert times[0] >= before + 2.0
    heard = sink.play(round(2.9 * RATE))
    assert np.array_equal(heard[: 2 * RATE], counting(RATE // 2, 2 * RATE)[0])
    assert np.all(heard[2 * RATE :] == 0.25)


def test_nothing_is_cut_while_the_output_does_not_play(sink):
    sink.write(counting(0, 3 * RATE))  # the gate is closed: nothing plays, nothing is cut
    sink.write_fresh(np.full((2, RATE), 0.25, dtype=np.float32), BEAT, None)
    assert sink.snaps == 0
    assert sink.buffered_seconds() == pytest.approx(4.0)


def test_a_snap_between_two_tones_has_no_click(sink):
    t = np.arange(4 * RATE) / RATE
    old = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sink.set_playing(True)
    sink.write(np.vstack([old, old]))
    sink.play(RATE // 2)
    new = (0.5 * np.sin(2 * np.pi * 330 * t[: 2 * RATE] + 1.0)).astype(np.float32)
    sink.write_fresh(np.vstack([new, new]), BEAT, None)
    assert sink.snaps == 1
    heard = sink.play(2 * RATE)
    music = np.abs(np.diff(old[: RATE // 2])).max()
    # A cut would step by up to the tones' whole swing (1.0); the crossfade of two unrelated
    # tones swells by up to 3 dB (equal power), so its steps stay within 1.5 x the music's.
    assert np.abs(np.diff(heard)).max() <= 1.5 * music


def tone(seconds: float, hz: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (0.4 * np.sin(2 * np.pi * hz * t + phase)).astype(np.float32)
    return np.vstack([mono, mono])


def loudness_of(audio: np.ndarray, hz: float) -> np.ndarray:
    """How much of a tone is in each 10 ms block (a one-bin DFT)."""
    block = RATE // 100
    n = len(audio) // block * block
    t = np.arange(n) / RATE
    probe = np.exp(-2j * np.pi * hz * t)
    return np.abs((audio[:n] * probe).reshape(-1, block).sum(axis=1)) / block * 2


@pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")
@pytest.mark.parametrize("snap", [True, False])
def test_the_continuity_feeder_snaps_to_a_change_or_plays_it_after_what_waits(snap):
    inner = Sink(Playout)
    # A target far above what it will hold: the ratio stays 1 and nothing is cut for the level.
    feeder = StretchingSink(inner, Settings(target=20.0), bridge_limit=0)
    try:
        feeder.set_playing(True)
        feeder.write(tone(2.0, 440))
        feeder.write(tone(2.0, 440, phase=2 * np.pi * 440 * 2.0))
        wait_for(lambda: feeder.stream_seconds == 4.0)
        before = inner.play(RATE // 2)
        times: list[float] = []
        sent = time.monotonic()
        feeder.write_fresh(tone(2.0, 330), BEAT if snap else None, times.append)
        wait_for(lambda: feeder.stream_seconds == 6.0 and times)
        heard = np.concatenate([before, inner.play(round(5.0 * RATE))])
    finally:
        feeder.close()
    old, new = loudness_of(heard, 440), loudness_of(heard, 330)
    switch = int(np.argmax(new > old)) / 100  # seconds into the recording
    waited = 3.5 - feeder._stretcher.held / RATE - FADE / RATE  # in the ring at the write
    if snap:
        # Cut back in whole beats: at most one beat (and the margin) of the old is heard.
        assert inner.snaps == 1
        assert inner.snapped_seconds == pytest.approx(round(waited / BEAT - 0.5) * BEAT, abs=BEAT)
        assert 0.5 + SNAP_MARGIN <= switch <= 0.5 + SNAP_MARGIN + BEAT + 0.03
    else:
        assert inner.snaps == 0
        # After all of the old; Rubber Band's analysis window (85 ms) smears the boundary.
        assert switch == pytest.approx(4.0, abs=0.06)
    # The feeder said when it would be heard, against the clock the test played it by.
    assert times[0] - sent == pytest.approx(switch - 0.5, abs=0.06)
    assert np.abs(np.diff(heard[RATE // 4 : round((switch + 1.0) * RATE)])).max() < 0.06


def test_audio_taken_back_beyond_the_margin_gives_its_head_and_the_next_write_goes_there(sink):
    started(sink, 1.5)  # 1 s waits
    taken, head = sink.take_back(0.2, FADE)
    assert taken == round(0.8 * RATE) and sink.buffered_seconds() == pytest.approx(0.2)
    assert np.array_equal(head, counting(round(0.7 * RATE), FADE))  # what was to play next
    sink.write(np.full((2, RATE), 0.25, dtype=np.float32))
    heard = sink.play(round(0.5 * RATE))
    assert np.array_equal(heard[: round(0.2 * RATE)], counting(RATE // 2, round(0.2 * RATE))[0])
    assert np.all(heard[round(0.2 * RATE) :] == 0.25)
    # Never within the margin, and nothing while the output does not play.
    assert sink.take_back(0.0, FADE)[0] == round((1 - 0.3 - SNAP_MARGIN) * RATE)
    sink.set_playing(False)
    assert sink.take_back(0.2, FADE) is None
