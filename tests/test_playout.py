"""The ring and the playout logic the audio callback runs (driven here as a callback would).

Every playout test runs twice: against the Python ``Playout`` and against the C playout that
is the JACK callback (``playout_native.c``), which must behave identically.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from oscserver.adapters.audio import playout_native
from oscserver.adapters.audio.base import RingSink, pcm16_to_float
from oscserver.adapters.audio.playout import SHORT_FADE, Playout
from oscserver.adapters.audio.ring import StereoRing
from oscserver.adapters.audio.shared import F, SharedBlock, last_cycle

RAMP = 32
IMPLEMENTATIONS = {"python": Playout, "c": playout_native.NativePlayout}


@pytest.fixture(autouse=True, params=sorted(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest) -> None:
    Sink.playout_class = IMPLEMENTATIONS[request.param]


class Sink(RingSink):
    """The producer side at 48 kHz with no device: the test plays the callback."""

    playout_class: type[Playout] | type[playout_native.NativePlayout] = Playout

    def __init__(self, preroll_frames: int = 0, capacity: int = 10_000) -> None:
        super().__init__(SharedBlock(capacity), preroll_seconds=preroll_frames / 48000)
        self._rate_known(48000)
        self.playout = self.playout_class(self.block, RAMP)

    description = "test"

    def close(self) -> None:
        pass


def ones(n: int, value: float = 1.0) -> np.ndarray:
    return np.full((2, n), value, dtype=np.float32)


def ramp(start: int, n: int) -> np.ndarray:
    values = np.arange(start, start + n, dtype=np.float32)
    return np.vstack([values, -values])


def period(sink: Sink, frames: int = 16) -> np.ndarray:
    left = np.full(frames, 99.0, dtype=np.float32)  # garbage the callback must overwrite
    right = np.full(frames, 99.0, dtype=np.float32)
    sink.playout.process(left, right, frames)
    assert np.array_equal(left, right) or np.array_equal(left, -right)
    return left


def play(sink: Sink, frames: int) -> np.ndarray:
    return np.concatenate([period(sink) for _ in range(frames // 16)])


def test_ring_preserves_samples_across_wraparound():
    ring = StereoRing(SharedBlock(10))
    out_l = np.zeros(4, dtype=np.float32)
    out_r = np.zeros(4, dtype=np.float32)
    got: list[float] = []
    written = 0
    for _ in range(8):
        written += ring.write(ramp(written, 3))
        n = ring.read_into(out_l, out_r, 4)
        got.extend(out_l[:n])
        assert np.array_equal(out_r[:n], -out_l[:n])
    assert got == list(range(len(got)))
    assert len(got) == written


def test_ring_drops_what_does_not_fit_and_discard_empties_it():
    ring = StereoRing(SharedBlock(8))
    assert ring.write(ramp(0, 12)) == 8
    assert ring.available() == 8 and ring.space() == 0
    ring.discard()
    assert ring.available() == 0


def test_shared_block_is_seen_by_a_second_attachment():
    block = SharedBlock(64, shared=True)
    try:
        other = SharedBlock(64, name=block.name)
        StereoRing(block).write(ramp(5, 10))
        left = np.zeros(10, dtype=np.float32)
        right = np.zeros(10, dtype=np.float32)
        assert StereoRing(other).read_into(left, right, 10) == 10
        assert list(left) == list(range(5, 15))
        assert block.header[F.READ] == 10  # the reader's position is shared too
        other.close()
    finally:
        block.close(unlink=True)


def test_gate_closed_is_silence_and_consumes_nothing():
    sink = Sink()
    sink.write(ones(50))
    assert not period(sink).any()
    assert sink.ring.available() == 50


def test_play_waits_for_the_preroll_then_fades_in_then_plays_the_samples():
    sink = Sink(preroll_frames=32)
    sink.set_playing(True)
    sink.write(ones(400))
    out = play(sink, 160)
    assert not out[:32].any()  # waited 32 frames of pre-roll
    fade = out[32 : 32 + RAMP]
    assert np.all(np.diff(fade) > 0) and fade[-1] == 1.0  # rising to full level
    assert np.all(out[32 + RAMP :] == 1.0)  # then the stream, untouched


def test_pause_fades_out_then_drops_the_rest_and_play_resumes_with_new_audio():
    sink = Sink()
    sink.set_playing(True)
    sink.write(ones(1000))
    play(sink, 64)  # past the fade-in
    sink.set_playing(False)
    out = play(sink, 64)
    assert np.all(np.diff(out[:RAMP]) < 0) and out[0] > 0.9  # fading from full level
    assert not out[RAMP:].any()
    assert sink.ring.available() == 0  # the paused audio is gone
    sink.write(ones(200, 0.5))
    sink.set_playing(True)
    out = play(sink, 96)
    assert out[RAMP + 16 :].tolist() == [0.5] * (96 - RAMP - 16)
    assert sink.stats().underruns == 0


def test_underrun_fades_plays_silence_counts_and_rebuffers():
    sink = Sink(preroll_frames=16)
    sink.set_playing(True)
    sink.write(ones(400))
    out = play(sink, 480)
    arrived = out[16:416]  # after the pre-roll: 400 frames, then nothing
    assert np.all(arrived[RAMP:-SHORT_FADE] == 1.0)
    end = arrived[-SHORT_FADE:]
    assert np.all(np.diff(end) < 0) and end[0] > 0.95 and end[-1] < 0.02  # a 2 ms fade
    assert not out[416:].any()
    assert sink.stats().underruns == 1
    sink.write(ones(100))
    out = play(sink, 64)
    assert not out[:16].any() and out[16] < 0.1  # pre-roll again, then a fresh fade-in


def test_overflow_is_counted():
    sink = Sink(capacity=100)
    sink.write(ones(150))
    assert sink.stats().overflow_frames == 50


def test_high_water_mark_bounds_the_waiting_audio():
    sink = Sink(capacity=20 * 48000)
    for _ in range(7):
        sink.write(ones(2 * 48000))  # a burst of 14 s
    assert sink.ring.available() == 10 * 48000
    assert sink.stats().overflow_frames == 4 * 48000


def test_callback_costs_are_recorded():
    sink = Sink()
    play(sink, 160)
    assert sink.block.header[F.CALLBACKS] == 10
    assert 0 < sink.block.cost_percentile(99) < 5.0


def test_each_cycle_records_when_it_began_and_where_the_reader_stands():
    sink = Sink()
    h = sink.block.header
    sink.write(ones(1000))
    sink.set_playing(True)
    before = time.monotonic()
    period(sink, 64)
    after = time.monotonic()
    cycle = last_cycle(h, 48000)
    assert cycle is not None
    assert before <= cycle.began <= after
    assert (cycle.read, cycle.frames) == (int(h[F.READ]), 64) == (64, 64)
    assert int(h[F.CYCLE_SEQ]) % 2 == 0
    # The frame at place 300 goes out 300 - 64 frames after the next cycle begins.
    expected = cycle.began + 64 / 48000 + (300 - 64) / 48000
    assert sink.heard_at(300) == pytest.approx(expected, abs=1e-9)
    assert sink.heard_at(1000) == pytest.approx(cycle.began + 1000 / 48000, abs=1e-9)
    # Audio discarded since the cycle: the next one reads from the discard.
    sink.ring.discard()
    sink.write(ones(100))
    assert sink.heard_at(1000) == pytest.approx(cycle.began + 64 / 48000, abs=1e-9)


def test_a_cycle_half_written_or_long_past_is_not_used():
    sink = Sink()
    h = sink.block.header
    sink.write(ones(1000))
    assert last_cycle(h, 48000) is None  # none yet
    period(sink, 64)
    h[F.CYCLE_SEQ] += 1  # as while the callback writes
    assert last_cycle(h, 48000) is None
    h[F.CYCLE_SEQ] += 1
    assert last_cycle(h, 48000) is not None
    h[F.CYCLE_NS] -= 10**9  # a second ago: the device stopped; what waits is the estimate
    read = sink.ring.positions()[0]
    now = time.monotonic()
    assert now <= sink.heard_at(read) <= time.monotonic()
    assert sink.heard_at(read + 480) - sink.heard_at(read) == pytest.approx(0.01, abs=1e-3)


def test_resampling_sink_writes_at_the_device_rate():
    sink = Sink()
    sink._rate_known(44100)
    sink.write(ones(4800))
    sink.write(ones(4800))
    # soxr holds back its filter delay (under 1000 frames) until more audio comes.
    assert 8820 - 1000 < sink.ring.available() <= 8820


def test_pcm16_to_float_stereo_and_mono():
    stereo = np.array([[0, 16384], [-32768, 32767]], dtype="<i2").tobytes()
    out = pcm16_to_float(stereo, 2)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert out[0].tolist() == [0.0, -1.0] and out[1, 0] == 0.5
    mono = pcm16_to_float(np.array([16384, -16384], dtype="<i2").tobytes(), 1)
    assert mono.tolist() == [[0.5, -0.5], [0.5, -0.5]]
