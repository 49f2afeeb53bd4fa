"""The lock to a clock: how fast to play the stream so that its beats are heard on the clock's.

A rig shares one clock (Ableton Link, JACK transport, or oscserver's own): a timeline of beats
at a tempo. The service plays near the bpm it was asked for, at an arbitrary phase. The stream's
beats are found as it is buffered (:mod:`oscserver.dsp.beats`), seconds before they are heard,
so the stretch that plays it can be chosen to put each of them on a beat of the clock:

- the tempo: a stream beat of ``p`` seconds becomes a clock beat of ``60 / tempo`` seconds, a
  time ratio (output over input, as in Rubber Band) of ``(60 / tempo) / p``;
- the phase: the clock is read at the moment the stream's next beat will be heard (when the
  piece about to be stretched starts to be heard, plus the stretched way to that beat). How far
  that moment is from the nearest clock beat, ``e`` beats late, is taken out over the next
  ``settle`` beats: the ratio times ``1 - e / settle``, the correction held within ``nudge``
  so that a stream that is half a beat out is not rushed audibly.

Bars, where the stream's downbeats are known: the clock's bar lines are where its beat is a
multiple of its quantum (Link's quantum, JACK's beats per bar). Once the stream's beats are on
the clock's, the beat of its bar the next one is (``bar_place``) says how many whole beats its
bars are late; seen the same for ``bar_agree`` beats, the stream is moved by that many beats:
dropped when they are at most half a bar, else the rest of the bar played again
(:attr:`Decision.move`), so that no edit is longer than half a bar. Whole beats keep the beats
where they are; only which of them starts the bar changes.

Like Ableton Link's own advice (its documentation asks for the session state at the time the
buffer will be *heard*, not computed), everything here is in times of the output. A phase
error too large to nudge away soon, when the lock engages or after a jump, is cut: the caller
drops that much of the audio waiting (:attr:`Decision.cut`), once.

Plain numbers in and out, no clock of its own: the caller reads the clock and passes it in.

>>> clock = ClockReading(time=100.0, beat=0.0, tempo=120.0)
>>> lock = LockController()
>>> d = lock.decide(clock, stream_period=0.5, next_beat_in=0.25, heard_at=100.25)
>>> d.ratio, round(d.error, 3)  # the stream's beat at 100.5 s, on the clock's beat 1: locked
(1.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ClockReading", "Decision", "LockController", "LockSettings"]


@dataclass(frozen=True)
class ClockReading:
    """A clock's timeline as read at one moment.

    Attributes:
        time: When it was read (monotonic seconds, the caller's clock).
        beat: The clock's beat then (fractional: 7.5 is halfway between beats 7 and 8).
        tempo: Beats per minute.
        quantum: Beats to a bar (Link's quantum; 4 unless the clock says otherwise).
    """

    time: float
    beat: float
    tempo: float
    quantum: float = 4.0

    @property
    def period(self) -> float:
        """Seconds per beat."""
        return 60.0 / self.tempo

    def beat_at(self, t: float) -> float:
        """The clock's beat at time ``t`` (at its present tempo)."""
        return self.beat + (t - self.time) / self.period

    def time_at(self, beat: float) -> float:
        """When the clock reaches ``beat`` (at its present tempo)."""
        return self.time + (beat - self.beat) * self.period


@dataclass(frozen=True)
class LockSettings:
    """How the lock behaves.

    Attributes:
        max_stretch: The most the ratio may differ from 1 (as the continuity controller's).
        settle: Beats over which a phase error is taken out.
        nudge: The most the phase correction changes the ratio (0.03: 3 %).
        engage: A phase error beyond this many beats, when the lock engages or the phase has
            jumped, is cut at once rather than nudged away.
        bar_agree: Clock beats over which the stream's bars must be seen late by the same
            whole beats before they are moved. The downbeat finder is sometimes sure and
            wrong for up to three looks (chunks) in a row early in a stream: over 64 of the
            engine's streams of 40 s (bench/beats.py), at 8 beats 2 of 52 moves were wrong,
            at 16 and 20 none (the bars of 50, 44 and 41 streams ended on the clock's).
        bar_error: The stream's bars are only judged while its next beat is within this many
            beats of a clock beat (which beat it lands on is not in doubt).
    """

    max_stretch: float = 0.06
    settle: float = 2.0
    nudge: float = 0.03
    engage: float = 0.05
    bar_agree: float = 20.0
    bar_error: float = 0.1


@dataclass(frozen=True)
class Decision:
    """What to do with the next piece of the stream.

    Attributes:
        ratio: The time ratio to stretch it by.
        error: How late (beats; negative: early) the stream's next beat would be heard against
            the nearest clock beat at the tempo's ratio alone.
        cut: Seconds of the audio waiting (as heard) to drop now, so that the next beat lands on
            a clock beat (0: none).
        within: False when the tempos are further apart than the stretch may go: the ratio is
            held at the limit, and only a new tempo from the service can close the gap.
        move: Whole beats of the stream to move it by, before the piece, so that its bars
            begin on the clock's: positive, drop that many beats; negative, play that many
            (the last heard) again; 0: none.
    """

    ratio: float
    error: float
    cut: float = 0.0
    within: bool = True
    move: int = 0


class LockController:
    """Decides the ratio, piece by piece, that keeps the stream's beats on the clock's.

    Call :meth:`decide` before stretching each piece; :meth:`release` when the lock is let go
    or the stream jumps (a new context), so that the next decision may cut to engage again.
    """

    def __init__(self, settings: LockSettings | None = None) -> None:
        self.settings = settings or LockSettings()
        self._engaged = False
        # The whole beats the stream's bars were last seen late by, and the clock beat at
        # which that was first seen.
        self._bars_seen: tuple[int, float] | None = None

    @property
    def engaged(self) -> bool:
        """True once a decision has put the stream's beats near the clock's."""
        return self._engaged

    def release(self) -> None:
        """Let go: the next decision engages afresh (and may cut)."""
        self._engaged = False
        self._bars_seen = None

    def decide(
        self,
        clock: ClockReading,
        stream_period: float,
        next_beat_in: float,
        heard_at: float,
        bar_place: int | None = None,
        beats_per_bar: int = 4,
    ) -> Decision:
        """The ratio for the next piece.

        Args:
            clock: The clock, read just now.
            stream_period: Seconds per beat of the stream, as it comes (before stretching).
            next_beat_in: Seconds of stream from the start of the piece to its next beat.
            heard_at: When the piece's first frame will be heard (the clock's ``time`` scale):
                now, plus the audio waiting before it, plus the output's latency.
            bar_place: Which beat of its bar the stream's next beat is (0: a downbeat), when
                the stream's downbeats are known (None: they are not; bars are not moved).
            beats_per_bar: Beats to the stream's bar; its bars are moved only onto a clock's
                whose quantum is the same.

        Raises:
            ValueError: A period or tempo that is not positive.
        """
        if stream_period <= 0 or clock.tempo <= 0:
            raise ValueError("the stream's period and the clock's tempo must be positive")
        s = self.settings
        tempo_ratio = clock.period / stream_period
        limited = min(1 + s.max_stretch, max(1 - s.max_stretch, tempo_ratio))
        beat_heard = heard_at + next_beat_in * limited
        position = clock.beat_at(beat_heard)
        error = position - math.floor(position + 0.5)  # -0.5 .. 0.5 beats late
        if abs(error) > s.engage and not self._engaged:
            # Drop what puts the beat late (or almost a beat, to take it to the next one).
            self._engaged = True
            cut = (error if error > 0 else 1 + error) * clock.period
            return Decision(limited, error, cut, limited == tempo_ratio)
        self._engaged = True
        correction = min(s.nudge, max(-s.nudge, -error / s.settle))
        ratio = min(1 + s.max_stretch, max(1 - s.max_stretch, limited * (1 + correction)))
        move = self._bars(clock, position, error, bar_place, beats_per_bar)
        return Decision(ratio, error, 0.0, limited == tempo_ratio, move)

    def _bars(
        self, clock: ClockReading, position: float, error: float, place: int | None, bar: int
    ) -> int:
        """Whole beats to move the stream by to put its bars on the clock's (0: none now)."""
        s = self.settings
        if place is None or clock.quantum != bar or abs(error) > s.bar_error:
            self._bars_seen = None
            return 0
        landing = math.floor(position + 0.5)  # the clock beat the stream's next beat is on
        late = (landing - place) % bar  # whole beats its bar starts after the clock's
        seen = self._bars_seen
        if late == 0:
            self._bars_seen = None
            return 0
        if seen is None or seen[0] != late:
            self._bars_seen = (late, position)
            return 0
        if position - seen[1] < s.bar_agree:
            return 0
        self._bars_seen = None
        return late if late <= bar // 2 else late - bar
