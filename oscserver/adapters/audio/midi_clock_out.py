"""The MIDI clock on a JACK MIDI port: the music's beats as 24 ticks each, Start and Stop.

The pulse watch tells :class:`MidiClockOut` each beat as it places it in time (the clock's
while locked, else the music's own) and when the music stops. A thread of its own asks the
clock (:class:`~oscserver.core.midi_clock.MidiClock`) for the ticks due a little ahead of now
and queues each at the frame it leaves the ports at, with the sound of its beat
(``RingSink.cycle_frame_at``); the JACK callback copies them into the port
(:mod:`~oscserver.adapters.audio.midi_queue`).
"""

from __future__ import annotations

import logging
import threading
import time

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
        #: Ticks not queued because the callback's cycles were not known (not running).
        self.unplaced = 0
        self._thread = threading.Thread(target=self._run, name="oscserver-midi-clock", daemon=True)
        self._thread.start()

    def beat(self, heard_at: float, bpm: float) -> None:
        """A beat is heard at ``heard_at`` (monotonic seconds), at ``bpm``. From any thread."""
        leaves = heard_at - self._sink.output_latency()  # (MIDI and audio leave together)
        with self._lock:
            self._clock.beat(leaves, bpm)

    def stopped(self) -> None:
        """The music stopped: Stop now, and nothing queued goes out. From any thread."""
        with self._lock:
            messages = self._clock.stop(time.monotonic())
            self._queue.discard()
            self._place(messages, soonest=True)

    def close(self) -> None:
        """Stop the thread (the port says nothing more)."""
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(LOOK):
            try:
                with self._lock:
                    self._place(self._clock.until(time.monotonic() + HORIZON))
            except Exception:  # never lose the thread: the clock goes on with the next beat
                log.exception("the MIDI clock could not be sent")

    def _place(self, messages: list[tuple[float, int]], soonest: bool = False) -> None:
        for at, status in messages:
            frame = self._sink.cycle_frame_at(at, soonest)
            if frame is None:
                self.unplaced += 1
                continue
            self._queue.put(frame, bytes((status,)))
