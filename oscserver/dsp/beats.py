"""Where the stream's beats are, found as the stream is buffered, seconds before it is heard.

Lyria's bpm is only a request and the phase of its beats is arbitrary, so oscserver listens for
them. The beats come from aubio's real-time tracker (``aubio.tempo``; aubio, GPL-3.0-or-later,
through the aubio-ledfx wheels): spectral-flux onsets, a tempo from their autocorrelation and
the beats placed by a comb filter, after Davies and Plumbley, "Context-dependent beat tracking
of musical audio" (IEEE TASLP 15(3), 2007). It reports each beat just after it has passed, to
about a millisecond on the engine's music (bench/beats.py has the figures against the engine's
own record of its beats).

On top of those beats, :class:`BeatTracker` keeps a grid: the least-squares line through the
last beats (frame against beat number, a missed beat skipping a number), which averages out
the jitter of single beats and gives the tempo, the phase at any frame and how well the beats
fit a steady pulse. A new context (a reset: the service's hard cut) starts the grid afresh.

Like every tracker, aubio's may lock to half the tempo (every other beat; it favours tempi
near 120 bpm, so a 155 bpm stream can come out at 77.5). The bpm the session asked for settles
it: a grid at about half of it is doubled, its beats halfway between those found.

Frames count the stream as it was given to :meth:`BeatTracker.process`, from the first.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oscserver.dsp.bars import BarFinder

__all__ = ["BeatTracker", "BeatsUnavailable", "Grid", "available"]

Samples = npt.NDArray[np.float32]

try:
    import aubio
except ImportError:  # no wheel for this platform
    aubio = None

#: Frames between two looks of the tracker (2.7 ms at 48 kHz), and its FFT's length: chosen by
#: bench/beats.py (the grid within about a millisecond of the engine's beats and of a click
#: track; 512-frame hops put it 3.5 ms early on clicks) for about 1 % of a core.
HOP = 128
WINDOW = 512
#: Beats the grid is fitted to (at 120 bpm, the last eight seconds).
REMEMBER = 16
#: The fewest beats a grid is drawn through.
FEWEST = 4
#: A beat further than this share of a period from the grid's line is not on it.
OFF_GRID = 0.2
#: The least confidence (bars.BarFinder's) at which a downbeat is given: below it, one stream
#: in twelve of the engine's had its downbeat on the wrong beat; at or above it, none did.
SURE = 0.15
#: A grid whose tempo is this far from half the expected one (as a share) is doubled.
OCTAVE = 0.15
#: A grid whose beats lie this close to its line (root mean square, seconds) is a steady pulse.
STEADY = 0.005


class BeatsUnavailable(RuntimeError):
    """The beat tracker's library is not installed here."""


def available() -> bool:
    """Return True when beat tracking can be used on this platform."""
    return aubio is not None


@dataclass(frozen=True)
class Grid:
    """A steady pulse: beat ``n`` falls on frame ``anchor + n * period``.

    Attributes:
        period: Frames per beat.
        anchor: The frame of a beat (the last one found).
        rate: Frames per second.
        spread: How far the beats found lie from the line, in seconds (root mean square).
        beats: How many beats the line was drawn through.
        downbeat: The frame of a beat that starts a bar, or None while not found or not sure
            (:mod:`oscserver.dsp.bars`).
        bar_confidence: How sure the downbeat is (0..1; at least :data:`SURE` when given).
    """

    period: float
    anchor: float
    rate: int
    spread: float
    beats: int
    downbeat: float | None = None
    bar_confidence: float = 0.0

    @property
    def tempo(self) -> float:
        """Beats per minute."""
        return 60.0 * self.rate / self.period

    @property
    def steady(self) -> bool:
        """Whether the beats lie on the line closely enough (:data:`STEADY`) to lock to."""
        return self.spread < STEADY

    def phase(self, frame: float) -> float:
        """Where ``frame`` falls between two beats: 0 on a beat, 0.5 halfway to the next."""
        return ((frame - self.anchor) / self.period) % 1.0

    def next_beat(self, frame: float) -> float:
        """The frame of the first beat at or after ``frame``."""
        return self.anchor + math.ceil((frame - self.anchor) / self.period - 1e-9) * self.period


