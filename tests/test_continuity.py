"""The playout controller with plain numbers: the ratio it decides, and a simulated buffer fed by
a service slower or faster than real time, played out through that ratio."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oscserver.core.continuity import PlayoutController, Settings

S = Settings(target=2.0, max_stretch=0.06, dead_band=0.25, slew=0.005, window=4.0)


def test_inside_the_dead_band_the_ratio_is_exactly_one():
    c = PlayoutController(S)
    for i in range(200):
        assert c.update(i * 0.1, 2.0 + 0.24 * ((-1) ** i)) == 1.0


def test_nothing_is_decided_before_a_whole_window_is_seen():
    c = PlayoutController(S)
    assert [c.update(t * 0.5, 0.1) for t in range(8)] == [1.0] * 8  # 3.5 s < the 4 s window
    assert c.floor() is None
    assert c.update(4.0, 0.1) > 1.0 and c.floor() == pytest.approx(0.1)


def test_below_the_target_it_slows_down_within_the_slew_and_the_limit():
    c = PlayoutController(S)
    ratios = [c.update(t * 0.5, 0.5) for t in range(100)]
    assert ratios[7] == 1.0 and ratios[8] == pytest.approx(1.0025)
    assert all(b >= a for a, b in itertools.pairwise(ratios))
    assert max(ratios) == pytest.approx(1.06) and ratios[-1] == pytest.approx(1.06)


def test_above_the_target_it_speeds_up_and_returns_to_exactly_one():
    c = PlayoutController(Settings(target=2.0, leak=10.0))
    for t in range(60):
        c.update(float(t), 4.0)
    assert c.ratio == pytest.approx(0.94)
    for t in range(60, 300):
        c.update(float(t), 2.0)
    assert c.ratio == 1.0  # exactly, not 0.9999...


def test_the_proportional_part_grows_with_the_distance_beyond_the_dead_band():
    c = PlayoutController(Settings(target=2.0, learn=0.0, slew=10.0, window=1.0))
    c.update(0.0, 1.25)
    assert c.update(1.0, 1.25) == pytest.approx(1.0 + 0.06 * 0.5)  # 0.5 s beyond the band


def test_after_a_reset_it_starts_afresh():
    c = PlayoutController(S)
    for t in range(30):
        c.update(float(t), 0.5)
    c.reset()
    assert c.ratio == 1.0 and c.floor() is None and c.update(100.0, 0.5) == 1.0


def test_the_floor_of_a_sawtooth_is_what_counts():
    """2 s chunks: the level jumps up at each and drains; its floor at the target is on target."""
    c = PlayoutController(S)
    for step in range(600):
        t = step * 0.1
        level = 2.0 + 2.0 - (t % 2.0)  # from 4 s down to 2 s, then a chunk
        assert c.update(t, level) == 1.0


@given(st.lists(st.tuples(st.floats(0.001, 1.0), st.floats(0.0, 20.0)), min_size=1, max_size=200))
def test_never_faster_than_the_slew_never_beyond_the_limit(steps):
    c = PlayoutController(S)
    now, last = 0.0, 1.0
    for dt, level in steps:
        now += dt
        ratio = c.update(now, level)
        assert abs(ratio - last) <= S.slew * dt + 1e-12
        assert 1 - S.max_stretch - 1e-12 <= ratio <= 1 + S.max_stretch + 1e-12
        last = ratio


def simulate(pace: float, seconds: float, start: float = 2.0, chunk: float = 2.0):
    """A buffer fed ``chunk`` seconds of audio every ``chunk / pace`` seconds and played out
    through the controller's ratio (one second of audio lasts ``ratio`` seconds)."""
    c = PlayoutController(S)
    dt, level, next_chunk, t = 0.01, start, 0.0, 0.0
    floors, ratios = [], []
    while t < seconds:
        if t >= next_chunk:
            level += chunk
            next_chunk += chunk / pace
            c.arrived(t, chunk)
        ratio = c.update(t, level)
        level -= dt / ratio
        floors.append(level)
        ratios.append(ratio)
        t += dt
    return floors, ratios


@pytest.mark.parametrize("pace", [0.96, 0.98, 1.0, 1.03])
def test_a_service_off_real_time_never_runs_the_buffer_dry(pace):
    levels, ratios = simulate(pace, 1200.0)
    assert min(levels) > 0.5  # no underrun, with margin
    settled = levels[len(levels) // 2 :]
    # The floor of the sawtooth holds the target within the dead band and a little.
    window = int(S.window / 0.01)
    floors = [min(settled[i : i + window]) for i in range(0, len(settled) - window, window)]
    assert all(abs(f - S.target) <= S.dead_band + 0.1 for f in floors), (min(floors), max(floors))
    # The mean ratio is what the pace needs: 1 / pace (more than 1 for a slow service).
    mean = sum(ratios[len(ratios) // 2 :]) / (len(ratios) // 2 + len(ratios) % 2)
    assert mean == pytest.approx(min(1 + S.max_stretch, 1 / pace), abs=0.01)


def test_without_the_controller_the_same_service_runs_dry():
    """The control is what helps: at 0.96 an unstretched buffer is empty within a minute."""
    level, t, next_chunk = 2.0, 0.0, 0.0
    while t < 120 and level > 0:
        if t >= next_chunk:
            level += 2.0
            next_chunk += 2.0 / 0.96
        level -= 0.01
        t += 0.01
    assert level <= 0 and t < 120


def test_settings_are_checked():
    with pytest.raises(ValueError):
        Settings(target=0)
    with pytest.raises(ValueError):
        Settings(max_stretch=0.7)
    with pytest.raises(ValueError):
        Settings(leak=0)


def test_forgetting_the_pace_waits_for_a_new_measure():
    c = PlayoutController(S)
    for k in range(20):  # 2 s chunks every 2 s: real time
        c.arrived(2.0 * k, 2.0)
    assert c.pace() == pytest.approx(1.0)
    c.forget_pace()
    assert c.pace() is None
    c.arrived(40.0, 2.0)  # a new session's head start: one point is no pace
    assert c.pace() is None
