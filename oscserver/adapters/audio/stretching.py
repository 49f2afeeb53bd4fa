"""The stretching feeder: an audio sink in front of another that holds its buffer at a target.

Each chunk written is time-stretched (:mod:`oscserver.dsp.stretch`, pitch kept) by the ratio
the playout controller decides (:mod:`oscserver.core.continuity`) from the level of the sink
behind it, so that a service slower or faster than real time neither runs the output dry nor
piles up latency. The stretch costs tens of milliseconds of CPU per chunk, so it runs in a
thread of its own, never on the event loop (OSC stays answered at once) and never in the audio
callback (which only copies). Rubber Band releases the GIL while it computes.

Ordering and pauses: chunks are stretched in the order written. A pause (``set_playing(False)``)
drops what waits to be stretched and starts a new generation: whatever the thread was making
for the old one is not written, the stretcher and the controller start afresh, and the sink
behind drops what it holds, as it always does on a pause.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from oscserver.adapters.audio.base import STREAM_RATE, AudioSink, SinkStats
from oscserver.adapters.audio.ring import Samples
from oscserver.core.continuity import PlayoutController, Settings
from oscserver.dsp.stretch import Stretcher

__all__ = ["StretchingSink"]

log = logging.getLogger(__name__)

#: Frames stretched and written at a time: the output grows smoothly while a chunk is worked on.
PIECE = 4096


class StretchingSink(AudioSink):
    """Stretches what is written by the controller's ratio, then writes it to ``inner``.

    Args:
        inner: The sink that plays (JACK, sound card, null); closed with this one.
        settings: The controller's target and limits.
        clock: Monotonic seconds (the controller's ``now``).

    Raises:
        StretchUnavailable: The stretcher's library is not installed here.
    """

    def __init__(
        self,
        inner: AudioSink,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.controller = PlayoutController(settings)
        self._stretcher = Stretcher(STREAM_RATE)
        self._clock = clock
        self._queue: queue.SimpleQueue[tuple[int, Samples] | None] = queue.SimpleQueue()
        self._queued = 0  # frames waiting in the queue
        self._lock = threading.Lock()  # a write to ``inner`` and a new generation exclude
        self._generation = 0
        self._closed = False
        #: Seconds of stream stretched, and of output made from them (their ratio is the mean).
        self.stream_seconds = 0.0
        self.output_seconds = 0.0
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

    def write(self, frames: Samples) -> None:
        """Queue a chunk (``(2, n)`` at 48 kHz) to be stretched; returns at once."""
        if self._closed:
            return
        self._queued += frames.shape[1]
        self._queue.put((self._generation, frames))

    def set_playing(self, playing: bool) -> None:
        """Play, or pause: a pause drops what waits, here and in the inner sink."""
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
        return replace(
            stats,
            buffered_frames=stats.buffered_frames + extra,
            stretch_ratio=self.controller.ratio,
        )

    def buffered_seconds(self) -> float:
        """Audio waiting to be played: in the inner sink, being stretched, and queued."""
        return self.inner.buffered_seconds() + self._waiting_frames() / STREAM_RATE

    def check(self) -> str | None:
        """The inner sink's check (e.g. a JACK audio process restarted)."""
        return self.inner.check()

    def close(self) -> None:
        """Stop the stretching thread, then close the inner sink."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(5)
        self.inner.close()

    # --- the stretching thread ---------------------------------------------------------------

    def _waiting_frames(self) -> float:
        return max(0, self._queued) + self._stretcher.held

    def _run(self) -> None:
        generation = self._generation
        while True:
            item = self._queue.get()
            if item is None:
                return
            made_for, frames = item
            if made_for != self._generation:
                self._queued -= frames.shape[1]
                continue  # queued before a pause
            if made_for != generation:  # the first chunk after a pause: start afresh
                generation = made_for
                self._stretcher.reset()
                self.controller.reset()
            self._stretch(generation, frames)

    def _stretch(self, generation: int, frames: Samples) -> None:
        """Stretch one chunk and write it on, piece by piece."""
        # The level before this chunk is written: the bottom of the buffer's sawtooth.
        level = self.inner.buffered_seconds() + self._stretcher.held / STREAM_RATE
        ratio = self.controller.update(self._clock(), level)
        made, failed = 0, False
        for start in range(0, frames.shape[1], PIECE):
            piece = frames[:, start : start + PIECE]
            try:
                out = self._stretcher.process(piece, ratio)
            except Exception:  # never lose the music, nor this thread: play it as it is
                if not failed:
                    log.exception("time stretching failed; this chunk plays unstretched")
                failed, out = True, piece
            self._queued -= piece.shape[1]
            with self._lock:
                if generation != self._generation:  # paused meanwhile: not to be heard
                    self._queued -= frames.shape[1] - start - piece.shape[1]
                    return
                if out.shape[1]:
                    self.inner.write(out)
            made += out.shape[1]
        self.stream_seconds += frames.shape[1] / STREAM_RATE
        self.output_seconds += made / STREAM_RATE
