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
        #: The latest grid, and the stream frame its context began at: ``(start, grid)``. A
        #: grid's frames count every frame fed since the watch began (as the tracker counts).
        self.found: tuple[int, beats.Grid] | None = None
        self._start = 0
        # (frames or how many frames to skip, the bpm asked for), "stop", or the stream frame
        # a context begins at.
        self._queue: queue.Queue[tuple[Samples | int, float | None] | str | int] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="oscserver-beats", daemon=True)
        self._thread.start()

    def feed(self, frames: Samples, expected: float | None) -> None:
        """Analyse the stream's next chunk (the tempo asked for settles a half-tempo lock).

        Every chunk must be fed, in order: the grid's frames count them all. When the
        analysis is behind by :data:`BACKLOG` chunks, a chunk is only counted (the beats are
        then found afresh after it).
        """
        self._queue.put((frames if self._queue.qsize() < BACKLOG else frames.shape[1], expected))

    def forget(self, start: int = 0) -> None:
        """The chunks from now on are a new stream (a new session, context or play).

        Args:
            start: The stream frame the new one begins at (the frames of :attr:`found` count
                from it).
        """
        self._queue.put(start)

    def close(self) -> None:
        """Stop the thread."""
        self._queue.put("stop")
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item == "stop":
                return
            if isinstance(item, int):  # forget
                self._tracker.reset()
                self.grid = None
                self._start = item
                continue
            assert not isinstance(item, str)
            frames, expected = item
            if isinstance(frames, int):  # not analysed: counted, and the beats start afresh
                self._tracker.skip(frames)
                self.grid = None
                continue
            self._tracker.expected = expected
            try:
                for start in range(0, frames.shape[1], PIECE):
                    self.idle.wait()
                    self._tracker.process(frames[:, start : start + PIECE])
                grid = self._tracker.grid()
                self.grid = grid
                if grid is not None:
                    self.found = (self._start, grid)
            except Exception:  # an analysis, never worth the music
                log.exception("beat tracking failed; the tempo is not measured")
                return
