"""The stretch stage with signals of known truth: a tone keeps its pitch, a click track takes
the tempo the ratio asks for, the output is as long as the ratio says, and nothing clicks where
blocks join or the ratio changes."""

from __future__ import annotations

import numpy as np
import pytest
from audio_analysis import cents, frequency_hz, tempo_bpm

from oscserver.dsp import stretch
from oscserver.dsp.stretch import Stretcher

pytestmark = pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")

RATE = 48000
CHUNK = 2 * RATE  # the service's chunks: the feeder stretches one at a time


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.vstack([mono, mono])


def clicks(seconds: float, bpm: float) -> np.ndarray:
    """A kick-like click on every beat: a decaying 60 Hz burst, 80 ms long."""
    out = np.zeros(round(seconds * RATE), dtype=np.float32)
    burst = np.arange(round(0.08 * RATE)) / RATE
    kick = (0.8 * np.sin(2 * np.pi * 60 * burst) * np.exp(-burst * 40)).astype(np.float32)
    for beat in np.arange(0, seconds, 60 / bpm):
        start = round(beat * RATE)
        out[start : start + len(kick)] += kick[: len(out) - start]
    return np.vstack([out, out])


def stretched(audio: np.ndarray, ratios) -> np.ndarray:
    """The audio through one stretcher in 2 s chunks, a ratio per chunk."""
    s = Stretcher(RATE)
    pieces = [
        s.process(audio[:, i : i + CHUNK], ratio)
        for i, ratio in zip(range(0, audio.shape[1], CHUNK), ratios, strict=False)
    ]
    return np.concatenate(pieces, axis=1)


@pytest.mark.parametrize("ratio", [0.94, 1.0, 1.03, 1.06])
def test_a_tone_keeps_its_pitch_within_two_cents_at_any_ratio_up_to_the_limit(ratio):
    out = stretched(tone(12.0), [ratio] * 6)
    steady = out[0, RATE : RATE + 4 * RATE]
    assert abs(cents(frequency_hz(steady, RATE), 440.0)) < 2.0
    # As long as the ratio says, less what is still inside the stretcher.
    assert out.shape[1] == pytest.approx(12.0 * RATE * ratio, abs=0.15 * RATE)


def test_the_length_follows_the_ratio_chunk_by_chunk_and_held_counts_the_rest():
    s = Stretcher(RATE)
    audio = tone(20.0)
    total = 0
    ratios = [1.0, 1.06, 1.06, 0.94, 0.94, 1.02, 1.0, 0.97, 1.05, 1.0]
    for i, ratio in enumerate(ratios):
        total += s.process(audio[:, i * CHUNK : (i + 1) * CHUNK], ratio).shape[1]
    expected = sum(CHUNK * r for r in ratios)
    assert total + s.held * s.ratio == pytest.approx(expected, abs=0.02 * RATE)
    assert 0 < s.held < 0.25 * RATE  # the stretcher's own latency: a fraction of a second


