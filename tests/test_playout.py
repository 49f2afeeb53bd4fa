"""The ring and the playout logic the audio callback runs (driven here as the callback would)."""

from __future__ import annotations

import numpy as np

from oscserver.adapters.audio.base import Playout, pcm16_to_float
from oscserver.adapters.audio.ring import StereoRing


def ramp(start: int, n: int) -> np.ndarray:
    values = np.arange(start, start + n, dtype=np.float32)
    return np.vstack([values, -values])


def period(playout: Playout, frames: int) -> tuple[np.ndarray, np.ndarray]:
    left = np.full(frames, 99.0, dtype=np.float32)  # garbage the callback must overwrite
    right = np.full(frames, 99.0, dtype=np.float32)
    playout.process(left, right, frames)
    return left, right


def test_ring_preserves_samples_across_wraparound():
    ring = StereoRing(10)
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
    ring = StereoRing(8)
    assert ring.write(ramp(0, 12)) == 8
    assert ring.available() == 8 and ring.space() == 0
    ring.discard()
    assert ring.available() == 0
    left = np.zeros(8, dtype=np.float32)
    right = np.zeros(8, dtype=np.float32)
    assert ring.read_into(left, right, 8) == 0


def test_gate_closed_is_silence_and_consumes_nothing():
    p = Playout(capacity=100, preroll=0)
    p.write(ramp(1, 50))
    left, right = period(p, 16)
    assert not left.any() and not right.any()
    assert p.ring.available() == 50


def test_preroll_then_samples_in_order():
    p = Playout(capacity=1000, preroll=32)
    p.set_gate(True)
    p.write(ramp(1, 100))
    first, _ = period(p, 16)  # waited 16 < 32
    second, _ = period(p, 16)  # waited 32: plays
    assert not first.any()
    assert list(second) == list(range(1, 17))
    third, third_r = period(p, 16)
    assert list(third) == list(range(17, 33)) and list(third_r) == [-v for v in third]


def test_underrun_plays_what_there_is_then_silence_counts_and_rebuffers():
    p = Playout(capacity=1000, preroll=0)
    p.set_gate(True)
    p.write(ramp(1, 10))
    left, _ = period(p, 16)
    assert list(left[:10]) == list(range(1, 11)) and not left[10:].any()
    assert p.underruns == 1
    silent, _ = period(p, 16)  # dry: silence, no second count while rebuffering
    assert not silent.any() and p.underruns == 1


def test_closing_the_gate_drops_queued_audio_so_pause_is_silent_at_once():
    p = Playout(capacity=1000, preroll=0)
    p.set_gate(True)
    p.write(ramp(1, 500))
    period(p, 16)
    p.set_gate(False)
    p.set_gate(True)
    left, _ = period(p, 16)
    assert not left.any()
    assert p.underruns == 0


def test_overflow_is_counted():
    p = Playout(capacity=100, preroll=0)
    p.write(ramp(0, 150))
    assert p.overflow_frames == 50


def test_pcm16_to_float_stereo_and_mono():
    stereo = np.array([[0, 16384], [-32768, 32767]], dtype="<i2").tobytes()
    out = pcm16_to_float(stereo, 2)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert out[0].tolist() == [0.0, -1.0] and out[1, 0] == 0.5
    mono = pcm16_to_float(np.array([16384, -16384], dtype="<i2").tobytes(), 1)
    assert mono.tolist() == [[0.5, -0.5], [0.5, -0.5]]
