"""MIDI in: the events the audio callback copies from the MIDI in port, for Python to read.

The callback (the C one in ``playout_native.c``, or :func:`copy_in` in the Python one) copies
each cycle's events from the port into a ring in the shared block's header (``F.MIDI_IN``,
:data:`~oscserver.adapters.audio.shared.MIDI_IN_SLOTS` pairs: frame, message), and nothing else:
the meaning of the events is Python's, outside the real-time thread. A frame is JACK's frame
time of the event (the cycle's first frame, as ``F.CYCLE_COUNT`` counts, plus the event's
offset), so that the event's moment can be told from the callback's record of its cycles. A
message is 1 to 3 bytes packed as :func:`~oscserver.adapters.audio.midi_queue.pack` packs
them (longer ones, SysEx, are not copied). ``MIDI_IN_WRITE`` and ``MIDI_IN_LOST`` are the
callback's, ``MIDI_IN_READ`` the reader's; when the reader falls :data:`MIDI_IN_SLOTS` behind,
new events are dropped and counted.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from oscserver.adapters.audio.midi_queue import pack, unpack
from oscserver.adapters.audio.shared import MIDI_IN_SLOTS, F

__all__ = ["MidiInQueue", "copy_in"]


class MidiInQueue:
    """The reader's side of the MIDI in ring (one reader, any thread).

    Args:
        header: The shared block's header.
    """

    def __init__(self, header: npt.NDArray[np.int64]) -> None:
        self._h = header

    def take(self) -> list[tuple[int, bytes]]:
        """Every event copied since the last call, in order: ``(frame, message)``."""
        h = self._h
        read, write = int(h[F.MIDI_IN_READ]), int(h[F.MIDI_IN_WRITE])
        events = []
        for n in range(read, write):
            slot = F.MIDI_IN + 2 * (n % MIDI_IN_SLOTS)
            events.append((int(h[slot]), unpack(int(h[slot + 1]))))
        h[F.MIDI_IN_READ] = write  # (after reading: the callback may reuse the slots)
        return events

    @property
    def lost(self) -> int:
        """Events dropped because the reader was too far behind."""
        return int(self._h[F.MIDI_IN_LOST])


def copy_in(header: npt.NDArray[np.int64], count: int, events: Iterable[tuple[int, bytes]]) -> None:
    """The Python callback's copy of a cycle's events (as ``copy_midi_in`` in the C one).

    Args:
        header: The shared block's header.
        count: The cycle's first frame (JACK's frame time).
        events: ``(offset in the cycle, message)`` from the port, in order.
    """
    h = header
    write, read = int(h[F.MIDI_IN_WRITE]), int(h[F.MIDI_IN_READ])
    for offset, message in events:
        if not 1 <= len(message) <= 3:
            continue
        if write - read >= MIDI_IN_SLOTS:
            h[F.MIDI_IN_LOST] += 1
            continue
        slot = F.MIDI_IN + 2 * (write % MIDI_IN_SLOTS)
        h[slot] = count + offset
        h[slot + 1] = pack(bytes(message))
        write += 1
    h[F.MIDI_IN_WRITE] = write  # published after the events (x86-64 keeps stores in order)
