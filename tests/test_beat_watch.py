"""The beat watch across a context reset, on the engine's music (a model 4 % fast, a new phase
at each reset, every beat recorded): the new stream's beats are found from where it began,
also when the chunk it was marked at still held the old context's audio."""

from __future__ import annotations

import time

import pytest
from conftest import timeout
from test_beats import SR, engine, render

from oscserver.adapters.audio.beat_watch import BeatWatch
from oscserver.core.lyria import MusicGenerationConfig
from oscserver.dsp import beats

pytestmark = pytest.mark.skipif(not beats.available(), reason="no aubio here")

CHUNK = 2 * SR  # the service's chunks


def settled(watch: BeatWatch, start: int) -> beats.Grid:
    """Wait for a steady grid of a stream that began at ``start`` (either candidate)."""
    deadline = time.monotonic() + timeout(30)
    while True:
        found = watch.found
        if found is not None and found[0] >= start and found[1].steady:
            return found[1]
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


@pytest.mark.parametrize("early", [False, True])
def test_the_new_contexts_beats_count_from_where_it_really_began(early):
    s = engine("techno")
    watch = BeatWatch(SR)
    try:
        for _ in range(4):
            watch.feed(render(s, 2.0), 120.0)
        marked = s.rendered
        if early:  # the first chunk after RESET_CONTEXT was sent was made before it came
            watch.forget(marked)
            watch.feed(render(s, 2.0), 126.0)
        s.set_config(MusicGenerationConfig(bpm=126))
        s.reset()  # RESET_CONTEXT: 131 bpm (126 x 1.04) from a new phase
        began = s.rendered
        if not early:
            watch.forget(marked)
        for _ in range(5):
            watch.feed(render(s, 2.0), 126.0)
        grid = settled(watch, marked)
        assert watch.found is not None and watch.found[0] == began
        assert watch.moved == ({marked: began} if early else {})
        assert grid.tempo == pytest.approx(126 * 1.04, abs=0.3)
        truth = s.beat_frames(began, s.rendered)
        assert abs(grid.next_beat(truth[-2] - 2000) - truth[-2]) < 0.003 * SR
    finally:
        watch.close()
