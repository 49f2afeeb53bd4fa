"""Beat tracking of the stream, against signals whose beats are known: a click track, and the
engine's music played by a model that does not obey (tempo x 1.04, an arbitrary phase), whose
synth records where every beat is."""

from __future__ import annotations

import numpy as np
import pytest

from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.dsp import beats as beats_module
from oscserver.dsp.beats import BeatTracker, Grid
from oscserver.engine.synth import SAMPLE_RATE, Synth

pytestmark = pytest.mark.skipif(not beats_module.available(), reason="no aubio here")

SR = SAMPLE_RATE


def clicks(bpm: float, first: int, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """A click track: 5 ms bursts of a decaying 1 kHz tone over a noise floor at -80 dBFS (in
    digital silence aubio places every other beat only); and the frames of its beats."""
    n = int(seconds * SR)
    period = 60.0 * SR / bpm
    truth = np.arange(first, n - 480, period)
    click = np.sin(2 * np.pi * 1000 * np.arange(240) / SR) * np.exp(-np.arange(240) / 60.0)
    floor = np.random.default_rng(0).standard_normal(n) * 1e-4
    x = np.tile(floor, (2, 1)).astype(np.float32)
    for beat in truth:
        at = round(beat)
        x[:, at : at + 240] += 0.5 * click
    return x, truth


def engine(style: str, bpm: int = 120, factor: float = 1.04, seed: int = 7) -> Synth:
    s = Synth(tempo_factor=factor, phase_seed=seed)
    s.set_prompts((WeightedPrompt(style, 1.0),))
    s.set_config(MusicGenerationConfig(bpm=bpm))
    s.reset(fade=False)
    return s


def render(s: Synth, seconds: float) -> np.ndarray:
    pcm = s.render(int(seconds * SR))
    return (np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).T / 32768.0).astype(np.float32)


def feed(tracker: BeatTracker, x: np.ndarray, seed: int = 1) -> list[float]:
    """Feed in pieces of random length, as chunks arrive."""
    rng = np.random.default_rng(seed)
    found, at = [], 0
    while at < x.shape[1]:
        n = int(rng.integers(100, 50_000))
        found += tracker.process(x[:, at : at + n])
        at += n
    return found


def errors_ms(found: list[float], truth: np.ndarray, after: float) -> np.ndarray:
    """Signed distance of each beat found after ``after`` seconds to the nearest true beat."""
    f = np.array([b for b in found if b > after * SR])
    return np.array([b - truth[np.argmin(np.abs(truth - b))] for b in f]) / SR * 1000


def test_a_click_track_is_found_on_its_beats_and_its_grid_is_its_tempo():
    x, truth = clicks(123.0, 10_000, 16.0)
    tracker = BeatTracker()
    found = feed(tracker, x)
    errors = errors_ms(found, truth, 6.0)
    assert len(errors) >= 18  # every beat from 6 s on
    # Each beat within a hop (5.3 ms) and a little; the grid through them within 3 ms.
    assert np.max(np.abs(errors)) < 8.0, errors
    grid = tracker.grid()
    assert grid is not None and grid.tempo == pytest.approx(123.0, abs=0.1)
    assert abs(grid.next_beat(truth[-3] - 1000) - truth[-3]) < 0.003 * SR


@pytest.mark.parametrize("style", ["techno", "funk", "drum and bass", "ambient"])
def test_the_engines_beats_are_found_at_a_tempo_it_was_not_asked_for(style):
    s = engine(style)  # asked for 120, plays 124.8, from an arbitrary phase
    x = render(s, 24.0)
    truth = s.beat_frames(0, x.shape[1])
    tracker = BeatTracker()
    found = feed(tracker, x)
    errors = errors_ms(found, truth, 8.0)
    assert len(errors) >= 30
    assert np.percentile(np.abs(errors), 95) < 5.0, errors
    grid = tracker.grid()
    assert grid is not None
    assert grid.tempo == pytest.approx(124.8, abs=0.2)
    assert grid.spread < 0.003
    for beat in truth[-6:]:  # the grid says where the beats are
        assert abs(grid.next_beat(beat - 2000) - beat) < 0.003 * SR


