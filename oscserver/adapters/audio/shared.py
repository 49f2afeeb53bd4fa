"""The block of memory shared by the event loop and the audio callback, in-process or not.

One int64 header (positions, controls, counters, a histogram of callback costs) and one
float32 ``(2, capacity)`` sample area. :class:`SharedBlock` allocates them either as plain numpy
arrays (the callback runs in this process) or in ``multiprocessing.shared_memory`` (the callback
runs in the real-time process, :mod:`~oscserver.adapters.audio.jack_process`).

Every field has exactly one writer (documented below), so no locks are needed: an aligned
8-byte store is atomic on the platforms we run on, and x86-64 keeps stores in order (TSO), so
a reader that sees a published position also sees the samples written before it.
"""

from __future__ import annotations

from multiprocessing import shared_memory
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "COST_BINS",
    "COST_BIN_US",
    "MIDI_IN_SLOTS",
    "MIDI_SLOTS",
    "Cycle",
    "F",
    "SharedBlock",
    "last_cycle",
]

#: Width of one bin of the callback cost histogram, in microseconds.
COST_BIN_US = 20
#: Number of bins; the last one also counts everything slower.
COST_BINS = 512


#: Events the MIDI ring holds (a beat's 24 ticks at 300 bpm come in 0.2 s).
MIDI_SLOTS = 256
#: Events the MIDI in ring holds (a controller's faders, a clock: read every few ms).
MIDI_IN_SLOTS = 512


class F:
    """Header field indices, each with its single writer."""

    WRITE = 0  # producer: frames written (monotonic)
    READ = 1  # consumer: frames read or dropped (monotonic)
    DISCARD = 2  # producer: the consumer must drop everything before this position
    GATE = 3  # producer: 1 play, 0 pause/stop
    OPENED = 4  # producer: times the gate opened (a change means: pre-roll again)
    PAUSE_MARK = 5  # producer: write position when the gate closed
    PREROLL = 6  # producer: frames to wait after audio arrives before playing
    MIDI_IN_READ = 7  # producer: MIDI in events taken (midi_in_queue.py)
    UNDERRUNS = 8  # consumer
    XRUNS = 9  # consumer (JACK's xrun callback)
    CALLBACKS = 10  # consumer
    RATE = 11  # consumer: the device's sample rate (0 until known)
    BLOCKSIZE = 12  # consumer: frames per callback
    STATE = 13  # consumer: see STATE_* below
    HEARTBEAT = 14  # consumer's control thread, ~4 per second
    STOP = 15  # producer: 1 asks the real-time process to stop
    OVERFLOW = 16  # producer: frames dropped because the ring was full
    RESTARTS = 17  # consumer: times the JACK client was re-created
    PLAYING = 18  # consumer: 1 while audio (not silence) is going out
    NATIVE = 19  # consumer: 1 when the JACK callback is the C playout, 0 for Python
    LATENCY = 20  # consumer: frames from the output ports to the ear (JACK's playback latency)
    # The last cycle, for the producer to tell when a frame will leave the ports (Cycle):
    CYCLE_SEQ = 21  # consumer: +1 before the CYCLE_ fields below change, +1 after (odd: changing)
    CYCLE_NS = 22  # consumer: time.monotonic_ns() when the callback began
    CYCLE_SINCE = 23  # consumer: frames into JACK's cycle at that moment (0: not JACK)
    CYCLE_READ = 24  # consumer: READ after the callback (where the next cycle reads from)
    CYCLE_FRAMES = 25  # consumer: frames in that cycle
    CYCLE_COUNT = 26  # consumer: frames of all the cycles before it (the MIDI events' count)
    # MIDI events to copy into the MIDI clock's port, a ring of MIDI_SLOTS (midi_queue.py):
    MIDI_WRITE = 27  # producer: events queued (monotonic)
    MIDI_READ = 28  # consumer: events copied or passed
    MIDI_DISCARD = 29  # producer: the consumer must pass every event before this one
    MIDI_LATE = 30  # consumer: events copied after their frame (at the cycle's first)
    MIDI_IN_WRITE = 31  # consumer: events copied from the MIDI in port (monotonic)
    COST = 32  # consumer: histogram of callback costs, COST_BINS bins
    MIDI = COST + COST_BINS  # producer: MIDI_SLOTS events of two fields (frame, message)
    # consumer: MIDI_IN_SLOTS events from the MIDI in port, two fields each (frame, message)
    MIDI_IN = MIDI + 2 * MIDI_SLOTS
    MIDI_IN_LOST = MIDI_IN + 2 * MIDI_IN_SLOTS  # consumer: events dropped, the ring full
    SIZE = MIDI_IN_LOST + 1


