"""The output's analysis with signals of known truth: the level of a sine, the band a tone
falls in, a mute followed within one period, onsets on a click track's clicks."""

from __future__ import annotations

import numpy as np
import pytest
from test_stretch import clicks

from oscserver.dsp import beats
from oscserver.dsp.analysis import Analyser, band_edges

RATE = 48000


def sine(seconds: float, hz: float, level: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.vstack([mono, mono])


def test_a_full_scale_sine_has_its_rms_and_peak():
    reports, _ = Analyser(RATE, 30.0, onsets=False).process(sine(1.0, 480.0))  # 16 in a period
    assert len(reports) == 30
    for r in reports:
        assert r.rms == pytest.approx(np.sqrt(0.5), abs=1e-4)
        assert r.peak == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("band", range(8))
def test_a_tone_lights_its_own_band_only(band):
    edges = band_edges()
    hz = float(np.sqrt(edges[band] * edges[band + 1]))  # the band's middle, on the log scale
    reports, _ = Analyser(RATE, 30.0, onsets=False).process(sine(1.0, hz, 0.1))  # -20 dB
    for r in reports[2:]:
        assert r.bands[band] == pytest.approx(1.0 - 20.0 / 60.0, abs=0.03)
        others = [b for i, b in enumerate(r.bands) if i != band]
        assert max(others) < r.bands[band] - 0.25  # at least 15 dB below


def test_silence_is_zero_everywhere():
    reports, _ = Analyser(RATE, 30.0, onsets=False).process(np.zeros((2, RATE), np.float32))
    assert all(r.rms == 0.0 and r.peak == 0.0 and not any(r.bands) for r in reports)


def test_a_mute_shows_in_the_first_period_that_begins_after_it():
    """Each report is about the period that begins at its frame: the first one at or after
    the mute is silent, so a meter follows the mute within one period of hearing it."""
    audio = sine(1.0, 220.0, 0.5)
    mute = 20_000  # not on a period's edge
    audio[:, mute:] = 0.0
    analyser = Analyser(RATE, 30.0, onsets=False)
    reports = [
        r for at in range(0, RATE, 700) for r in analyser.process(audio[:, at : at + 700])[0]
    ]
    period = analyser.period
    assert [r.frame for r in reports] == list(range(0, 30 * period, period))
    after = [r for r in reports if r.frame >= mute]
    assert after[0].frame - mute < period and after[0].rms == 0.0
    assert all(r.rms > 0.3 for r in reports if r.frame + period <= mute)


def test_pieces_of_any_size_give_the_same_reports_as_one_go():
    rng = np.random.default_rng(2)
    audio = (rng.standard_normal((2, RATE)) * 0.1).astype(np.float32)
    whole, _ = Analyser(RATE, 45.0, onsets=False).process(audio)
    analyser = Analyser(RATE, 45.0, onsets=False)
    cuts = np.sort(rng.integers(0, RATE, 40))
    pieces = np.split(audio, cuts, axis=1)
    parts = [r for piece in pieces for r in analyser.process(piece)[0]]
    assert parts == whole


@pytest.mark.parametrize("rate", [0.0, -5.0, 1000.0])
def test_an_impossible_rate_is_refused(rate):
    with pytest.raises(ValueError, match="analysis rate"):
        Analyser(RATE, rate)


@pytest.mark.skipif(not beats.available(), reason="no aubio on this platform")
def test_onsets_fall_on_a_click_tracks_clicks():
    audio = np.concatenate([np.zeros((2, 3000), np.float32), clicks(6.0, 120.0)], axis=1)
    analyser = Analyser(RATE, 30.0)
    onsets = [
        o
        for at in range(0, audio.shape[1], 1000)
        for o in analyser.process(audio[:, at : at + 1000])[1]
    ]
    truth = 3000 + np.arange(0, 6.0, 0.5) * RATE
    assert len(onsets) == len(truth)
    for onset, click in zip(onsets, truth, strict=True):
        assert abs(onset.frame - click) <= 0.006 * RATE  # within 6 ms
        assert 0.5 <= onset.strength <= 1.0


@pytest.mark.skipif(not beats.available(), reason="no aubio on this platform")
def test_a_steady_tone_has_no_onsets_but_its_start_and_a_reset_counts_on():
    analyser = Analyser(RATE, 30.0)
    _, onsets = analyser.process(sine(2.0, 330.0, 0.5))
    assert all(o.frame < 0.1 * RATE for o in onsets)
    analyser.reset()
    _, onsets = analyser.process(clicks(1.0, 120.0))
    assert onsets and abs(onsets[0].frame - 2 * RATE) <= 0.006 * RATE


@pytest.mark.skipif(not beats.available(), reason="no aubio on this platform")
def test_a_kicks_onset_has_its_bass_rising_and_a_hats_not():
    """Over a bass note, the engine's kick and hat alternate every 0.25 s: each onset says how
    much the energy below 150 Hz rises with it, far for the kick, not for the hat (what the
    pulse takes a beat's kick by: KICK_BASS)."""
    from oscserver.adapters.audio.pulse_watch import KICK_BASS
    from oscserver.engine.voices import DrumKit

    kit = DrumKit().samples
    seconds = 4.0
    t = np.arange(int(seconds * RATE)) / RATE
    mono = 0.2 * np.sin(2 * np.pi * 55 * t)
    hits = {}
    for k, at in enumerate(np.arange(0.25, seconds - 0.3, 0.25)):
        name = "kick" if k % 2 == 0 else "hat"
        start = int(at * RATE)
        sound = kit[name][: len(mono) - start]
        mono[start : start + len(sound)] += 0.6 * sound
        hits[start] = name
    audio = np.vstack([mono, mono]).astype(np.float32)
    analyser = Analyser(RATE, 30.0)
    onsets = [
        o
        for at in range(0, audio.shape[1], 1024)
        for o in analyser.process(audio[:, at : at + 1024])[1]
    ]
    found = {name: [] for name in ("kick", "hat")}
    for onset in onsets:
        start = min(hits, key=lambda s: abs(s - onset.frame))
        if abs(start - onset.frame) <= 0.006 * RATE:
            found[hits[start]].append(onset.bass)
    assert len(found["kick"]) >= 6 and len(found["hat"]) >= 6, found
    assert min(found["kick"]) > KICK_BASS > max(found["hat"]), found
