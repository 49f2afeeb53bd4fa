"""The feeder stretching just in time (``lead``): the stream waits as it came, and only a
fraction of a second is stretched ahead of the output; cuts are made in the stream waiting."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import wait_for

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import JIT_PIECE, StretchingSink
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch

pytestmark = pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")

LEAD = 0.3


def chunk(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * 48000)) / 48000
    mono = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.vstack([mono, mono])


def feeder(**options) -> tuple[NullSink, StretchingSink]:
    inner = NullSink(preroll_seconds=0.0)  # plays at real time
    sink = StretchingSink(inner, Settings(target=2.0), lead=LEAD, **options)
    sink.bpm = lambda: 120.0  # a beat is 0.5 s
    sink.set_playing(True)
    return inner, sink


def test_only_the_lead_is_stretched_ahead_and_the_rest_waits_as_it_came():
    inner, sink = feeder()
    try:
        sink.write(chunk(4.0))
        began = time.monotonic()
        levels = []
        while time.monotonic() - began < 1.5:
            levels.append(inner.buffered_seconds())
            time.sleep(0.02)
        # The output holds about the lead (a piece and the stretcher's own latency more at
        # most), never the whole chunk; the rest waits unstretched, and counts as buffered.
        assert max(levels[10:]) < LEAD + 2 * JIT_PIECE / 48000 + 0.05
        assert min(levels[10:]) > LEAD - 0.1
        assert sink.stream_seconds < 4.0 - 1.5 - LEAD + 0.2
        played = time.monotonic() - began
        assert sink.buffered_seconds() == pytest.approx(4.0 - played, abs=0.15)
        wait_for(lambda: sink.stream_seconds == pytest.approx(4.0), 10)
    finally:
        sink.close()


def test_a_snap_cuts_the_waiting_stream_in_whole_beats_and_says_when_the_chunk_is_heard():
    inner, sink = feeder()
    heard = []
    try:
        sink.write(chunk(4.0))
        wait_for(lambda: inner.buffered_seconds() > LEAD - 0.05)
        written = time.monotonic()
        sink.write_fresh(chunk(2.0), beat=0.5, heard=heard.append)
        wait_for(lambda: heard, 5)
        # What waited (about 3.6 s of stream) was cut to less than a beat beyond the margin,
        # so the chunk is heard within the lead and a beat of the change, not seconds later.
        assert sink.snaps == 1 and sink.snapped_seconds % 0.5 == 0.0
        assert sink.snapped_seconds >= 3.0
        assert heard[0] - written < LEAD + 0.5 + 0.15 + 0.1
        assert sink.latencies[-1][1] < LEAD + 0.5 + 0.15 + 0.1
    finally:
        sink.close()


def test_a_burst_is_cut_back_to_the_target_in_the_waiting_stream():
    _, sink = feeder()
    try:
        sink.write(chunk(6.0))  # a burst: 6 s at once, 4 s above the target
        time.sleep(0.2)
        assert sink.skipped_seconds == 0.0  # the first chunk went in whole (nothing waited)
        sink.write(chunk(2.0))
        wait_for(lambda: sink.latencies and len(sink.latencies) == 2)
        assert sink.skipped_seconds >= 3.0 and sink.skipped_seconds % 0.5 == 0.0
        _, ahead, after_bridge = sink.latencies[-1]
        assert 2.0 - 0.25 <= ahead < 2.0 + 0.25 + 0.05 and not after_bridge
    finally:
        sink.close()


def test_a_pause_drops_the_waiting_stream():
    inner, sink = feeder()
    try:
        sink.write(chunk(4.0))
        wait_for(lambda: inner.buffered_seconds() > LEAD - 0.05)
        sink.set_playing(False)
        wait_for(lambda: sink.buffered_seconds() == 0.0, 5)
        sink.set_playing(True)
        sink.write(chunk(1.0))
        wait_for(lambda: sink.stream_seconds > 4.0 - 3.0, 5)  # the new stream plays
    finally:
        sink.close()
