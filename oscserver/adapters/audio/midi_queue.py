"""MIDI events for the audio callback to copy into a JACK MIDI port, each at its frame.

The producer (a thread of the event loop's process) places every event: the frame it goes
out at, counted as the callback counts its cycles (``F.CYCLE_COUNT``: frames of all the cycles
before), so the callback only copies the events due in its cycle, in order, into the port's
buffer (``copy_midi`` in ``playout_native.c``; :func:`due` for the Python callback). An event
already due before the cycle goes out at its first frame and is counted in ``F.MIDI_LATE``.

The events live in the shared block's header (``F.MIDI``), a ring of
:data:`~oscserver.adapters.audio.shared.MIDI_SLOTS` pairs (frame, message) with the same single
writer per field as the audio ring: ``MIDI_WRITE`` and ``MIDI_DISCARD`` the producer's,
``MIDI_READ`` the consumer's. A message packs up to three bytes, first lowest, and its length
in the top byte.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from oscserver.adapters.audio.shared import MIDI_SLOTS, F

__all__ = ["MidiQueue", "due", "pack", "unpack"]


def pack(message: bytes) -> int:
    """One MIDI message (1 to 3 bytes) as the callback reads it."""
    if not 1 <= len(message) <= 3:
        raise ValueError("a MIDI message here has 1 to 3 bytes")
    value = int.from_bytes(message, "little")
    return value | (len(message) << 56)


def unpack(packed: int) -> bytes:
    """The bytes :func:`pack` packed."""
    size = (packed >> 56) & 3
    return (packed & 0xFFFFFF).to_bytes(3, "little")[:size]


class MidiQueue:
    """The producer side: queue events, in order of their frames, or drop what waits.

    Args:
        header: The shared block's header.
    """

    def __init__(self, header: npt.NDArray[np.int64]) -> None:
        self._h = header
        #: Events not queued because the ring was full (the callback not running).
        self.overflow = 0
        self._last = -(2**62)

    def put(self, frame: int, message: bytes) -> bool:
        """Queue ``message`` to go out at ``frame`` (never before an event queued earlier).

        Returns False (and counts it) when the ring is full.
        """
        h = self._h
        write = int(h[F.MIDI_WRITE])
        if write - max(int(h[F.MIDI_READ]), int(h[F.MIDI_DISCARD])) >= MIDI_SLOTS:
            self.overflow += 1
            return False
        frame = max(frame, self._last)  # (the callback copies them in order)
        slot = F.MIDI + 2 * (write % MIDI_SLOTS)
        h[slot] = frame
        h[slot + 1] = pack(message)
        h[F.MIDI_WRITE] = write + 1  # published after the event (x86-64 keeps stores in order)
        self._last = frame
        return True

    def discard(self) -> None:
        """Drop every event queued and not yet copied."""
        self._h[F.MIDI_DISCARD] = self._h[F.MIDI_WRITE]
        self._last = -(2**62)

    @property
    def late(self) -> int:
        """Events the callback copied after their frame."""
        return int(self._h[F.MIDI_LATE])


def due(header: npt.NDArray[np.int64], count: int, frames: int) -> list[tuple[int, bytes]]:
    """The consumer side, for the Python callback: take the events due in a cycle.

    The cycle has ``frames`` frames and begins at ``count``; each event comes as ``(offset in
    the cycle, message)``.
    """
    h = header
    read = max(int(h[F.MIDI_READ]), int(h[F.MIDI_DISCARD]))
    write = int(h[F.MIDI_WRITE])
    out = []
    while read < write:
        slot = F.MIDI + 2 * (read % MIDI_SLOTS)
        frame = int(h[slot])
        if frame >= count + frames:
            break
        if frame < count:
            h[F.MIDI_LATE] += 1
        out.append((max(0, frame - count), unpack(int(h[slot + 1]))))
        read += 1
    h[F.MIDI_READ] = read
    return out
