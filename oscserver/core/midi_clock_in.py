"""Following a MIDI clock: a drum machine's or a DAW's tempo and beats, from its ticks.

A MIDI clock sends 24 Timing Clock ticks a quarter note, Start (the next tick is the first
beat), Continue (the count goes on) and Stop (MIDI 1.0, "System Real Time Messages"). The
tempo is read from the straight line through the last two beats' ticks (least squares, frame
against tick number): a tick's own jitter, a millisecond on a USB interface, averages out, and a
change of tempo is followed within two beats. Plain values in, a :class:`ClockReading` out, as
Link's and JACK transport's adapters give (:mod:`oscserver.adapters.clock`); no clock of its
own: the caller says when each tick was.
"""

from __future__ import annotations

from collections import deque

from oscserver.core.lock import ClockReading

__all__ = ["TICKS_PER_BEAT", "WINDOW", "MidiClockFollower"]

#: Timing Clock ticks to a quarter note (MIDI 1.0).
TICKS_PER_BEAT = 24
#: Ticks the tempo is read from (two beats).
WINDOW = 2 * TICKS_PER_BEAT
#: Ticks needed before there is a tempo at all (a quarter of a beat is too few to trust).
FEWEST = TICKS_PER_BEAT // 2


class MidiClockFollower:
    """The beats of a MIDI clock, from its ticks, Start, Continue and Stop.

    Args:
        quantum: Beats to a bar (the clock itself does not say).
    """

    def __init__(self, quantum: float = 4.0) -> None:
        self.quantum = quantum
        self._ticks: deque[tuple[int, float]] = deque(maxlen=WINDOW)  # (tick number, when)
        self._count = -1  # the number of the last tick (the first after Start is 0)
        self.running = False

    def tick(self, at: float) -> None:
        """A Timing Clock tick at ``at`` (seconds, the caller's clock).

        Stopped, ticks are not counted (a clock keeps ticking while stopped; the song's place
        holds until Continue), and before the first Start or Continue nothing is known of where
        the beats are: they are not followed.
        """
        if not self.running:
            return
        self._count += 1
        if self._ticks and at <= self._ticks[-1][1]:
            return  # (not after the last: a clock that went back is not believed)
        self._ticks.append((self._count, at))

    def start(self) -> None:
        """Start: the next tick is the first beat of the song."""
        self._ticks.clear()
        self._count = -1
        self.running = True

    def resume(self) -> None:
        """Continue: the count goes on from where Stop left it."""
        self.running = True

    def stop(self) -> None:
        """Stop: no beats until Start or Continue."""
        self.running = False
        self._ticks.clear()

    def reading(self) -> ClockReading | None:
        """The clock at its last tick (its beat then, and its tempo).

        None: stopped, or too few ticks yet for a tempo.
        """
        ticks = self._ticks
        if not self.running or len(ticks) < FEWEST:
            return None
        n = len(ticks)
        mean_x = sum(k for k, _ in ticks) / n
        mean_t = sum(t for _, t in ticks) / n
        spread = sum((k - mean_x) ** 2 for k, _ in ticks)
        per_tick = sum((k - mean_x) * (t - mean_t) for k, t in ticks) / spread
        if per_tick <= 0:
            return None
        last = ticks[-1][0]
        # The line's own time for the last tick: its jitter averaged out with the others'.
        fitted = mean_t + (last - mean_x) * per_tick
        return ClockReading(
            time=fitted,
            beat=last / TICKS_PER_BEAT,
            tempo=60.0 / (per_tick * TICKS_PER_BEAT),
            quantum=self.quantum,
        )
