"""The null sink: plays to nowhere, at real time (for headless runs, tests and benchmarks).

A thread stands in for a sound card's clock: every 10 ms it runs the
:class:`~oscserver.adapters.audio.playout.Playout` for the frames that time covers, so the
buffer fills and drains, and underruns are counted, exactly as with a real device.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from oscserver.adapters.audio.base import STREAM_RATE, RingSink
from oscserver.adapters.audio.playout import Playout
from oscserver.adapters.audio.shared import STATE_RUNNING, F, SharedBlock

__all__ = ["NullSink"]

PERIOD = 480  # frames per callback (10 ms)


class NullSink(RingSink):
    """Consumes audio at 48 kHz and discards it.

    Args:
        preroll_seconds: Wait after audio arrives before playing, and after an underrun.
        ramp_seconds: Gain ramp on play, pause and stop.
    """

    def __init__(self, preroll_seconds: float = 1.0, ramp_seconds: float = 0.1) -> None:
        super().__init__(SharedBlock(20 * STREAM_RATE), preroll_seconds)
        self._rate_known(STREAM_RATE)
        self._playout = Playout(self.block, round(ramp_seconds * STREAM_RATE))
        self._left = np.zeros(PERIOD, dtype=np.float32)
        self._right = np.zeros(PERIOD, dtype=np.float32)
        self._stop = threading.Event()
        self._h[F.RATE] = STREAM_RATE
        self._h[F.BLOCKSIZE] = PERIOD
        self._h[F.STATE] = STATE_RUNNING
        self._thread = threading.Thread(target=self._clock, name="oscserver-null", daemon=True)
        self._thread.start()

    def _clock(self) -> None:
        next_time = time.monotonic()
        while not self._stop.is_set():
            self._playout.process(self._left, self._right, PERIOD)
            next_time += PERIOD / STREAM_RATE
            delay = next_time - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.1:  # fell far behind (e.g. suspended): count it, catch up
                self._h[F.XRUNS] += 1
                next_time = time.monotonic()

    @property
    def description(self) -> str:
        """Where the audio goes."""
        return "nowhere (null output, 48 kHz)"

    def close(self) -> None:
        """Stop the clock."""
        self._stop.set()
        self._thread.join(1)
