"""A MIDI clock as the rig's clock (``--clock midi``): a drum machine's or a DAW's, on ``--midi``.

The app hands every real-time message from the MIDI in port to :meth:`MidiClockSource.heard`,
with the moment it came in (its JACK frame, mapped through the callback's record of its cycles);
:mod:`oscserver.core.midi_clock_in` follows the ticks to a tempo and beats. The clock is led by
the device: a bpm asked over OSC does not change it (the service is asked for the clock's
tempo instead, as with a JACK transport led by someone else).
"""

from __future__ import annotations

import threading

from oscserver.adapters.clock.base import ClockSource
from oscserver.core.lock import ClockReading
from oscserver.core.midi_clock_in import MidiClockFollower
from oscserver.core.midi_in import CLOCK_TICK, CONTINUE, START, STOP

__all__ = ["MidiClockSource"]


class MidiClockSource(ClockSource):
    """The beats of the MIDI clock coming in on the MIDI in port."""

    name = "midi"

    def __init__(self) -> None:
        self._follower = MidiClockFollower()
        self._lock = threading.Lock()  # (fed on the event loop, read by the feeder's thread)

    def heard(self, status: int, at: float) -> None:
        """A real-time message (its status byte) came in at ``at`` (monotonic seconds)."""
        with self._lock:
            if status == CLOCK_TICK:
                self._follower.tick(at)
            elif status == START:
                self._follower.start()
            elif status == CONTINUE:
                self._follower.resume()
            elif status == STOP:
                self._follower.stop()

    def read(self) -> ClockReading | None:
        """The clock at its last tick; None while stopped or before two beats of ticks."""
        with self._lock:
            return self._follower.reading()

    def propose_tempo(self, bpm: float) -> None:
        """The device leads: its tempo stays (the service is asked for the clock's)."""

    def describe(self) -> str:
        """One line for the status."""
        reading = self.read()
        if reading is None:
            return "MIDI clock on oscserver:midi_in (waiting for Start and its ticks)"
        return f"MIDI clock on oscserver:midi_in at {reading.tempo:.1f} bpm"
