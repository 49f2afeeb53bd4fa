"""The music's pulse for patches: beats, onsets, level and bands, each timed to its sound.

oscserver writes the music to its output before it is heard (seconds ahead as it comes, a
fraction of a second locked to a clock), so it can tell a patch what is coming and send each
message at the moment its sound leaves the ports, or earlier in a bundle timetagged with that
moment for receivers that schedule (OSC 1.0, "Temporal semantics": a bundle's contents take
effect at its time tag). This is the part with no clock and no socket, as the rest of the core:

- :class:`Timeline` maps output frames to the time they are heard, from the caller's estimate
  at each write;
- :func:`clock_beats` gives the beats of a clock (locked: the music's beats are on them),
  :class:`BeatCounter` numbers beats found in the music itself into bars;
- :func:`beat_message`, :func:`report_messages` and :func:`onset_message` make the messages;
- :class:`Schedule` holds them until they are due, for the thread that sends.

Only ints, floats and strings go out, so that Pd vanilla's ``[oscparse]``, Max's
``[udpreceive]`` and TouchDesigner read them without externals.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections import deque
from dataclasses import dataclass, field, replace

from oscserver.core.lock import ClockReading

__all__ = [
    "Beat",
    "BeatCounter",
    "Schedule",
    "Timed",
    "Timeline",
    "beat_message",
    "clock_beats",
    "onset_message",
    "report_messages",
]

Arg = int | float | str

#: Beats to a bar when nobody says otherwise (Link's usual quantum, 4/4).
BEATS_PER_BAR = 4


class Timeline:
    """When each output frame is heard, from estimates made as frames are written.

    The caller estimates, at each write, when the first frame written will be heard: from when
    the audio callback's last cycle began and where its reader stood after it (the sink's
    ``heard_at``), exact to the frame but for the jitter of the cycles' start times as JACK
    reckons them (a few microseconds; more on a loaded machine). The median of the last few
    estimates (as offsets against the frame's own place) is taken: one odd estimate is left
    out, and a step of the output's timing (a cycle the server skipped, an xrun: everything
    after it is heard a period later) is followed within two writes.

    Args:
        rate: Output frames per second.
        keep: Estimates the median is taken of.
    """

    def __init__(self, rate: int, keep: int = 5) -> None:
        self.rate = rate
        self._offsets: deque[float] = deque(maxlen=keep)

    def observe(self, frame: int, heard_at: float) -> None:
        """Frame ``frame`` (counted from the output's first) is heard at ``heard_at``."""
        self._offsets.append(heard_at - frame / self.rate)

    def reset(self) -> None:
        """The output stopped or ran dry: what was known of its timing no longer holds."""
        self._offsets.clear()

    def time_of(self, frame: float) -> float | None:
        """When ``frame`` is heard; None before the first estimate."""
        if not self._offsets:
            return None
        return statistics.median(self._offsets) + frame / self.rate


@dataclass(frozen=True)
class Beat:
    """A beat as a patch gets it: when it is heard, its bar and its place in the bar (from 1)."""

    heard_at: float
    bar: int
    beat: int
    bpm: float


def clock_beats(reading: ClockReading, start: float, end: float) -> list[Beat]:
    """The clock's beats heard from ``start`` up to (not including) ``end``.

    Bars and beats come from the clock's count and its quantum (Link's quantum, JACK
    transport's beats per bar): beat 0 begins bar 1, as a DAW counts.

    >>> [(b.bar, b.beat) for b in clock_beats(ClockReading(10.0, 6.0, 120.0), 10.0, 12.0)]
    [(2, 3), (2, 4), (3, 1), (3, 2)]
    """
    per_bar = max(1, round(reading.quantum))
    n = math.ceil(reading.beat_at(start) - 1e-9)
    beats = []
    while (at := reading.time_at(n)) < end:
        beats.append(Beat(at, n // per_bar + 1, n % per_bar + 1, reading.tempo))
        n += 1
    return beats


class BeatCounter:
    """Numbers beats found in the music: bar and beat, the bar up by one at each first beat.

    Where the music's bar lines are known, each beat's place in the bar is given and the count
    follows it; until then the beats are counted from the first heard, four to a bar.

    Args:
        beats_per_bar: Beats to a bar.
    """

    def __init__(self, beats_per_bar: int = BEATS_PER_BAR) -> None:
        self.beats_per_bar = beats_per_bar
        self._bar = 0
        self._beat = 0  # the last beat's place, 1-based (0: none yet)

    def reset(self) -> None:
        """A new stream: count from bar 1 again."""
        self._bar = self._beat = 0

    def next(self, place: int | None = None) -> tuple[int, int]:
        """Number the next beat; ``place``: its place in the bar from 0, when known.

        Returns:
            ``(bar, beat)``, both from 1.
        """
        beat = (
            self._beat % self.beats_per_bar + 1 if place is None else place % self.beats_per_bar + 1
        )
        if beat <= self._beat or self._bar == 0:  # a new bar (or the first)
            self._bar += 1
        self._beat = beat
        return self._bar, beat


@dataclass(frozen=True, order=True)
class Timed:
    """One message, and when its sound is heard (monotonic seconds).

    Attributes:
        heard_at: When the sound it describes leaves the ports (the time tag of its bundle).
        address: Its OSC address.
        args: Its arguments (ints, floats and strings only).
        topic: Who gets it: ``beat`` or ``analysis`` listeners.
    """

    heard_at: float
    address: str = field(compare=False)
    args: tuple[Arg, ...] = field(compare=False)
    topic: str = field(compare=False)


def beat_message(beat: Beat) -> Timed:
    """``/lyria/beat <bar> <beat> <bpm>``.

    >>> beat_message(Beat(1.5, 3, 1, 120.004)).args
    (3, 1, 120.0)
    """
    return Timed(beat.heard_at, "/lyria/beat", (beat.bar, beat.beat, round(beat.bpm, 2)), "beat")


def report_messages(
    heard_at: float, rms: float, peak: float, bands: tuple[float, ...]
) -> list[Timed]:
    """``/lyria/level <rms> <peak>`` and ``/lyria/bands <b1> ... <b8>`` for one period."""
    return [
        Timed(heard_at, "/lyria/level", (round(rms, 5), round(peak, 5)), "analysis"),
        Timed(heard_at, "/lyria/bands", tuple(round(b, 4) for b in bands), "analysis"),
    ]


def onset_message(heard_at: float, strength: float) -> Timed:
    """``/lyria/onset <strength>``."""
    return Timed(heard_at, "/lyria/onset", (round(strength, 4),), "analysis")


class Schedule:
    """Messages waiting to be sent, earliest first.

    A message is due ``lookahead`` seconds before its sound is heard (0: as it is heard). One
    whose sound was heard more than ``stale`` seconds ago is dropped, not sent late: a beat
    that arrives after the next one is worse than none.

    Args:
        lookahead: Seconds before the sound a message is sent (``--osc-lookahead``).
        stale: Seconds after the sound beyond which a message is dropped.
    """

    def __init__(self, lookahead: float = 0.0, stale: float = 0.05) -> None:
        self.lookahead = lookahead
        self.stale = stale
        self.dropped = 0
        self._waiting: list[Timed] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, messages: list[Timed]) -> None:
        """Queue messages (in any order)."""
        for message in messages:
            heapq.heappush(self._waiting, message)

    def clear(self) -> None:
        """Drop everything waiting (the music paused: none of it will be heard)."""
        self._waiting.clear()

    def shift(self, seconds: float) -> None:
        """Everything waiting is heard ``seconds`` later (the output slipped: an xrun)."""
        self._waiting = [replace(m, heard_at=m.heard_at + seconds) for m in self._waiting]

    def drop_from(self, heard_at: float) -> None:
        """Drop the messages about sound heard at or after ``heard_at`` (the audio was cut)."""
        self._waiting = [m for m in self._waiting if m.heard_at < heard_at]
        heapq.heapify(self._waiting)

    def next_due(self) -> float | None:
        """When the earliest message is due; None when nothing waits."""
        return self._waiting[0].heard_at - self.lookahead if self._waiting else None

    def due(self, now: float) -> list[Timed]:
        """Take the messages due at ``now``, earliest first, without the stale ones."""
        out = []
        while self._waiting and self._waiting[0].heard_at - self.lookahead <= now:
            message = heapq.heappop(self._waiting)
            if message.heard_at < now - self.stale:
                self.dropped += 1
            else:
                out.append(message)
        return out
