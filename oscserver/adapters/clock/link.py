"""Ableton Link: join the session on the network and follow its tempo and beats.

Through aalink (GPL-3.0-or-later; wheels for Linux, macOS and Windows), which wraps Ableton's
Link library. Link keeps one timeline per session: every peer agrees on the tempo and, within
a quantum (four beats: one bar), on the phase. Link's documentation asks for the session's
beat at the moment the audio will be *heard*; :meth:`LinkClock.read` gives the beat and tempo
now, and the lock projects them to that moment (:class:`~oscserver.core.lock.ClockReading`).

Link speaks UDP multicast on the local network (224.76.78.75:20808). Tests run it inside a
private network namespace, so that nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from oscserver.adapters.clock.base import ClockSource, ClockUnavailable
from oscserver.core.lock import ClockReading

__all__ = ["LinkClock", "available"]

try:
    import aalink
except ImportError:  # no wheel for this platform
    aalink = None

#: Beats to a bar: Link's quantum, the span its peers agree the phase over.
QUANTUM = 4.0
#: Seconds between making the Link object and enabling it. Enabled at once, a new peer took
#: over the session's tempo in 7 of 20 joins here (reported as aalink issue 7); after 0.6 s,
#: in none. Link's own test plan (TEMPO-2) says joining must not change a session's tempo.
JOIN_DELAY = 0.6


def available() -> bool:
    """Return True when Ableton Link can be joined on this platform."""
    return aalink is not None


class LinkClock(ClockSource):
    """A peer of the Link session: follows its tempo and beats, proposes a tempo to it.

    Create it in the thread of a running asyncio loop (aalink schedules its callbacks there);
    it joins the session :data:`JOIN_DELAY` seconds later (:attr:`joined`). :meth:`read` may
    be called from any thread.

    Args:
        bpm: The tempo proposed if this is the first peer (an existing session keeps its own).

    Raises:
        ClockUnavailable: aalink is not installed here.
    """

    name = "link"

    def __init__(self, bpm: float) -> None:
        if aalink is None:
            raise ClockUnavailable("Ableton Link needs aalink (pip install aalink)")
        self._link: Any = aalink.Link(bpm)
        self._link.quantum = QUANTUM
        self._closed = False
        asyncio.get_running_loop().call_later(JOIN_DELAY, self._join)

    def _join(self) -> None:
        if not self._closed:
            self._link.enabled = True

    @property
    def joined(self) -> bool:
        """True once this peer is enabled on the network."""
        return bool(self._link.enabled)

    @property
    def peers(self) -> int:
        """Other peers in the session."""
        return int(self._link.num_peers)

    def read(self) -> ClockReading:
        """The session's beat and tempo now."""
        now = time.monotonic()
        return ClockReading(now, float(self._link.beat), float(self._link.tempo), QUANTUM)

    def propose_tempo(self, bpm: float) -> None:
        """Set the session's tempo: every peer follows (Link has no leader)."""
        self._link.tempo = bpm

    def describe(self) -> str:
        """One line for the status."""
        peers = self.peers
        return (
            f"Ableton Link at {float(self._link.tempo):.1f} bpm, "
            f"{peers} peer{'s' if peers != 1 else ''}"
        )

    def close(self) -> None:
        """Leave the session."""
        self._closed = True
        self._link.enabled = False
