"""Following JACK transport on a real JACK server, with a timebase master made by the test (as
Ardour or Reaper would be): its bars, beats and tempo, read from a portless client."""

from __future__ import annotations

import time

import jack
import pytest
from conftest import wait_for

from oscserver.adapters.clock.jack_transport import JackTransportClock

TICKS = 1920.0


class Master:
    """A timebase master at ``bpm``, 4/4, beat 1 of bar 1 at frame 0."""

    def __init__(self, server: str, bpm: float) -> None:
        self.bpm = bpm
        self.client = jack.Client("test-timebase", servername=server, no_start_server=True)
        self.client.set_timebase_callback(self._position)
        self.client.activate()

    def _position(self, state: int, blocksize: int, pos, new_pos: bool) -> None:
        beats = pos.frame / pos.frame_rate * self.bpm / 60.0
        pos.valid = pos.valid | jack._lib.JackPositionBBT
        pos.bar = int(beats // 4) + 1
        pos.beat = int(beats % 4) + 1
        pos.tick = int((beats % 1) * TICKS)
        pos.bar_start_tick = (pos.bar - 1) * 4 * TICKS
        pos.beats_per_bar = 4.0
        pos.beat_type = 4.0
        pos.ticks_per_beat = TICKS
        pos.beats_per_minute = self.bpm

    def close(self) -> None:
        self.client.release_timebase()
        self.client.deactivate()
        self.client.close()


def test_the_jack_clock_follows_the_timebase_masters_beats_and_tempo(jack_server):
    clock = JackTransportClock("test-follower", jack_server)
    master = Master(jack_server, 120.0)
    try:
        master.client.transport_stop()
        master.client.transport_frame = 0
        wait_for(lambda: clock.read() is None, 5)  # stopped: no beat to follow
        master.client.transport_start()
        wait_for(lambda: clock.read() is not None, 5)
        time.sleep(0.5)
        first = clock.read()
        assert first is not None and first.tempo == 120.0 and first.quantum == 4.0
        # Dated on Python's monotonic clock (JACK's own is another): a cycle ago at most.
        assert 0.0 <= time.monotonic() - first.time < 0.02
        time.sleep(1.0)
        second = clock.read()
        assert second is not None
        # The beats go on at the master's tempo, as the follower's projection says.
        assert second.beat == pytest.approx(first.beat_at(second.time), abs=0.02)
        frame = master.client.transport_frame
        assert second.beat == pytest.approx(frame / 48000 * 2.0, abs=0.1)
        master.bpm = 126.0
        wait_for(lambda: (r := clock.read()) is not None and r.tempo == 126.0, 5)
        assert clock.describe() == "JACK transport, 126.0 bpm"
        master.client.transport_stop()
        wait_for(lambda: clock.read() is None, 5)
        assert clock.describe() == "JACK transport, stopped"
    finally:
        master.close()
        clock.close()
