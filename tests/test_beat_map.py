"""The stream's beats carried through the stretch: placed by the sum of each input frame's ratio,
a new ratio applying from a lag before its block (plain inputs), unknown where the stream's
beats were, and, through Rubber Band itself with the ratio moving, on the clicks of a click
track as they come out."""

from __future__ import annotations

import numpy as np
import pytest
from audio_analysis import kick_onsets
from test_stretch import clicks

from oscserver.dsp import stretch
from oscserver.dsp.beat_map import LAG, BeatMap, BeatMark
from oscserver.dsp.beats import Grid
from oscserver.dsp.stretch import Stretcher

RATE = 48000
#: A beat every 24000 frames (120 bpm) from frame 1000, a bar starting there.
GRID = Grid(period=24000.0, anchor=1000.0, rate=RATE, spread=0.0, beats=8, downbeat=1000.0)


def given_in_pieces(
    beat_map: BeatMap, frames: int, piece: int
) -> list[tuple[float, int | None, float]]:
    """Ask for ``frames`` of output ``piece`` at a time; each mark placed from the output's
    first frame."""
    marks = []
    for first in range(0, frames, piece):
        got = beat_map.given(first, min(piece, frames - first))
        assert got is not None
        marks += [(first + m.at, m.place, m.bpm) for m in got]
    return marks


def test_each_beat_comes_out_where_the_blocks_before_it_and_its_own_ratio_put_it():
    beat_map = BeatMap(lag=0)
    beat_map.fed(0, 30000, 1.0, GRID)  # beats at 1000 and 25000: out 1000, 25000
    beat_map.fed(30000, 30000, 1.5, GRID)  # from out 30000: 49000 -> 30000 + 19000 * 1.5
    beat_map.fed(60000, 40000, 0.5, GRID)  # from out 75000: 73000 and 97000
    assert given_in_pieces(beat_map, 95000, 7000) == [
        (1000.0, 0, 120.0),
        (25000.0, 1, 120.0),
        (58500.0, 2, 80.0),
        (81500.0, 3, 240.0),
        (93500.0, 0, 240.0),
    ]


def test_a_new_ratio_applies_from_a_lag_before_its_block():
    beat_map = BeatMap(lag=1000)
    beat_map.fed(0, 24500, 1.0, GRID)  # beats at 1000 and 25000 (the second in the next block)
    beat_map.fed(24500, 10000, 2.0, GRID)  # 2.0 from input frame 23500
    beat_map.fed(34500, 500, 1.0, GRID)  # 1.0 from 33500
    beat_map.fed(35000, 400, 3.0, GRID)  # 3.0 from 34000
    beat_map.fed(35400, 14000, 1.0, GRID)  # 1.0 from 34400, with 49000 in it
    # 25000: 23500 + 1500 * 2.0; 49000: 23500 + 10000 * 2.0 + 500 + 400 * 3.0 + 14600.
    assert given_in_pieces(beat_map, 61000, 5000) == [
        (1000.0, 0, 120.0),
        (26500.0, 1, 60.0),
        (59800.0, 2, 120.0),
    ]


def test_blocks_that_skip_or_repeat_the_stream_are_placed_in_the_order_fed():
    beat_map = BeatMap(lag=0)
    beat_map.fed(0, 20000, 1.0, GRID)  # the beat at 1000
    beat_map.fed(48000, 10000, 1.0, GRID)  # (a skip forward to 48000: the beat at 49000)
    beat_map.fed(44000, 10000, 1.0, GRID)  # (played again from 44000: 49000 again)
    assert given_in_pieces(beat_map, 40000, 4000) == [
        (1000.0, 0, 120.0),
        (21000.0, 2, 120.0),
        (35000.0, 2, 120.0),
    ]


def test_the_output_of_a_block_whose_beats_were_not_known_has_none():
    beat_map = BeatMap()
    beat_map.fed(0, 24000, 1.0, GRID)
    beat_map.fed(24000, 24000, 1.0, None)  # (the stream's first seconds: no grid yet)
    unsteady = Grid(24000.0, 1000.0, RATE, spread=0.02, beats=8)
    beat_map.fed(48000, 24000, 1.0, unsteady)
    beat_map.fed(72000, 24000, 1.0, GRID)
    assert beat_map.given(0, 20000) == [BeatMark(1000.0, 0, 120.0)]
    assert beat_map.given(20000, 8000) is None  # (partly from the block not known)
    assert beat_map.given(28000, 44000) is None
    assert beat_map.given(72000, 24000) == [BeatMark(1000.0, 3, 120.0)]


def test_after_a_failure_nothing_is_known_until_the_stretcher_starts_afresh():
    beat_map = BeatMap()
    beat_map.fed(0, 48000, 1.0, GRID)
    beat_map.clear(broken=True)
    beat_map.fed(48000, 48000, 1.0, GRID)
    assert beat_map.given(0, 48000) is None
    beat_map.clear()
    beat_map.fed(96000, 48000, 1.0, GRID)
    assert beat_map.given(0, 48000) == [BeatMark(1000.0, 0, 120.0), BeatMark(25000.0, 1, 120.0)]


@pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")
def test_through_rubber_band_the_beats_land_on_the_clicks_as_the_ratio_moves():
    """R3, the feeder's engine, with steps of the ratio larger than the controller's."""
    engine = "finer"
    stream = clicks(24.0, 120.0)  # a click on every beat from frame 0
    grid = Grid(period=24000.0, anchor=0.0, rate=RATE, spread=0.0, beats=8)
    stretcher = Stretcher(RATE, engine=engine)
    maps = {"lag": BeatMap(LAG[engine]), "none": BeatMap(lag=0)}
    ratios = [1.0, 1.04, 0.96, 1.06, 0.94, 1.02]  # one per 2 s chunk, as the feeder's
    out, marks = [], {name: [] for name in maps}
    for first in range(0, stream.shape[1], 4096):
        ratio = ratios[first // 96000 % len(ratios)]
        piece = stream[:, first : first + 4096]
        for beat_map in maps.values():
            beat_map.fed(first, piece.shape[1], ratio, grid)
        made = stretcher.process(piece, ratio)
        at = stretcher.given - made.shape[1]
        for name, beat_map in maps.items():
            got = beat_map.given(at, made.shape[1])
            assert got is not None
            marks[name] += [at + m.at for m in got]
        out.append(made)
    audio = np.concatenate(out, axis=1)
    heard = kick_onsets(audio, RATE, clicks(0.1, 120.0)[0], stretched=True)
    worst = {}
    for name, placed in marks.items():
        placed = np.array([m for m in placed if m < audio.shape[1] - RATE // 10])
        assert len(placed) >= 44 and len(heard) == len(placed)
        worst[name] = np.abs(placed - heard).max() / RATE
    print(f"beats from the clicks, ms: max {worst['lag'] * 1e3:.2f} ({worst['none'] * 1e3:.2f})")
    assert worst["lag"] < 0.002
    assert worst["none"] > worst["lag"] + 0.001  # (a ratio taken from its block on)
