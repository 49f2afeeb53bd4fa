"""The musical bridge with signals of known truth: a click track keeps its tempo and beat phase
through the loop, a tone keeps its slope at every join, loudness holds through a crossfade
whether its two sides are unrelated or the same music in step."""

from __future__ import annotations

import numpy as np
import pytest
from audio_analysis import tempo_bpm
from test_stretch import clicks, tone

from oscserver.dsp.bridge import FADE, Looper, Splicer, crossfade

RATE = 48000


def test_what_follows_passes_unchanged_only_delayed_by_the_fade():
    audio = tone(1.0)
    s = Splicer()
    out = np.concatenate([s.follow(audio[:, i : i + 1000]) for i in range(0, RATE, 1000)], axis=1)
    assert s.held == FADE
    assert np.array_equal(np.concatenate([out, s.flush()], axis=1), audio)


def test_a_cut_keeps_the_loudness_of_uncorrelated_audio():
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((2, RATE)) * 0.2).astype(np.float32)
    b = (rng.standard_normal((2, RATE)) * 0.2).astype(np.float32)
    s = Splicer()
    out = np.concatenate([s.follow(a), s.cut_to(b), s.flush()], axis=1)
    join = RATE - FADE
    rms = lambda x: float(np.sqrt((x**2).mean()))  # noqa: E731
    assert rms(out[:, join : join + FADE]) == pytest.approx(0.2, rel=0.1)  # within 1 dB


def test_music_crossfaded_with_itself_in_step_is_that_music_not_3_db_louder():
    """Two kicks in step (a bar looped, beats dropped on the beat) joined with equal power
    would peak at sqrt(2) of the kick: a click. The matched crossfade gives the kick itself."""
    kick = clicks(0.1, 120.0)[:, 300 : 300 + FADE]
    assert np.allclose(crossfade(kick, kick), kick, atol=1e-6)
    # Partly alike (the same kick over different noise): no louder than either side.
    rng = np.random.default_rng(3)
    a = kick + (rng.standard_normal(kick.shape) * 0.05).astype(np.float32)
    b = kick + (rng.standard_normal(kick.shape) * 0.05).astype(np.float32)
    assert np.abs(crossfade(a, b)).max() <= 1.02 * max(np.abs(a).max(), np.abs(b).max())


def test_sides_in_opposite_phase_are_never_boosted():
    x = tone(FADE / RATE)
    mixed = crossfade(x, -x)
    assert np.abs(mixed).max() <= np.abs(x).max()  # a dip where they cancel, no blow-up


def test_a_looped_kick_is_no_louder_at_its_seams_than_the_kick_itself():
    music = clicks(4.0, 120.0)
    # What was played ends 10 ms into the kick at 3 s (the splicer holds a fade's worth back):
    # the loop's seam crossfades that kick into the one at 2 s, and the cut into the loop the
    # kick at 3 s into the same kick at 2 s, each a kick into itself in step.
    looper, splicer = Looper(capacity=8 * RATE), Splicer()
    played = splicer.follow(music[:, : 3 * RATE + 480 + FADE])
    looper.remember(played)
    assert looper.start(loop=RATE)  # two beats
    bridge = [splicer.cut_to(looper.next(RATE))] + [
        splicer.follow(looper.next(RATE)) for _ in range(3)
    ]
    heard = np.concatenate(bridge, axis=1)
    assert np.abs(heard).max() <= 1.02 * np.abs(music).max()  # (equal power: 1.35 times)


def test_a_click_track_keeps_its_tempo_and_beat_phase_through_the_bridge():
    music = clicks(6.0, 120.0)
    looper, splicer = Looper(capacity=8 * RATE), Splicer()
    played = splicer.follow(music)
    looper.remember(played)
    assert looper.start(loop=2 * RATE)  # one bar at 120 bpm
    bridge = np.concatenate([splicer.cut_to(looper.next(RATE))] + [
        splicer.follow(looper.next(RATE)) for _ in range(5)
    ], axis=1)  # fmt: skip
    heard = np.concatenate([played, bridge], axis=1)
    assert tempo_bpm(heard, RATE) == pytest.approx(120.0, abs=0.5)
    # Every beat lands on the grid of the music before: onsets every 0.5 s from 0.
    env = np.abs(heard[0])
    onsets: list[int] = []
    for i in np.flatnonzero((env[1:] > 0.05) & (env[:-1] <= 0.05)) + 1:
        if not onsets or i - onsets[-1] > 0.2 * RATE:  # one per kick, not one per cycle
            onsets.append(int(i))
    phases = [(i / RATE) % 0.5 for i in onsets]
    assert len(onsets) >= 20
    assert max(min(p, 0.5 - p) for p in phases) < 0.002  # within 2 ms of the grid


def test_no_step_at_any_join_of_a_tone_that_does_not_fit_the_loop():
    music = tone(4.0, hz=441.7)  # no whole number of periods in the loop
    looper, splicer = Looper(capacity=5 * RATE), Splicer()
    played = splicer.follow(music)
    looper.remember(played)
    assert looper.start(loop=round(0.37 * RATE))
    bridge = [splicer.cut_to(looper.next(RATE))]
    bridge += [splicer.follow(looper.next(RATE)) for _ in range(3)]
    after = splicer.cut_to(tone(1.0, hz=441.7)[:, ::-1].copy())  # and back to other audio
    heard = np.concatenate([played, *bridge, after], axis=1)[0]
    slope = 0.5 * 2 * np.pi * 441.7 / RATE  # the tone's own steepest step
    # The crossfades keep the tone's level (an equal-power one of a tone with itself in phase
    # would peak at sqrt(2) of it); a step, a click, would be tens of times the slope.
    assert np.abs(np.diff(heard)).max() <= 1.1 * slope


def test_a_loop_needs_enough_music_remembered():
    looper = Looper(capacity=RATE)
    looper.remember(tone(0.5))
    assert not looper.start(loop=RATE)  # more than is remembered
    assert not looper.looping
    assert looper.start(loop=RATE // 4) and looper.looping
    looper.stop()
    assert not looper.looping


def test_music_taken_back_before_it_was_heard_is_not_looped():
    looper = Looper(capacity=RATE, fade=4)
    x = np.arange(100, dtype=np.float32)
    looper.remember(np.vstack([x, x]))
    looper.forget(30)  # frames 70 to 99 were never heard
    assert looper.start(loop=20)
    assert np.array_equal(looper.next(16)[0], x[50:66])


def test_what_a_snap_cut_from_the_output_is_cut_from_the_music_remembered():
    looper = Looper(capacity=RATE, fade=4)
    x = np.arange(100, dtype=np.float32)
    looper.remember(np.vstack([x, x]))
    new = np.full((2, 20), 500.0, np.float32)
    looper.remember(new, replacing=30)  # frames 70..99 never heard: new came in from 70
    assert looper.start(loop=40)
    body = looper.next(40)[0]
    assert np.array_equal(body[:20], x[50:70])  # heard before the cut, as it was
    side = np.vstack([x[70:74], x[70:74]])
    assert np.allclose(body[20:24], crossfade(side, new[:, :4])[0])  # the output's crossfade
    assert np.array_equal(body[24:36], np.full(12, 500.0))  # then the new audio
