"""A separate JACK client that records two ports, as a DAW would (test helper)."""

from __future__ import annotations

import threading

import jack
import numpy as np


class Recorder:
    """Records from two source ports into a preallocated buffer.

    Args:
        server: The JACK server name.
        sources: The two ports to record (left, right).
        seconds: Capacity; recording stops when full.
    """

    def __init__(self, server: str, sources: tuple[str, str], seconds: float = 60.0) -> None:
        self.client = jack.Client("recorder", no_start_server=True, servername=server)
        self.rate = self.client.samplerate
        self.buffer = np.zeros((2, int(seconds * self.rate)), dtype=np.float32)
        self.frames = 0
        self._lock = threading.Lock()
        self.inputs = [self.client.inports.register(f"in_{i}") for i in (1, 2)]
        self.client.set_process_callback(self._process)
        self.client.activate()
        for source, port in zip(sources, self.inputs, strict=True):
            self.client.connect(source, port)

    def _process(self, frames: int) -> None:
        end = min(self.frames + frames, self.buffer.shape[1])
        n = end - self.frames
        self.buffer[0, self.frames : end] = self.inputs[0].get_array()[:n]
        self.buffer[1, self.frames : end] = self.inputs[1].get_array()[:n]
        self.frames = end

    def mark(self) -> int:
        """The current position in frames, to slice recordings later."""
        return self.frames

    def since(self, start: int) -> np.ndarray:
        """Recorded audio from ``start`` to now, shaped ``(2, n)``."""
        return self.buffer[:, start : self.frames].copy()

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()
