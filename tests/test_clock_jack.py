"""Following JACK transport on a real JACK server, with a timebase master made by the test (as
Ardour or Reaper would be): its bars, beats and tempo, read from a portless client."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jack
import pytest
from conftest import wait_for

from oscserver.adapters.clock.jack_transport import JackTransportClock

MASTER = Path(__file__).with_name("jack_timebase_master.py")


class Master:
    """A timebase master in a process of its own (tests/jack_timebase_master.py), and a plain
    client here that starts, stops and moves the transport."""

    def __init__(self, server: str, bpm: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(MASTER), server, str(bpm)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline() == "ready\n"
        self.client = jack.Client("test-transport", servername=server, no_start_server=True)

    def tempo(self, bpm: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{bpm}\n")
        self.process.stdin.flush()

    def close(self) -> None:
        self.client.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


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
        master.tempo(126.0)
        wait_for(lambda: (r := clock.read()) is not None and r.tempo == 126.0, 5)
        assert clock.describe() == "JACK transport, 126.0 bpm"
        master.client.transport_stop()
        wait_for(lambda: clock.read() is None, 5)
        assert clock.describe() == "JACK transport, stopped"
    finally:
        master.close()
        clock.close()
