"""What the audio callback does each period: gate, pre-roll, gain ramps, underruns.

:meth:`Playout.process` is called by every sink's callback (the JACK process callback in the
real-time process, PortAudio's callback, the null sink's clock) with the output buffers. It is
real-time safe: it copies from the preallocated ring and scales in place with preallocated
ramps, takes no lock, logs nothing and does no I/O. The control side (the event loop) talks to
it only through the shared header (:class:`~oscserver.adapters.audio.shared.F`):

- play (``GATE`` 1, ``OPENED`` incremented): wait until audio has been available for
  ``PREROLL`` frames, then fade in over the ramp (about 100 ms, as Google's apps do);
- pause/stop (``GATE`` 0, ``PAUSE_MARK`` set): fade out over the ramp, on the music that
  follows, then drop everything written before the mark and play silence;
- underrun (the ring runs dry while playing): the last 2 ms before it runs dry are faded out
  (the callback sees it coming from the fill level), then silence; it is counted in
  ``UNDERRUNS``, and playback pre-rolls again before fading back in.

Pre-roll is a wait after audio arrives, not a fill level, because Lyria's audio comes in ~2 s
chunks at about real time: the wait is the margin a late chunk has (see docs/performance.md).
"""

from __future__ import annotations

import time

import numpy as np

from oscserver.adapters.audio.ring import Samples, StereoRing
from oscserver.adapters.audio.shared import COST_BIN_US, COST_BINS, F, SharedBlock

__all__ = ["SHORT_FADE", "Playout"]

SILENT, BUFFERING, FADE_IN, PLAYING, FADE_OUT = range(5)
#: Frames of the fade applied to the end of the audio at an underrun (2 ms at 48 kHz).
SHORT_FADE = 96


class Playout:
    """The real-time side of a sink.

    Args:
        block: The shared header and ring.
        ramp: Frames of the play/pause gain ramp (about 100 ms at the device's rate).
    """

    def __init__(self, block: SharedBlock, ramp: int) -> None:
        self.ring = StereoRing(block)
        self._h = block.header
        ramp = max(1, ramp)
        self._ramp = ramp
        self._up = (np.arange(1, ramp + 1, dtype=np.float32) / ramp).astype(np.float32)
        self._down = (1.0 - self._up).astype(np.float32)
        # Gain of a frame with r frames left before an underrun: r / (SHORT_FADE + 1).
        self._tail = (np.arange(SHORT_FADE, 0, -1) / (SHORT_FADE + 1)).astype(np.float32)
        self._mode = SILENT
        self._pos = 0  # frames into the current ramp
        self._waited = 0
        self._seen_opened = int(self._h[F.OPENED])
        self._reopened = False
        self._clock = time.perf_counter
        #: Frames of all the cycles so far (the MIDI events' count: midi_queue.py).
        self.count = 0

    def process(self, left: Samples, right: Samples, frames: int, since: int = 0) -> None:
        """Fill one period of output. Call only from the audio callback.

        Args:
            left: The left output buffer.
            right: The right output buffer.
            frames: Frames to fill.
            since: Frames into the device's cycle at which this call began (JACK's
                ``frames_since_cycle_start``; 0 where the call begins it).
        """
        began = time.monotonic_ns()
        t0 = self._clock()
        h = self._h
        opened = h[F.OPENED]
        if opened != self._seen_opened:
            self._seen_opened = opened
            self._reopened = True
        gate = h[F.GATE]
        mode = self._mode
        if not gate and (mode in (FADE_IN, PLAYING)):
            # Continue from the current gain: a fade-in cut short fades out from where it was.
            self._pos = self._ramp - self._pos if mode == FADE_IN else 0
            mode = FADE_OUT
        elif not gate and mode == BUFFERING:
            self.ring.drop_until(int(h[F.PAUSE_MARK]))
            mode = SILENT
        if mode == SILENT and gate and self._reopened:
            self._reopened = False
            self._waited = 0
            mode = BUFFERING
        # Exactly one branch fills the output.
        if mode == FADE_OUT:
            mode = self._fade_out(left, right, frames)
        elif mode == SILENT:
            left.fill(0.0)
            right.fill(0.0)
        elif mode == BUFFERING:
            mode = self._buffer(left, right, frames)
        else:
            mode = self._play(left, right, frames, mode)
        self._mode = mode
        # When this cycle began and where the reader stands after it (a seqlock: shared.py).
        seq = int(h[F.CYCLE_SEQ])
        h[F.CYCLE_SEQ] = seq + 1
        h[F.CYCLE_NS] = began
        h[F.CYCLE_SINCE] = since
        h[F.CYCLE_READ] = h[F.READ]
        h[F.CYCLE_FRAMES] = frames
        h[F.CYCLE_COUNT] = self.count
        h[F.CYCLE_SEQ] = seq + 2
        self.count += frames
        h[F.PLAYING] = 1 if mode in (FADE_IN, PLAYING, FADE_OUT) else 0
        h[F.CALLBACKS] += 1
        cost = int((self._clock() - t0) * 1_000_000) // COST_BIN_US
        h[F.COST + (cost if cost < COST_BINS else COST_BINS - 1)] += 1

    def _fade_out(self, left: Samples, right: Samples, frames: int) -> int:
        got = self.ring.read_into(left, right, frames)
        n = min(got, self._ramp - self._pos)
        np.multiply(left[:n], self._down[self._pos : self._pos + n], out=left[:n])
        np.multiply(right[:n], self._down[self._pos : self._pos + n], out=right[:n])
        left[n:].fill(0.0)
        right[n:].fill(0.0)
        self._pos += n
        if self._pos < self._ramp and got == frames:
            return FADE_OUT
        self.ring.drop_until(int(self._h[F.PAUSE_MARK]))
        if self._h[F.GATE] and self._reopened:
            self._reopened = False
            self._waited = 0
            return BUFFERING
        return SILENT

    def _buffer(self, left: Samples, right: Samples, frames: int) -> int:
        if self.ring.available() == 0:
            self._waited = 0
        elif self._waited >= self._h[F.PREROLL]:
            self._pos = 0
            return self._play(left, right, frames, FADE_IN)
        else:
            self._waited += frames
        left.fill(0.0)
        right.fill(0.0)
        return BUFFERING

    def _play(self, left: Samples, right: Samples, frames: int, mode: int) -> int:
        remaining = self.ring.available()
        # Read no more than was seen: the fade below is computed from `remaining`.
        got = self.ring.read_into(left, right, min(frames, remaining))
        if mode == FADE_IN:
            n = min(got, self._ramp - self._pos)
            np.multiply(left[:n], self._up[self._pos : self._pos + n], out=left[:n])
            np.multiply(right[:n], self._up[self._pos : self._pos + n], out=right[:n])
            self._pos += n
            if self._pos >= self._ramp:
                mode = PLAYING
        if remaining < frames + SHORT_FADE:
            # The ring runs dry within SHORT_FADE frames: fade the last frames that are there,
            # frame i of this period having remaining - i frames left (itself included).
            start = max(0, remaining - SHORT_FADE)
            j = SHORT_FADE - (remaining - start)
            tail = self._tail[j : j + got - start]
            np.multiply(left[start:got], tail, out=left[start:got])
            np.multiply(right[start:got], tail, out=right[start:got])
        if got == frames:
            return mode
        # Underrun: silence after the faded end, and pre-roll again.
        left[got:].fill(0.0)
        right[got:].fill(0.0)
        self._h[F.UNDERRUNS] += 1
        self._waited = 0
        return BUFFERING
