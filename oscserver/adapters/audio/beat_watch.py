"""The stream's beats, found in a thread of their own, so that no analysis delays the music.

The continuity feeder hands each chunk to :class:`BeatWatch` after writing it out; the watch's
thread runs the beat tracker (:mod:`oscserver.dsp.beats`) on it and publishes the latest grid
in :attr:`BeatWatch.grid` (one reference, replaced whole: readers in any thread see a whole
grid). A new stream is said in the same queue as the chunks, so it applies in order.
"""

from __future__ import annotations

import logging
import queue
import threading

from oscserver.adapters.audio.ring import Samples
from oscserver.dsp import beats

__all__ = ["BeatWatch"]

log = logging.getLogger(__name__)

#: Chunks waiting beyond which new ones are not analysed (the machine cannot keep up).
BACKLOG = 8
#: Frames analysed at a time, between which the watch yields to the music (about 2 ms of work).
PIECE = 4096


class BeatWatch:
    """Finds the beats of the chunks fed to it, in its own thread.

    Args:
        rate: The stream's sample rate.

    Raises:
        beats.BeatsUnavailable: aubio is not installed here.
    """

    def __init__(self, rate: int) -> None:
        self._tracker = beats.BeatTracker(rate)
        #: Set while the music's own work is idle: the analysis waits for it between pieces, so
        #: that it never holds the interpreter while a chunk is being stretched.
        self.idle = threading.Event()
        self.idle.set()
        #: The latest grid (None until one is found, and after :meth:`forget`).
        self.grid: beats.Grid | None = None
        # (frames, the bpm asked for) to analyse, or "forget" or "stop".
        self._queue: queue.Queue[tuple[Samples, float | None] | str] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="oscserver-beats", daemon=True)
        self._thread.start()

    def feed(self, frames: Samples, expected: float | None) -> None:
        """Analyse the stream's next chunk (the tempo asked for settles a half-tempo lock)."""
        if self._queue.qsize() < BACKLOG:
            self._queue.put((frames, expected))

    def forget(self) -> None:
        """The chunks from now on are a new stream (a new session, context or play)."""
        self._queue.put("forget")

    def close(self) -> None:
        """Stop the thread."""
        self._queue.put("stop")
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, str):
                if item == "stop":
                    return
                self._tracker.reset()  # forget
                self.grid = None
                continue
            frames, expected = item
            self._tracker.expected = expected
            try:
                for start in range(0, frames.shape[1], PIECE):
                    self.idle.wait()
                    self._tracker.process(frames[:, start : start + PIECE])
                self.grid = self._tracker.grid()
            except Exception:  # an analysis, never worth the music
                log.exception("beat tracking failed; the tempo is not measured")
                return