class Cycle(NamedTuple):
    """The callback's last cycle, as it recorded it (a consistent copy, see :func:`last_cycle`)."""

    began: float  # monotonic seconds at which the cycle began (JACK's cycle start, or the call)
    read: int  # the ring position the next cycle reads from, unless the producer discarded
    frames: int  # frames in the cycle
    counted: int  # frames of all the cycles before it


def last_cycle(header: npt.NDArray[np.int64], rate: int) -> Cycle | None:
    """Read the last cycle's fields written under ``CYCLE_SEQ``, or None.

    None when no cycle has run, or when the callback kept changing them (a few tries: it
    writes them in under a microsecond once a period, so that means something is wrong).
    """
    if rate <= 0:
        return None
    for _ in range(4):
        seq = int(header[F.CYCLE_SEQ])
        if seq == 0 or seq & 1:
            continue
        ns, since = int(header[F.CYCLE_NS]), int(header[F.CYCLE_SINCE])
        read, frames = int(header[F.CYCLE_READ]), int(header[F.CYCLE_FRAMES])
        count = int(header[F.CYCLE_COUNT])
        if int(header[F.CYCLE_SEQ]) == seq:
            return Cycle(ns / 1e9 - since / rate, read, frames, count)
    return None


STATE_STARTING, STATE_RUNNING, STATE_SERVER_GONE, STATE_FAILED, STATE_STOPPED = range(5)
STATE_NAMES = ("starting", "running", "JACK server gone", "failed", "stopped")


class SharedBlock:
    """Header and samples, local or in shared memory.

    Args:
        capacity: Frames the sample area holds.
        shared: Put the block in shared memory (for another process to attach by name).
        name: Attach to an existing shared block by name instead of creating one.
    """

    def __init__(self, capacity: int, shared: bool = False, name: str | None = None) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        header_bytes = F.SIZE * 8
        self._shm: shared_memory.SharedMemory | None = None
        if shared or name:
            size = header_bytes + 2 * capacity * 4
            if name:
                self._shm = shared_memory.SharedMemory(name=name)
            else:
                self._shm = shared_memory.SharedMemory(create=True, size=size)
            buf = self._shm.buf
            self.header: npt.NDArray[np.int64] = np.ndarray((F.SIZE,), np.int64, buf, 0)
            self.samples: npt.NDArray[np.float32] = np.ndarray(
                (2, capacity), np.float32, buf, header_bytes
            )
            if not name:
                self.header[:] = 0
        else:
            self.header = np.zeros(F.SIZE, dtype=np.int64)
            self.samples = np.zeros((2, capacity), dtype=np.float32)

    @property
    def name(self) -> str | None:
        """The shared memory name another process attaches with (None when local)."""
        return self._shm.name if self._shm else None

    def close(self, unlink: bool = False) -> None:
        """Detach (and, for the creator, free) the shared memory."""
        if self._shm is None:
            return
        # Drop our views first: shared memory cannot close while arrays point into it.
        del self.header, self.samples
        self._shm.close()
        if unlink:
            self._shm.unlink()
        self._shm = None

    def cost_max(self) -> float:
        """The slowest callback's cost bin, in milliseconds (0 if none)."""
        hist = self.header[F.COST : F.COST + COST_BINS]
        used = np.flatnonzero(hist)
        return float((used[-1] + 1) * COST_BIN_US / 1000.0) if len(used) else 0.0

    def cost_percentile(self, q: float) -> float:
        """The q-th percentile (0..100) of callback costs, in milliseconds (0 if none)."""
        hist = self.header[F.COST : F.COST + COST_BINS]
        total = int(hist.sum())
        if total == 0:
            return 0.0
        index = int(np.searchsorted(np.cumsum(hist), q / 100.0 * total))
        return (index + 1) * COST_BIN_US / 1000.0
