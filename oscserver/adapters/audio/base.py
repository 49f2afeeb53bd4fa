"""The audio sink interface, and the producer side every ring-fed sink shares.

A sink receives decoded stereo float32 audio at the stream's rate (48 kHz from Lyria) from the
event loop (:meth:`AudioSink.write`) and plays it from a callback of its own, which runs
:class:`~oscserver.adapters.audio.playout.Playout` over a shared block. :class:`RingSink` is the
event-loop side of that: it resamples to the device's rate, writes the ring, opens and closes
the gate and reads the counters.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from oscserver.adapters.audio.resample import Resampler
from oscserver.adapters.audio.ring import Samples, StereoRing
from oscserver.adapters.audio.shared import STATE_NAMES, Cycle, F, SharedBlock, last_cycle
from oscserver.dsp.beat_map import BeatMark
from oscserver.dsp.bridge import FADE, crossfade

if TYPE_CHECKING:
    from oscserver.adapters.audio.pulse_watch import PulseWatch

__all__ = ["AudioSink", "RingSink", "SinkStats", "pcm16_to_float"]

log = logging.getLogger(__name__)

#: The rate of the incoming stream (Lyria RealTime: 48 kHz).
STREAM_RATE = 48000
#: At most this much audio waits for the output (the ring is larger; see RingSink.write).
HIGH_WATER_SECONDS = 10.0
#: A snap never replaces audio due within this many seconds: the consumer reads a period at a
#: time and must not reach the audio being replaced while the producer replaces it.
SNAP_MARGIN = 0.15

#: A last cycle that ended longer ago than this says nothing of the next (a stopped server).
CYCLE_STALE = 0.25

#: Called with the monotonic time (``time.monotonic()``) at which a chunk's first frame is heard.
Heard = Callable[[float], None]


@dataclass(frozen=True)
class SinkStats:
    """A snapshot of a sink's counters, for the status line and ``/lyria/status``."""

    sample_rate: int
    buffered_frames: int
    underruns: int
    xruns: int
    overflow_frames: int
    peak: float
    playing: bool
    state: str = "running"
    blocksize: int = 0
    cost_p99_ms: float = 0.0
    native_callback: bool = False  # the callback is the C playout (JACK), not Python
    stretch_ratio: float = 1.0  # the time ratio of a stretching feeder in front, if any
    bridged_seconds: float = 0.0  # seconds its bridge played the last bar again, in all
    tempo: float = 0.0  # the stream's tempo as measured by its beat tracker (0: not known)
    steady: bool = False  # the beats found fit a steady pulse (see oscserver.dsp.beats)
    lock: str = ""  # the lock to a clock: "", "seeking", "locked" or "beyond the stretch"
    lock_error: float = 0.0  # seconds the next beat would be late against the clock's

    @property
    def buffered_seconds(self) -> float:
        """Audio waiting in the buffer, in seconds."""
        return self.buffered_frames / self.sample_rate if self.sample_rate else 0.0


