"""The continuity feeder's beats and its lock to a clock.

Which grid a frame of the stream is on, and the ratio that puts its beats on the clock's.

The beat watch (:mod:`oscserver.adapters.audio.beat_watch`) finds the stream's beats as chunks
arrive, seconds before they are heard, counting the stream's frames as the feeder's reservoir
counts them (:mod:`oscserver.dsp.reservoir`). At a new stream (a context reset, a reconnect, a
play) the beats are found afresh; the old stream's audio still waiting keeps its grid, so the
lock holds over it, and the new stream is locked from its first steady grid (engaging with a cut
of less than a beat); where its downbeats are found, its bars are then moved onto the clock's
by whole beats. Until then it is stretched by what the model made of the bpm it was asked
for last time, so that it keeps the clock's tempo if not yet its beats.

The decision itself is :class:`~oscserver.core.lock.LockController`'s; this module gathers its
inputs. Call everything from the feeder's thread, except :meth:`BeatLock.state` and
:meth:`BeatLock.error` (the status, any thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from oscserver.adapters.audio.beat_watch import BeatWatch
from oscserver.adapters.clock.base import ClockSource
from oscserver.core.lock import ClockReading, Decision, LockController, LockSettings
from oscserver.dsp.bars import BEATS_PER_BAR
from oscserver.dsp.beats import STEADY, Grid

__all__ = ["JUMP", "LOCKED", "STEADY", "BeatLock", "Piece"]

log = logging.getLogger(__name__)

#: A clock's tempo this far (a share) from the tempo the audio waiting was stretched for has
#: jumped: the audio is stretched again (1 %: 3.5 ms off by the next beat at a 0.35 s lead).
JUMP = 0.01
#: The lock counts as made when the next beat is within this share of a beat of the clock's
#: (10 ms at 120 bpm).
LOCKED = 0.02


class Piece(NamedTuple):
    """How to play the next piece of the stream.

    Attributes:
        ratio: The ratio to stretch it by (None: no lock now, the continuity controller's
            applies).
        skip: Seconds of the stream to drop first, to engage (0: none).
        move: Stream frames to move it by first, so that its bars begin on the clock's:
            positive, drop them; negative, play that many (the last fed) again (0: none).
        bar: Frames of the stream's bar (a move the other way round is ``move`` less, or
            more, a bar: the caller's choice when this one cannot be made now).
    """

    ratio: float | None
    skip: float = 0.0
    move: int = 0
    bar: int = 0


class BeatLock:
    """The grids of the streams waiting, and the lock of their beats to a clock.

    Args:
        watch: The beat watch (None: beats are not tracked, nothing can be locked).
        rate: The stream's sample rate.
        max_stretch: The most the lock may stretch (as the continuity controller).
        bpm: Where the bpm the session asks for is read.
    """

    def __init__(
        self,
        watch: BeatWatch | None,
        rate: int,
        max_stretch: float,
        bpm: Callable[[], float | None],
    ) -> None:
        self.watch = watch
        self.rate = rate
        self.bpm = bpm
        #: The clock the beats are put on (None: no lock).
        self.clock: ClockSource | None = None
        self.lock = LockController(LockSettings(max_stretch=max_stretch))
        #: The lock's last decision (None while not locking: no clock, no steady beat yet).
        self.decision: Decision | None = None
        #: The clock as read for that decision (one whole object: any thread may read it).
        self.reading: ClockReading | None = None
        self._start = 0  # the stream frame the present stream began at
        self._previous: tuple[int, Grid] | None = None  # the one before: its start and grid
        self._locked_to = -1  # the start of the stream the last decision was on
        self._asked: float | None = None  # the bpm the present stream was asked for
        self._obeys = 0.0  # the tempo the music plays over the bpm asked (0: not known)
        self._error = 0.0  # seconds the next beat was late at the last decision
        self._stretched_for = 0.0  # the clock's tempo the last ratio was decided for (0: none)

    def lock_to(self, clock: ClockSource | None) -> None:
        """Put the beats on ``clock``'s from the next decision (None: let go)."""
        self.clock = clock
        self.lock.release()
        self.decision = None
        self._stretched_for = 0.0

    def resumes(self) -> None:
        """The stream stops and will go on later (a bridge plays meanwhile).

        Its beats will then be out of phase with the clock's by the time of the gap: the lock
        engages afresh when it goes on, cutting up to a beat rather than nudging.
        """
        self.lock.release()

    def first_chunk(self) -> None:
        """A chunk came: the first stream is asked for the bpm of its first chunk."""
        if self._asked is None:
            self._asked = self.bpm()

    def new_stream(self, start: int) -> None:
        """The stream from frame ``start`` on is a new one: its beats are found afresh."""
        self._asked = self.bpm()
        if self.watch is not None:
            found = self.watch.found
            self._previous = found if found is not None and found[0] == self._start else None
            self.watch.forget(start)
        self._start = start

    def grid_at(self, place: int) -> Grid | None:
        """The grid of the stream frame ``place`` is in, if found."""
        if self.watch is not None and (moved := self.watch.moved.get(self._start)):
            self._start = moved  # the chunk marked was still the old stream's
        if place >= self._start:
            found = self.watch.found if self.watch is not None else None
            return found[1] if found is not None and found[0] == self._start else None
        previous = self._previous
        return previous[1] if previous is not None and place >= previous[0] else None

    @property
    def stream_start(self) -> int:
        """The stream frame the present stream (context, session) began at."""
        return self._start

    def waits(self, place: int) -> bool:
        """Whether the stream from ``place`` should wait before it is heard.

        True at the first frame of a new stream (a new context, a new session) whose beats are
        not found yet, when the one before it is locked: heard now, its beats would fall
        anywhere against the clock's for the seconds the tracker needs. The caller plays
        something on the clock's beats meanwhile (the last bar again).
        """
        previous = self._previous
        if self.clock is None or previous is None or self._locked_to != previous[0]:
            return False
        grid = self.grid_at(place)  # (which may learn that the stream begins a chunk later)
        return place == self._start and (grid is None or not grid.steady)

    def clock_period(self) -> float | None:
        """Seconds of the clock's beat now (None: no clock, or no beat yet)."""
        reading = self.clock.read() if self.clock is not None else None
        return reading.period if reading is not None else None

    def steady_beat(self, place: int) -> float | None:
        """Seconds of a beat of the stream at ``place``, when its beats are steady."""
        grid = self.grid_at(place)
        return grid.period / self.rate if grid is not None and grid.spread < STEADY else None

    def cut_unit(self, place: int) -> float | None:
        """Seconds by whole numbers of which the stream waiting may be cut at ``place``.

        Cuts there (a burst caught up, a control change heard sooner) must leave what follows
        in its place: a beat of the stream when its beats are steady; a bar when its downbeat
        is known and a clock's bars are as long (the lock keeps the stream's bars on them, a
        beat cut would move them). None: not known.
        """
        beat = self.steady_beat(place)
        grid = self.grid_at(place)
        if beat is None or grid is None or grid.downbeat is None or self.clock is None:
            return beat
        reading = self.clock.read()
        bars = reading is not None and reading.quantum == BEATS_PER_BAR
        return beat * BEATS_PER_BAR if bars else beat

    def jumped(self) -> bool:
        """Whether the clock's tempo moved by more than :data:`JUMP` since the last ratio.

        True: what was stretched ahead for the old tempo should be stretched again.
        """
        clock, was = self.clock, self._stretched_for
        reading = clock.read() if clock is not None and was else None
        return reading is not None and abs(reading.tempo / was - 1) > JUMP

    def decide(self, place: int, heard_at: float) -> Piece:
        """How to play the piece of stream from ``place``, heard from ``heard_at``."""
        clock = self.clock
        if clock is None:
            return Piece(None)
        grid = self.grid_at(place)
        if grid is None or grid.spread >= STEADY:
            self.decision = None
            return Piece(self._tempo_only(clock))
        if self._asked and place >= self._start:  # how the model keeps the tempo asked
            self._obeys = grid.tempo / self._asked
        previous = self._previous
        stream = self._start if place >= self._start or previous is None else previous[0]
        if stream != self._locked_to:  # a new stream's beats: engage afresh
            if stream == self._start and self._locked_to >= 0:
                self._say_found(place, grid)
            self._locked_to = stream
            self.lock.release()
        reading = clock.read()
        self.reading = reading
        if reading is None:
            self.decision = None
            self._stretched_for = 0.0
            return Piece(None)
        next_beat = grid.next_beat(place)
        bar_place = None
        if grid.downbeat is not None:  # which beat of its bar the next one is
            bar_place = round((next_beat - grid.downbeat) / grid.period) % BEATS_PER_BAR
        decision = self.lock.decide(
            reading,
            stream_period=grid.period / self.rate,
            next_beat_in=(next_beat - place) / self.rate,
            heard_at=heard_at,
            bar_place=bar_place,
            beats_per_bar=BEATS_PER_BAR,
        )
        if decision.cut:
            log.info(
                "locking to the %s clock: %.0f ms of the stream dropped",
                clock.name,
                decision.cut * 1e3,
            )
        if self.decision is not None and self.decision.within != decision.within:
            if decision.within:
                log.info("the stream's tempo is within the stretch of the clock's again")
            else:
                log.warning(
                    "the clock's tempo is beyond the stretch (%.0f %%) of the music's %.1f bpm: "
                    "only a new tempo from the service can close the gap",
                    self.lock.settings.max_stretch * 100,
                    grid.tempo,
                )
        self.decision = decision
        self._stretched_for = reading.tempo
        self._error = decision.error * reading.period
        return Piece(
            decision.ratio,
            decision.cut / decision.ratio,
            round(decision.move * grid.period),
            round(BEATS_PER_BAR * grid.period),
        )

    def _say_found(self, place: int, grid: Grid) -> None:
        """Log when a new stream's beats were found: before it was heard, or how late."""
        unlocked = (place - self._start) / self.rate  # seconds of it already taken unlocked
        into = (grid.anchor - self._start) / self.rate
        if unlocked < 0.05:
            log.info(
                "the new stream's beats were found %.1f s into it, before it was heard: it "
                "comes in on the clock's beats (%.1f bpm)",
                into,
                grid.tempo,
            )
        else:
            log.info(
                "the new stream's beats were found %.1f s into it: its first %.1f s were "
                "heard off the clock's beats (%.1f bpm)",
                into,
                unlocked,
                grid.tempo,
            )

    def _tempo_only(self, clock: ClockSource) -> float | None:
        """Before a new stream's beats are found: its tempo as the last one kept the bpm asked.

        The service's answer to a bpm (sent for the clock itself) is known as soon as it comes:
        stretched by what the model made of the last bpm asked, it is near the clock's tempo
        from its first beat, and only its phase waits for the beats to be found.
        """
        asked, reading = self._asked, clock.read()
        if not (asked and self._obeys and reading is not None):
            self._stretched_for = 0.0
            return None
        ratio = reading.period / (60.0 / (asked * self._obeys))
        self._stretched_for = reading.tempo
        limit = self.lock.settings.max_stretch
        return min(1 + limit, max(1 - limit, ratio))

    def state(self) -> str:
        """How the lock stands, for the status (empty without a clock)."""
        decision = self.decision
        if self.clock is None:
            return ""
        if decision is None:
            return "seeking"  # no steady beat yet (or the clock has none)
        if not decision.within:
            return "beyond the stretch"
        return "locked" if abs(decision.error) <= LOCKED else "seeking"

    def locked_reading(self) -> ClockReading | None:
        """The clock's reading while the music's beats are on its beats, else None.

        Any thread may call it: it reads what the last decision kept, not the clock.
        """
        return self.reading if self.state() == "locked" else None

    def error(self) -> float:
        """Seconds the stream's next beat is late against the clock's (0: not locking)."""
        return self._error if self.decision is not None else 0.0
