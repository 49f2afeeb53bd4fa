"""A preallocated single-producer, single-consumer ring of stereo float32 audio.

The producer is the event loop (decoded chunks in), the consumer is the audio callback (frames
out). All storage is allocated once, in the constructor. Positions are monotonically growing
frame counts, each written by one side only:

- ``write_pos`` by the producer, published *after* the samples are in place;
- ``read_pos`` by the consumer;
- ``discard_to`` by the producer, to ask the consumer to drop everything written so far (on
  pause or stop), so that the producer never has to touch ``read_pos``.

In CPython a read or write of an attribute is atomic under the GIL, so each side always sees a
consistent count and never waits for the other: no locks anywhere. The consumer's
:meth:`read_into` copies with ``numpy.copyto`` into the output buffers it is given and allocates
no sample memory (only the small, fixed-size slice objects that any Python code creates).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["StereoRing"]

Samples = npt.NDArray[np.float32]


class StereoRing:
    """A bounded ring of two-channel audio.

    Args:
        capacity: Frames the ring holds at most.
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._buf: Samples = np.zeros((2, capacity), dtype=np.float32)
        self.write_pos = 0
        self.read_pos = 0
        self.discard_to = 0

    # --- producer side -----------------------------------------------------------------------

    def space(self) -> int:
        """Frames that can be written now without overwriting unread audio."""
        return self.capacity - (self.write_pos - max(self.read_pos, self.discard_to))

    def write(self, frames: Samples) -> int:
        """Append audio shaped ``(2, n)``; returns how many frames fit (the rest is dropped).

        Only the producer may call this.
        """
        n = min(int(frames.shape[1]), self.space())
        start = self.write_pos % self.capacity
        first = min(n, self.capacity - start)
        self._buf[:, start : start + first] = frames[:, :first]
        if n > first:
            self._buf[:, : n - first] = frames[:, first:n]
        self.write_pos += n  # publish only after the samples are in place
        return n

    def discard(self) -> None:
        """Ask the consumer to drop everything written so far. Only the producer may call this."""
        self.discard_to = self.write_pos

    # --- both sides --------------------------------------------------------------------------

    def available(self) -> int:
        """Frames written and not yet read or discarded."""
        return self.write_pos - max(self.read_pos, self.discard_to)

    def peak_recent(self, frames: int) -> float:
        """Peak absolute sample of the last ``frames`` frames the consumer read (for meters).

        Call from a non-real-time thread; it allocates.
        """
        end = self.read_pos
        count = min(frames, end, self.capacity)
        if count <= 0:
            return 0.0
        idx = np.arange(end - count, end) % self.capacity
        return float(np.max(np.abs(self._buf[:, idx])))

    # --- consumer side -----------------------------------------------------------------------

    def read_into(self, left: Samples, right: Samples, frames: int) -> int:
        """Copy up to ``frames`` frames into two output buffers; returns how many were copied.

        Only the consumer may call this; it is real-time safe (no allocation of sample memory,
        no locks, no I/O).
        """
        r = self.read_pos
        d = self.discard_to
        if d > r:
            r = d
        n = self.write_pos - r
        if n > frames:
            n = frames
        start = r % self.capacity
        first = self.capacity - start
        if first > n:
            first = n
        buf = self._buf
        np.copyto(left[:first], buf[0, start : start + first])
        np.copyto(right[:first], buf[1, start : start + first])
        if n > first:
            np.copyto(left[first:n], buf[0, : n - first])
            np.copyto(right[first:n], buf[1, : n - first])
        self.read_pos = r + n
        return n
