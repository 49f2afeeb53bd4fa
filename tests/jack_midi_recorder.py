"""A separate JACK client that records a MIDI port, as a drum machine or a DAW would (test
helper): every event with the moment it left the port, and the server's xruns.

It runs in a process of its own (as jack_recorder.py does, for the same reason); what it
records lands in shared memory.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing import shared_memory

import numpy as np

#: Events kept: (monotonic seconds it left the port, JACK frame time, status byte).
EVENTS = 20000
XRUNS = 256
#: Cycles kept: (monotonic seconds it began, its JACK frame time).
CYCLES = 40000


def _views(shm: shared_memory.SharedMemory) -> tuple[np.ndarray, ...]:
    """The block's parts: head [events, stop, xruns, cycles], events, xruns, cycles."""
    head = np.ndarray((4,), np.int64, shm.buf, 0)
    at = 32
    events = np.ndarray((EVENTS, 3), np.float64, shm.buf, at)
    at += EVENTS * 24
    xruns = np.ndarray((XRUNS,), np.float64, shm.buf, at)
    at += XRUNS * 8
    cycles = np.ndarray((CYCLES, 2), np.float64, shm.buf, at)
    return head, events, xruns, cycles


SIZE = 32 + EVENTS * 24 + XRUNS * 8 + CYCLES * 16


def _record(shm_name: str, server: str, source: str, ready) -> None:
    import jack

    shm = shared_memory.SharedMemory(name=shm_name)
    head, events, xruns, cycles = _views(shm)
    client = jack.Client("midi_recorder", no_start_server=True, servername=server)
    port = client.midi_inports.register("in")

    @client.set_xrun_callback
    def xrun(delayed_usecs: float) -> None:
        n = int(head[2])
        if n < XRUNS:
            xruns[n] = client.frame_time
            head[2] = n + 1

    @client.set_process_callback
    def process(frames: int) -> None:
        # When this cycle began on the monotonic clock: an event at offset i left then + i.
        began = time.monotonic() - client.frames_since_cycle_start / client.samplerate
        start = client.last_frame_time
        k = int(head[3])
        if k < CYCLES:
            cycles[k] = (began, start)
            head[3] = k + 1
        for offset, data in port.incoming_midi_events():
            n = int(head[0])
            message = bytes(data)  # (a cffi buffer)
            if n < EVENTS and message:
                events[n] = (began + offset / client.samplerate, start + offset, message[0])
                head[0] = n + 1

    client.activate()
    client.connect(source, port)
    ready.set()
    while not head[1]:
        time.sleep(0.05)
    client.deactivate()
    client.close()


class MidiRecorder:
    """Records the MIDI events of one source port.

    Args:
        server: The JACK server name.
        source: The MIDI output port to record.
    """

    def __init__(self, server: str, source: str) -> None:
        self._shm = shared_memory.SharedMemory(create=True, size=SIZE)
        self._head, self._events, self._xruns, self._cycles = _views(self._shm)
        self._head[:] = 0
        context = multiprocessing.get_context("spawn")
        ready = context.Event()
        self._process = context.Process(
            target=_record, args=(self._shm.name, server, source, ready)
        )
        self._process.start()
        if not ready.wait(20):
            self.close()
            raise RuntimeError("the MIDI recorder did not start")

    def events(self) -> np.ndarray:
        """``(n, 3)``: when each event left the port (monotonic), its frame time, its status."""
        return self._events[: int(self._head[0])].copy()

    def times(self, frame_times: np.ndarray) -> np.ndarray:
        """When JACK frame times went out (monotonic), from the cycles around each.

        One cycle's start, reckoned in this client's Python callback, can be late by a
        millisecond or more on a loaded machine (two calls, between which it can be held up);
        the median over the cycles of the second around a frame is not.
        """
        cycles = self._cycles[: int(self._head[3])]
        origin = cycles[:, 0] - cycles[:, 1] / 48000  # when frame time 0 began, by each cycle
        out = np.empty(len(frame_times))
        for i, frame in enumerate(frame_times):
            near = np.abs(cycles[:, 1] - frame) <= 24000
            out[i] = np.median(origin[near]) + frame / 48000
        return out

    def xruns(self) -> np.ndarray:
        """JACK frame times at which the server reported xruns."""
        return self._xruns[: int(self._head[2])].copy()

    def close(self) -> None:
        self._head[1] = 1
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
        del self._head, self._events, self._xruns, self._cycles
        self._shm.close()
        self._shm.unlink()
