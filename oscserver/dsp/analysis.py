"""The music's level, spectrum and onsets, measured as it is written to the output.

oscserver holds the music seconds before it is heard, so it can tell a patch what is coming:
:class:`Analyser` takes the output's frames in order, as they are written, and gives
:class:`Report` s (level and bands, one per analysis period, each about the period that
*begins* at its frame: the patch gets it as that sound starts) and :class:`Onset` s (each at
the frame where a note or a hit begins). Frames count the output from the first given; the
caller maps a frame to the time it leaves the ports.

What the numbers mean:

- ``rms`` and ``peak``: the period's root mean square and largest absolute sample, both
  channels together, on the linear scale of the samples (1.0 full scale: a full-scale sine
  has rms 0.707).
- ``bands``: :data:`BANDS` bands with edges spaced evenly on a log scale from
  :data:`LOWEST` Hz to :data:`HIGHEST` Hz (each a little over an octave, like a graphic
  equaliser's), each the band's level in dB relative to a full-scale sine, mapped from
  -:data:`RANGE_DB` dB (0.0) to 0 dB (1.0) and clipped: 0.1 is 6 dB. One number per band
  that a visual can use as it is.
- an onset's ``strength``: the peak of its onset function against the strongest onset's of the
  last :data:`STRENGTH_SECONDS` seconds: 1.0 is as strong as any onset lately.

Onsets come from aubio's online onset detector (``aubio.onset``; its default function, the
high-frequency content of Masri's thesis (1996), with an adaptive threshold and peak picking,
Brossier's thesis (2006)), which gives each onset's frame with its delay taken off; the delay
is set from a click track (:data:`ONSET_DELAY`). Its spectral-flux function was tried and
refused: on a steady tone it found an onset every 130 ms. The level and the bands are numpy:
a Hann-windowed FFT.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "BANDS",
    "HIGHEST",
    "LOWEST",
    "RANGE_DB",
    "Analyser",
    "Onset",
    "Report",
    "band_edges",
]

Samples = npt.NDArray[np.float32]

try:
    import aubio
except ImportError:  # no wheel for this platform: no onsets (the level and bands still)
    aubio = None

#: The number of spectrum bands, and the range their edges are spread over (log-spaced).
BANDS = 8
LOWEST = 40.0
HIGHEST = 16000.0
#: The bands' range in dB below a full-scale sine: 0.0 at or under it, 1.0 at full scale.
RANGE_DB = 60.0
#: An onset's strength is against the strongest of this many seconds before it.
STRENGTH_SECONDS = 3.0
#: The fewest frames the bands are measured over (43 ms at 48 kHz: 23 Hz apart, so that the
#: lowest band has a few of them), ending where the period ends.
SPECTRUM = 2048
#: The onset detector's hop and window (2.7 and 11 ms at 48 kHz), and the frames from an onset
#: to its detection, taken off its frame: on a click track the detections came 470-482 frames
#: after the clicks (a window of 1024 frames spread them by 80).
ONSET_HOP = 128
ONSET_WINDOW = 512
ONSET_DELAY = 476
#: Hops over which an onset's peak is looked for, back from its detection.
PEAK_HOPS = ONSET_DELAY // ONSET_HOP + 2
#: An onset's ``bass`` is the rise of the energy below this frequency (a kick's body), over
#: BASS_AFTER hops from it against BASS_BEFORE hops before it (all of them detected by then).
BASS_HZ = 150.0
BASS_AFTER = 3
BASS_BEFORE = 6


def band_edges(bands: int = BANDS, lowest: float = LOWEST, highest: float = HIGHEST) -> list[float]:
    """The ``bands + 1`` edges in Hz, evenly spaced on a log scale.

    >>> [round(f) for f in band_edges()]
    [40, 85, 179, 378, 800, 1692, 3578, 7566, 16000]
    """
    ratio = highest / lowest
    return [lowest * ratio ** (k / bands) for k in range(bands + 1)]


@dataclass(frozen=True)
class Report:
    """The level and bands of the analysis period that begins at ``frame``."""

    frame: int
    rms: float
    peak: float
    bands: tuple[float, ...]


@dataclass(frozen=True)
class Onset:
    """A note or hit that begins at ``frame``, with its strength (0..1).

    ``bass``: how much the energy below :data:`BASS_HZ` rises with it, the few milliseconds
    after it against the 15 ms before (1: not at all; a kick's is far above, a hat's near 1).
    """

    frame: int
    strength: float
    bass: float = 1.0


class Analyser:
    """Level, bands and onsets of a stream of output frames, in order.

    Args:
        sample_rate: The output's rate.
        rate: Reports per second (``--analysis-rate``); the period is ``sample_rate / rate``
            frames, rounded.
        onsets: Find onsets too (needs aubio; without it, none are found).

    Raises:
        ValueError: ``rate`` is not above 0 or above a report per 64 frames.
    """

    def __init__(self, sample_rate: int = 48000, rate: float = 30.0, onsets: bool = True) -> None:
        period = round(sample_rate / rate) if rate > 0 else 0
        if period < 64:
            raise ValueError(f"analysis rate must be in 0..{sample_rate / 64:g} Hz, not {rate}")
        self.sample_rate = sample_rate
        self.period = period
        self._span = max(period, SPECTRUM)
        self._window = np.hanning(self._span).astype(np.float32)
        frequencies = np.fft.rfftfreq(self._span, 1.0 / sample_rate)
        edges = band_edges()
        self._bins = [
            (int(np.searchsorted(frequencies, lo)), int(np.searchsorted(frequencies, hi)))
            for lo, hi in itertools.pairwise(edges)
        ]
        # A full-scale sine's power in one bin of this window: |sum(w)/2|^2.
        self._full_scale = float(self._window.sum() / 2) ** 2
        self._before = np.zeros((2, self._span - period), np.float32)  # what preceded
        self._pending = np.zeros((2, 0), np.float32)
        self._frame = 0  # the output frame of the first pending frame
        self._onsets = onsets and aubio is not None
        self._detector: Any = self._new_detector() if self._onsets else None
        self._onset_pending = np.zeros(0, np.float32)
        self._onset_frame = 0  # frames given to the detector
        self._onset_base = 0  # the frame the detector began at
        self._recent: deque[float] = deque(maxlen=PEAK_HOPS)  # the onset function's last values
        self._peaks: deque[tuple[int, float]] = deque()  # (frame, peak) of the onsets lately
        self._low: Any = self._new_lowpass() if self._onsets else None
        # (first frame, energy below BASS_HZ) of the last hops, for each onset's bass
        self._bass: deque[tuple[int, float]] = deque(maxlen=PEAK_HOPS + BASS_BEFORE + 2)

    def _new_detector(self) -> Any:
        detector = aubio.onset("hfc", ONSET_WINDOW, ONSET_HOP, self.sample_rate)
        detector.set_minioi_ms(30.0)
        detector.set_delay(ONSET_DELAY)
        # Adaptive whitening off, so that the same hit gives the same strength every time
        # (on, the first of a click track's clicks peaked 5 times above the others).
        detector.set_awhitening(0)
        return detector

    def _new_lowpass(self) -> Any:
        """A second-order Butterworth low-pass at BASS_HZ (the RBJ Audio EQ Cookbook's)."""
        w0 = 2.0 * np.pi * BASS_HZ / self.sample_rate
        alpha, cos = np.sin(w0) / np.sqrt(2.0), np.cos(w0)
        a0 = 1.0 + alpha
        lowpass = aubio.digital_filter(3)
        lowpass.set_biquad(
            (1 - cos) / 2 / a0, (1 - cos) / a0, (1 - cos) / 2 / a0, -2 * cos / a0, (1 - alpha) / a0
        )
        return lowpass

    def reset(self) -> None:
        """Start afresh: what follows does not continue what came before (a pause).

        Frames go on counting from where they were.
        """
        self._frame += self._pending.shape[1]
        self._pending = self._pending[:, :0]
        self._before[:] = 0.0
        if self._onsets:
            self._onset_frame += self._onset_pending.shape[0]
            self._onset_pending = self._onset_pending[:0]
            self._detector = self._new_detector()
            self._onset_base = self._onset_frame
            self._recent.clear()
            self._peaks.clear()
            self._low = self._new_lowpass()
            self._bass.clear()

    def process(self, frames: Samples) -> tuple[list[Report], list[Onset]]:
        """Take the next output frames, shaped ``(2, n)``.

        Returns:
            The reports of the periods now complete, and the onsets found, in order.
        """
        joined = np.concatenate([self._before, self._pending, frames], axis=1)
        ahead = self._before.shape[1]  # the first pending frame's index in joined
        whole = (joined.shape[1] - ahead) // self.period * self.period
        reports = [
            self._report(
                self._frame + at,
                joined[:, ahead + at - self._span + self.period :][:, : self._span],
                self.period,
            )
            for at in range(0, whole, self.period)
        ]
        self._before = joined[:, ahead + whole - self._before.shape[1] : ahead + whole]
        self._pending = joined[:, ahead + whole :]
        self._frame += whole
        onsets = self._find_onsets(frames) if self._onsets else []
        return reports, onsets

    def _report(self, frame: int, span: Samples, period: int) -> Report:
        """The period is the last ``period`` frames of ``span``; the bands are over all."""
        own = span[:, -period:]
        rms = float(np.sqrt(np.mean(np.square(own, dtype=np.float64))))
        peak = float(np.max(np.abs(own)))
        mono = span.mean(axis=0) * self._window
        power = np.abs(np.fft.rfft(mono)) ** 2
        bands = []
        for lo, hi in self._bins:
            level = float(power[lo:hi].sum()) / self._full_scale if hi > lo else 0.0
            db = 10.0 * np.log10(level) if level > 0.0 else -RANGE_DB
            bands.append(min(1.0, max(0.0, 1.0 + db / RANGE_DB)))
        return Report(frame, rms, peak, tuple(bands))

    def _find_onsets(self, frames: Samples) -> list[Onset]:
        detector = self._detector
        mono = np.concatenate([self._onset_pending, frames.mean(axis=0).astype(np.float32)])
        found = []
        keep = round(STRENGTH_SECONDS * self.sample_rate)
        hops = mono.shape[0] // ONSET_HOP
        for k in range(hops):
            hop = mono[k * ONSET_HOP : (k + 1) * ONSET_HOP]
            low = self._low(np.array(hop))  # (a copy: the filter works in place)
            self._bass.append((self._onset_frame, float(np.mean(np.square(low)))))
            self._onset_frame += ONSET_HOP
            is_onset = bool(detector(hop)[0])
            self._recent.append(float(detector.get_descriptor()))
            if is_onset:
                # (get_last: the onset's frame in what the detector was given, its delay off)
                frame = int(detector.get_last()) + self._onset_base
                self._peaks.append((frame, max(self._recent)))
                while self._peaks[0][0] < frame - keep:
                    self._peaks.popleft()
                strongest = max(p for _, p in self._peaks)
                strength = self._peaks[-1][1] / strongest if strongest > 0 else 0.0
                found.append(Onset(frame, strength, self._bass_rise(frame)))
        self._onset_pending = mono[hops * ONSET_HOP :]
        return found

    def _bass_rise(self, frame: int) -> float:
        """The energy below BASS_HZ just after ``frame`` against just before it."""
        at = frame
        hop = ONSET_HOP
        after = [e for f, e in self._bass if at <= f < at + BASS_AFTER * hop]
        before = [e for f, e in self._bass if at - BASS_BEFORE * hop <= f < at - hop]
        if not after or not before:
            return 1.0
        return float(np.mean(after) / (np.mean(before) + 1e-9))