class BeatTracker:
    """Finds the beats of a stream fed to it piece by piece; its state is kept between calls.

    Args:
        rate: The stream's sample rate.
        hop: Frames between two looks (the tracker's time resolution before interpolation).
        window: The FFT's length.

    Raises:
        BeatsUnavailable: aubio is not installed on this platform.
    """

    def __init__(self, rate: int = 48000, hop: int = HOP, window: int = WINDOW) -> None:
        if aubio is None:
            raise BeatsUnavailable("beat tracking needs aubio (pip install aubio-ledfx)")
        #: The tempo the stream should be near (the bpm asked for), or None when unknown.
        self.expected: float | None = None
        self.rate = rate
        self.hop = hop
        self.window = window
        #: Frames given so far.
        self.frames = 0
        self._pending = np.zeros(0, dtype=np.float32)  # less than a hop, waiting for the rest
        self._beats: deque[float] = deque(maxlen=REMEMBER)
        self._tracker = aubio.tempo("default", window, hop, rate)
        self._origin = 0  # the frame the tracker's own count starts at (after a reset)
        self._bars = BarFinder(rate)

    @property
    def confidence(self) -> float:
        """Aubio's confidence in its tempo (0: no consistent tempo found)."""
        return float(self._tracker.get_confidence())

    def reset(self) -> None:
        """Forget the beats: the stream starts a new context (its tempo and phase may jump)."""
        self._tracker = aubio.tempo("default", self.window, self.hop, self.rate)
        self._origin = self.frames  # what was pending belongs to the old context: dropped
        self._pending = np.zeros(0, dtype=np.float32)
        self._beats.clear()
        self._bars.reset()

    def skip(self, frames: int) -> None:
        """Count ``frames`` of the stream not given (no time to analyse them).

        The beats are found afresh after them, as after :meth:`reset`.
        """
        self.frames += frames
        self.reset()

    def process(self, frames: Samples) -> list[float]:
        """Take the next frames, shaped ``(channels, n)``; returns the beats found in them.

        Returns:
            The frames of the beats found since the last call (each comes a little after it
            has passed: the tracker needs what follows an onset to place it).
        """
        mono = np.ascontiguousarray(frames.mean(axis=0), dtype=np.float32)
        start_frame = self.frames
        self.frames += mono.shape[0]
        data = np.concatenate([self._pending, mono]) if self._pending.shape[0] else mono
        whole = data.shape[0] // self.hop * self.hop
        found: list[float] = []
        tracker = self._tracker
        for start in range(0, whole, self.hop):
            if tracker(data[start : start + self.hop])[0]:
                beat = self._origin + float(tracker.get_last())
                found.append(beat)
                self._bar_beat(beat, float(tracker.get_period()))
                self._beats.append(beat)
        self._pending = data[whole:].copy()
        self._bars.audio(start_frame, mono)
        return found

    def _bar_beat(self, beat: float, period: float) -> None:
        """Tell the bar finder of a beat (and of the one between, at half the tempo)."""
        if period <= 0:
            return
        if self._beats and self._halved(period):
            previous = self._beats[-1]
            if beat - previous > 1.5 * period / 2:
                self._bars.beat((previous + beat) / 2, period / 2)
            period /= 2
        self._bars.beat(beat, period)

    def _halved(self, period: float) -> bool:
        """Whether a beat of ``period`` frames is two of the expected tempo's."""
        if not self.expected:
            return False
        return abs(60.0 * self.rate / period / (self.expected / 2) - 1) < OCTAVE

    def grid(self, last: int = REMEMBER) -> Grid | None:
        """The steady pulse through the last beats, or None while fewer than four fit one.

        Args:
            last: Draw it through at most this many of the last beats: fewer follow a tempo
                that moves (the output while its stretch changes) sooner, more average the
                jitter of single beats.
        """
        beats = np.array(self._beats)[-max(FEWEST, last) :]
        if beats.shape[0] < FEWEST:
            return None
        period = float(np.median(np.diff(beats)))
        if period <= 0:
            return None
        # Number the beats from the last, so a missed beat skips a number.
        numbers = np.round((beats - beats[-1]) / period)
        offsets = (beats - beats[-1]) / period - numbers
        on = np.abs(offsets) <= OFF_GRID
        if np.count_nonzero(on) < FEWEST or len(set(numbers[on])) < FEWEST:
            return None
        slope, intercept = np.polyfit(numbers[on], beats[on], 1)
        residual = beats[on] - (intercept + slope * numbers[on])
        spread = float(np.sqrt(np.mean(residual**2))) / self.rate
        period = float(slope)
        if self._halved(period):
            period /= 2  # every other beat was found
        bar = self._bars.downbeat()
        if bar is not None and bar[1] < SURE:
            bar = None
        return Grid(
            period,
            float(intercept),
            self.rate,
            spread,
            int(np.count_nonzero(on)),
            bar[0] if bar else None,
            bar[1] if bar else 0.0,
        )
