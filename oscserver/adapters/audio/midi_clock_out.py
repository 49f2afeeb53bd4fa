"""The MIDI clock on a JACK MIDI port: the music's beats as 24 ticks each, Start and Stop.

The pulse watch tells :class:`MidiClockOut` each beat as it places it in time (the clock's
while locked, else the music's own) and when the music stops. A thread of its own asks the
clock (:class:`~oscserver.core.midi_clock.MidiClock`) for the ticks due a little ahead of now
and queues each at the frame it leaves the ports at, with the sound of its beat (from the
callback's cycles, ``RingSink.cycle``); the JACK callback copies them into the port
(:mod:`~oscserver.adapters.audio.midi_queue`).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque

from oscserver.adapters.audio.base import RingSink
from oscserver.adapters.audio.midi_queue import MidiQueue
from oscserver.core.midi_clock import MidiClock

__all__ = ["MidiClockOut"]

log = logging.getLogger(__name__)

#: Ticks are queued this many seconds before they go out: more than the thread's wait between
#: looks (below, and what a loaded machine adds to it) and a JACK period.
HORIZON = 0.1
#: Seconds between looks.
LOOK = 0.01
#: Cycles whose start times (as frame 0's) the median is taken of: a quarter second's looks.
ORIGINS = 25


class MidiClockOut:
    """Sends the MIDI clock through a sink's MIDI queue.

    Args:
        sink: The sink whose callback copies the queue into the port (its frames and times).
        queue: That sink's MIDI queue.
    """

    def __init__(self, sink: RingSink, queue: MidiQueue) -> None:
        self._sink = sink
        self._queue = queue
        self._clock = MidiClock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a beat told (the thread sleeps while none runs)
        #: Ticks not queued because the callback's cycles were not known (not running).
        self.unplaced = 0
        self._origins: deque[float] = deque(maxlen=ORIGINS)  # (see _observe)
        self._seen = -1
        self._thread = threading.Thread(target=self._run, name="oscserver-midi-clock", daemon=True)
        self._thread.start()

    def beat(self, heard_at: float, bpm: float) -> None:
        """A beat is heard at ``heard_at`` (monotonic seconds), at ``bpm``. From any thread."""
        leaves = heard_at - self._sink.output_latency()  # (MIDI and audio leave together)
        with self._lock:
            self._clock.beat(leaves, bpm)
        self._wake.set()

    def stopped(self) -> None:
        """The music stopped: Stop now, and nothing queued goes out. From any thread."""
        with self._lock:
            messages = self._clock.stop(time.monotonic())
            self._queue.discard()
            self._place(messages, soonest=True)
            self._origins.clear()  # (while stopped none are seen: they would be stale)
            self._seen = -1

    def close(self) -> None:
        """Stop the thread (the port says nothing more)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(LOOK):
            if not self._clock.running:  # (stopped: nothing to send until a beat comes)
                self._wake.wait()
                self._wake.clear()
            try:
                with self._lock:
                    self._place(self._clock.until(time.monotonic() + HORIZON))
            except Exception:  # never lose the thread: the clock goes on with the next beat
                log.exception("the MIDI clock could not be sent")

    def _observe(self) -> tuple[float, int] | None:
        """When the callback's frame 0 began, and the next cycle's first frame.

        The median of the last cycles seen: one cycle's start, as JACK reckons it, can be a
        millisecond or two off on a loaded machine. None while no cycle runs.
        """
        cycle = self._sink.cycle()
        if cycle is None:
            return None
        rate = self._sink.sample_rate
        if cycle.counted != self._seen:
            self._seen = cycle.counted
            self._origins.append(cycle.began - cycle.counted / rate)
        return statistics.median(self._origins), cycle.counted + cycle.frames

    def _place(self, messages: list[tuple[float, int]], soonest: bool = False) -> None:
        known = self._observe()
        rate = self._sink.sample_rate
        for at, status in messages:
            if known is None:
                self.unplaced += 1
                continue
            origin, next_cycle = known
            frame = round((at - origin) * rate)
            self._queue.put(max(frame, next_cycle) if soonest else frame, bytes((status,)))
