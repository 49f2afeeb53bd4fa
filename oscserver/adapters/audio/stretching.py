"""The continuity feeder: an audio sink in front of another that keeps the music going.

Each chunk written is time-stretched (:mod:`oscserver.dsp.stretch`, pitch kept) by the ratio
the playout controller decides (:mod:`oscserver.core.continuity`) from the level of the sink
behind it, so that a service slower or faster than real time neither runs the output dry nor
piles up latency. The stretch costs tens of milliseconds of CPU per chunk, so it runs in a
thread of its own, never on the event loop (OSC stays answered at once) and never in the audio
callback (which only copies). Rubber Band releases the GIL while it computes.

When a burst (the chunks held up behind a late one, a new session's head start) lifts the
buffer half a second or more above its target, 6 % of speed would take many seconds to bring it
back, with every control heard that much later meanwhile: the oldest audio still waiting is
cut instead, in whole beats (from the session's bpm, so the beat keeps its place), to within a
quarter of a second of the target, with a crossfade across the cut. The same cut, as far as
the sink's margin allows, snaps to a chunk that first reflects a control change
(:meth:`StretchingSink.write_fresh`). Either way the stretcher is flushed into the sink first,
so that all the older audio is there to be cut (:meth:`AudioSink.write_fresh`).

When a chunk is so late that the buffer is about to run dry anyway, the feeder bridges the gap
with the music itself (:mod:`oscserver.dsp.bridge`): it loops the last bar (from the session's
bpm; two seconds when the model decides the tempo) until audio comes again, then crossfades into
it; after ``bridge_limit`` seconds of one gap it lets the output fall silent (the stall
watchdog and the reconnect take over). Every join goes through a 20 ms crossfade.

Just in time (``lead``, for a lock to a clock): rather than stretch each chunk as it comes, two
seconds before it is heard, the feeder keeps the stream as it came (:mod:`oscserver.dsp.reservoir`)
and stretches a thousand frames at a time, whenever the inner sink holds less than ``lead``
seconds; each piece's ratio is then decided a fraction of a second before it is heard. Snaps and
burst cuts are made in the stream waiting, in whole beats of the stream itself, or whole bars
once its downbeats are known and the clock's bars are as long (the lock moves its bars onto the
clock's by whole beats, and a beat cut would undo it; the latency may then be up to a bar above
the target before a burst is cut back). When the clock's tempo jumps, what waits in the inner
sink beyond :data:`SNAP_MARGIN` was stretched for the old tempo: it is taken back and its
stream stretched again (:mod:`oscserver.dsp.retake`), the new audio crossfaded over the old
from the first frame taken back.

Ordering and pauses: chunks are stretched in the order written. A pause (``set_playing(False)``)
drops what waits to be stretched and starts a new generation: whatever the thread was making
for the old one is not written, the stretcher and the controller start afresh, and the sink
behind drops what it holds, as it always does on a pause.
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from oscserver.adapters.audio.base import SNAP_MARGIN, STREAM_RATE, AudioSink, Heard, SinkStats
from oscserver.adapters.audio.beat_lock import STEADY, BeatLock
from oscserver.adapters.audio.beat_watch import BeatWatch
from oscserver.adapters.audio.ring import Samples
from oscserver.adapters.clock.base import ClockSource
from oscserver.core.continuity import PlayoutController, Settings
from oscserver.dsp import beats
from oscserver.dsp.bars import BEATS_PER_BAR
from oscserver.dsp.beat_map import LAG, BeatMap, BeatMark
from oscserver.dsp.bridge import FADE, Looper, Splicer
from oscserver.dsp.reservoir import Reservoir
from oscserver.dsp.retake import Fed
from oscserver.dsp.stretch import Stretcher

__all__ = ["StretchingSink"]

log = logging.getLogger(__name__)

#: Frames stretched and written at a time: the output grows smoothly while a chunk is worked on.
PIECE = 4096
#: Seconds between two looks at the level while no chunk comes.
TICK = 0.05
#: Stretched just in time (``lead``): frames stretched at a time, and seconds between looks.
JIT_PIECE = 1024
JIT_TICK = 0.01
#: With a clock, seconds of stretched audio kept ready for the output (the ``lead`` a lock
#: stretches just in time with): the lock decides the stretch this long before the audio is
#: heard (a clock's tempo change is followed that much later), and the Python side may be held
#: up that long without a gap.
LOCK_LEAD = 0.3
#: Seconds of the stream last fed to the stretcher that are remembered, to stretch again after a
#: jump of the clock's tempo (the lead, the stretcher's latency, and a margin), and to play half
#: a bar again to move the stream's bars onto the clock's (two beats at 60 bpm).
REMEMBER_FED = 2.5
#: Frames of the stream before what is stretched again that the stretcher starts from.
LEAD_IN = 4096
#: Below this many seconds waiting in the output, with nothing queued, the bridge plays.
BRIDGE_BELOW = 0.3
#: Seconds of bridge written at a time.
BRIDGE_PIECE = 0.25
#: Locked to a clock, a new stream (the service's new context, after /lyria/bpm) waits before it
#: is heard until its beats are found, at most this many seconds, the last bar as played (a
#: bar of the clock's) looping meanwhile: heard at once, its beats would fall anywhere.
HOLD_LIMIT = 6.0
#: Seconds of music remembered for the bridge: a bar at 60 bpm, slowed by the stretch, and more.
REMEMBER = 6.0
#: Seconds above the target at which the stretch alone is too slow: whole beats are dropped
#: (so the latency stays within half a second of the target).
SKIP_ABOVE = 0.5
#: A burst is cut back to the target less this much at the lowest, so that a level half a
#: second above it always loses a beat (at 120 bpm) and lands within a quarter of a second of it.
BURST_UNDER = 0.25
#: Writes whose lengths give the usual chunk's (their median, once there are three): a burst is
#: judged by what the next chunk will find, the level after this write less a usual chunk.
SIZES = 9
#: Chunks whose latency is remembered (:attr:`StretchingSink.latencies`).
LATENCIES = 4096
#: A snap is tried only when a whole beat waits beyond the sink's margin and this much more
#: (the output plays on while the stretcher is flushed into it).
SNAP_SLACK = 0.05


@dataclass(frozen=True)
class _Fresh:
    """A chunk that first reflects a change: snap to it (``beat`` seconds) or not; who to tell."""

    beat: float | None
    heard: Heard | None
    keep: float = 0.0


class StretchingSink(AudioSink):
    """Stretches what is written by the controller's ratio, then writes it to ``inner``.

    Args:
        inner: The sink that plays (JACK, sound card, null); closed with this one.
        settings: The controller's target and limits.
        bridge_limit: Most seconds one gap is bridged (0: never bridge).
        clock: Monotonic seconds (the controller's ``now``).
        track_beats: Find the stream's beats (:attr:`beats`; needs aubio): the measured tempo.
        lead: Stretch just in time, keeping this many seconds ready in ``inner`` (None: as
            each chunk comes, all of it at once).

    Raises:
        StretchUnavailable: The stretcher's library is not installed here.
    """

    holds_latency = True

    def __init__(
        self,
        inner: AudioSink,
        settings: Settings,
        bridge_limit: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        track_beats: bool = False,
        lead: float | None = None,
    ) -> None:
        self.inner = inner
        #: Stretch just in time: keep the stream as it came, and stretch only as much as keeps
        #: ``lead`` seconds in the inner sink (None: stretch each chunk as it comes).
        self.lead = lead
        self._reservoir = Reservoir()
        #: Snaps and burst cuts made in the stream waiting here (just in time only; otherwise
        #: the inner sink makes them), and seconds of stream they dropped.
        self.snaps = 0
        self.snapped_seconds = 0.0
        self.bridge_limit = bridge_limit
        #: Where the music's tempo is read when a bridge starts (None: not known).
        self.bpm: Callable[[], float | None] = lambda: None
        self._splicer = Splicer()
        self._looper = Looper(round(REMEMBER * STREAM_RATE))
        self._playing = False
        self._gap = 0.0  # seconds bridged in the gap under way
        self._holding = 0.0  # seconds of it that held a new stream back (see _hold)
        #: Moves of the stream by whole beats that put its bars on a clock's.
        self.bar_moves = 0
        #: New streams held back until their beats were found, and seconds of loop that took.
        self.holds = 0
        self.held_seconds = 0.0
        #: Seconds bridged in all, and gaps bridged.
        self.bridged_seconds = 0.0
        self.bridges = 0
        #: Seconds of stale stream dropped after bursts, in all.
        self.skipped_seconds = 0.0
        self._dropped = 0.0  # seconds the last write_fresh dropped
        self._restart = False  # a new session began: forget the pace (set by restarted())
        self._context = False  # a new context begins: forget the beats (set by new_context())
        self.controller = PlayoutController(settings)
        self._stretcher = Stretcher(STREAM_RATE)
        self._fed = Fed(round(REMEMBER_FED * STREAM_RATE))  # what the stretcher was fed lately
        self._rejoin = False  # stretching again: the next output is crossfaded over the old
        self._early: Samples | None = None  # output gathered for that crossfade
        self._early_marks: list[BeatMark] | None = []  # its beats
        #: Where the stream's beats come out of the stretcher: told to the inner sink with the
        #: audio they are in, for the music's pulse (dsp/beat_map.py).
        self._beat_map = BeatMap(LAG[self._stretcher.engine])
        #: Times the audio waiting was stretched again after a jump of the clock's tempo.
        self.retakes = 0
        self._clock = clock
        # (generation, frames, fresh, when written): a chunk to stretch; None: stop.
        self._queue: queue.SimpleQueue[tuple[int, Samples, _Fresh | None, float] | None] = (
            queue.SimpleQueue()
        )
        self._queued = 0  # frames waiting in the queue (changed by two threads: _count)
        self._count_lock = threading.Lock()
        self._lock = threading.Lock()  # a write to ``inner`` and a new generation exclude
        self._deciding = threading.Lock()  # a lock's decision and a change of clock exclude
        self._generation = 0
        self._closed = False
        self._sizes: deque[float] = deque(maxlen=SIZES)  # seconds of the last writes
        #: Finds the stream's beats as it comes, unstretched, in a thread of its own (None
        #: without aubio); its ``grid`` is the latest.
        self.beats = BeatWatch(STREAM_RATE) if track_beats and beats.available() else None
        #: The grids of the streams waiting, and the lock to a clock (:meth:`lock_to`).
        self.beat_lock = BeatLock(self.beats, STREAM_RATE, settings.max_stretch, lambda: self.bpm())
        #: For each chunk written (the last :data:`LATENCIES`): when (``clock``), the seconds of
        #: audio ahead of it then (its latency: how long it waits to be heard), and whether it
        #: ended a bridge (the stream back after a gap: the bridge covered its lateness, and
        #: it is heard at once).
        self.latencies: deque[tuple[float, float, bool]] = deque(maxlen=LATENCIES)
        #: Seconds of stream stretched, and of CPU time the stretching took.
        self.stream_seconds = 0.0
        self.cpu_seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="oscserver-stretch", daemon=True)
        self._thread.start()

    # --- AudioSink ---------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """The inner sink's rate."""
        return self.inner.sample_rate

    @property
    def description(self) -> str:
        """Where the audio goes."""
        return self.inner.description

    def write(self, frames: Samples, marks: list[BeatMark] | None = None) -> None:
        """Queue a chunk (``(2, n)`` at 48 kHz) to be stretched; returns at once.

        The stream's beats are found here (``marks`` is not used): they go on to the inner
        sink with the stretched audio they are in.
        """
        if self._closed:
            return
        self._count(frames.shape[1])
        self._queue.put((self._generation, frames, None, self._clock()))

    def write_fresh(
        self,
        frames: Samples,
        beat: float | None,
        heard: Heard | None,
        keep: float = 0.0,
        marks: list[BeatMark] | None = None,
    ) -> float:
        """Queue a chunk to be heard sooner than what waits; with ``beat`` (seconds), snap.

        The cut happens when the chunk is stretched: what the stretcher holds is flushed into
        the inner sink, which then cuts the waiting audio back in whole beats (as played, the
        stretch included) and crossfades into the chunk (:meth:`RingSink.write_fresh`). As
        for :meth:`write`, ``marks`` is not used.

        Returns:
            0.0: what is dropped is only known later (:attr:`skipped_seconds` for bursts; the
            inner sink's counters for snaps).
        """
        if self._closed:
            return 0.0
        self._count(frames.shape[1])
        self._queue.put((self._generation, frames, _Fresh(beat, heard, keep), self._clock()))
        return 0.0

    def restarted(self) -> None:
        """A new session: its head start says nothing of its pace, which is measured afresh."""
        self._restart = True

    def new_context(self) -> None:
        """The next chunk starts a new context: its beats are found afresh."""
        self._context = True

    def lock_to(self, clock: ClockSource | None) -> None:
        """Put the stream's beats on ``clock``'s (None: let go); any time, from any thread.

        The ratio is decided just before the audio is heard: a sink that stretched each chunk
        as it came stretches just in time from now on (:data:`LOCK_LEAD`), and stays so
        when let go. Needs the beat watch (``track_beats``).

        Raises:
            ValueError: Not finding the beats (no aubio, or ``track_beats`` off).
        """
        if clock is not None and self.beats is None:
            raise ValueError("a lock needs beat tracking (aubio)")
        with self._deciding:
            if clock is not None and self.lead is None:
                self.lead = LOCK_LEAD
            self.beat_lock.lock_to(clock)

    def set_playing(self, playing: bool) -> None:
        """Play, or pause: a pause drops what waits, here and in the inner sink."""
        self._playing = playing
        if playing:
            self.inner.set_playing(True)
            return
        with self._lock:
            self._generation += 1
            self.inner.set_playing(False)

    def stats(self) -> SinkStats:
        """The inner sink's counters, with what waits here counted as buffered."""
        stats = self.inner.stats()
        extra = round(self._waiting_frames() * stats.sample_rate / STREAM_RATE)
        grid = self.beats.grid if self.beats is not None else None
        return replace(
            stats,
            buffered_frames=stats.buffered_frames + extra,
            stretch_ratio=self.controller.ratio,
            bridged_seconds=self.bridged_seconds,
            tempo=grid.tempo if grid is not None else 0.0,
            steady=grid is not None and grid.spread < STEADY,
            lock=self.beat_lock.state(),
            lock_error=self.beat_lock.error(),
        )

    def buffered_seconds(self) -> float:
        """Audio waiting to be played: in the inner sink, being stretched, and queued."""
        return self.inner.buffered_seconds() + self._waiting_frames() / STREAM_RATE

    def output_latency(self) -> float:
        """The inner sink's."""
        return self.inner.output_latency()

    def check(self) -> str | None:
        """The inner sink's check (e.g. a JACK audio process restarted)."""
        return self.inner.check()

    def close(self) -> None:
        """Stop the stretching thread and the beat watch, then close the inner sink."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(5)
        if self.beats is not None:
            self.beats.idle.set()
            self.beats.close()
        self.inner.close()

    # --- the stretching thread ---------------------------------------------------------------

    def _count(self, frames: int) -> None:
        """Add to the frames queued (``+=`` on an attribute is not atomic across threads)."""
        with self._count_lock:
            self._queued += frames

    def _waiting_frames(self) -> float:
        return max(0, self._queued) + self._stretcher.held + self._splicer.held

    def _run(self) -> None:
        generation = self._generation
        while True:
            jit = self.lead is not None
            try:
                item = self._queue.get(timeout=JIT_TICK if jit and self._reservoir.frames else TICK)
                idle = False
            except queue.Empty:
                item, idle = None, True
            if item is None and not idle:
                return
            if generation != self._generation:  # a pause: start afresh
                generation = self._generation
                self._start_afresh()
            if item is not None:
                made_for, frames, fresh, arrived = item
                if made_for != generation:
                    self._count(-frames.shape[1])
                    continue  # queued before a pause
                self._take_in(generation, frames, fresh, arrived)
            if jit:
                self._pump(generation)
            if idle:
                if self.beats is not None:
                    self.beats.idle.set()
                self._maybe_bridge(generation)

    def _start_afresh(self) -> None:
        """After a pause: nothing of the old stream is kept, nothing learnt of it either."""
        self._reset_stretcher()
        self._fed.clear()
        self._rejoin, self._early, self._early_marks = False, None, []
        self.controller.reset()
        self._forget_beats()
        self._splicer = Splicer()
        self._looper.stop()
        self._gap = self._holding = 0.0
        self._count(-self._reservoir.frames)
        self._reservoir.clear()

    def _take_in(
        self, generation: int, frames: Samples, fresh: _Fresh | None, arrived: float
    ) -> None:
        """A chunk came: measure the pace, then stretch it now or keep it for just in time."""
        if self._restart:
            self._restart = False
            self.controller.forget_pace()
            self._forget_beats()
        if self._context:
            self._context = False
            self._forget_beats()
        self.controller.arrived(arrived, frames.shape[1] / STREAM_RATE)
        self.beat_lock.first_chunk()
        if self.lead is not None:
            self._keep(frames, fresh)
        else:
            # Counted as the beat watch counts them, should a lock come later.
            place = self._reservoir.end
            self._reservoir.pass_over(frames.shape[1])
            if self.beats is not None:
                self.beats.idle.clear()  # the analysis waits while the music is made
            try:
                self._stretch(generation, frames, place, fresh)
            finally:
                if self.beats is not None and self._queue.empty():
                    self.beats.idle.set()
        self._track_beats(frames)

    def _track_beats(self, frames: Samples) -> None:
        """Hand a chunk, as it came, to the beat watch."""
        if self.beats is not None:
            self.beats.feed(frames, self.bpm())

    def _forget_beats(self) -> None:
        """A new stream (a new session, a context, a pause): its beats are found afresh.

        The old stream's audio still waiting keeps its grid (the lock goes on over it); the
        lock engages afresh when the new stream's first beats are found.
        """
        self.beat_lock.new_stream(self._reservoir.end)

    def _stretch(self, generation: int, frames: Samples, place: int, fresh: _Fresh | None) -> None:
        """Stretch one chunk (from stream frame ``place``) and write it on, piece by piece."""
        # The level before this chunk is written: the bottom of the buffer's sawtooth.
        level = self.inner.buffered_seconds() + self._stretcher.held / STREAM_RATE
        after_bridge = bool(self._gap)
        # The level a bridge leaves (it plays until the stream is back) says nothing of the
        # service's pace: the controller does not see it.
        ratio = (
            self.controller.ratio if after_bridge else self.controller.update(self._clock(), level)
        )
        self._dropped = 0.0
        target = self.controller.settings.target
        # A write shorter than the usual chunk (a rotation's crossfade ends in one) comes just
        # after a chunk, at the top of the buffer's sawtooth: what the next chunk will find is
        # the level after it less a usual chunk, and that is what must not be too high.
        seconds = frames.shape[1] / STREAM_RATE
        self._sizes.append(seconds)
        usual = statistics.median(self._sizes) if len(self._sizes) >= 3 else seconds
        short = max(0.0, usual - seconds)
        burst = level - short - target >= SKIP_ABOVE and not (fresh is not None and fresh.beat)
        if burst:  # cut back to the target (a snap cuts further: it takes precedence)
            beat = 60.0 / (self.bpm() or 120.0)
            heard = fresh.heard if fresh is not None else None
            fresh = _Fresh(beat, heard, target - BURST_UNDER + short)
        if fresh is not None:
            fresh = self._prepare_cut(generation, fresh, ratio)
        failed = False
        early: Samples | None = None  # the chunk's first output, gathered for the cut
        early_marks: list[BeatMark] | None = []
        for start in range(0, frames.shape[1], PIECE):
            piece = frames[:, start : start + PIECE]
            marks: list[BeatMark] | None
            try:
                out, marks = self._through(piece, place + start, ratio)
            except Exception:  # never lose the music, nor this thread: play it as it is
                if not failed:
                    log.exception("time stretching failed; this chunk plays unstretched")
                failed, out, marks = True, piece, None
            self._count(-piece.shape[1])
            if fresh is not None:  # the cut's crossfade needs 2 fades' worth of the new audio
                before = 0 if early is None else early.shape[1]
                early = out if early is None else np.concatenate([early, out], axis=1)
                early_marks = _joined(early_marks, marks, before)
                if early.shape[1] < 2 * FADE and start + PIECE < frames.shape[1]:
                    continue
                out, early, marks, early_marks = early, None, early_marks, []
            this, fresh = fresh, None
            if not self._emit(generation, out, music=True, fresh=this, marks=marks):
                self._count(-(frames.shape[1] - start - piece.shape[1]))
                return  # paused meanwhile: not to be heard
            if this is not None and self._dropped:
                if burst:
                    self.skipped_seconds += self._dropped
                    log.info(
                        "%.1f s of audio was waiting: %.2f s of it dropped to catch up",
                        level,
                        self._dropped,
                    )
                level -= self._dropped
        self.latencies.append((self._clock(), level, after_bridge))
        self.stream_seconds += frames.shape[1] / STREAM_RATE

    def _through(
        self, piece: Samples, place: int, ratio: float
    ) -> tuple[Samples, list[BeatMark] | None]:
        """Stretch a piece of the stream from frame ``place``: the output ready, and its beats.

        Raises:
            Exception: Whatever the stretcher raised (its beats are then not known until it
                starts afresh).
        """
        with self._deciding:
            grid = self.beat_lock.grid_at(place)
        self._beat_map.fed(place, piece.shape[1], ratio, grid)
        began = time.thread_time()
        try:
            out = self._stretcher.process(piece, ratio)
        except Exception:
            self._beat_map.clear(broken=True)
            raise
        finally:
            self.cpu_seconds += time.thread_time() - began
        return out, self._beat_map.given(self._stretcher.given - out.shape[1], out.shape[1])

    def _flush_stretcher(self) -> tuple[Samples, list[BeatMark] | None]:
        """Everything the stretcher holds, through the splicer (which keeps its last frames).

        Returns:
            What to write, and its beats. The stretcher starts afresh.
        """
        first, held = self._stretcher.given, self._splicer.held
        out = self._stretcher.flush()
        marks = _joined([], self._beat_map.given(first, out.shape[1]), held)
        self._beat_map.clear()
        return self._splicer.follow(out), marks

    def _reset_stretcher(self, lead_in: Samples | None = None) -> None:
        """Start the stretcher afresh (``lead_in``: as :meth:`Stretcher.reset`)."""
        self._stretcher.reset(lead_in=lead_in)
        self._beat_map.clear()

    def _ahead(self) -> float:
        """Seconds of output before the next frame taken from the reservoir is heard."""
        return self.inner.buffered_seconds() + self._held()

    def _held(self) -> float:
        """Seconds of output held on this side before the next frame taken from the reservoir.

        The stretcher's and the splicer's: they go out before it.
        """
        held = self._stretcher.held * self._stretcher.ratio
        # Music back after a bridge, or stretched again, is crossfaded over the splicer's
        # frames (Splicer.cut_to): they fade out under it, they are not ahead of it.
        if self._rejoin:
            held += self._early.shape[1] if self._early is not None else 0
        elif not self._gap:
            held += self._splicer.held
        return held / STREAM_RATE

    def _keep(self, frames: Samples, fresh: _Fresh | None) -> None:
        """Just in time: keep a chunk as it came, cut in whole beats if it is to come sooner."""
        ahead = self._ahead()
        level = ahead + self._reservoir.frames / STREAM_RATE  # the bottom of the sawtooth
        after_bridge = bool(self._gap)
        if not after_bridge:  # (a bridge's level says nothing of the service's pace)
            self.controller.update(self._clock(), level)
        target = self.controller.settings.target
        seconds = frames.shape[1] / STREAM_RATE
        self._sizes.append(seconds)
        usual = statistics.median(self._sizes) if len(self._sizes) >= 3 else seconds
        short = max(0.0, usual - seconds)  # as in _stretch
        mark = fresh.heard if fresh is not None else None  # said when the pump reaches it
        burst = level - short - target >= SKIP_ABOVE and not (fresh is not None and fresh.beat)
        beat = fresh.beat if fresh is not None else None
        keep = fresh.keep if fresh is not None else 0.0
        if burst:
            beat, keep = 60.0 / (self.bpm() or 120.0), target - BURST_UNDER + short
        with self._deciding:
            measured = self.beat_lock.cut_unit(self._reservoir.end - 1)
        if beat and measured:
            beat = measured  # the music's own beat (or bar, locked) keeps its phase exactly
        if beat:
            kept = round((max(keep, SNAP_MARGIN) - ahead) * STREAM_RATE)
            dropped = self._reservoir.snap(frames, kept, round(beat * STREAM_RATE), mark)
        else:
            self._reservoir.append(frames, mark)
            dropped = 0
        if dropped:
            self._count(-dropped)
            seconds = dropped / STREAM_RATE
            level -= seconds
            if burst:
                self.skipped_seconds += seconds
                log.info(
                    "%.1f s of audio was waiting: %.2f s of it dropped to catch up",
                    level + seconds,
                    seconds,
                )
            else:
                self.snaps += 1
                self.snapped_seconds += seconds
        self.latencies.append((self._clock(), level, after_bridge))

    def _pump(self, generation: int) -> None:
        """Just in time: stretch from the reservoir until ``lead`` seconds are ready."""
        assert self.lead is not None
        while self._reservoir.frames and self.inner.buffered_seconds() < self.lead:
            if generation != self._generation:
                return
            if self._holding < HOLD_LIMIT and self.beat_lock.waits(self._reservoir.place):
                if self._hold(generation):
                    continue
                self._holding = HOLD_LIMIT  # nothing to loop: it is heard as it comes
            with self._deciding:
                if self.beat_lock.jumped():
                    self._retake(generation)
                heard_at = time.monotonic() + self._ahead() + self.inner.output_latency()
                ratio, skip, move, bar = self.beat_lock.decide(self._reservoir.place, heard_at)
            if skip:  # to engage: the stream's next beat onto the clock's
                self._count(-self._reservoir.skip(round(skip * STREAM_RATE)))
            if move:  # whole beats: the stream's bars onto the clock's
                self._move_bars(move, bar)
            if ratio is None:
                ratio = self.controller.ratio
            piece, place, told = self._reservoir.take(JIT_PIECE)
            if told:
                at = time.monotonic() + self._ahead()
                for heard in told:
                    heard(at)
            marks: list[BeatMark] | None
            try:
                out, marks = self._through(piece, place, ratio)
            except Exception:  # never lose the music, nor this thread: play it as it is
                log.exception("time stretching failed; this piece plays unstretched")
                out, marks = piece, None
                self._fed.clear()  # (its output no longer follows the ratios)
            else:
                self._fed.add(place, piece, ratio)
            self._count(-piece.shape[1])
            self.stream_seconds += piece.shape[1] / STREAM_RATE
            if not self._emit(generation, out, music=True, marks=marks):
                return

    def _move_bars(self, move: int, bar: int) -> None:
        """Move the stream by whole beats so that its bars begin on the clock's.

        ``move`` frames are dropped from the front of the stream waiting (positive) or the
        last fed are played again (negative), crossfaded either way; when that cannot be done
        now (too little waits, or too little is remembered), the move the other way round
        (a bar less, or more). With neither, nothing: the lock asks again.
        """
        for frames in (move, move - bar if move > 0 else move + bar):
            if 0 < frames <= self._reservoir.frames - JIT_PIECE:
                done = -self._reservoir.skip(frames)
            elif frames < 0 and self._fed.frames >= -frames:
                parts = self._fed.last(-frames)
                place, audio = parts[-1]
                if place + audio.shape[1] != self._reservoir.place:
                    continue  # (the stream fed last does not run on into what waits)
                done = self._reservoir.repeat(parts)
            else:
                continue
            if done:
                self._count(done)
                self.bar_moves += 1
                beats = round(BEATS_PER_BAR * abs(done) / bar)
                log.info(
                    "the music's bars moved onto the clock's: %d beat%s %s",
                    beats,
                    "" if beats == 1 else "s",
                    "dropped" if done < 0 else "played again",
                )
                return

    def _retake(self, generation: int) -> None:
        """The clock's tempo jumped: stretch again what waits beyond the inner sink's margin.

        The inner sink gives back its audio beyond :data:`SNAP_MARGIN`; that, with what the
        stretcher and the splicer hold, is found in the stream fed (:class:`Fed`) and put back
        in the reservoir; the stretcher starts afresh from it, and its first output is
        crossfaded over the first frames given back (:meth:`_emit`).
        """
        if self._gap or self._rejoin:
            return
        pending = self._stretcher.held * self._stretcher.ratio + self._splicer.held
        beyond = (self.inner.buffered_seconds() - SNAP_MARGIN) * STREAM_RATE + pending
        if beyond < JIT_PIECE or beyond + JIT_PIECE > self._fed.output:
            return  # too little to gain, or not all of it remembered
        with self._lock:
            if generation != self._generation:
                return
            back = self.inner.take_back(SNAP_MARGIN, FADE)
        if back is None:
            return  # (a sink that cannot: what waits plays at the old tempo)
        taken, head = back
        parts = self._fed.take_back(min(taken + pending, self._fed.output)) or []
        frames = sum(audio.shape[1] for _, audio in parts)
        self._reservoir.put_back(parts)
        self._count(frames)
        self.stream_seconds -= frames / STREAM_RATE
        self._reset_stretcher(lead_in=self._fed.tail(LEAD_IN))
        self._fed.clear()
        self._looper.forget(taken)
        self._splicer = Splicer()
        self._splicer.follow(head)  # held: faded out under the new audio's first frames
        self._rejoin = True
        self.retakes += 1
        log.info(
            "the clock's tempo jumped: the %.0f ms of music stretched for the old one are "
            "stretched again",
            (taken + pending) / STREAM_RATE * 1e3,
        )

    def _prepare_cut(self, generation: int, fresh: _Fresh, ratio: float) -> _Fresh:
        """Make ready to cut the waiting audio back before a chunk; returns how to write it.

        When a whole beat (as played) waits beyond ``fresh.keep`` (and the sink's margin), the
        stretcher and the splicer are flushed into the inner sink, so that all the older audio
        is there to be cut in whole beats (:meth:`AudioSink.write_fresh`). Otherwise nothing is
        cut (``beat`` None), and the time the chunk is heard is put back by what the stretcher
        holds ahead of it.
        """
        held = self._stretcher.held * ratio + self._splicer.held  # output frames
        heard = fresh.heard
        if fresh.beat:
            played = fresh.beat * ratio
            waiting = self.inner.buffered_seconds() + held / STREAM_RATE
            if waiting - max(fresh.keep, SNAP_MARGIN) - SNAP_SLACK >= played:
                tail, marks = self._flush_stretcher()
                tail = np.concatenate([tail, self._splicer.flush()], axis=1)
                with self._lock:
                    written = generation == self._generation and tail.shape[1] > 0
                    if written:
                        self.inner.write(tail, marks)
                if written:  # (heard up to the cut, which drops it again: see _emit)
                    self._looper.remember(tail)
                return _Fresh(played, heard, fresh.keep)
        if heard is not None:
            late = held / STREAM_RATE
            return _Fresh(None, lambda at: heard(at + late))
        return _Fresh(None, None)

    def _emit(
        self,
        generation: int,
        out: Samples,
        music: bool,
        fresh: _Fresh | None = None,
        marks: list[BeatMark] | None = None,
    ) -> bool:
        """Write through the splicer: music follows music; a change of source is crossfaded.

        ``fresh``: ``out`` begins the chunk that first reflects a change (see
        :meth:`write_fresh`). ``marks``: the stream's beats in ``out`` (music only). Returns
        False (and writes nothing) when a pause came since ``generation``.
        """
        if not music:
            marks = None  # (the bridge's loop: its beats are not the stream's)
        if music and self._rejoin:  # stretched again: the new audio over the old
            before = 0 if self._early is None else self._early.shape[1]
            early = out if self._early is None else np.concatenate([self._early, out], axis=1)
            marks = _joined(self._early_marks, marks, before)
            if early.shape[1] < self._splicer.held:
                self._early, self._early_marks = early, marks  # (as many new frames as old)
                return generation == self._generation
            self._rejoin, self._early, self._early_marks = False, None, []
            joined = self._splicer.cut_to(early)
        elif music and self._gap and out.shape[1]:  # the stream back after a bridge
            self._looper.stop()
            if self._holding:
                log.info("the new stream comes in after %.2f s of the last bar", self._holding)
            else:
                log.info("the stream is back after %.2f s of bridge", self._gap)
            self._gap = self._holding = 0.0
            joined = self._splicer.cut_to(out)
        elif not music and not self._gap:  # into the bridge
            joined = self._splicer.cut_to(out)
        else:
            marks = _joined([], marks, self._splicer.held)  # (after what it holds)
            joined = self._splicer.follow(out)
        with self._lock:
            if generation != self._generation:
                return False
            dropped = 0.0
            if fresh is not None:
                dropped = self.inner.write_fresh(
                    joined, fresh.beat, fresh.heard, fresh.keep, marks=marks
                )
                self._dropped = dropped
            elif joined.shape[1]:
                self.inner.write(joined, marks)
        # What is heard, the loop's own output included: a later loop must not repeat a jump.
        self._looper.remember(joined, replacing=round(dropped * STREAM_RATE))
        return True

    def _hold(self, generation: int) -> bool:
        """Play a piece of the last bar again while a new stream's beats are found.

        At the start the stretcher gives out the old stream to its end, so that the loop is of
        what was heard last. Returns False when there is not enough music to loop.
        """
        if not self._looper.looping:
            tail, marks = self._flush_stretcher()
            self._fed.clear()
            with self._lock:
                if generation != self._generation:
                    return True
                if tail.shape[1]:
                    self.inner.write(tail, marks)
            self._looper.remember(tail)
            if not self._start_loop():
                return False
            self.holds += 1
            log.info(
                "a new stream waits for its beats to be found: the last bar plays again, on "
                "the clock's beats"
            )
        if self._loop_piece(generation, JIT_PIECE):
            seconds = JIT_PIECE / STREAM_RATE
            self._holding += seconds
            self.held_seconds += seconds
        return True

    def _maybe_bridge(self, generation: int) -> None:
        """Nothing came: if the output is about to run dry, play on from the last bar."""
        if (
            not self._playing
            or self.bridge_limit <= 0
            or generation != self._generation
            or self._queued > 0
            or self._gap >= self.bridge_limit
            or self.inner.buffered_seconds() >= BRIDGE_BELOW
        ):
            return
        if not self._looper.looping:
            if not self._start_loop():
                return  # not enough music yet to loop
            self.bridges += 1
            log.info("the stream is late: bridging with the last bar")
        if not self._loop_piece(generation, round(BRIDGE_PIECE * STREAM_RATE)):
            return
        self.bridged_seconds += BRIDGE_PIECE
        if self._gap >= self.bridge_limit:
            log.warning(
                "bridged %.0f s: the output falls silent until the stream is back", self._gap
            )

    def _start_loop(self) -> bool:
        """Loop the last bar played; False when there is not enough music yet.

        The stream, when it goes on, is out of phase by the loop: the lock engages afresh.
        """
        if not self._looper.start(self._loop_frames()):
            return False
        self._fed.clear()  # (what follows in the output is not what was fed)
        with self._deciding:
            self.beat_lock.resumes()
        return True

    def _loop_piece(self, generation: int, frames: int) -> bool:
        """Write the loop's next ``frames``; False (nothing written) after a pause."""
        if not self._emit(generation, self._looper.next(frames), music=False):
            return False
        self._gap += frames / STREAM_RATE
        return True

    def _loop_frames(self) -> int:
        """One bar at the music's tempo, as played (the stretch included).

        Locked to a clock, the music is heard on the clock's beats: a bar of the clock's keeps
        the loop's kicks on them.
        """
        with self._deciding:
            period = self.beat_lock.clock_period()
        if period is not None:
            return round(4 * period * STREAM_RATE)
        bpm = self.bpm() or 120.0
        return round(4 * 60.0 / bpm * STREAM_RATE * self.controller.ratio)


def _joined(
    first: list[BeatMark] | None, then: list[BeatMark] | None, after: int
) -> list[BeatMark] | None:
    """Beats of two stretches of audio, the second beginning ``after`` frames into the first."""
    if first is None or then is None:
        return None
    return first + [m.moved(after) for m in then]
