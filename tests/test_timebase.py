"""oscserver as JACK transport's timebase master (``--jack-timebase``): the C callback's bars,
beats and tempo on a position like the one JACK hands it, then on a real JACK server, read by
another client as Ardour or Hydrogen would, and yielding to a master that was there first."""

from __future__ import annotations

import os
import time

import jack
import numpy as np
import pytest
from conftest import wait_for
from test_clock_jack import Master

from oscserver.adapters.clock import timebase
from oscserver.adapters.clock.jack_transport import JackTransportClock

pytestmark = pytest.mark.skipif(not timebase.available(), reason="the C timebase is not built")

RATE = 48000


class Position:
    """A ``jack_position_t`` (JACK-Client's definition) and the C callback filling it."""

    def __init__(self, bpm: float) -> None:
        self.pos = jack._ffi.new("jack_position_t *")
        self.pos.frame_rate = RATE
        self.lib = timebase._load()
        offsets = [jack._ffi.offsetof("jack_position_t", f) for f in timebase.FIELDS]
        self._offsets = np.array(offsets, np.int32)
        self.t = self.lib.osc_timebase_new(
            self._offsets.ctypes.data, int(jack._lib.JackPositionBBT), bpm
        )

    def at(self, frame: int, new_pos: bool = False) -> tuple[int, int, int, float]:
        self.pos.frame = frame
        self.lib.osc_timebase_position(self.t, int(new_pos), timebase._address(self.pos))
        p = self.pos
        assert p.valid & jack._lib.JackPositionBBT
        assert (p.beats_per_bar, p.beat_type, p.ticks_per_beat) == (4.0, 4.0, 1920.0)
        assert p.bar_start_tick == (p.bar - 1) * 4 * 1920.0
        return p.bar, p.beat, p.tick, p.beats_per_minute

    def beats(self, frame: int) -> float:
        bar, beat, tick, _ = self.at(frame)
        return (bar - 1) * 4 + (beat - 1) + tick / 1920

    def close(self) -> None:
        self.lib.osc_timebase_free(self.t)


