"""The audio sink interface and the real-time playout logic every sink shares.

A sink receives decoded stereo float32 audio from the event loop (:meth:`AudioSink.write`) and
plays it from its own real-time callback. :class:`Playout` is that callback's logic, independent
of the backend: the JACK sink calls :meth:`Playout.process` from its process callback with the
port buffers.

Playout rules (real-time safe: no allocation of sample memory, no locks, logging or I/O):

- gate closed (paused, stopped, not started): silence; nothing is consumed;
- pre-roll: after the gate opens or after an underrun, wait until audio has been available for
  ``preroll`` frames before playing, so that chunks arriving a little late do not cause another
  underrun right away (the service sends ~2 s chunks at about real time and a chunk can be
  late; see docs/architecture.md);
- underrun (the ring runs dry while playing): play what there is, then silence; count it and
  pre-roll again.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from oscserver.adapters.audio.ring import Samples, StereoRing

__all__ = ["AudioSink", "Playout", "SinkStats"]


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

    @property
    def buffered_seconds(self) -> float:
        """Audio waiting in the buffer, in seconds."""
        return self.buffered_frames / self.sample_rate if self.sample_rate else 0.0


class Playout:
    """The real-time side of a sink: ring, gate, pre-roll and underrun counting.

    Args:
        capacity: Ring size in frames.
        preroll: Frames of waiting after audio first becomes available before playing.
    """

    def __init__(self, capacity: int, preroll: int) -> None:
        self.ring = StereoRing(capacity)
        self.preroll = preroll
        self.gate = False  # written by the control side
        self.underruns = 0  # written by the callback only
        self.overflow_frames = 0  # written by the control side only
        self._buffering = True
        self._waited = 0
        self._opened = 0  # times the gate was opened (control side)
        self._seen_opened = 0  # the callback's copy: a difference means "pre-roll again"

    # --- control side (event loop) -----------------------------------------------------------

    def write(self, frames: Samples) -> None:
        """Queue audio shaped ``(2, n)``; what does not fit is dropped and counted."""
        written = self.ring.write(frames)
        self.overflow_frames += frames.shape[1] - written

    def set_gate(self, open_: bool) -> None:
        """Open (play) or close (silence, and drop what is queued) the output."""
        if not open_:
            self.ring.discard()
        elif not self.gate:
            self._opened += 1  # even if the callback never saw it closed, pre-roll again
        self.gate = open_

    # --- real-time side ----------------------------------------------------------------------

    def process(self, left: Samples, right: Samples, frames: int) -> None:
        """Fill one period of output. Call only from the audio callback."""
        if not self.gate or self._seen_opened != self._opened:
            self._seen_opened = self._opened
            self._buffering = True
            self._waited = 0
            if not self.gate:
                self._silence(left, right, 0)
                return
        if self._buffering:
            if self.ring.available() == 0:
                self._silence(left, right, 0)
                self._waited = 0
                return
            self._waited += frames
            if self._waited < self.preroll:
                self._silence(left, right, 0)
                return
            self._buffering = False
        got = self.ring.read_into(left, right, frames)
        if got < frames:
            self._silence(left, right, got)
            self.underruns += 1
            self._buffering = True
            self._waited = 0

    @staticmethod
    def _silence(left: Samples, right: Samples, start: int) -> None:
        left[start:].fill(0.0)
        right[start:].fill(0.0)


class AudioSink(abc.ABC):
    """An audio output. Subclasses own a :class:`Playout` and call it from their callback."""

    playout: Playout

    @property
    @abc.abstractmethod
    def sample_rate(self) -> int:
        """The rate the output runs at; :meth:`write` expects audio at this rate."""

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """One line saying where the audio goes (port names, device)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the callback and release the device or ports."""

    @property
    def xruns(self) -> int:
        """Backend-reported xruns (0 when the backend has no such notion)."""
        return 0

    def write(self, frames: Samples) -> None:
        """Queue audio shaped ``(2, n)`` at :attr:`sample_rate`."""
        self.playout.write(frames)

    def set_playing(self, playing: bool) -> None:
        """Open or close the gate; closing drops queued audio so a pause is silent at once."""
        self.playout.set_gate(playing)

    def stats(self) -> SinkStats:
        """Return the current counters."""
        p = self.playout
        return SinkStats(
            sample_rate=self.sample_rate,
            buffered_frames=p.ring.available(),
            underruns=p.underruns,
            xruns=self.xruns,
            overflow_frames=p.overflow_frames,
            peak=p.ring.peak_recent(self.sample_rate // 10),
            playing=p.gate,
        )


def pcm16_to_float(data: bytes, channels: int) -> Samples:
    """Convert interleaved s16le PCM to float32 shaped ``(2, n)`` (mono is duplicated)."""
    samples = np.frombuffer(data, dtype="<i2").reshape(-1, channels).T.astype(np.float32)
    samples *= 1.0 / 32768.0
    if channels == 1:
        return np.vstack([samples, samples])
    return samples[:2]
