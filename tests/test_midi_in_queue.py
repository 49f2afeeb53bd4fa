"""The MIDI in ring: each cycle's events from the port, in order, each at its JACK frame (the
cycle's first plus its offset), 1 to 3 bytes (SysEx is not ours); a reader that falls behind
loses the newest, counted. The C callback (driven through its JACK entry point, libjack's
functions replaced by fakes) copies exactly what the Python one does."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from oscserver.adapters.audio import playout_native
from oscserver.adapters.audio.midi_in_queue import MidiInQueue, copy_in
from oscserver.adapters.audio.shared import MIDI_IN_SLOTS, SharedBlock

#: What the port holds in each of four cycles of 64 frames: (offset, message).
CYCLES = [
    [(0, b"\xb0\x01\x40"), (17, b"\x90\x3c\x64"), (17, b"\xf8")],
    [],
    [(5, b"\xf0\x7e\x7f\x06\x01\xf7"), (63, b"\xc0\x02")],  # (a SysEx: not copied)
    [(1, b"\xfa")],
]
EXPECTED = [
    (0, b"\xb0\x01\x40"),
    (17, b"\x90\x3c\x64"),
    (17, b"\xf8"),
    (128 + 63, b"\xc0\x02"),
    (192 + 1, b"\xfa"),
]


def test_events_are_copied_at_their_frames_and_read_in_order():
    block = SharedBlock(16)
    queue = MidiInQueue(block.header)
    for k, events in enumerate(CYCLES):
        copy_in(block.header, 64 * k, events)
    assert queue.take() == EXPECTED
    assert queue.take() == []
    copy_in(block.header, 1000, [(3, b"\xfc")])
    assert queue.take() == [(1003, b"\xfc")]


def test_a_reader_too_far_behind_loses_the_newest_and_counts_them():
    block = SharedBlock(16)
    queue = MidiInQueue(block.header)
    copy_in(block.header, 0, [(k % 64, b"\xf8") for k in range(MIDI_IN_SLOTS + 3)])
    assert len(queue.take()) == MIDI_IN_SLOTS and queue.lost == 3
    copy_in(block.header, 64, [(0, b"\xfa")])
    assert queue.take() == [(64, b"\xfa")]  # (room again)


class Event(ctypes.Structure):
    """libjack's jack_midi_event_t."""

    _fields_ = [
        ("time", ctypes.c_uint32),
        ("size", ctypes.c_size_t),
        ("buffer", ctypes.POINTER(ctypes.c_uint8)),
    ]


class FakeJack:
    """libjack's port buffer, event count and event get for the C callback."""

    GET = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32)
    COUNT = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p)
    EVENT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(Event), ctypes.c_void_p, ctypes.c_uint32)

    def __init__(self, frames: int) -> None:
        self.audio = np.zeros((2, frames), np.float32)
        self.events: list[tuple[int, bytes]] = []
        self._bytes: list[ctypes.Array] = []
        self.get = self.GET(self._get)
        self.count = self.COUNT(lambda buffer: len(self.events))
        self.event = self.EVENT(self._event)

    def _get(self, port: int, frames: int) -> int:
        return int(self.audio[port - 1].ctypes.data) if port in (1, 2) else 0x1000

    def _event(self, event, buffer: int, index: int) -> int:
        offset, message = self.events[index]
        data = (ctypes.c_uint8 * len(message))(*message)
        self._bytes.append(data)  # (kept alive while the C side reads it)
        event[0].time, event[0].size = offset, len(message)
        event[0].buffer = ctypes.cast(data, ctypes.POINTER(ctypes.c_uint8))
        return 0


@pytest.mark.skipif(not playout_native.available(), reason="the C playout is not built")
def test_the_c_callback_copies_what_the_python_one_does():
    lib = playout_native._load()
    lib.osc_playout_jack_process.argtypes = [ctypes.c_uint32, ctypes.c_void_p]
    lib.osc_playout_jack_process.restype = ctypes.c_int
    block = SharedBlock(1024)
    playout = playout_native.NativePlayout(block, 32)
    fake = FakeJack(64)
    p = playout._ptr
    lib.osc_playout_set_ports(p, 1, 2, ctypes.cast(fake.get, ctypes.c_void_p), None, None)
    lib.osc_playout_set_midi_in(
        p, 3, ctypes.cast(fake.count, ctypes.c_void_p), ctypes.cast(fake.event, ctypes.c_void_p)
    )
    for events in CYCLES:
        fake.events = events
        lib.osc_playout_jack_process(64, p)
    assert MidiInQueue(block.header).take() == EXPECTED
    playout.close()
