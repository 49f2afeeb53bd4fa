"""The app's side of a clock: when it starts, and the tempo carried both ways.

The continuity feeder puts the stream's beats on the clock's (:meth:`StretchingSink.lock_to`);
this keeps the clock and the session's bpm in step:

- the bpm a user sends (``/lyria/bpm``) is proposed to the clock: a Link session takes it (every
  peer follows), the internal clock goes on at it from the beat it is on, a JACK timebase master
  keeps its own;
- a tempo the clock takes from elsewhere (a Link peer, the JACK transport's master) is sent to
  the service as the session's bpm, so that the music is made near it and the stretch can relax.
  The bpm applies through a context reset (a hard cut, docs/protocol.md), so it is sent only
  once the clock's tempo has held for :data:`SETTLE` seconds (a tempo ramp is followed by the
  stretch alone) and at most every :data:`THROTTLE` seconds.

Plain Python: the caller passes the time and applies what :meth:`Clocking.poll` returns.
"""

from __future__ import annotations

from oscserver.adapters.clock.base import ClockSource

__all__ = ["SETTLE", "THROTTLE", "Clocking"]

#: Seconds a new clock tempo must hold before it goes to the service.
SETTLE = 1.0
#: The fewest seconds between two tempos sent to the service for the clock.
THROTTLE = 8.0
#: Tempos closer than this (bpm) are the same: the service's bpm is a whole number.
SAME = 0.5


class Clocking:
    """The clock source in use, if any, and the session's bpm kept in step with it.

    Args:
        source: The clock (None: no clock, ``--clock none``).
    """

    def __init__(self, source: ClockSource | None) -> None:
        self.source = source
        self._seen: float | None = None  # the clock tempo last seen, and since when
        self._seen_since = 0.0
        self._sent_at: float | None = None

    @property
    def name(self) -> str:
        """``none``, ``internal``, ``link`` or ``jack``."""
        return self.source.name if self.source is not None else "none"

    def tempo(self) -> float:
        """The clock's tempo now (0: no clock, or no beat yet)."""
        reading = self.source.read() if self.source is not None else None
        return reading.tempo if reading is not None else 0.0

    def playing(self) -> None:
        """Play began: the clock starts if it waits for the music (:meth:`ClockSource.play`)."""
        if self.source is not None:
            self.source.play()

    def bpm_asked(self, bpm: float) -> None:
        """The user asked for a tempo: propose it to the clock."""
        if self.source is not None:
            self.source.propose_tempo(bpm)

    def poll(self, now: float, session_bpm: int | None) -> int | None:
        """Call now and then (every half second): the bpm to send to the service, or None.

        Args:
            now: Seconds on any monotonic clock.
            session_bpm: The bpm the session asks the service for (None: the model decides).

        Returns:
            A bpm (60..200, the service's range) when the clock's tempo has held, away from
            the session's, for :data:`SETTLE` seconds and none was sent for :data:`THROTTLE`.
        """
        if self.source is not None:
            self.source.tend()
        tempo = self.tempo()
        if not tempo:
            self._seen = None
            return None
        if self._seen is None or abs(tempo - self._seen) >= SAME / 10:
            self._seen, self._seen_since = tempo, now
            return None
        wanted = max(60, min(200, round(tempo)))
        if session_bpm is not None and abs(wanted - session_bpm) < SAME:
            return None
        if now - self._seen_since < SETTLE:
            return None
        if self._sent_at is not None and now - self._sent_at < THROTTLE:
            return None
        self._sent_at = now
        return wanted

    def describe(self) -> str:
        """One line for the log: the clock and its tempo."""
        return self.source.describe() if self.source is not None else "no clock"

    def close(self) -> None:
        """Leave the clock (a Link session, a JACK client)."""
        if self.source is not None:
            self.source.close()
