"""Logging that a flood cannot turn into a flood of log lines.

A sensor gone wrong or a fuzzer can send thousands of bad datagrams a second; each is counted
and answered, but the log gets, per sender, a burst of lines (so a person making mistakes by
hand sees every one) and then a few a second, each saying how many were left out: a token
bucket per key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """Warnings per key (e.g. the sender): ``burst`` lines at once, then ``rate`` a second.

    Args:
        logger: Where the lines go.
        burst: Lines a key may log at once.
        rate: Lines per second a key gets back.
        clock: The time source (monotonic seconds).
    """

    def __init__(
        self,
        logger: logging.Logger,
        burst: int = 50,
        rate: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time)
        self._skipped: dict[str, int] = {}

    def warning(self, key: str, text: str, *args: object) -> None:
        """Log ``text % args`` if ``key`` has a line left; else count it as left out."""
        now = self._clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 1024:  # many keys over time: forget the least recent
            oldest = min(self._buckets, key=lambda k: self._buckets[k][1])
            del self._buckets[oldest]
            self._skipped.pop(oldest, None)
        skipped = self._skipped.pop(key, 0)
        if skipped:
            self._log.warning(text + " (%d similar lines left out)", *args, skipped)
        else:
            self._log.warning(text, *args)
