"""The music's pulse, found in the output as it is written, in a thread of its own.

The sink hands every piece it writes to its ring to :class:`PulseWatch` with the piece's place
in the output (the ring's write position) and, while the output plays, its estimate of when
that place is heard. The watch's thread measures the level, the bands and the onsets
(:mod:`oscserver.dsp.analysis`) and finds the beats, numbers them into bars
(:mod:`oscserver.core.pulse`), and hands the messages, each with the moment its sound is heard,
to the sender (:mod:`oscserver.adapters.pulse_sender`), which sends them when due.

The beats: locked to a clock (the music's beats are on the clock's), the clock's own, with its
bars; otherwise the music's. Where the continuity feeder stretches the stream, the sink hands
on the stream's own beats with the audio they are in (:mod:`oscserver.dsp.beat_map`: found on
the stream, steady to a millisecond, and carried through the stretch), with their bars where
the stream's downbeat is sure. Where it does not know them (no feeder, the stream's first
seconds, a bridge's loop, music with no steady pulse), they come from a beat tracker on the
output (:mod:`oscserver.dsp.beats`), snapped to the kicks' onsets near them: it lags wherever
the stretch moves the output's tempo.

What is measured but not yet placed in time (the output not playing yet: pre-roll) waits for
the first estimate. A rewind of the ring (a snap, a retake) drops what was measured of the
audio it replaced; a pause drops everything.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from oscserver.adapters.audio.ring import Samples
from oscserver.adapters.pulse_sender import PulseSender
from oscserver.core.lock import ClockReading
from oscserver.core.pulse import (
    Beat,
    BeatCounter,
    Timed,
    Timeline,
    beat_message,
    clock_beats,
    onset_message,
    report_messages,
)
from oscserver.dsp import beats
from oscserver.dsp.analysis import ONSET_DELAY, ONSET_WINDOW, Analyser
from oscserver.dsp.beat_map import BeatMark

__all__ = ["PulseWatch"]

log = logging.getLogger(__name__)

#: Pieces waiting beyond which new ones are not analysed (the machine cannot keep up).
BACKLOG = 64
#: The grid that gives the music's own tempo and bar lines is drawn through this many of the
#: last beats found (the output's tempo moves while the stretch changes: 16, 8 s, lag it).
GRID_BEATS = 6
#: Seconds from a predicted beat within which an onset is taken for it, and within which the
#: prediction is kept (the engine's kicks' onsets come 3 ms after their start, give or take 3).
SNAP = 0.04
TRUST = 0.006
#: An onset whose bass rises this much is taken for a kick (the engine's kicks: 2.3 and up,
#: 95 % of its other onsets under 1.6; dsp/analysis.py, Onset.bass).
KICK_BASS = 2.0
#: A step of the output's timing beyond this many seconds moves what waits to be sent.
MOVED = 0.0005


class BeatFollower(Protocol):
    """What follows the beats as they are placed in time (the MIDI clock)."""

    def beat(self, heard_at: float, bpm: float) -> None:
        """A beat is heard at ``heard_at`` (monotonic seconds)."""

    def stopped(self) -> None:
        """The music stopped (paused, or its timing lost)."""


class PulseWatch:
    """Measures the output as it is written and has the sender send what it finds.

    Args:
        sender: Sends the messages to those who listen.
        analysis_rate: Level and bands reports per second.
        locked_clock: The clock's reading while the music is locked to it, else None (called
            from the watch's thread).
        expected_bpm: The tempo the music should be near (the bpm asked for), or None.
        midi: Told every beat and every stop, whoever listens (the MIDI clock), or None.
    """

    def __init__(
        self,
        sender: PulseSender,
        analysis_rate: float = 30.0,
        locked_clock: Callable[[], ClockReading | None] = lambda: None,
        expected_bpm: Callable[[], float | None] = lambda: None,
        midi: BeatFollower | None = None,
    ) -> None:
        self.sender = sender
        self.midi = midi
        self.rate = 48000  # (the output's, as each piece says)
        self.analysis_rate = analysis_rate
        self.locked_clock = locked_clock
        self.expected_bpm = expected_bpm
        self._analyser = Analyser(self.rate, analysis_rate)
        self._tracker = beats.BeatTracker(self.rate) if beats.available() else None
        self._counter = BeatCounter()
        self._timeline = Timeline(self.rate)
        self._start = 0  # the output place of the analyser's and the tracker's frame 0
        self._end = 0  # the output place after the last frame analysed
        self._places: deque[float] = deque(maxlen=8)  # the output places of the last beats told
        self._waiting: list[tuple[int, Callable[[float], list[Timed]]]] = []
        self._clock_ranges: list[tuple[int, int]] = []  # output places whose clock beats wait
        # (analyser frame, strength, bass) of the onsets lately
        self._onsets: deque[tuple[int, float, float]] = deque(maxlen=64)
        self._predicted: list[float] = []  # beats found, waiting for the onsets around them
        self._idle = True  # nobody listened to the last piece: measure afresh when one does
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="oscserver-pulse-watch", daemon=True)
        self._thread.start()
        self.skipped = 0  # pieces not analysed (a backlog)
        #: Beats told: the stream's (carried through the stretch), and the output tracker's.
        self.stream_beats = 0
        self.tracked_beats = 0

    def written(
        self,
        place: int,
        frames: Samples,
        heard_at: float | None,
        rate: int,
        marks: list[BeatMark] | None = None,
    ) -> None:
        """``frames`` were written at output place ``place`` of an output at ``rate``.

        The first is heard at ``heard_at`` (None: not known yet, the output is not playing).
        ``marks``: the stream's beats in them, placed from the first (None: not known).
        """
        if self._queue.qsize() >= BACKLOG:
            self.skipped += 1
            return
        self._queue.put(("audio", (place, frames.copy(), heard_at, rate, marks)))

    def rewound(self, place: int) -> None:
        """The output was cut back to ``place``: what was written from there is not heard."""
        self._queue.put(("rewind", place))

    def stopped(self) -> None:
        """The output paused or stopped: nothing measured will be heard."""
        self._queue.put(("stop", None))

    def slipped(self) -> None:
        """The output ran dry (an underrun): everything written is heard later than thought."""
        self._queue.put(("slip", None))

    def idle(self, timeout: float) -> bool:
        """Wait until everything handed over so far is measured; False after ``timeout`` s."""
        done = threading.Event()
        self._queue.put(("mark", done))
        return done.wait(timeout)

    def close(self) -> None:
        """Stop the thread."""
        self._queue.put(("close", None))
        self._thread.join(2.0)

    def _run(self) -> None:
        while True:
            kind, item = self._queue.get()
            try:
                if kind == "close":
                    return
                if kind == "audio":
                    self._audio(*item)
                elif kind == "rewind":
                    self._rewind(item)
                elif kind == "stop":
                    self._stop()
                elif kind == "slip":
                    self._timeline.reset()
                elif kind == "mark":
                    item.set()
            except Exception:  # never lose the thread: the music goes on without its pulse
                log.exception("the pulse could not be measured")

    def _restart(self, place: int) -> None:
        """Measure afresh from output place ``place`` (what follows does not continue)."""
        self._analyser = Analyser(self.rate, self.analysis_rate)
        if self._tracker is not None:
            self._tracker = beats.BeatTracker(self.rate)
        self._onsets.clear()
        self._predicted.clear()
        self._start = self._end = place

    def _audio(
        self,
        place: int,
        frames: Samples,
        heard_at: float | None,
        rate: int,
        marks: list[BeatMark] | None,
    ) -> None:
        if rate != self.rate:  # (a JACK server restarted at another rate)
            self.rate = rate
            self._timeline = Timeline(rate)
            self._stop()
        if heard_at is not None:
            before = self._timeline.time_of(0)
            self._timeline.observe(place, heard_at)
            after = self._timeline.time_of(0)
            if before is not None and after is not None and abs(after - before) > MOVED:
                # The output's timing stepped (a skipped cycle: all of it is heard later now),
                # or the first estimates were odd: what waits to be sent moves with it.
                self.sender.shift(after - before)
        wanted_analysis = self.sender.wanted("analysis")
        wanted_beat = self.sender.wanted("beat") or self.midi is not None
        if not (wanted_analysis or wanted_beat):  # nobody listens: no work (it is not free)
            self._idle = True
            self._end = place + frames.shape[1]
            return
        if place != self._end or self._idle:  # a gap we were not told of, or a new listener
            self._idle = False
            self._restart(place)
        reports, onsets = self._analyser.process(frames)
        start = self._start
        self._onsets.extend((o.frame, o.strength, o.bass) for o in onsets)
        if wanted_analysis:
            for r in reports:
                self._later(start + r.frame, _reports(r.rms, r.peak, r.bands))
            for o in onsets:
                self._later(start + o.frame, _onset(o.strength))
        self._end = place + frames.shape[1]
        if self._tracker is not None:
            self._tracker.expected = self.expected_bpm()
            found = self._tracker.process(frames)
        else:
            found = []
        if wanted_beat:
            self._beats(place, self._end, found, marks)
        self._flush()

    def _beats(
        self, first: int, end: int, found: list[float], marks: list[BeatMark] | None
    ) -> None:
        """The beats heard from output place ``first`` up to ``end``.

        ``found``: the beats the tracker has just found (frames from its start); ``marks``:
        the stream's, when known (they are taken instead).
        """
        if self.locked_clock() is not None:
            self._clock_ranges.append((first, end))  # (placed in time by _flush)
            return
        if marks is not None:
            self._predicted.clear()  # (the tracker's lag where the stretch moves)
            for mark in marks:
                self._mark(first + mark.at, mark)
            return
        self._predicted += found
        grid = self._tracker.grid(GRID_BEATS) if self._tracker is not None else None
        if grid is None:  # (not yet four beats in a row: a tempo, a pulse at all)
            self._predicted.clear()
            return
        # (Not only a steady grid: while the output's tempo moves, its beats are still beats.)
        reach = SNAP * self.rate
        # (onsets are known up to the detector's delay before what was given: wait for them)
        known = (end - self._start) - ONSET_DELAY - ONSET_WINDOW
        while self._predicted and self._predicted[0] + reach <= known:
            predicted = self._predicted.pop(0)
            # The tracker predicts each beat from its tempo, to about a millisecond while the
            # tempo holds, but lags when the output's tempo moves (the stretch changing by 3 %:
            # 24 ms in three beats). The onset it stands for is a few ms late and less even,
            # yet never lags: it is taken when the prediction is further from it than that.
            # A kick's (its bass rising) first: a hat's, nearer, would put the beat on the hat.
            near = [(f, v, b) for f, v, b in self._onsets if abs(f - predicted) <= reach]
            at = predicted
            if near:
                strongest = max(v for _, v, _ in near)
                kicks = [f for f, _, b in near if b >= KICK_BASS]
                onset = min(
                    kicks or [f for f, v, _ in near if v >= strongest / 2],
                    key=lambda f: abs(f - predicted),
                )
                if abs(onset - predicted) > TRUST * self.rate:
                    at = onset
            if self._start + at < self._last_beat() + grid.period / 2:
                continue  # (one beat found twice)
            place = None
            if grid.downbeat is not None:
                place = round((at - grid.downbeat) / grid.period) % self._counter.beats_per_bar
            bar, beat = self._counter.next(place)
            self._later(round(self._start + at), self._beat(bar, beat, grid.tempo))
            self._places.append(self._start + at)
            self.tracked_beats += 1

    def _last_beat(self) -> float:
        """The output place of the last beat told (-inf: none since the music started)."""
        return self._places[-1] if self._places else -math.inf

    def _mark(self, at: float, mark: BeatMark) -> None:
        """A beat of the stream at output place ``at``."""
        if at < self._last_beat() + 30.0 * self.rate / mark.bpm:
            return  # (one beat told twice: a crossfade's, or the tracker's just before)
        bar, beat = self._counter.next(mark.place)
        self._later(round(at), self._beat(bar, beat, mark.bpm))
        self._places.append(at)
        self.stream_beats += 1

    def _later(self, place: int, make: Callable[[float], list[Timed]]) -> None:
        self._waiting.append((place, make))

    def _flush(self) -> None:
        """Give the sender whatever is now placed in time."""
        origin = self._timeline.time_of(0)  # (read once: each reading sorts the estimates)
        if origin is None:
            return
        rate = self.rate
        messages = []
        reading = self.locked_clock()
        if reading is not None:
            for first, end in self._clock_ranges:
                beats_heard = clock_beats(reading, origin + first / rate, origin + end / rate)
                messages += [self._told(b) for b in beats_heard]
        self._clock_ranges.clear()
        for place, make in self._waiting:
            messages += make(origin + place / rate)
        self._waiting.clear()
        self.sender.add(messages)

    def _rewind(self, place: int) -> None:
        self._waiting = [(p, m) for p, m in self._waiting if p < place]
        self._clock_ranges = [(a, min(b, place)) for a, b in self._clock_ranges if a < place]
        heard_at = self._timeline.time_of(place)
        if heard_at is not None:
            self.sender.forget_from(heard_at)
        while self._places and self._places[-1] >= place:  # (not heard: cut)
            self._places.pop()
        self._restart(place)

    def _beat(self, bar: int, beat: int, bpm: float) -> Callable[[float], list[Timed]]:
        return lambda heard_at: [self._told(Beat(heard_at, bar, beat, bpm))]

    def _told(self, beat: Beat) -> Timed:
        """A beat placed in time: the MIDI clock follows it; its message for the listeners."""
        if self.midi is not None:
            self.midi.beat(beat.heard_at, beat.bpm)
        return beat_message(beat)

    def _stop(self) -> None:
        if self.midi is not None:
            self.midi.stopped()
        self._waiting.clear()
        self._clock_ranges.clear()
        self.sender.clear()
        self._timeline.reset()
        self._counter.reset()
        self._places.clear()
        self._restart(self._end)


def _reports(rms: float, peak: float, bands: tuple[float, ...]) -> Callable[[float], list[Timed]]:
    return lambda heard_at: report_messages(heard_at, rms, peak, bands)


def _onset(strength: float) -> Callable[[float], list[Timed]]:
    return lambda heard_at: [onset_message(heard_at, strength)]