class AudioSink(abc.ABC):
    """An audio output."""

    #: Whether the sink holds the audio waiting in it to a target itself (the continuity
    #: feeder): then the app leaves a rotation's head start to it instead of trimming it.
    holds_latency = False

    @property
    @abc.abstractmethod
    def sample_rate(self) -> int:
        """The rate the output runs at (0 while unknown)."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """One line saying where the audio goes (port names, device, file)."""

    @abc.abstractmethod
    def write(self, frames: Samples, marks: list[BeatMark] | None = None) -> None:
        """Queue audio shaped ``(2, n)`` at the stream's rate (48 kHz).

        Args:
            frames: The audio.
            marks: The stream's beats in it, placed from its first frame, when a feeder in
                front knows them (:mod:`oscserver.dsp.beat_map`); None: not known. A sink
                that measures the music's pulse takes them for its beats.
        """

    @abc.abstractmethod
    def set_playing(self, playing: bool) -> None:
        """Fade in (after the pre-roll) or fade out; a pause drops what was queued."""

    @abc.abstractmethod
    def stats(self) -> SinkStats:
        """Return the current counters."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the callback and release the device, ports or file."""

    def check(self) -> str | None:
        """Call now and then from the event loop; returns a message when something happened."""
        return None

    def new_context(self) -> None:  # noqa: B027 (only a sink that analyses the beat acts)
        """The next chunk written starts a new context (RESET_CONTEXT).

        Its tempo and beat phase may jump. This default has nothing to forget.
        """

    def restarted(self) -> None:
        """The stream starts afresh (a reconnect): what was learnt of its pace no longer holds.

        This default has nothing to forget.
        """
        return None

    def write_fresh(
        self,
        frames: Samples,
        beat: float | None,
        heard: Heard | None,
        keep: float = 0.0,
        marks: list[BeatMark] | None = None,
    ) -> float:
        """Queue audio that should be heard sooner than what waits: snap to it.

        Used for the chunk that first reflects a control change (see
        :mod:`oscserver.core.heard`), and to catch up after a burst.

        Args:
            frames: As for :meth:`write`.
            beat: Seconds of a beat as played: the audio waiting before ``frames`` is cut back
                in whole beats (the beat keeps its place) and crossfaded into them. None: they
                play after everything waiting, as :meth:`write` would.
            heard: Called, from any thread, with the monotonic time at which the first frame
                will be heard (None: nobody asks).
            keep: Seconds of the waiting audio never cut (at least :data:`SNAP_MARGIN`).
            marks: As for :meth:`write`.

        Returns:
            Seconds of waiting audio dropped. This default cannot cut: it writes, estimates
            the time from the level, and returns 0.
        """
        waiting = self.buffered_seconds()
        self.write(frames, marks)
        if heard is not None:
            heard(time.monotonic() + waiting)
        return 0.0

    def take_back(self, keep: float, fade: int) -> tuple[int, Samples] | None:
        """Take back the audio waiting beyond ``keep`` seconds (at least :data:`SNAP_MARGIN`).

        For a feeder that will write that time again, made differently (the lock stretching
        again at a clock's new tempo): it must write at once, its first frames crossfaded with
        the ones given back, which were to play next.

        Returns:
            Frames taken back, at the stream's rate, and the first ``fade`` of them (fewer when
            fewer waited); None when this sink cannot take audio back (this default, a sink
            that resamples, or one not playing).
        """
        return None

    def buffered_seconds(self) -> float:
        """Audio waiting to be played, in seconds: the output's latency right now."""
        return self.stats().buffered_seconds

    def output_latency(self) -> float:
        """Seconds from when the output plays a frame to when it is heard (0: not known)."""
        return 0.0


