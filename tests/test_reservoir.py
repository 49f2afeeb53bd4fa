"""The reservoir of stream audio waiting to be stretched: places, marks and cuts."""

from __future__ import annotations

import numpy as np

from oscserver.dsp.bridge import crossfade
from oscserver.dsp.reservoir import Reservoir

FADE = 8


def ramp(start: int, n: int) -> np.ndarray:
    """Stereo frames whose value is their place in the stream (exact in float32 up to 2**24)."""
    x = np.arange(start, start + n, dtype=np.float32)
    return np.vstack([x, -x])


def test_audio_comes_out_as_it_went_in_with_its_place_in_the_stream():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 100), mark="a")
    r.append(ramp(100, 50), mark="b")
    assert r.frames == 150
    got, place, marks = r.take(70)
    assert place == 0 and marks == ["a"] and np.array_equal(got, ramp(0, 70))
    got, place, marks = r.take(70)  # the rest of the first part only: never across a part
    assert place == 70 and marks == [] and np.array_equal(got, ramp(70, 30))
    got, place, marks = r.take(70)
    assert place == 100 and marks == ["b"] and np.array_equal(got, ramp(100, 50))
    got, place, marks = r.take(70)
    assert got.shape == (2, 0) and place == 150 and r.frames == 0


def test_a_snap_cuts_whole_beats_beyond_what_is_kept_and_crossfades_into_the_chunk():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 1000), mark="old")
    r.append(ramp(1000, 200), mark="older change")
    new = ramp(1200, 300)
    dropped = r.snap(new, keep=250, beat=300, mark="new")
    assert dropped == 900  # three beats leave 300 frames (>= 250) before the cut
    assert r.frames == 300 + 300
    got, place, marks = r.take(1000)
    assert place == 0 and marks == ["old"] and np.array_equal(got, ramp(0, 300))
    got, place, marks = r.take(1000)
    # The chunk keeps its own place; it carries its mark and the one whose audio was cut.
    assert place == 1200 and marks == ["older change", "new"]
    expected = new.copy()
    expected[:, :FADE] = crossfade(ramp(300, FADE), new[:, :FADE])
    assert np.allclose(got, expected)


def test_a_snap_with_less_than_a_beat_to_cut_appends():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 500))
    assert r.snap(ramp(500, 100), keep=300, beat=300) == 0
    got, _, _ = r.take(1000)
    assert np.array_equal(got, ramp(0, 500))
    got, place, _ = r.take(1000)
    assert place == 500 and np.array_equal(got, ramp(500, 100))


def test_skip_drops_from_the_front_with_a_crossfade_and_moves_the_marks():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 100), mark="a")
    r.append(ramp(100, 100), mark="b")
    assert r.skip(130) == 130
    assert r.frames == 70
    got, place, marks = r.take(1000)
    assert place == 130 and marks == ["a", "b"]
    expected = ramp(130, 70)
    expected[:, :FADE] = crossfade(ramp(0, FADE), expected[:, :FADE])
    assert np.allclose(got, expected)
    # Never more than leaves a crossfade's worth.
    r.append(ramp(200, 20))
    assert r.skip(100) == 20 - FADE


def test_clear_drops_the_audio_gives_back_the_marks_and_the_count_goes_on():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 10), mark="x")
    assert r.clear() == ["x"]
    assert r.frames == 0 and r.place == 10 == r.end
    r.append(ramp(10, 5))
    assert r.take(5)[1] == 10


def test_frames_passed_over_keep_the_count_of_the_stream():
    # Stretched as they came (no clock yet), they never wait here, but the places after them
    # are the beat watch's: a lock that comes later finds its grid where the stream is.
    reservoir = Reservoir()
    reservoir.pass_over(4800)
    reservoir.append(np.ones((2, 100), np.float32))
    assert (reservoir.place, reservoir.end) == (4800, 4900)
    try:
        reservoir.pass_over(10)
    except ValueError:
        pass
    else:
        raise AssertionError("frames waiting cannot be passed over")
    _, place, _ = reservoir.take(100)
    assert place == 4800


def test_audio_put_back_is_taken_again_first_at_its_places_joined_where_it_follows_on():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 300))
    taken = [r.take(100)[0], r.take(100)[0]]
    r.put_back([(100, taken[1][:, :50]), (150, taken[1][:, 50:]), (900, ramp(900, 20))])
    assert r.frames == 100 + 20 + 100 and r.place == 100
    got, place, _ = r.take(1000)  # the two halves, joined
    assert place == 100 and np.array_equal(got, ramp(100, 100))
    got, place, _ = r.take(1000)
    assert place == 900 and np.array_equal(got, ramp(900, 20))
    got, place, _ = r.take(1000)
    assert place == 200 and np.array_equal(got, ramp(200, 100))
    assert r.end == 300


def test_repeat_plays_audio_heard_again_first_crossfaded_then_runs_on_into_the_front():
    r = Reservoir(fade=FADE)
    r.append(ramp(0, 100))
    heard, _, _ = r.take(60)  # frames 0..59 were heard
    r.append(ramp(100, 50), mark="m")
    assert r.repeat([(20, heard[:, 20:40]), (40, heard[:, 40:60])]) == 40
    assert r.frames == 40 + 90
    got, place, marks = r.take(1000)
    assert place == 20 and marks == [] and got.shape[1] == 40  # the two parts joined
    expected = ramp(20, 40)
    expected[:, :FADE] = crossfade(ramp(60, FADE), expected[:, :FADE])
    assert np.allclose(got, expected)
    # Then the front, as it was: the stream runs on from frame 60 (it followed frame 59).
    got, place, _ = r.take(1000)
    assert place == 60 and np.allclose(got, ramp(60, 40))
    assert r.take(1000)[1:] == (100, ["m"])
    # Too little on either side to crossfade: nothing is done.
    assert r.repeat([(0, heard[:, : FADE - 1])]) == 0
    assert r.frames == 0 and r.repeat([(0, heard)]) == 0
