"""The continuity feeder hands the stream's beats on with the stretched audio they are in: a
click track through the feeder, its ratio stepping at every chunk, comes out with a beat on
every click (once the beat watch has found them), within 3 ms of where the click is heard,
its tempo as heard; stretched as each chunk comes and just in time alike."""

from __future__ import annotations

import numpy as np
import pytest
from audio_analysis import kick_onsets
from conftest import needs_stretch_and_beats, wait_for
from test_stretch import clicks
from test_stretching_sink import Memory

from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import PlayoutController, Settings
from oscserver.dsp.beat_map import BeatMark

pytestmark = needs_stretch_and_beats

RATE = 48000
CHUNK = 2 * RATE
#: A ratio per chunk: steps as large as the controller's largest, both ways.
RATIOS = [1.0, 1.03, 0.97, 1.05, 0.95, 1.02, 1.0, 0.98, 1.04, 0.96, 1.01, 1.0]


class Marked(Memory):
    """Keeps what is written with the beats said to be in it; never drains (nothing waits for
    it: just in time, everything is stretched at once)."""

    def __init__(self) -> None:
        super().__init__()
        self.marks: list[tuple[int, list[BeatMark] | None]] = []  # (output frame, marks)

    def write(self, frames: np.ndarray, marks: list[BeatMark] | None = None) -> None:
        self.marks.append((self.frames, marks))
        super().write(frames)

    def buffered_seconds(self) -> float:
        return 0.0


class Stepping(PlayoutController):
    """The controller's ratio, stepped at every chunk as the test says."""

    def __init__(self, ratios: list[float]) -> None:
        super().__init__(Settings(target=1.0))
        self._ratios = iter(ratios)

    def update(self, now: float, buffered: float) -> float:
        self._ratio = next(self._ratios, self._ratio)
        return self._ratio


@pytest.mark.parametrize("lead", [None, 0.3], ids=["as-it-comes", "just-in-time"])
def test_the_beats_come_out_on_the_clicks_as_the_ratio_steps(lead):
    inner = Marked()
    sink = StretchingSink(inner, Settings(target=1.0), track_beats=True, lead=lead)
    sink.controller = Stepping(RATIOS)
    stream = clicks(len(RATIOS) * 2.0, 120.0)
    try:
        for first in range(0, stream.shape[1], CHUNK):
            sink.write(stream[:, first : first + CHUNK])
            end = first + CHUNK
            wait_for(lambda end=end: sink.stream_seconds * RATE > end - 1)
            assert sink.beats is not None
            wait_for(lambda end=end: sink.beats._tracker.frames >= end)
    finally:
        sink.close()
    audio = np.concatenate(inner.chunks, axis=1)
    heard = kick_onsets(audio, RATE, clicks(0.1, 120.0)[0], stretched=True)
    placed = [(at + m.at, m.bpm) for at, marks in inner.marks for m in marks or []]
    beats = np.array([at for at, _ in placed])
    assert np.all(np.diff(beats) > 0.4 * RATE)  # each once, in order
    # Every click from the first beat told has its beat, and no beat is where no click is.
    clicks_after = heard[(heard > beats[0] - 0.01 * RATE) & (heard < audio.shape[1] - RATE)]
    told = beats[beats < audio.shape[1] - RATE]
    assert len(told) == len(clicks_after) >= 0.6 * len(heard), (len(told), len(heard))
    error = np.abs(told - clicks_after) / RATE
    print(
        f"{len(told)} beats of {len(heard)} clicks; error ms: median "
        f"{np.median(error) * 1e3:.2f}, max {error.max() * 1e3:.2f}"
    )
    # (the first grids, drawn through four or five beats, put their beats 2.5-2.9 ms late)
    assert np.median(error) < 0.0015 and error.max() < 0.003
    # The tempo as heard: the stream's 120 bpm over the ratio of the audio the beat is in.
    for at, bpm in placed:
        ratio = RATIOS[min(len(RATIOS) - 1, np.searchsorted(stretched_ends(), at))]
        assert bpm == pytest.approx(120 / ratio, abs=0.5) or near_a_step(at)


def stretched_ends() -> np.ndarray:
    """Where each chunk's audio ends in the output (each chunk stretched by its ratio)."""
    return np.cumsum([CHUNK * r for r in RATIOS])


def near_a_step(at: float) -> bool:
    """Within Rubber Band's lag of a change of ratio (the new one applies a little before)."""
    return bool(np.min(np.abs(stretched_ends() - at)) < 0.05 * RATE)
