"""The engine's synth, measured from the audio it renders."""

from __future__ import annotations

import numpy as np
import pytest
from audio_analysis import rms_dbfs, tempo_bpm

from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.engine.synth import DEFAULT_BPM, SAMPLE_RATE, Synth


def audio(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).T / 32768.0


def test_chunks_join_seamlessly():
    whole = Synth().render(3 * SAMPLE_RATE)
    pieces = Synth()
    parts = [pieces.render(n) for n in (1000, 96000, 47000)]
    assert b"".join(parts) == whole


@pytest.mark.parametrize("bpm", [72, 124, 170])
def test_tempo_follows_bpm_after_a_context_reset(bpm):
    synth = Synth()
    synth.set_prompts((WeightedPrompt("deep house", 1.0),))
    synth.set_config(MusicGenerationConfig(bpm=bpm))
    before = audio(synth.render(8 * SAMPLE_RATE))
    assert tempo_bpm(before, SAMPLE_RATE) == pytest.approx(DEFAULT_BPM, abs=1)  # not yet
    synth.reset()
    after = audio(synth.render(8 * SAMPLE_RATE))
    assert tempo_bpm(after, SAMPLE_RATE) == pytest.approx(bpm, abs=1)
    assert rms_dbfs(after) > -25


def test_same_seed_same_audio_other_seed_other_audio():
    def render(seed: int) -> bytes:
        synth = Synth()
        synth.set_config(MusicGenerationConfig(seed=seed, density=0.8))
        return synth.render(4 * SAMPLE_RATE)

    assert render(7) == render(7)
    assert render(7) != render(8)


def test_mute_drums_removes_the_kick():
    def low_band_power(config: MusicGenerationConfig) -> float:
        synth = Synth()
        synth.set_config(config)
        spectrum = np.abs(np.fft.rfft(audio(synth.render(4 * SAMPLE_RATE)).mean(axis=0)))
        freqs = np.fft.rfftfreq(4 * SAMPLE_RATE, 1 / SAMPLE_RATE)
        return float((spectrum[freqs < 60] ** 2).sum())

    drums = low_band_power(MusicGenerationConfig())
    muted = low_band_power(MusicGenerationConfig(mute_drums=True))
    assert muted < drums * 0.1
