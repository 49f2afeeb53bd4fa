"""A separate JACK client that records two ports, as a DAW would (test helper).

It runs in a process of its own, like a DAW, so that the test's busy interpreter (the event
loop, the engine rendering) cannot make it late; the recording lands in shared memory.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing import shared_memory

import numpy as np

#: A cycle's start time is kept for every this many frames recorded (a cycle each at most).
CYCLE_EVERY = 64
#: The JACK server's xruns remembered (when each was reported, in JACK frames).
XRUNS = 256


def _layout(capacity: int) -> tuple[int, int, int]:
    """Byte offsets of the audio, the cycles and the xruns in the shared block; its size."""
    cycles = 16 + 8 * capacity
    xruns = cycles + 24 * (capacity // CYCLE_EVERY)
    return cycles, xruns, xruns + 8 * (XRUNS + 1)


def _record(shm_name: str, capacity: int, server: str, sources: tuple[str, str], ready) -> None:
    import jack

    shm = shared_memory.SharedMemory(name=shm_name)
    count = np.ndarray((2,), np.int64, shm.buf, 0)  # [frames, stop]
    audio = np.ndarray((2, capacity), np.float32, shm.buf, 16)
    at_cycles, at_xruns, _ = _layout(capacity)
    cycles = np.ndarray((capacity // CYCLE_EVERY, 3), np.float64, shm.buf, at_cycles)
    xruns = np.ndarray((XRUNS + 1,), np.float64, shm.buf, at_xruns)  # [count, frame times]
    client = jack.Client("recorder", no_start_server=True, servername=server)
    inputs = [client.inports.register(f"in_{i}") for i in (1, 2)]
    count[1] = 0

    @client.set_xrun_callback
    def xrun(delayed_usecs: float) -> None:
        n = int(xruns[0])
        if n < XRUNS:
            xruns[1 + n] = client.frame_time  # (no call to the server: libjack's own clock)
            xruns[0] = n + 1

    @client.set_process_callback
    def process(frames: int) -> None:
        start = count[0]
        # When this cycle began on the monotonic clock: its audio leaves the ports then.
        began = time.monotonic() - client.frames_since_cycle_start / client.samplerate
        k = start // CYCLE_EVERY
        if k < len(cycles):  # (a cycle is at least CYCLE_EVERY frames: one per slot)
            cycles[k] = (start, began, client.last_frame_time)
        end = min(start + frames, capacity)
        n = end - start
        audio[0, start:end] = inputs[0].get_array()[:n]
        audio[1, start:end] = inputs[1].get_array()[:n]
        count[0] = end

    client.activate()
    for source, port in zip(sources, inputs, strict=True):
        client.connect(source, port)
    ready.set()
    while not count[1]:
        time.sleep(0.05)
    client.deactivate()
    client.close()  # the process exits next, which unmaps the shared memory


class Recorder:
    """Records from two source ports into shared memory.

    Args:
        server: The JACK server name.
        sources: The two ports to record (left, right).
        seconds: Capacity at 48 kHz; recording stops when full.
    """

    def __init__(self, server: str, sources: tuple[str, str], seconds: float = 60.0) -> None:
        capacity = int(seconds * 48000)
        at_cycles, at_xruns, size = _layout(capacity)
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self._count = np.ndarray((2,), np.int64, self._shm.buf, 0)
        self._count[:] = 0
        self.buffer = np.ndarray((2, capacity), np.float32, self._shm.buf, 16)
        self.buffer[:] = 0
        self._cycles = np.ndarray(
            (capacity // CYCLE_EVERY, 3), np.float64, self._shm.buf, at_cycles
        )
        self._cycles[:] = 0
        self._xruns = np.ndarray((XRUNS + 1,), np.float64, self._shm.buf, at_xruns)
        self._xruns[:] = 0
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        self._process = context.Process(
            target=_record, args=(self._shm.name, capacity, server, tuple(sources), ready)
        )
        self._process.start()
        if not ready.wait(20):
            self.close()
            raise RuntimeError("the recorder did not start")

    @property
    def frames(self) -> int:
        return int(self._count[0])

    def mark(self) -> int:
        """The current position in frames, to slice recordings later."""
        return self.frames

    def since(self, start: int) -> np.ndarray:
        """Recorded audio from ``start`` to now, shaped ``(2, n)``."""
        return self.buffer[:, start : self.frames].copy()

    def times(self, frames: np.ndarray) -> np.ndarray:
        """When recorded frames left the ports (monotonic seconds), from the cycles' starts."""
        known = self._known()
        # The frames of one cycle left together with its first; a cycle's later frames follow
        # at the sample rate (JACK's dummy driver keeps them 1/48000 s apart on average).
        at = np.searchsorted(known[:, 0], frames, side="right") - 1
        first, began = known[at, 0], known[at, 1]
        return began + (frames - first) / 48000

    def missed(self, start: int, end: int) -> list[int]:
        """Where the recording from ``start`` to ``end`` lacks cycles JACK ran without it.

        A recorder late for its callback (a loaded machine) loses that cycle's audio: the
        frames on either side of the place were not next to each other at the ports, and a
        step between them is the recording's, not the music's. JACK's frame time at each
        cycle's start (``jack_last_frame_time``) tells exactly.

        Returns:
            Indices ``i`` (relative to ``start``): frames ``i - 1`` and ``i`` were apart.
        """
        known = self._known()
        jumps = np.diff(known[:, 2]) - np.diff(known[:, 0])
        after = known[1:, 0][jumps > 0].astype(np.int64)
        return [int(i - start) for i in after if start < i < end]

    def xruns(self, start: int, end: int) -> list[int]:
        """Where, in the recording from ``start`` to ``end``, the JACK server reported xruns.

        A client late for its cycle (the machine loaded) leaves that cycle's output to the
        server: the recording jumps there, whatever the client meant to play. The report comes
        after the cycle, on a thread of its own: the place is a cycle or two late.

        Returns:
            Indices relative to ``start``.
        """
        known = self._known()
        places = []
        for frame_time in self._xruns[1 : 1 + int(self._xruns[0])]:
            at = int(np.searchsorted(known[:, 2], frame_time, side="right")) - 1
            if at >= 0:
                i = int(known[at, 0] + frame_time - known[at, 2])
                if start <= i < end:
                    places.append(i - start)
        return places

    def _known(self) -> np.ndarray:
        known = self._cycles[: self.frames // CYCLE_EVERY]
        return known[known[:, 1] > 0]

    def close(self) -> None:
        self._count[1] = 1
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        del self._count, self.buffer, self._cycles, self._xruns
        self._shm.close()
        self._shm.unlink()