def test_bars_and_beats_run_at_the_tempo_and_stay_continuous_when_it_changes():
    p = Position(120.0)
    try:
        assert p.at(0) == (1, 1, 0, 120.0)
        assert p.at(RATE // 2) == (1, 2, 0, 120.0)  # half a second: one beat at 120
        assert p.at(RATE * 2 + RATE // 4) == (2, 1, 960, 120.0)  # 4.5 beats: bar 2, half a beat
        p.lib.osc_timebase_set_bpm(p.t, 126.0)
        before = 4.5
        assert p.beats(RATE * 2 + RATE // 4) == pytest.approx(before, abs=1 / 1920)
        # From there at 126: 60 s at 126 is 126 beats more, not 120.
        assert p.beats(RATE * 62 + RATE // 4) == pytest.approx(before + 126, abs=1 / 1920)
        assert p.at(RATE * 62 + RATE // 4)[3] == 126.0
        # A relocation to before the change starts the map afresh, at the tempo now.
        assert p.at(RATE, new_pos=True) == (1, 3, 192, 126.0)  # 2.1 beats from frame 0
        # The frame counter wraps after 2**32 frames (a day at 48 kHz): the beats go on.
        p.lib.osc_timebase_set_bpm(p.t, 120.0)
        p.at(2**32 - RATE)
        late = p.beats(2**32 - RATE)
        assert p.beats(RATE) == pytest.approx(late + 4.0, abs=1 / 1920)
    finally:
        p.close()


def test_oscserver_leads_the_transport_when_nobody_else_does(jack_server):
    clock = JackTransportClock("test-leader", jack_server, timebase_bpm=120.0)
    other = jack.Client("test-other-app", servername=jack_server, no_start_server=True)
    other.activate()
    try:
        assert clock.master
        assert other.transport_state == jack.STOPPED
        clock.play()  # /lyria/play: the transport rolls
        wait_for(lambda: other.transport_state == jack.ROLLING, 5)
        time.sleep(0.3)
        _, first = other.transport_query()
        time.sleep(1.0)
        _, second = other.transport_query()
        for pos in (first, second):
            assert pos["beats_per_minute"] == 120.0 and pos["beats_per_bar"] == 4.0

        def beats(pos: dict) -> float:
            return (pos["bar"] - 1) * 4 + pos["beat"] - 1 + pos["tick"] / pos["ticks_per_beat"]

        frames = second["frame"] - first["frame"]
        assert beats(second) - beats(first) == pytest.approx(frames / RATE * 2, abs=0.01)
        clock.propose_tempo(126.0)  # /lyria/bpm 126: every client follows
        wait_for(lambda: other.transport_query()[1]["beats_per_minute"] == 126.0, 5)
        _, third = other.transport_query()
        time.sleep(1.0)
        _, fourth = other.transport_query()
        frames = fourth["frame"] - third["frame"]
        assert beats(fourth) - beats(third) == pytest.approx(frames / RATE * 2.1, abs=0.01)
        reading = clock.read()  # oscserver's own lock reads the transport it leads
        assert reading is not None and reading.tempo == 126.0
        assert clock.describe() == "JACK transport, 126.0 bpm (oscserver is its timebase master)"
        clock.tend()
        assert clock.master
    finally:
        other.close()
        clock.close()
    assert "bar" not in other_query(jack_server)  # gone with oscserver: no master left


def other_query(server: str) -> dict:
    client = jack.Client("test-after", servername=server, no_start_server=True)
    try:
        return client.transport_query()[1]
    finally:
        client.close()


def test_a_master_that_was_there_first_stays_and_oscserver_takes_over_when_it_leaves(
    jack_server,
):
    master = Master(jack_server, 100.0)
    clock = JackTransportClock("test-second", jack_server, timebase_bpm=120.0)
    try:
        assert not clock.master
        master.client.transport_start()
        wait_for(lambda: (r := clock.read()) is not None and r.tempo == 100.0, 5)
        clock.propose_tempo(126.0)  # the DAW keeps its tempo
        clock.tend()
        time.sleep(0.5)
        assert not clock.master and clock.read().tempo == 100.0
        master.close()  # the DAW quits: oscserver leads from the next look
        clock.tend()
        assert clock.master
        wait_for(lambda: (r := clock.read()) is not None and r.tempo == 126.0, 5)
    finally:
        clock.close()


def test_with_jack_timebase_play_rolls_the_transport_and_bpm_moves_every_jack_app(
    jack_server, tmp_path
):
    """``oscserver --clock jack --jack-timebase`` with no DAW: ``/lyria/play`` rolls JACK
    transport at 120 bpm, the music locks to it, and ``/lyria/bpm 126`` moves the transport
    that another JACK client (a drum machine following JACK transport) reads."""
    from conftest import free_udp_port, timeout
    from test_cli import serve_null, status_of

    from oscserver.core.osc_codec import encode_message

    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    port = free_udp_port()
    log = tmp_path / "out.log"
    app = jack.Client("test-drum-machine", servername=jack_server, no_start_server=True)
    app.activate()
    app.transport_stop()  # (the server is shared with the tests before)
    wait_for(lambda: app.transport_state == jack.STOPPED, timeout(5))
    try:
        with serve_null(port, log, env, "--clock", "jack", "--jack-timebase",
                        "--jack-server", jack_server) as sock:  # fmt: skip
            assert app.transport_state == jack.STOPPED
            sock.sendto(encode_message("/lyria/play"), ("127.0.0.1", port))
            wait_for(lambda: app.transport_state == jack.ROLLING, timeout(10))
            assert app.transport_query()[1]["beats_per_minute"] == 120.0
            deadline = time.monotonic() + timeout(30)
            while (args := status_of(sock, port))[12] != "locked":
                assert time.monotonic() < deadline, (args, log.read_text())
                time.sleep(0.5)
            assert args[10:12] == ["jack", 120.0]
            sock.sendto(encode_message("/lyria/bpm", [126]), ("127.0.0.1", port))
            wait_for(lambda: app.transport_query()[1]["beats_per_minute"] == 126.0, timeout(5))
            deadline = time.monotonic() + timeout(10)
            while (args := status_of(sock, port))[11] != 126.0:
                assert time.monotonic() < deadline, args
                time.sleep(0.2)
    finally:
        app.close()
    said = log.read_text()
    assert "oscserver is its timebase master" in said
    assert "JACK transport started (oscserver is its timebase master)" in said