def test_no_click_where_blocks_join_or_the_ratio_changes():
    ratios = [1.0, 1.06, 0.94, 1.06, 1.0, 0.94]
    out = stretched(tone(12.0), ratios)
    steady = out[0, RATE // 2 : -RATE // 2]
    step = np.abs(np.diff(steady)).max()
    largest_in_the_tone = 0.5 * 2 * np.pi * 440 / RATE  # the tone's own steepest slope
    assert step <= 1.05 * largest_in_the_tone


@pytest.mark.parametrize("ratio", [0.95, 1.05])
def test_a_click_track_takes_the_tempo_the_ratio_asks_for(ratio):
    out = stretched(clicks(20.0, 120.0), [ratio] * 10)
    assert tempo_bpm(out[:, RATE:], RATE) == pytest.approx(120.0 / ratio, abs=0.5)


def test_after_a_reset_nothing_old_comes_out():
    s = Stretcher(RATE)
    s.process(tone(2.0), 1.0)
    s.reset()
    quiet = np.zeros((2, CHUNK), dtype=np.float32)
    out = np.concatenate([s.process(quiet, 1.0), s.process(quiet, 1.0)], axis=1)
    assert np.abs(out).max() < 1e-6


@pytest.mark.parametrize("ratio", [0.94, 1.06])
def test_a_flush_gives_out_what_was_held_and_the_tone_goes_on_to_its_end(ratio):
    s = Stretcher(RATE)
    body = s.process(tone(4.0), ratio)
    held = s.held
    rest = s.flush()
    out = np.concatenate([body, rest], axis=1)
    assert rest.shape[1] == round(held * ratio)
    assert out.shape[1] == pytest.approx(4.0 * RATE * ratio, abs=2)  # nothing held back
    # The tone goes on to the end, but for R3's last window (~2048 frames), which it tapers:
    # the feeder only flushes audio that a snap then drops from its end in whole beats.
    body = rest[0, : -round(2400 * ratio)]
    assert np.sqrt((body**2).mean()) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    assert abs(cents(frequency_hz(body, RATE), 440.0)) < 2.0
    assert s.held == 0
    # Afresh, as after a reset: what is fed next comes out alone.
    quiet = np.zeros((2, CHUNK), dtype=np.float32)
    assert np.abs(np.concatenate([s.process(quiet, 1.0), s.process(quiet, 1.0)], 1)).max() < 1e-6


def test_bad_input_is_refused():
    s = Stretcher(RATE)
    with pytest.raises(ValueError, match="shaped"):
        s.process(np.zeros((1, 100), dtype=np.float32), 1.0)
    with pytest.raises(ValueError, match="above 0"):
        s.process(np.zeros((2, 100), dtype=np.float32), 0.0)
    with pytest.raises(ValueError, match="engine must be one of finer, faster"):
        Stretcher(RATE, engine="fastest")


@pytest.mark.parametrize("ratio", [1.0, 0.94, 1.04])
def test_a_click_comes_out_where_the_ratio_puts_it_from_the_first_frame(ratio):
    """Frame ``x`` of the input is frame ``x * ratio`` of the output, within half a millisecond:
    the start pad is fed and the start delay dropped, as Rubber Band's real-time mode asks; the
    frames not yet out are :attr:`held`. (A lock to a clock times the beats by this.)"""
    s = Stretcher(RATE)
    x = np.zeros((2, 3 * RATE), np.float32)
    clicks = [0, 24000, 60345, 96000]
    for c in clicks:
        x[:, c : c + 48] = 0.9
    out = []
    for start in range(0, x.shape[1], 1024):
        given = sum(o.shape[1] for o in out)
        assert given + s.held * ratio == pytest.approx(start * ratio, abs=1e-6)
        out.append(s.process(x[:, start : start + 1024], ratio))
    y = np.abs(np.concatenate(out, axis=1)[0])
    for c in clicks:
        lo = max(0, round(c * ratio) - 3000)
        found = lo + int(np.flatnonzero(y[lo : lo + 6000] > 0.3)[0])
        assert abs(found - c * ratio) <= 24  # half a millisecond


@pytest.mark.parametrize("ratio", [0.95, 1.04])
def test_started_again_from_the_stream_before_it_the_output_is_at_full_level_and_in_place(ratio):
    """Stretching a stream again from a frame in its middle (the lock, after a clock's tempo
    jump): given the frames before it, the output is at full level from its first frame (from
    silence it fades in over Rubber Band's window) and frame ``x`` is still ``x * ratio``."""
    x = tone(3.0, 220.0)
    clicked = np.zeros_like(x)
    for c in range(6000, x.shape[1], 12000):
        clicked[:, c : c + 48] = 0.9
    start = RATE + 5000
    for lead_in, quiet in ((None, True), (x[:, start - 4096 : start], False)):
        s = Stretcher(RATE)
        s.reset(lead_in=lead_in)
        out = np.concatenate(
            [s.process(x[:, i : i + 1024], ratio) for i in range(start, 2 * RATE, 1024)], 1
        )
        first = np.abs(out[0, :240]).max()  # the first 5 ms (the tone's peak is 0.5)
        assert (first < 0.45) == quiet, first
        s = Stretcher(RATE)
        s.reset(lead_in=None if lead_in is None else clicked[:, start - 4096 : start])
        out = np.concatenate(
            [s.process(clicked[:, i : i + 1024], ratio) for i in range(start, 2 * RATE, 1024)], 1
        )
        y = np.abs(out[0])
        c = 12000 * ((start - 6000) // 12000 + 1) + 6000 - start  # the first click after start
        found = int(np.flatnonzero(y > 0.3)[0])
        assert abs(found - c * ratio) <= 48  # a millisecond
