"""The stream lately fed to the stretcher, found again behind the output frames taken back."""

from __future__ import annotations

import numpy as np
import pytest

from oscserver.dsp.retake import Fed


def ramp(start: int, n: int) -> np.ndarray:
    """Stereo frames whose value is their place in the stream."""
    x = np.arange(start, start + n, dtype=np.float32)
    return np.vstack([x, -x])


def test_the_stream_behind_the_last_output_frames_is_found_through_each_blocks_ratio():
    fed = Fed(keep=10_000)
    fed.add(0, ramp(0, 1000), 1.0)
    fed.add(1000, ramp(1000, 1000), 0.9)  # 900 output frames
    fed.add(5000, ramp(5000, 500), 1.2)  # after a cut in the stream: 600 output frames
    assert fed.output == pytest.approx(2500)
    parts = fed.take_back(600 + 450)  # the last block, and half of the one before
    assert [(place, audio.shape[1]) for place, audio in parts] == [(1500, 500), (5000, 500)]
    assert np.array_equal(parts[0][1], ramp(1500, 500))
    assert fed.output == pytest.approx(1450)
    assert np.array_equal(fed.tail(700), ramp(800, 700))  # what came before, to start from


def test_nothing_is_taken_back_when_less_is_remembered_and_old_blocks_are_forgotten():
    fed = Fed(keep=2000)
    for i in range(5):
        fed.add(i * 1000, ramp(i * 1000, 1000), 1.0)
    assert fed.output == pytest.approx(2000)  # the latest 2000 frames only
    assert fed.take_back(2500) is None
    assert fed.output == pytest.approx(2000)  # nothing lost by asking
    assert np.array_equal(fed.tail(5000), ramp(3000, 2000))
    fed.clear()
    assert fed.output == 0 and fed.take_back(1) is None and fed.tail(10).shape == (2, 0)
