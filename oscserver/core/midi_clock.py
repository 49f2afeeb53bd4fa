"""MIDI clock from the music's beats: 24 ticks a beat, Start before the first, Stop at a pause.

MIDI 1.0's System Real-Time messages (MIDI 1.0 Detailed Specification, "System Real Time
Messages"): Timing Clock (``0xF8``) 24 times per quarter note, Start (``0xFA``: the receiver
plays from the beginning at the next Timing Clock) and Stop (``0xFC``). A drum machine or a DAW
following it counts the ticks: 24 make a beat, so every beat must have exactly 24, and the tick
that begins a beat must fall on it.

:class:`MidiClock` places the ticks in time (the moment each leaves the ports, on the same
clock as the beats it is told of) and is plain Python with no clock or thread: the caller tells
it the beats as they are found (:meth:`MidiClock.beat`) and asks for the ticks up to a horizon
(:meth:`MidiClock.until`) a little ahead of the output, as often as it likes.

Between beats the ticks follow the last tempo (a flywheel: ticks go on when a beat is missed,
as a receiver needs them to). When a beat is told, the ticks still to come are drawn to it: the
ones before it are spread evenly up to it, so that the tick beginning the beat falls on it,
and the ones after it follow its tempo. A beat told again (the same moment, as after a rewind of
the output) changes nothing.
"""

from __future__ import annotations

from collections import deque

__all__ = ["CLOCK", "START", "STOP", "TICKS_PER_BEAT", "MidiClock"]

#: MIDI System Real-Time status bytes.
CLOCK, START, STOP = 0xF8, 0xFA, 0xFC
#: Timing Clock messages per quarter note (the MIDI specification's).
TICKS_PER_BEAT = 24
#: Ticks never come closer together than this fraction of a tick at the present tempo.
MIN_SPACING = 0.25


class MidiClock:
    """The ticks of a MIDI clock following beats told to it.

    All times are seconds on the caller's clock (when the sound, and the tick, leave the
    ports). Ticks are given in order, each once.
    """

    def __init__(self) -> None:
        self._running = False
        self._start_pending = False
        # The last beat reached (or told too late to be drawn to): where the ticks after it
        # are extrapolated from, at its tempo: (time, tick number, seconds per tick).
        self._base = (0.0, 0, 0.0)
        # Beats told whose tick is still to come, in order: (time, tick number, s per tick).
        self._ahead: deque[tuple[float, int, float]] = deque()
        self._last_index = -1  # the last tick given
        self._last_time = 0.0

    @property
    def running(self) -> bool:
        """Whether ticks are being given (a beat was told since the last stop)."""
        return self._running

    def beat(self, at: float, bpm: float) -> None:
        """A beat begins at ``at``, at ``bpm`` (beats per minute, > 0). Tell beats in order.

        The first beat after a stop starts the clock (Start, then its first tick at ``at``).
        """
        if bpm <= 0:
            return
        tick = 60.0 / bpm / TICKS_PER_BEAT
        if not self._running:
            self._running = self._start_pending = True
            self._ahead.clear()
            self._ahead.append((at, 0, tick))
            self._base = (at, 0, tick)
            self._last_index, self._last_time = -1, at - tick
            return
        # Its tick: the multiple of 24 nearest to where the ticks reach at ``at``, counted
        # from the beat before it (still to come, or the last reached) at that one's tempo.
        when, index, per = self._ahead[-1] if self._ahead else self._base
        if not self._ahead and self._last_index > index:
            when, index = self._last_time, self._last_index  # (the ticks given since)
        reach = index + (at - when) / per
        number = round(reach / TICKS_PER_BEAT) * TICKS_PER_BEAT
        if self._ahead and number <= self._ahead[-1][1]:
            return  # the beat before it told again (or one too close to it to be another)
        if number <= self._last_index:  # its tick is given already: the ticks after follow it
            if number >= self._base[1]:
                self._base = (at, number, tick)
            return
        self._ahead.append((at, number, tick))

    def until(self, horizon: float) -> list[tuple[float, int]]:
        """The messages to send before ``horizon``: ``(time, status byte)``, in order."""
        if not self._running:
            return []
        out: list[tuple[float, int]] = []
        while True:
            index = self._last_index + 1
            if self._ahead:  # drawn to the next beat: even steps up to it
                when, number, tick = self._ahead[0]
                at = self._last_time + (when - self._last_time) / (number - self._last_index)
            else:  # the last beat's tempo from it
                when, number, tick = self._base
                at = when + (index - number) * tick
            at = max(at, self._last_time + MIN_SPACING * tick)
            if at >= horizon:
                return out
            if self._start_pending:
                out.append((at, START))
                self._start_pending = False
            out.append((at, CLOCK))
            self._last_index, self._last_time = index, at
            if self._ahead and index == self._ahead[0][1]:
                self._base = self._ahead.popleft()

    def stop(self, at: float) -> list[tuple[float, int]]:
        """The music stopped at ``at``: Stop (if the clock ran), and no ticks until a beat."""
        was = self._running
        self._running = self._start_pending = False
        self._ahead.clear()
        return [(at, STOP)] if was else []