class RingSink(AudioSink):
    """The event-loop side of a sink fed through a :class:`SharedBlock`.

    Args:
        block: The shared header and ring (the callback side runs a Playout over it).
        preroll_seconds: Wait after audio arrives before playing, and after an underrun.
        stream_rate: The rate :meth:`write` receives.

    Subclasses call :meth:`_rate_known` once the device's rate is known.
    """

    def __init__(
        self, block: SharedBlock, preroll_seconds: float, stream_rate: int = STREAM_RATE
    ) -> None:
        self.block = block
        self.ring = StereoRing(block)
        self._h = block.header
        self.preroll_seconds = preroll_seconds
        self.stream_rate = stream_rate
        self._resampler: Resampler | None = None
        self._rate = 0
        #: Snaps made, and seconds of older audio they dropped.
        self.snaps = 0
        self.snapped_seconds = 0.0
        #: Told of everything written, cut back and stopped, to measure the music's pulse.
        self.pulse: PulseWatch | None = None
        self._underruns = 0  # as last seen by _append (a change: the output ran dry)

    def _release(self) -> None:
        """Drop this side's views of the shared block, so that it can be freed."""
        self.ring = StereoRing(SharedBlock(1))
        self._h = self.ring.block.header

    def _rate_known(self, rate: int) -> None:
        """(Re)configure for a device rate: resampler, pre-roll; drop audio at the old rate."""
        if rate == self._rate:
            return
        if self._rate:
            log.warning("output sample rate changed from %d to %d Hz", self._rate, rate)
            self.ring.discard()
        self._rate = rate
        self._resampler = Resampler(self.stream_rate, rate)
        self._h[F.PREROLL] = round(self.preroll_seconds * rate)
        if rate != self.stream_rate:
            log.info("resampling %d Hz to %d Hz (soxr, high quality)", self.stream_rate, rate)

    @property
    def sample_rate(self) -> int:
        """The device's rate (0 while unknown)."""
        return self._rate

    def write(self, frames: Samples, marks: list[BeatMark] | None = None) -> None:
        """Resample to the device rate and queue; what does not fit is dropped and counted."""
        self._poll_rate()
        if self._resampler is None:
            self._h[F.OVERFLOW] += frames.shape[1]
            return
        marks = self._placed(marks)
        self._append(self._resampler.process(frames), marks)

    def _placed(self, marks: list[BeatMark] | None) -> list[BeatMark] | None:
        """``marks`` of the audio about to be resampled, placed from the resampler's next output."""
        resampler = self._resampler
        if marks is None or resampler is None or resampler.in_rate == resampler.out_rate:
            return marks
        scale = resampler.out_rate / resampler.in_rate
        return [m.moved(resampler.output_frame(0) / scale, scale) for m in marks]

    def write_fresh(
        self,
        frames: Samples,
        beat: float | None,
        heard: Heard | None,
        keep: float = 0.0,
        marks: list[BeatMark] | None = None,
    ) -> float:
        """Queue audio to be heard sooner than what waits; with ``beat``, snap to it.

        The snap: the audio waiting in the ring is cut back by as many whole beats as leave
        ``keep`` seconds (at least :data:`SNAP_MARGIN`) before the cut, and the audio is
        written from the cut, its
        first 20 ms crossfaded (:func:`~oscserver.dsp.bridge.crossfade`) with the audio it
        replaces. The audio played
        before the cut is untouched, and the one after it is the chunk, a whole number of beats
        earlier than it would have come: the beat keeps its place. Nothing is cut while the
        output is not playing, nor when less than a beat waits beyond the margin.
        """
        self._poll_rate()
        rate = self._rate
        if self._resampler is None or not rate:
            self._h[F.OVERFLOW] += frames.shape[1]
            return 0.0
        marks = self._placed(marks)
        out = np.array(self._resampler.process(frames), dtype=np.float32)  # ours to change
        h = self._h
        read, at = self.ring.positions()
        beats = 0
        if beat and h[F.GATE] and h[F.PLAYING]:
            length = round(beat * rate)
            kept = round(max(keep, SNAP_MARGIN) * rate)
            beats = max(0, (at - read - kept) // length) if length else 0
            if beats:
                at -= beats * length
                fade = min(round(FADE * rate / self.stream_rate), out.shape[1])
                out[:, :fade] = crossfade(self.ring.frames_at(at, fade), out[:, :fade])
                self.ring.rewind(at)
                if self.pulse is not None:
                    self.pulse.rewound(at)
        self._append(out, marks)
        read_now = self.ring.positions()[0]
        dropped = beats * length / rate if beats else 0.0
        if beats:
            self.snaps += 1
            self.snapped_seconds += dropped
            if read_now > at:  # the producer was held up for longer than the margin
                log.warning("a snap came %d frames late: it may be heard as a click", read_now - at)
            log.debug("cut: %d beats (%.2f s) of older audio dropped", beats, dropped)
        if heard is not None:
            heard(time.monotonic() + max(0, at - read_now) / rate)
        return dropped

    def take_back(self, keep: float, fade: int) -> tuple[int, Samples] | None:
        """Rewind the ring to ``keep`` seconds (at least :data:`SNAP_MARGIN`) past the reader.

        Only at the stream's own rate: positions in a resampled ring do not map exactly to the
        stream's frames, and the resampler holds some of them.
        """
        h = self._h
        if self._rate != self.stream_rate or not (h[F.GATE] and h[F.PLAYING]):
            return None
        read, write = self.ring.positions()
        at = read + round(max(keep, SNAP_MARGIN) * self._rate)
        if write <= at:
            return 0, np.zeros((2, 0), np.float32)
        head = self.ring.frames_at(at, min(fade, write - at))
        self.ring.rewind(at)
        if self.pulse is not None:
            self.pulse.rewound(at)
        return write - at, head

    def _append(self, out: Samples, marks: list[BeatMark] | None = None) -> None:
        # High-water mark: past it (a burst after a stall), new audio is dropped, so that the
        # latency between the service and the output stays bounded.
        room = max(0, round(HIGH_WATER_SECONDS * self._rate) - self.ring.available())
        pulse = self.pulse
        place = self.ring.positions()[1] if pulse is not None else 0
        written = self.ring.write(out[:, :room])
        dropped = out.shape[1] - written
        if dropped and marks:  # (what they were in is not heard)
            marks = [m for m in marks if m.at < written]
        if pulse is not None and written:
            self._tell_pulse(pulse, place, out[:, :written], marks)
        if dropped:
            if not self._h[F.OVERFLOW]:
                log.warning(
                    "more than %.0f s of audio is waiting: dropping what comes on top",
                    HIGH_WATER_SECONDS,
                )
            self._h[F.OVERFLOW] += dropped

    def _tell_pulse(
        self, pulse: PulseWatch, place: int, written: Samples, marks: list[BeatMark] | None
    ) -> None:
        """Hand what was written at ``place`` to the pulse, with when it is heard if playing."""
        h = self._h
        underruns = int(h[F.UNDERRUNS])
        if underruns != self._underruns:
            self._underruns = underruns
            pulse.slipped()
        heard_at = self.heard_at(place) if h[F.GATE] and h[F.PLAYING] else None
        pulse.written(place, written, heard_at, self._rate, marks)

    def heard_at(self, place: int) -> float:
        """When the frame at ring position ``place`` (not yet read) will be heard.

        In ``time.monotonic()`` seconds, were the output to play on without a gap. From the
        callback's last cycle (``last_cycle``: when it began on JACK's reckoning, where the
        reader stands after it), exact to the frame; without one (no cycle yet, or none
        for a while) from what waits now, which is early by up to a period depending on when
        in the cycle this runs.
        """
        rate = self._rate or self.stream_rate
        latency = self.output_latency()
        cycle = self.cycle()
        if cycle is not None:
            start = cycle.began + cycle.frames / rate  # when the next cycle begins
            read = max(cycle.read, int(self._h[F.DISCARD]))  # (a discard since)
            return start + (place - read) / rate + latency
        return time.monotonic() + (place - self.ring.positions()[0]) / rate + latency

    def cycle(self) -> Cycle | None:
        """The callback's last cycle (``last_cycle``), or None while none runs."""
        rate = self._rate
        cycle = last_cycle(self._h, rate) if rate else None
        if cycle is None or time.monotonic() - CYCLE_STALE >= cycle.began + cycle.frames / rate:
            return None
        return cycle

    def _poll_rate(self) -> None:
        """Hook for sinks whose rate can change under them (JACK after a restart)."""

    def set_playing(self, playing: bool) -> None:
        """Open the gate (pre-roll, then fade in) or close it (fade out, then drop)."""
        h = self._h
        if playing and not h[F.GATE]:
            h[F.OPENED] += 1
            h[F.GATE] = 1
        elif not playing and h[F.GATE]:
            h[F.PAUSE_MARK] = h[F.WRITE]
            h[F.GATE] = 0
            if self.pulse is not None:
                self.pulse.stopped()

    def buffered_seconds(self) -> float:
        """Audio waiting in the ring, in seconds (cheaper than :meth:`stats`: no peak meter)."""
        rate = self.sample_rate
        return self.ring.available() / rate if rate else 0.0

    def stats(self) -> SinkStats:
        """Return the current counters."""
        h = self._h
        rate = self.sample_rate
        return SinkStats(
            sample_rate=rate,
            buffered_frames=self.ring.available(),
            underruns=int(h[F.UNDERRUNS]),
            xruns=int(h[F.XRUNS]),
            overflow_frames=int(h[F.OVERFLOW]),
            # Of what was read last; silence when nothing is going out (paused, an underrun).
            peak=self.ring.peak_recent(rate // 10) if rate and h[F.PLAYING] else 0.0,
            playing=bool(h[F.PLAYING]),
            state=STATE_NAMES[int(h[F.STATE])],
            blocksize=int(h[F.BLOCKSIZE]),
            cost_p99_ms=self.block.cost_percentile(99),
            native_callback=bool(h[F.NATIVE]),
        )


def pcm16_to_float(data: bytes, channels: int) -> Samples:
    """Convert interleaved s16le PCM to float32 shaped ``(2, n)`` (mono is duplicated)."""
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, channels).T.astype(np.float32)
    samples *= 1.0 / 32768.0
    if channels == 1:
        return np.vstack([samples, samples])
    return samples[:2]
