"""The MIDI events the callback copies into its port: each in the cycle of its frame at its
offset, in order; one already due goes out first and is counted late; a discard drops what
waits; a full ring refuses. The C callback (driven here through its JACK entry point, libjack's
functions replaced by recorders) copies exactly what the Python one does."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from oscserver.adapters.audio import playout_native
from oscserver.adapters.audio.midi_queue import MidiQueue, due, pack, unpack
from oscserver.adapters.audio.shared import MIDI_SLOTS, F, SharedBlock


def test_messages_pack_and_unpack():
    for message in (b"\xf8", b"\xfa", b"\x90\x3c\x64", b"\xb0\x07"):
        assert unpack(pack(message)) == message
    with pytest.raises(ValueError):
        pack(b"")
    with pytest.raises(ValueError):
        pack(b"\xf0\x01\x02\x03")


def scenario(queue: MidiQueue) -> None:
    queue.put(10, b"\xfa")
    queue.put(10, b"\xf8")
    queue.put(70, b"\xf8")
    queue.put(64, b"\xf8")  # (queued after one at 70: goes out with it, never before it)
    queue.put(200, b"\xf8")


def test_events_come_in_their_cycle_at_their_offset_in_order():
    block = SharedBlock(16)
    queue = MidiQueue(block.header)
    scenario(queue)
    h = block.header
    assert due(h, 0, 64) == [(10, b"\xfa"), (10, b"\xf8")]
    assert due(h, 64, 64) == [(6, b"\xf8"), (6, b"\xf8")]
    assert due(h, 128, 64) == []
    assert due(h, 256, 64) == [(0, b"\xf8")]  # (its cycle was missed: at the first frame)
    assert int(h[F.MIDI_LATE]) == 1 and queue.late == 1


def test_a_discard_drops_what_waits_and_a_full_ring_refuses():
    block = SharedBlock(16)
    queue = MidiQueue(block.header)
    scenario(queue)
    queue.discard()
    queue.put(5, b"\xfc")  # (Stop, sooner than what was dropped: not held back by it)
    assert due(block.header, 0, 64) == [(5, b"\xfc")]
    for k in range(MIDI_SLOTS):
        assert queue.put(1000 + k, b"\xf8")
    assert not queue.put(5000, b"\xf8") and queue.overflow == 1


class FakeJack:
    """libjack's port buffer, clear and write functions for the C callback, recording."""

    GET = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32)
    CLEAR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    WRITE = ctypes.CFUNCTYPE(
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_uint8),
        ctypes.c_size_t,
    )

    def __init__(self, frames: int) -> None:
        self.audio = np.zeros((2, frames), np.float32)
        self.written: list[tuple[int, bytes]] = []
        self.cleared = 0
        self.get = self.GET(self._get)
        self.clear = self.CLEAR(self._clear)
        self.write = self.WRITE(self._write)

    def _get(self, port: int, frames: int) -> int:
        return int(self.audio[port - 1].ctypes.data) if port in (1, 2) else 0x1000

    def _clear(self, buffer: int) -> None:
        self.cleared += 1

    def _write(self, buffer: int, time: int, data: ctypes.Array, size: int) -> int:
        self.written.append((time, bytes(data[:size])))
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
    write = ctypes.cast(fake.write, ctypes.c_void_p)
    lib.osc_playout_set_midi(p, 3, ctypes.cast(fake.clear, ctypes.c_void_p), write, None)
    python = SharedBlock(16)
    c_queue, py_queue = MidiQueue(block.header), MidiQueue(python.header)
    got, expected = [], []
    for count in (0, 64, 128, 192, 256):
        if count == 0:
            scenario(c_queue)
            scenario(py_queue)
        if count == 192:  # a Stop due before this cycle, what waited dropped
            for queue in (c_queue, py_queue):
                queue.discard()
                queue.put(100, b"\xfc")
        before = len(fake.written)
        lib.osc_playout_jack_process(64, p)
        got.append(fake.written[before:])
        expected.append(due(python.header, count, 64))
    assert got == expected
    assert expected[0] == [(10, b"\xfa"), (10, b"\xf8")] and expected[3] == [(0, b"\xfc")]
    assert fake.cleared == 5  # every cycle, events or not
    assert int(block.header[F.MIDI_LATE]) == int(python.header[F.MIDI_LATE]) == 1
    assert int(block.header[F.CYCLE_COUNT]) == 256
    playout.close()
