"""A clock's beats as a test (or a benchmark) sees them while the music plays, and how far
recorded times lie from them (test helper, shared with bench/sync.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

#: Seconds between two looks at the clock: its timeline is a line between them.
EVERY = 0.02


class BeatTimeline:
    """Samples ``read()`` — ``(monotonic time, beat)``, or None while there is no beat."""

    def __init__(self, read: Callable[[], tuple[float, float] | None]) -> None:
        self.read = read
        self.samples: list[tuple[float, float]] = []

    async def watch(self, seconds: float) -> None:
        """Look at the clock every :data:`EVERY` seconds for ``seconds``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            sample = self.read()
            if sample is not None:
                self.samples.append(sample)
            await asyncio.sleep(EVERY)

    def errors(self, times: np.ndarray, tempo: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """The ``times`` within the watch, and how late each is on the nearest beat (seconds).

        ``tempo``: the clock's bpm at each time (or one for all), to turn beats into seconds.
        """
        t, beat = np.array(self.samples).T
        inside = (times > t[0]) & (times < t[-1])
        at = np.interp(times, t, beat)
        late = (at - np.round(at)) * 60.0 / tempo
        return times[inside], np.asarray(late)[inside]
