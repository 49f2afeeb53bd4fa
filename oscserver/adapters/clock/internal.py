"""oscserver's own clock: the bpm asked for, beat 0 when play starts."""

from __future__ import annotations

import time
from collections.abc import Callable

from oscserver.adapters.clock.base import ClockSource
from oscserver.core.lock import ClockReading

__all__ = ["InternalClock"]


class InternalClock(ClockSource):
    """A steady beat at the asked tempo, for a rig with no clock of its own.

    Args:
        bpm: The tempo.
        clock: Monotonic seconds.
    """

    name = "internal"

    def __init__(self, bpm: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._reading: ClockReading | None = None
        self.bpm = bpm

    def start(self, beat: float = 0.0) -> None:
        """Beat ``beat`` is now (play began: beat 0, the first of a bar)."""
        self._reading = ClockReading(self._clock(), beat, self.bpm)

    def read(self) -> ClockReading | None:
        """The beat now; None before :meth:`start`."""
        if self._reading is None:
            return None
        now = self._clock()
        return ClockReading(now, self._reading.beat_at(now), self._reading.tempo)

    def play(self) -> None:
        """Beat 0 is now (as :meth:`start`)."""
        self.start()

    def propose_tempo(self, bpm: float) -> None:
        """Go on at ``bpm`` from the beat now: the beats stay continuous."""
        self.bpm = bpm
        if self._reading is not None:
            now = self._clock()
            self._reading = ClockReading(now, self._reading.beat_at(now), bpm)

    def describe(self) -> str:
        """One line for the status."""
        return f"internal clock at {self.bpm:g} bpm"
