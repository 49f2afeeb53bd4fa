"""The stream's beats carried through the stretch: where each one comes out of the stretcher.

The stream's beats are known to about a millisecond (:mod:`oscserver.dsp.beats`: a steady grid
drawn through aubio's beats, seconds before they are heard). The output plays the stream
stretched by a ratio that the continuity controller or the lock moves as it goes, so a tracker
listening to the output lags wherever the ratio moves (3 % in a few beats puts its predictions
tens of milliseconds late). The output's beats are instead the stream's, carried through the
stretch.

Rubber Band's real-time mode lines its output up with the input from the first block
(:mod:`oscserver.dsp.stretch`), and each input frame comes out as long as its ratio says: the
output frame of an input frame is the sum of the ratios of the frames before it. A new ratio
applies from the input not yet analysed when it is set, which reaches back before the block it
is given with by about as much as Rubber Band keeps waiting for its analysis window:
:data:`LAG` frames, measured with a click track through a step of the ratio (R3 1632-1760, R2
2272 whatever the block size). Taken at the block, a step of 10 % put the clicks after it 4-5
ms off; taken :data:`LAG` before it, within 0.3 ms. Through R3 (the feeder's engine) with
steps of 1 % every 2 s the clicks stay within 0.4 ms of the beats placed; with steps of 4-12 %
(larger than the controller makes), within 2 ms, 4 ms without the lag (tests/test_beat_map.py).
R2's output drifts from the sum by about 0.1 ms at each change of ratio (8 ms after 48 steps).

:class:`BeatMap` follows one stretcher from its start: the feeder tells it each block as it is
fed, with the grid of the stream there, and asks it, for each stretch of output given back,
which beats fall in it (:class:`BeatMark`, placed from the output's first frame).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from oscserver.dsp.bars import BEATS_PER_BAR
from oscserver.dsp.beats import Grid

__all__ = ["BeatMap", "BeatMark"]


@dataclass(frozen=True)
class BeatMark:
    """A beat of the stream in a stretch of output.

    Attributes:
        at: Frames from the first frame of the output it travels with (at that output's
            rate; it may lie beyond its last frame: a beat in what follows).
        place: Its place in the bar (0: the first beat), where the stream's bar lines are
            known; else None.
        bpm: The tempo as heard there (the stream's over the stretch's ratio).
    """

    at: float
    place: int | None
    bpm: float

    def moved(self, frames: float, scale: float = 1.0) -> BeatMark:
        """The same beat, placed from ``frames`` earlier (at a rate ``scale`` times this one's)."""
        return BeatMark((self.at + frames) * scale, self.place, self.bpm)


#: Input frames before the block a new ratio is given with from which Rubber Band applies it,
#: by engine (see above).
LAG = {"finer": 1700, "faster": 2272}


class BeatMap:
    """The beats of the blocks fed to one stretcher, placed in its output.

    Call :meth:`fed` with every block before it is stretched, :meth:`given` with every stretch
    of output the stretcher gives back (its place counted from the stretcher's start), and
    :meth:`clear` whenever the stretcher starts afresh (a reset, a flush) or fails (its output
    then follows nothing known until it starts afresh).

    Args:
        lag: Input frames before its block from which a new ratio applies (:data:`LAG`).
    """

    def __init__(self, lag: int = LAG["finer"]) -> None:
        self.lag = lag
        self._fed = 0  # input frames fed since the start
        # Where the ratio changes: (input frame, ratio, the output frame there), in order.
        self._ratios: list[tuple[float, float, float]] = []
        # (first input frame, end, whether its beats are known) of each block not yet given
        self._blocks: deque[tuple[int, int, bool]] = deque()
        self._beats: deque[tuple[float, int | None, float]] = deque()  # (input frame, bar, bpm)
        self._broken = False

    def clear(self, broken: bool = False) -> None:
        """The stretcher starts afresh (``broken``: it failed, and nothing is known until then)."""
        self._fed = 0
        self._ratios.clear()
        self._blocks.clear()
        self._beats.clear()
        self._broken = broken

    def fed(self, place: int, frames: int, ratio: float, grid: Grid | None) -> None:
        """A block of ``frames`` from stream frame ``place`` is fed at ``ratio``.

        Args:
            place: Its first frame, counted as ``grid`` counts.
            frames: Its length.
            ratio: The time ratio it is stretched by (output over input).
            grid: The stream's beats there; None, or not steady: not known.
        """
        if frames <= 0:
            return
        first = self._fed
        self._fed += frames
        if not self._ratios or self._ratios[-1][1] != ratio:
            self._change(max(0, first - self.lag) if self._ratios else 0, ratio)
        known = grid is not None and grid.steady and not self._broken
        self._blocks.append((first, first + frames, known))
        if not known:
            return
        assert grid is not None
        beat = grid.next_beat(place)
        while beat < place + frames:
            bar = None
            if grid.downbeat is not None:
                bar = round((beat - grid.downbeat) / grid.period) % BEATS_PER_BAR
            self._beats.append((first + beat - place, bar, grid.tempo))
            beat += grid.period

    def given(self, first: int, frames: int) -> list[BeatMark] | None:
        """The beats in the output frames ``first`` up to ``first + frames``.

        Args:
            first: The first output frame given back, counted from the stretcher's start.
            frames: How many.

        Returns:
            Their beats, placed from ``first`` (empty: none fall there); None when the beats
            of some of the blocks they came from are not known.
        """
        end = first + frames
        known = True
        blocks = self._blocks
        while blocks and self._output(blocks[0][0]) < end:
            if not blocks[0][2]:
                known = False
            if self._output(blocks[0][1]) > end:
                break  # (it goes on in the next output)
            blocks.popleft()
        if self._broken:
            return None
        marks = []
        while self._beats and (at := self._output(self._beats[0][0])) < end:
            _, bar, bpm = self._beats.popleft()
            marks.append(BeatMark(at - first, bar, bpm / self._ratio_at(at)))
        self._forget()
        return marks if known else None

    def _change(self, at: float, ratio: float) -> None:
        """The ratio is ``ratio`` from input frame ``at`` on (a later change replaces one)."""
        ratios = self._ratios
        while ratios and ratios[-1][0] >= at:
            ratios.pop()
        ratios.append((at, ratio, self._output(at)))

    def _output(self, frame: float) -> float:
        """The output frame of input frame ``frame``."""
        for at, ratio, out in reversed(self._ratios):
            if at <= frame:
                return out + (frame - at) * ratio
        return frame if not self._ratios else self._ratios[0][1] * frame

    def _ratio_at(self, output: float) -> float:
        """The ratio at output frame ``output``."""
        for _, ratio, out in reversed(self._ratios):
            if out <= output:
                return ratio
        return self._ratios[0][1] if self._ratios else 1.0

    def _forget(self) -> None:
        """Drop the changes of ratio before the earliest input frame still asked of."""
        needed = min(
            [self._fed - self.lag]
            + ([self._blocks[0][0]] if self._blocks else [])
            + ([self._beats[0][0]] if self._beats else [])
        )
        ratios = self._ratios
        while len(ratios) > 1 and ratios[1][0] <= needed:
            ratios.pop(0)
