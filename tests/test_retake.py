"""The stream lately fed to the stretcher, found again behind the output frames taken back."""

from __future__ import annotations

import numpy as np
import pytest

from oscserver.dsp import stretch
from oscserver.dsp.bridge import FADE, crossfade
from oscserver.dsp.retake import Fed
from oscserver.dsp.stretch import Stretcher

RATE = 48000


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


def test_the_last_frames_fed_are_found_with_their_places_across_a_cut_and_kept():
    fed = Fed(keep=4000)
    fed.add(0, ramp(0, 1000), 1.0)
    fed.add(5000, ramp(5000, 1000), 1.0)  # after a cut in the stream
    parts = fed.last(1500)
    assert [(place, audio.shape[1]) for place, audio in parts] == [(500, 500), (5000, 1000)]
    assert np.array_equal(parts[0][1], ramp(500, 500)) and fed.frames == 2000
    assert sum(a.shape[1] for _, a in fed.last(9999)) == 2000  # no more than remembered


@pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")
@pytest.mark.parametrize("hz", [220.0, 1000.0, 3000.0])
def test_a_tone_stretched_again_from_output_taken_back_joins_at_its_level(hz):
    """The feeder's retake on a tone: stretched at 1.0, its last output taken back, the stream
    behind it (found by :class:`Fed`) stretched again at 0.95 from the stream before it, and
    the new output crossfaded over the old at the frame taken back: the level through the join
    stays within 2 dB of the tone's (a 10 ms window), at every one of 6 places tried."""
    t = np.arange(4 * RATE) / RATE
    mono = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    x = np.vstack([mono, mono])
    for back in range(9000, 9000 + 6 * 1300, 1300):  # output frames taken back
        first, fed = Stretcher(RATE), Fed(RATE)
        old = []
        for start in range(0, 2 * RATE, 1024):
            old.append(first.process(x[:, start : start + 1024], 1.0))
            fed.add(start, x[:, start : start + 1024], 1.0)
        played = np.concatenate(old, axis=1)[0]
        at = played.shape[0] - back  # the first output frame taken back
        pending = first.held * first.ratio
        parts = fed.take_back(back + pending)
        assert parts is not None
        again = Stretcher(RATE)
        again.reset(lead_in=fed.tail(4096))
        source = np.concatenate([audio for _, audio in parts], axis=1)
        new = np.concatenate(
            [again.process(source[:, i : i + 1024], 0.95) for i in range(0, source.shape[1], 1024)],
            axis=1,
        )[0]
        join = crossfade(played[None, at : at + FADE], new[None, :FADE])[0]
        heard = np.concatenate([played[at - 960 : at], join, new[FADE : FADE + 960]])
        level = np.sqrt(np.convolve(heard**2, np.ones(480) / 480, "valid") * 2) / 0.5
        assert 20 * np.log10(level).min() > -2 and 20 * np.log10(level).max() < 2, (back, level)
