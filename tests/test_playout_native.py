"""The C playout (the JACK callback) against the Python one: same samples, same counters.

tests/test_playout.py runs every behaviour test on both; this drives both with the same long
random sequence of producer actions (writes, play, pause, discards) and callback periods, and
requires bit-identical output, so that the figures and tests of one hold for the other.
"""

from __future__ import annotations

import numpy as np
import pytest

from oscserver.adapters.audio import playout_native
from oscserver.adapters.audio.playout import Playout
from oscserver.adapters.audio.ring import StereoRing
from oscserver.adapters.audio.shared import COST_BINS, F, SharedBlock


def test_the_c_playout_is_built():
    # `make test` installs a C compiler and builds it; without it the JACK callback is Python.
    assert playout_native.available(), "the C playout was not built: see pyproject.toml"


class Side:
    """One block, its producer-side ring and a playout."""

    def __init__(self, cls: type, capacity: int, ramp: int, preroll: int) -> None:
        self.block = SharedBlock(capacity)
        self.ring = StereoRing(self.block)
        self.h = self.block.header
        self.h[F.PREROLL] = preroll
        self.playout = cls(self.block, ramp)

    def gate(self, playing: bool) -> None:  # as RingSink.set_playing does
        if playing and not self.h[F.GATE]:
            self.h[F.OPENED] += 1
            self.h[F.GATE] = 1
        elif not playing and self.h[F.GATE]:
            self.h[F.PAUSE_MARK] = self.h[F.WRITE]
            self.h[F.GATE] = 0

    def period(self, frames: int) -> np.ndarray:
        out = np.full((2, frames), 7.0, dtype=np.float32)
        self.playout.process(out[0], out[1], frames)
        return out


@pytest.mark.parametrize("seed", range(6))
def test_random_sessions_give_bit_identical_output(seed: int):
    rng = np.random.default_rng(seed)
    capacity, ramp, preroll = 4096, int(rng.integers(1, 400)), int(rng.integers(0, 700))
    py = Side(Playout, capacity, ramp, preroll)
    c = Side(playout_native.NativePlayout, capacity, ramp, preroll)
    outputs = []
    for _ in range(3000):
        action = rng.random()
        if action < 0.45:
            audio = rng.uniform(-1, 1, size=(2, int(rng.integers(1, 900)))).astype(np.float32)
            assert py.ring.write(audio) == c.ring.write(audio)
        elif action < 0.5:
            playing = bool(rng.random() < 0.7)
            py.gate(playing)
            c.gate(playing)
        elif action < 0.51:
            py.ring.discard()
            c.ring.discard()
        else:
            frames = int(rng.choice([16, 32, 64, 128, 256, 1000]))
            a, b = py.period(frames), c.period(frames)
            assert np.array_equal(a.view(np.uint32), b.view(np.uint32))
            outputs.append(a)
    fields = [F.READ, F.UNDERRUNS, F.CALLBACKS, F.PLAYING]
    fields += [F.CYCLE_SEQ, F.CYCLE_SINCE, F.CYCLE_READ, F.CYCLE_FRAMES]
    assert [int(py.h[f]) for f in fields] == [int(c.h[f]) for f in fields]
    assert int(c.h[F.COST : F.COST + COST_BINS].sum()) == int(c.h[F.CALLBACKS])
    # The run went through silence, music and underruns.
    everything = np.concatenate(outputs, axis=1)
    assert (everything == 0).any() and np.abs(everything).max() > 0.9
    assert int(c.h[F.UNDERRUNS]) > 0


def test_buffers_are_checked_before_the_c_code_sees_them():
    c = playout_native.NativePlayout(SharedBlock(64), 8)
    with pytest.raises(ValueError):
        c.process(np.zeros(8, np.float32), np.zeros(8, np.float32), 16)
    with pytest.raises(TypeError):
        c.process(np.zeros(16), np.zeros(16), 16)
    with pytest.raises(ValueError):
        c.process(np.zeros(32, np.float32)[::2], np.zeros(16, np.float32), 16)
    c.close()
