"""The stream's beats, found in a thread of their own, so that no analysis delays the music.

The continuity feeder hands each chunk to :class:`BeatWatch` after writing it out; the watch's
thread runs the beat tracker (:mod:`oscserver.dsp.beats`) on it and publishes the latest grid
in :attr:`BeatWatch.grid` (one reference, replaced whole: readers in any thread see a whole
grid). A new stream is said in the same queue as the chunks, so it applies in order.

Where a new context begins is known only to within a chunk: the first chunk to arrive after
RESET_CONTEXT was sent may have been made before the service had it (sent while it was on its
way, or between the new config and the reset), and then holds the old context's audio. Its
beats would be found with the old ones' phase mixed in, never steady until they age out. So
the watch tracks the new stream twice: from the chunk it was told, and from the next one; the
first of the two to give a steady grid is the stream (:attr:`BeatWatch.moved` says when that is
the second), and the other is dropped.
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
        #: The latest new stream found to begin a chunk after where it was said to:
        #: ``{said: found}`` (replaced whole).
        self.moved: dict[int, int] = {}
        self._start = 0
        # The second candidate for the present stream: its start and its tracker (None: none
        # yet, or decided); and whether the next chunk is the one to start it at.
        self._second: tuple[int, beats.BeatTracker] | None = None
        self._arm = False
        # (frames or how many frames to skip, the bpm asked for), "stop", or the stream frame
        # a context begins at.
        self._queue: queue.Queue[tuple[Samples | int, float | None] | str | int] = queue.Queue()
        self._first = False
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
                self._second, self._arm = None, False
                self._first = True  # the next chunk is the stream's first as said
                continue
            assert not isinstance(item, str)
            frames, expected = item
            if isinstance(frames, int):  # not analysed: counted, and the beats start afresh
                self._tracker.skip(frames)
                self.grid = None
                self._second, self._first = None, False
                continue
            try:
                self._analyse(frames, expected)
            except Exception:  # an analysis, never worth the music
                log.exception("beat tracking failed; the tempo is not measured")
                return

    def _analyse(self, frames: Samples, expected: float | None) -> None:
        """One chunk through the tracker, and through the second candidate's while undecided."""
        if self._arm:  # the chunk after the one said: the second candidate starts here
            second = beats.BeatTracker(self._tracker.rate)
            second.skip(self._tracker.frames)  # (counting frames as the first does)
            self._second, self._arm = (self._tracker.frames, second), False
        self._arm, self._first = self._first, False
        trackers = [self._tracker] + ([self._second[1]] if self._second is not None else [])
        for tracker in trackers:
            tracker.expected = expected
        for start in range(0, frames.shape[1], PIECE):
            self.idle.wait()
            for tracker in trackers:
                tracker.process(frames[:, start : start + PIECE])
        grid = self._tracker.grid()
        if self._second is not None:
            at, tracker = self._second
            other = tracker.grid()
            if grid is not None and grid.steady:
                self._second = None  # the stream began where it was said to
            elif other is not None and other.steady:
                log.info("the new stream began a chunk after the one marked: its beats from there")
                self.moved = {self._start: at}  # (the latest only: the lock asks of it)
                self._tracker, self._start, self._second = tracker, at, None
                grid = other
        self.grid = grid
        if grid is not None:
            self.found = (self._start, grid)
