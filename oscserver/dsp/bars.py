"""Which beat starts the bar: found from what changes on each beat, as the beats are found.

Music marks its bar lines: the harmony changes there more than anywhere (a chord a bar is the
commonest rhythm of harmony), and the kick drum lands there in every pattern, also where it
leaves other beats out. :class:`BarFinder` measures both at each beat the tracker finds, the
change of the pitch-class profile (chroma) from the beat before to the beat after, and the
level of the first 50 ms of the low band, and keeps a fading score for each of the four places
in a bar. The place that scores highest is the downbeat; how far it leads the next is the
confidence. This is the idea of harmonic-change downbeat detection (Goto and Muraoka, "Real-
time beat tracking for drumless audio signals", Speech Communication 27, 1999; Papadopoulos
and Peeters, ISMIR 2008), kept to what an online tracker can afford.

Frames count the stream as the tracker does.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

__all__ = ["BEATS_PER_BAR", "BarFinder"]

#: Beats to the stream's bar: Lyria's music, like the engine's, is in 4/4.
BEATS_PER_BAR = 4

#: Seconds of audio kept to measure beats found late.
KEEP = 4.0
#: How much of a bar's score is kept at each new bar (the rest is the new bar's).
FADE = 0.85
#: The lowest and highest frequencies (Hz) of the chroma; below LOW_BAND, the kick's band.
CHROMA_LOW, CHROMA_HIGH, LOW_BAND = 60.0, 4000.0, 150.0


class BarFinder:
    """Scores the four places of a bar, beat after beat.

    Args:
        rate: The stream's sample rate.
        beats_per_bar: Beats to a bar.
    """

    def __init__(self, rate: int, beats_per_bar: int = BEATS_PER_BAR) -> None:
        self.rate = rate
        self.beats_per_bar = beats_per_bar
        self._audio: deque[tuple[int, npt.NDArray[np.float32]]] = deque()
        self._end = 0  # the frame after the last audio kept
        self._pending: deque[tuple[float, int, float]] = deque()  # (frame, number, period)
        self._last: tuple[float, int] | None = None  # the last beat numbered
        self._scores = np.zeros((2, beats_per_bar))  # chroma change, low level
        self._measured = 0
        self._latest: tuple[float, int] | None = None  # the latest beat measured
        self._period = 0.0  # frames per beat at the latest beat measured

    def reset(self) -> None:
        """A new context: the bar may start anywhere."""
        self._pending.clear()
        self._last = None
        self._latest = None
        self._scores[:] = 0.0
        self._measured = 0

    def audio(self, start: int, mono: npt.NDArray[np.float32]) -> None:
        """The stream's next frames, from frame ``start``; measures the beats they complete."""
        self._audio.append((start, mono))
        self._end = start + mono.shape[0]
        while self._audio and self._audio[0][0] + self._audio[0][1].shape[0] < self._end - (
            KEEP * self.rate
        ):
            self._audio.popleft()
        self._measure()

    def beat(self, frame: float, period: float) -> None:
        """A beat found at ``frame``, ``period`` frames after the one before (as the grid says)."""
        if self._last is None:
            number = 0
        else:
            last_frame, last_number = self._last
            number = last_number + max(1, round((frame - last_frame) / period))
        self._last = (frame, number)
        self._pending.append((frame, number, period))
        self._measure()

    def downbeat(self) -> tuple[float, float] | None:
        """The frame of a beat that starts a bar and the confidence (0..1).

        None while fewer than two bars of beats have been measured.
        """
        if self._latest is None or self._measured < 2 * self.beats_per_bar:
            return None
        means = self._scores.mean(axis=1, keepdims=True)
        combined = (self._scores / np.where(means > 0, means, 1.0)).sum(axis=0)
        order = np.argsort(combined)[::-1]
        best, second = combined[order[0]], combined[order[1]]
        confidence = float((best - second) / best) if best > 0 else 0.0
        frame, number = self._latest
        place = int(order[0])
        back = (number - place) % self.beats_per_bar  # beats since the last downbeat
        period = self._period
        return frame - back * period, confidence

    def _measure(self) -> None:
        while self._pending:
            frame, number, period = self._pending[0]
            if frame + period > self._end:
                return  # the beat after it has not come yet
            self._pending.popleft()
            before = self._span(frame - period, frame)
            after = self._span(frame, frame + period)
            if before is None or after is None:
                continue  # the audio is gone (a beat found very late)
            change = float(np.abs(self._chroma(after) - self._chroma(before)).sum())
            attack = after[: int(0.05 * self.rate)]
            low = float(np.sqrt(np.mean(_lowpass(attack, self.rate, LOW_BAND) ** 2)))
            place = number % self.beats_per_bar
            if place == 0 and self._measured:
                self._scores *= FADE
            self._scores[:, place] += (change, low)
            self._measured += 1
            self._latest = (frame, number)
            self._period = period

    def _span(self, lo: float, hi: float) -> npt.NDArray[np.float32] | None:
        a, b = int(lo), int(hi)
        if not self._audio or a < self._audio[0][0] or b > self._end:
            return None
        pieces = [m[max(0, a - s) : b - s] for s, m in self._audio if s < b and s + len(m) > a]
        return np.concatenate(pieces)

    def _chroma(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        power = np.abs(np.fft.rfft(x * np.hanning(x.shape[0]))) ** 2
        freqs = np.fft.rfftfreq(x.shape[0], 1 / self.rate)
        keep = (freqs >= CHROMA_LOW) & (freqs < CHROMA_HIGH)
        classes = np.round(12 * np.log2(freqs[keep] / 440.0) + 69).astype(int) % 12
        profile = np.bincount(classes, weights=power[keep], minlength=12).astype(np.float64)
        total = float(profile.sum())
        return profile / total if total > 0 else profile


def _lowpass(x: npt.NDArray[np.float32], rate: int, cutoff: float) -> npt.NDArray[np.float64]:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(x.shape[0], 1 / rate) > cutoff] = 0
    return np.fft.irfft(spectrum, x.shape[0])
