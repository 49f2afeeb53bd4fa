"""Logging that a flood cannot turn into a flood of log lines.

A sensor gone wrong or a fuzzer can send thousands of bad datagrams a second; each is counted
and answered, but the log gets the first of each kind at once and then at most one line per
interval, saying how many were left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """Warnings per key (e.g. the sender), at most one line per ``interval`` seconds each.

    Args:
        logger: Where the lines go.
        interval: Seconds between two lines for the same key.
        clock: The time source (monotonic seconds).
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, key: str, text: str, *args: object) -> None:
        """Log ``text % args`` unless a line for ``key`` went out less than an interval ago."""
        now = self._clock()
        if now - self._last.get(key, -1e18) < self.interval:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return
        skipped = self._skipped.pop(key, 0)
        self._last[key] = now
        if len(self._last) > 1024:  # many keys over time: forget the oldest
            oldest = min(self._last, key=self._last.__getitem__)
            del self._last[oldest]
        if skipped:
            self._log.warning(text + " (%d similar lines left out)", *args, skipped)
        else:
            self._log.warning(text, *args)
