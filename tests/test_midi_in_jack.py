"""MIDI in on a real JACK server: a controller's events, sent by another client into
oscserver's ``midi_in`` port, come out of the block exactly (bytes, order) at the JACK frame they
were sent at, with the C callback and with the Python one; a SysEx is not copied."""

from __future__ import annotations

import time

import pytest
from conftest import timeout

from oscserver.adapters.audio.jack_process import FORCE_PYTHON
from oscserver.adapters.audio.jack_sink import MIDI_IN_PORT, JackSink

pytestmark = pytest.mark.jack

#: What the controller sends, cycle by cycle from the first after it is connected:
#: (offset, message); the frames they left at are recorded.
SENT = [
    [(0, b"\xb0\x01\x40"), (31, b"\xb0\x01\x41"), (200, b"\x90\x24\x64")],
    [(3, b"\xf0\x7e\x7f\x06\x01\xf7"), (4, b"\x80\x24\x00")],  # (a SysEx: not ours)
    [],
    [(255, b"\xc0\x05"), (255, b"\xf8")],
] + [[(k, b"\xb0\x07" + bytes([k % 128]))] for k in range(0, 250, 10)]


@pytest.mark.parametrize("callback", ["c", "python"])
def test_a_controllers_events_come_through_at_their_frames(private_jackd, monkeypatch, callback):
    import jack

    if callback == "python":
        monkeypatch.setenv(FORCE_PYTHON, "python")
    server = private_jackd(rate=48000, period=256).server_name
    sink = JackSink("midiin", server, preroll_seconds=0.1, midi_in=True)
    client = jack.Client("controller", no_start_server=True, servername=server)
    out = client.midi_outports.register("out")
    pending = list(SENT)
    sent: list[tuple[int, bytes]] = []
    started = []

    @client.set_process_callback
    def process(frames: int) -> None:
        out.clear_buffer()
        if not started or not pending:
            return
        start = client.last_frame_time
        for offset, message in pending.pop(0):
            out.write_midi_event(offset, message)
            if len(message) <= 3:
                sent.append((start + offset, message))

    try:
        assert sink.midi_in is not None
        client.activate()
        client.connect(out, f"midiin:{MIDI_IN_PORT}")
        started.append(True)
        deadline = time.monotonic() + timeout(10)
        got: list[tuple[int, bytes]] = []
        while len(got) < len(sent) or pending:
            assert time.monotonic() < deadline, (got, sent)
            got += sink.midi_in.take()
            time.sleep(0.01)
        time.sleep(0.05)
        got += sink.midi_in.take()
        # JACK's frame time is 32 bits; oscserver's widens it (the same for a fresh server).
        assert got == sent and sink.midi_in.lost == 0
        assert len(got) == sum(len(c) for c in SENT) - 1  # (all but the SysEx)
    finally:
        client.deactivate()
        client.close()
        sink.close()
