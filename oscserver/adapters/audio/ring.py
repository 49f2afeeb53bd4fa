"""A preallocated single-producer, single-consumer ring of stereo float32 audio.

The producer is the event loop (decoded chunks in), the consumer is the audio callback (frames
out), in this process or in the real-time process. All storage lives in a
:class:`~oscserver.adapters.audio.shared.SharedBlock`, allocated once. Positions are
monotonically growing frame counts in its header, each written by one side only:

- ``WRITE`` by the producer, published *after* the samples are in place;
- ``READ`` by the consumer;
- ``DISCARD`` by the producer, to make the consumer drop everything written so far, so that
  the producer never has to touch ``READ``.

Neither side ever waits for the other: no locks anywhere. The consumer's :meth:`read_into`
copies with ``numpy.copyto`` into the buffers it is given and allocates no sample memory (only
the small, fixed-size slice objects that any Python code creates).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from oscserver.adapters.audio.shared import F, SharedBlock

__all__ = ["Samples", "StereoRing"]

Samples = npt.NDArray[np.float32]


class StereoRing:
    """A bounded ring of two-channel audio over a shared block.

    Args:
        block: The memory; its sample area is the ring.
    """

    def __init__(self, block: SharedBlock) -> None:
        self.block = block
        self.capacity = block.capacity
        self._buf = block.samples
        self._h = block.header

    # --- producer side -----------------------------------------------------------------------

    def space(self) -> int:
        """Frames that can be written now without overwriting unread audio."""
        h = self._h
        return self.capacity - int(h[F.WRITE] - max(h[F.READ], h[F.DISCARD]))

    def write(self, frames: Samples) -> int:
        """Append audio shaped ``(2, n)``; returns how many frames fit (the rest is dropped).

        Only the producer may call this.
        """
        n = min(int(frames.shape[1]), self.space())
        write = int(self._h[F.WRITE])
        start = write % self.capacity
        first = min(n, self.capacity - start)
        self._buf[:, start : start + first] = frames[:, :first]
        if n > first:
            self._buf[:, : n - first] = frames[:, first:n]
        self._h[F.WRITE] = write + n  # publish only after the samples are in place
        return n

    def positions(self) -> tuple[int, int]:
        """``(read, write)``: where the consumer will read next, and where the producer writes."""
        h = self._h
        return int(max(h[F.READ], h[F.DISCARD])), int(h[F.WRITE])

    def frames_at(self, position: int, frames: int) -> Samples:
        """A copy of ``frames`` frames written from ``position`` on (not yet read)."""
        idx = (position + np.arange(frames)) % self.capacity
        return self._buf[:, idx]

    def rewind(self, position: int) -> None:
        """Take back what was written after ``position``: the next write goes there.

        Only the producer may call this, and only with ``position`` far enough ahead of the
        consumer that it cannot read that far before the new audio is in place: the consumer
        reads from its position up to the write position it saw, at most a period at a time,
        so audio it has not reached may be replaced (see ``RingSink.write_fresh``).
        """
        read, write = self.positions()
        if not read <= position <= write:
            raise ValueError("rewind only to a position between the read and write positions")
        self._h[F.WRITE] = position

    def discard(self) -> None:
        """Make the consumer drop everything written so far. Only the producer may call this."""
        self._h[F.DISCARD] = self._h[F.WRITE]

    # --- both sides --------------------------------------------------------------------------

    def available(self) -> int:
        """Frames written and not yet read or discarded."""
        h = self._h
        return int(h[F.WRITE] - max(h[F.READ], h[F.DISCARD]))

    def peak_recent(self, frames: int) -> float:
        """Peak absolute sample of the last ``frames`` frames the consumer read (for meters).

        Call from a non-real-time thread; it allocates.
        """
        end = int(self._h[F.READ])
        count = min(frames, end, self.capacity)
        if count <= 0:
            return 0.0
        idx = np.arange(end - count, end) % self.capacity
        return float(np.max(np.abs(self._buf[:, idx])))

    # --- consumer side -----------------------------------------------------------------------

    def read_into(self, left: Samples, right: Samples, frames: int, offset: int = 0) -> int:
        """Copy up to ``frames`` frames into ``left[offset:]`` and ``right[offset:]``.

        Returns how many were copied. Only the consumer may call this; it is real-time safe
        (no allocation of sample memory, no locks, no I/O).
        """
        h = self._h
        r = h[F.READ]
        d = h[F.DISCARD]
        if d > r:
            r = d
        n = int(h[F.WRITE] - r)
        if n > frames:
            n = frames
        start = int(r % self.capacity)
        first = self.capacity - start
        if first > n:
            first = n
        buf = self._buf
        np.copyto(left[offset : offset + first], buf[0, start : start + first])
        np.copyto(right[offset : offset + first], buf[1, start : start + first])
        if n > first:
            np.copyto(left[offset + first : offset + n], buf[0, : n - first])
            np.copyto(right[offset + first : offset + n], buf[1, : n - first])
        h[F.READ] = r + n
        return n

    def drop_until(self, position: int) -> None:
        """Skip everything before ``position``. Only the consumer may call this."""
        if self._h[F.READ] < position:
            self._h[F.READ] = position