def test_pieces_of_any_size_find_the_same_beats():
    x = render(engine("techno"), 12.0)
    one = BeatTracker()
    whole = one.process(x)
    assert whole == feed(BeatTracker(), x, seed=2) == feed(BeatTracker(), x, seed=3)


def test_after_a_reset_the_new_tempo_and_phase_are_found_afresh():
    s = engine("techno")
    tracker = BeatTracker()
    feed(tracker, render(s, 10.0))
    before = tracker.grid()
    assert before is not None and before.tempo == pytest.approx(124.8, abs=0.2)
    s.set_config(MusicGenerationConfig(bpm=130))
    s.reset()  # RESET_CONTEXT: a new tempo, from a new phase
    tracker.reset()
    start = s.rendered
    assert tracker.grid() is None
    feed(tracker, render(s, 8.0))
    after = tracker.grid()
    assert after is not None and after.tempo == pytest.approx(130 * 1.04, abs=0.3)
    truth = s.beat_frames(start, s.rendered)
    assert abs(after.next_beat(truth[-2] - 2000) - truth[-2]) < 0.003 * SR


def test_the_grid_numbers_beats_across_a_missed_one():
    grid_of = BeatTracker()
    period = 24_000.0
    for n in (0, 1, 2, 4, 5, 6):  # the fourth beat was not found
        grid_of._beats.append(1000 + n * period)
    grid = grid_of.grid()
    assert isinstance(grid, Grid)
    assert grid.period == pytest.approx(period) and grid.beats == 6
    assert grid.phase(1000 + 3.5 * period) == pytest.approx(0.5)


def test_the_bpm_asked_for_settles_a_grid_at_half_the_tempo():
    """aubio favours tempi near 120: a 155 bpm stream comes out at half; the bpm asked for
    (149, played x 1.04) doubles the grid, so it finds every beat, not every other one."""
    s = engine("lo-fi", bpm=149, seed=7)
    x = render(s, 24.0)
    truth = s.beat_frames(0, x.shape[1])[-6:]
    alone = BeatTracker()
    feed(alone, x)
    told = BeatTracker()
    told.expected = 149
    feed(told, x)
    half, whole = alone.grid(), told.grid()
    assert half is not None and half.tempo == pytest.approx(149 * 1.04 / 2, abs=0.2)
    assert whole is not None and whole.tempo == pytest.approx(149 * 1.04, abs=0.2)
    for beat in truth:
        assert abs(whole.next_beat(beat - whole.period / 2) - beat) < 0.003 * SR


@pytest.mark.parametrize(
    ("style", "bpm"),
    [("techno", 120), ("funk", 97), ("ambient", 149), ("drum and bass", 120), ("jazz", 97)],
)
def test_the_downbeat_is_found_where_the_bar_starts(style, bpm):
    s = engine(style, bpm=bpm, seed=3)
    x = render(s, 24.0)
    tracker = BeatTracker()
    tracker.expected = bpm
    feed(tracker, x)
    grid = tracker.grid()
    assert grid is not None and grid.downbeat is not None
    context = s.contexts[-1]
    beats = (grid.downbeat - (context.frame - context.start)) / context.beat_length
    assert round(beats) % 4 == 0  # the first beat of a bar, not another
    assert abs(beats - round(beats)) * context.beat_length < 0.003 * SR


def test_a_downbeat_is_given_only_when_sure():
    """Across styles and tempi a downbeat given is never on the wrong beat (deep house's
    harmony moves off the bar line: its downbeat is not given rather than wrong)."""
    given = 0
    for style in ("deep house", "lo-fi", "hip hop", "techno"):
        for bpm, seed in ((120, 3), (149, 7)):
            s = engine(style, bpm=bpm, seed=seed)
            tracker = BeatTracker()
            tracker.expected = bpm
            feed(tracker, render(s, 24.0))
            grid = tracker.grid()
            if grid is None or grid.downbeat is None:
                continue
            given += 1
            context = s.contexts[-1]
            beats = (grid.downbeat - (context.frame - context.start)) / context.beat_length
            assert round(beats) % 4 == 0, (style, bpm, grid.bar_confidence)
    assert given >= 6
