"""Streaming resampling: chunk by chunk it must equal converting the whole stream at once."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from oscserver.adapters.audio.resample import Resampler
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.engine.synth import Synth


def music(seconds: float) -> np.ndarray:
    synth = Synth()
    synth.set_prompts((WeightedPrompt("acid techno", 1.0),))
    synth.set_config(MusicGenerationConfig(brightness=1.0))
    synth.reset()
    pcm = synth.render(int(seconds * 48000))
    return (np.frombuffer(pcm, "<i2").reshape(-1, 2).T / 32768.0).astype(np.float32)


def test_chunked_conversion_matches_one_shot_and_has_no_seams():
    stream = music(8)
    reference = soxr.resample(stream.T, 48000, 44100, quality="HQ").T
    resampler = Resampler(48000, 44100)
    chunks = [stream[:, i : i + 96000] for i in range(0, stream.shape[1], 96000)]
    out = np.concatenate(
        [resampler.process(c, last=i == len(chunks) - 1) for i, c in enumerate(chunks)], axis=1
    )
    assert out.shape == reference.shape
    assert np.abs(out - reference).max() < 1e-4
    # At each join the output is as smooth as anywhere else in the music.
    steps = np.abs(np.diff(out, axis=1)).max(axis=0)
    for k in range(1, len(chunks)):
        join = round(k * 96000 * 44100 / 48000)
        assert steps[join - 5 : join + 5].max() <= steps.max()
        assert (
            np.abs(out[:, join - 50 : join + 50] - reference[:, join - 50 : join + 50]).max() < 1e-4
        )


def test_equal_rates_pass_through_untouched():
    stream = music(1)
    assert Resampler(48000, 48000).process(stream) is stream


def test_a_frame_of_the_input_is_placed_where_it_comes_out():
    """A click at a known input frame, in the chunk after others: the output frame the
    resampler says for it is where its peak comes out (to within a frame)."""
    resampler = Resampler(48000, 44100)
    out = [resampler.process(np.zeros((2, 10000), np.float32))]
    click = np.zeros((2, 20000), np.float32)
    click[:, 7000] = 1.0
    placed = sum(o.shape[1] for o in out) + resampler.output_frame(7000)
    out.append(resampler.process(click, last=True))
    heard = int(np.argmax(np.concatenate(out, axis=1)[0]))
    assert placed == pytest.approx(17000 * 44100 / 48000)
    assert abs(heard - placed) <= 1.0
