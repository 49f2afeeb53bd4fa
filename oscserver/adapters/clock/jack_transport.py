"""JACK transport: follow the timebase master's bars, beats and tempo (Ardour, Reaper, Bitwig).

A JACK client of its own, with no ports, asks JACK for the transport's position now and then
(``jack_transport_query``, through JACK-Client): the state, the frame, the time of the current
cycle (``usecs``, on JACK's own clock) and, when a timebase master
supplies it, the bar, beat and tick and the tempo. The beat is counted from bar 1, beat 1:
``(bar - 1) * beats_per_bar + (beat - 1) + tick / ticks_per_beat``.

Only a rolling transport with a timebase master is a clock: stopped, or without bars and beats,
:meth:`JackTransportClock.read` gives None. The query is made from an ordinary thread.

With ``timebase_bpm`` (``--jack-timebase``) this client is the timebase master itself when
nobody else is (:mod:`oscserver.adapters.clock.timebase`, a C callback in JACK's thread): the
transport's bars and beats are then oscserver's, at the bpm the user asks for, and play starts
the transport if it is stopped.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from oscserver.adapters.clock.base import ClockSource, ClockUnavailable
from oscserver.adapters.clock.timebase import Timebase, TimebaseUnavailable
from oscserver.core.lock import ClockReading

__all__ = ["JackTransportClock"]

log = logging.getLogger(__name__)


class JackTransportClock(ClockSource):
    """Follows JACK transport's timebase master.

    Args:
        client_name: The name of this (portless) JACK client.
        server_name: The JACK server (None: the default one).
        timebase_bpm: Be the timebase master when nobody else is, from this tempo (None:
            only follow).

    Raises:
        ClockUnavailable: No JACK server to follow, or no C timebase to lead it with.
    """

    name = "jack"

    def __init__(
        self,
        client_name: str = "oscserver-clock",
        server_name: str | None = None,
        timebase_bpm: float | None = None,
    ) -> None:
        import jack

        self._jack = jack
        try:
            self._client: Any = jack.Client(
                client_name, no_start_server=True, servername=server_name
            )
        except jack.JackOpenError as exc:
            raise ClockUnavailable(f"no JACK server to follow ({exc})") from None
        self._client.activate()
        self._last = ""
        self._timebase: Timebase | None = None
        if timebase_bpm is not None:
            try:
                self._timebase = Timebase(self._client, timebase_bpm)
                self._timebase.take()
            except (TimebaseUnavailable, OSError) as exc:
                self.close()
                raise ClockUnavailable(f"cannot lead JACK transport: {exc}") from None

    @property
    def master(self) -> bool:
        """True while oscserver is the transport's timebase master."""
        return self._timebase is not None and self._timebase.master

    def read(self) -> ClockReading | None:
        """The master's beat and tempo at the current cycle; None when stopped or without one."""
        state, pos = self._client.transport_query()
        if state != self._jack.ROLLING or "bar" not in pos:
            self._last = "stopped" if state != self._jack.ROLLING else "no timebase master"
            return None
        beat = (
            (pos["bar"] - 1) * pos["beats_per_bar"]
            + (pos["beat"] - 1)
            + pos["tick"] / pos["ticks_per_beat"]
        )
        # The position is that of the cycle that began at ``usecs`` on JACK's clock, which on
        # Linux is CLOCK_MONOTONIC_RAW (0.15 s from Python's monotonic clock here): its age,
        # taken on that clock, dates it on ours. Elsewhere, the age from JACK's frame counter.
        age = -1.0
        if hasattr(time, "CLOCK_MONOTONIC_RAW"):
            age = time.clock_gettime(time.CLOCK_MONOTONIC_RAW) - pos["usecs"] / 1e6
        if not 0.0 <= age < 1.0:
            client = self._client
            age = (client.frame_time - client.last_frame_time) / client.samplerate
        at = time.monotonic() - age
        self._last = f"{pos['beats_per_minute']:.1f} bpm"
        return ClockReading(at, float(beat), float(pos["beats_per_minute"]), pos["beats_per_bar"])

    def propose_tempo(self, bpm: float) -> None:
        """Lead with ``bpm`` as (or when becoming) the master; another keeps its own tempo."""
        if self._timebase is not None:
            self._timebase.set_bpm(bpm)

    def play(self) -> None:
        """As the timebase master, roll the transport if it is stopped."""
        if self.master and self._client.transport_state == self._jack.STOPPED:
            self._client.transport_start()
            log.info("JACK transport started (oscserver is its timebase master)")

    def tend(self) -> None:
        """Take the timebase again once another master has gone."""
        if self._timebase is not None:
            self._timebase.tend(self._client.transport_state == self._jack.ROLLING)

    def describe(self) -> str:
        """One line for the status."""
        lead = " (oscserver is its timebase master)" if self.master else ""
        return f"JACK transport, {self._last or 'not read yet'}{lead}"

    def close(self) -> None:
        """Leave JACK (giving up the timebase first)."""
        timebase, self._timebase = self._timebase, None
        if timebase is not None:
            timebase.release()
        self._client.deactivate()
        if timebase is not None:
            timebase.free()  # (JACK no longer calls it)
        self._client.close()
