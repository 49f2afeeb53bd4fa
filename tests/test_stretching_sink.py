"""The stretching feeder's bookkeeping, in front of an in-memory sink: order, pauses, what it
counts as buffered, and that a failure of the stretcher never loses the music."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from audio_analysis import worst_click
from conftest import wait_for

from oscserver.adapters.audio.base import AudioSink, SinkStats
from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch
from oscserver.dsp.bridge import FADE

pytestmark = pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")


class Memory(AudioSink):
    """Keeps what is written; plays nothing."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.playing: list[bool] = []
        self.closed = False

    @property
    def sample_rate(self) -> int:
        return 48000

    @property
    def description(self) -> str:
        return "memory"

    def write(self, frames: np.ndarray, marks=None) -> None:
        self.chunks.append(frames)

    def set_playing(self, playing: bool) -> None:
        self.playing.append(playing)

    def stats(self) -> SinkStats:
        frames = sum(c.shape[1] for c in self.chunks)
        return SinkStats(48000, frames, 0, 0, 0, 0.0, True)

    def close(self) -> None:
        self.closed = True

    @property
    def frames(self) -> int:
        return sum(c.shape[1] for c in self.chunks)


def chunk(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(round(seconds * 48000)) / 48000
    mono = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.vstack([mono, mono])


def test_chunks_come_out_stretched_in_order_and_waiting_audio_counts_as_buffered():
    inner = Memory()  # never drains: a target above all it will hold, so nothing is cut
    sink = StretchingSink(inner, Settings(target=10.0))
    try:
        for _ in range(3):
            sink.write(chunk())
        assert sink.buffered_seconds() > 5.0  # queued audio is waiting to be heard too
        wait_for(lambda: sink.stream_seconds == pytest.approx(6.0))
        # Everything is out but what the stretcher holds (its own latency) and the 20 ms held
        # back for the next crossfade.
        waiting = sink._stretcher.held + sink._splicer.held
        assert sink._splicer.held == FADE
        assert inner.frames + waiting == pytest.approx(6.0 * 48000, abs=480)
        assert sink.stats().buffered_frames == pytest.approx(6.0 * 48000, abs=480)
        assert sink.stats().stretch_ratio == 1.0  # the level was never low for a window
    finally:
        sink.close()
    assert inner.closed


def test_a_pause_drops_what_waits_and_starts_afresh():
    inner = Memory()
    sink = StretchingSink(inner, Settings(target=2.0))
    gate = threading.Event()
    real = sink._stretch

    def slow_stretch(generation, frames, place, fresh):
        gate.wait(10)
        real(generation, frames, place, fresh)

    sink._stretch = slow_stretch  # hold the thread on the first chunk
    try:
        for _ in range(4):
            sink.write(chunk())
        sink.set_playing(False)
        gate.set()
        wait_for(lambda: sink._queue.empty())
        time.sleep(0.2)
        assert inner.frames == 0  # nothing made before the pause reaches the output
        assert inner.playing == [False]
        sink.set_playing(True)
        sink.write(chunk())
        wait_for(lambda: inner.frames > 0)
    finally:
        sink.close()


def test_a_failing_stretcher_lets_the_chunk_through_unstretched(caplog):
    inner = Memory()
    sink = StretchingSink(inner, Settings(target=2.0))

    def broken(frames, ratio):
        raise RuntimeError("boom")

    sink._stretcher.process = broken
    try:
        sink.write(chunk(1.0))
        wait_for(lambda: inner.frames == 48000 - FADE)  # all but the 20 ms held for a join
        sink.write(chunk(1.0))
        wait_for(lambda: inner.frames == 2 * 48000 - FADE)  # the thread is still alive
    finally:
        sink.close()
    assert "time stretching failed; this chunk plays unstretched" in caplog.text


class Draining(Memory):
    """Plays at real time: what it holds drains with the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.start = time.monotonic()

    def buffered_seconds(self) -> float:
        return max(0.0, self.frames / 48000 - (time.monotonic() - self.start))


def test_a_late_stream_is_bridged_with_its_last_bar_and_picked_up_when_back():
    inner = Draining()
    sink = StretchingSink(inner, Settings(target=2.0), bridge_limit=1.5)
    sink.bpm = lambda: 240.0  # a bar is 1 s
    try:
        sink.set_playing(True)
        sink.write(chunk(2.0))
        wait_for(lambda: sink.bridged_seconds >= 0.5, 10)  # the stream is late: the bar loops
        assert sink.bridges == 1
        assert inner.buffered_seconds() > 0.0  # the output never ran dry
        wait_for(lambda: sink.bridged_seconds >= 1.5, 10)
        time.sleep(0.5)
        assert sink.bridged_seconds == 1.5  # the limit: then silence, as before
        sink.write(chunk(2.0))
        wait_for(lambda: sink.stream_seconds == 4.0)
        assert sink._gap == 0.0 and not sink._looper.looping  # back to the stream
        assert sink.stats().bridged_seconds == 1.5
    finally:
        sink.close()


def test_a_bridge_soon_after_another_loops_what_was_heard_without_a_jump():
    """The second bridge's bar spans the first bridge and the stream's return: it must loop
    them as they were heard, not the music before the first bridge butted against the music
    after it (a click at every turn of the loop)."""
    inner = Draining()
    sink = StretchingSink(inner, Settings(target=2.0), bridge_limit=5.0)
    sink.bpm = lambda: 240.0  # a bar is 1 s
    t = np.arange(round(2.5 * 48000)) / 48000
    mono = (0.3 * np.sin(2 * np.pi * 221.3 * t)).astype(np.float32)  # not whole in a bar
    stream = np.vstack([mono, mono])
    try:
        sink.set_playing(True)
        sink.write(stream[:, : 2 * 48000])
        wait_for(lambda: sink.bridged_seconds >= 0.3, 10)
        sink.write(stream[:, 2 * 48000 :])  # half a bar more, then late again
        wait_for(lambda: sink.bridges == 2, 10)
        first = sink.bridged_seconds
        wait_for(lambda: sink.bridged_seconds >= first + 1.5, 10)  # the loop turned
        heard = np.concatenate(list(inner.chunks), axis=1)
    finally:
        sink.close()
    # A tone has no lone steps (looping the music before the first bridge butted against
    # the music after it: 7 times the steps around it).
    click, at = worst_click(heard)
    assert click <= 1.5, (click, at / 48000)


def test_no_bridge_while_paused_or_before_there_is_music_to_loop():
    inner = Draining()
    sink = StretchingSink(inner, Settings(target=2.0))
    try:
        sink.set_playing(True)
        time.sleep(0.3)  # nothing played yet: nothing to loop
        sink.write(chunk(2.0))
        wait_for(lambda: sink.stream_seconds == 2.0)
        sink.set_playing(False)
        time.sleep(2.5)  # drained, but paused
        assert sink.bridged_seconds == 0.0
    finally:
        sink.close()


def test_a_burst_far_above_the_target_is_cut_back_to_it_in_whole_beats():
    inner = NullSink(preroll_seconds=0.0)  # plays at real time, and can cut what waits
    sink = StretchingSink(inner, Settings(target=2.0))
    sink.bpm = lambda: 120.0  # a beat is 0.5 s
    try:
        sink.set_playing(True)
        sink.write(chunk(6.0))  # a burst: 6 s at once, 4 s above the target
        wait_for(lambda: sink.stream_seconds == 6.0)
        assert sink.skipped_seconds == 0.0  # the first chunk went in whole (nothing waited)
        assert sink.latencies[-1][1] < 0.1
        sink.write(chunk(2.0))
        wait_for(lambda: sink.stream_seconds == 8.0)
        # The older audio waiting was cut in whole beats, to within a quarter of a second of
        # the target: that is how long the new chunk waits to be heard.
        assert sink.skipped_seconds >= 3.0 and sink.skipped_seconds % 0.5 == 0.0
        assert inner.snaps == 1
        _, ahead, after_bridge = sink.latencies[-1]
        assert 2.0 - 0.25 <= ahead < 2.0 + 0.25 + 0.05 and not after_bridge
        assert sink.buffered_seconds() < 2.0 + 2.0 + 0.55  # (less what played since)
    finally:
        sink.close()


def test_a_short_piece_just_after_a_chunk_is_not_taken_for_a_burst():
    """A rotation's crossfade ends in a short write right after a chunk, at the top of the
    buffer's sawtooth: what the next chunk will find is the level less a usual chunk."""
    inner = NullSink(preroll_seconds=0.0)
    sink = StretchingSink(inner, Settings(target=2.0))
    sink.bpm = lambda: 120.0
    try:
        sink.set_playing(True)
        for _ in range(3):  # 1 s chunks: the last finds 2 s waiting, the target
            sink.write(chunk(1.0))
        sink.write(chunk(0.05))  # 3 s wait before it, 2 s once the next chunk is due
        wait_for(lambda: abs(sink.stream_seconds - 3.05) < 1e-9)
        assert sink.latencies[-1][1] > 2.5  # it waits at the top of the sawtooth
        assert sink.skipped_seconds == 0.0 and inner.snaps == 0
    finally:
        sink.close()


def test_a_chunk_near_the_target_is_never_cut():
    inner = Draining()
    sink = StretchingSink(inner, Settings(target=2.0))
    try:
        sink.set_playing(True)
        for _ in range(3):
            sink.write(chunk(1.0))
            time.sleep(0.9)
        wait_for(lambda: sink.stream_seconds == 3.0)
        assert sink.skipped_seconds == 0.0
    finally:
        sink.close()
