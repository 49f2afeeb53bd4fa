"""The music's pulse from the server in-process on real parts (UDP, the embedded engine, a
JACK sink): who asks gets beats, or level, bands and onsets, and nothing else; a toggle stops
them; a bundle with a lookahead comes early with its sound's time; the pulse's own addresses
cannot be set; an OSCQuery client gets them over its WebSocket. (Their timing against the
recording: tests/test_pulse_jack.py.)"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
import websockets
from conftest import timeout, until

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.app import App, Options
from oscserver.core.osc_codec import decode_packet, encode_message

pytestmark = pytest.mark.jack


class Listener(asyncio.DatagramProtocol):
    """A patch's UDP socket: sends, and keeps what comes back with when it came."""

    def __init__(self) -> None:
        self.got: list[tuple[float, float, bytes]] = []  # (monotonic, wall, datagram)

    def datagram_received(self, data: bytes, addr) -> None:
        self.got.append((time.monotonic(), time.time(), data))

    def messages(self) -> list[tuple[str, tuple]]:
        return [(m.address, m.args) for _, _, d in self.got for m in decode_packet(d)]


async def serve(jack_server: str, monkeypatch, **options) -> App:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    sink = JackSink(f"pulse-{time.monotonic_ns() % 10**6}", jack_server, preroll_seconds=0.2)
    app = App(Options(osc_port=0, **options), sink)
    await app.start()
    return app


async def listener(app: App):
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(Listener, remote_addr=app.osc_address)


async def test_each_listener_gets_its_topic_only_until_it_toggles_off(jack_server, monkeypatch):
    app = await serve(jack_server, monkeypatch)
    (beats_udp, beats), (analysis_udp, analysis) = await listener(app), await listener(app)
    try:
        beats_udp.sendto(encode_message("/lyria/listen/beat", [1]))  # a toggle, as Pd's [tgl]
        analysis_udp.sendto(encode_message("/lyria/listen/analysis", []))
        beats_udp.sendto(encode_message("/lyria/play", []))
        await until(lambda: len(beats.messages()) >= 9, 30, "no beats")
        beats_udp.sendto(encode_message("/lyria/listen/beat", [0]))
        await asyncio.sleep(0.5)
        stopped = len(beats.got)
        await asyncio.sleep(timeout(1.5))  # (three beats at 120 bpm)
        assert len(beats.got) == stopped
    finally:
        beats_udp.close()
        analysis_udp.close()
        await app.stop()
        app.sink.close()
    got = beats.messages()
    assert {a for a, _ in got} == {"/lyria/beat"}
    assert all(
        [type(x) for x in args] == [int, int, float] and 100 < args[2] < 140 for _, args in got
    )
    # Four to a bar: the bar goes up exactly when the beat starts again (the count follows
    # the music's bar lines once they are found, so a bar may end early once).
    for (_, (bar0, beat0, _)), (_, (bar1, beat1, _)) in itertools.pairwise(got):
        assert 1 <= beat1 <= 4
        assert bar1 == (bar0 if beat1 > beat0 else bar0 + 1), got
    assert {args[1] for _, args in got} == {1, 2, 3, 4}
    # A message on every beat of the engine's 120 bpm: none missed, none twice.
    arrivals = [at for at, _, _ in beats.got]
    assert all(0.25 < b - a < 0.75 for a, b in itertools.pairwise(arrivals)), arrivals
    kinds = {a for a, _ in analysis.messages()}
    assert kinds == {"/lyria/level", "/lyria/bands", "/lyria/onset"}
    levels = [args for a, args in analysis.messages() if a == "/lyria/level"]
    bands = [args for a, args in analysis.messages() if a == "/lyria/bands"]
    assert all(0.0 <= rms <= peak <= 1.0 for rms, peak in levels)
    assert max(rms for rms, _ in levels) > 0.01  # the music, not silence
    assert all(len(b) == 8 and all(0.0 <= x <= 1.0 for x in b) for b in bands)


async def test_with_a_lookahead_bundles_come_early_with_their_sounds_time(jack_server, monkeypatch):
    app = await serve(jack_server, monkeypatch, osc_lookahead=0.5)
    udp, beats = await listener(app)
    try:
        udp.sendto(encode_message("/lyria/listen/beat", []))
        udp.sendto(encode_message("/lyria/play", []))
        await until(lambda: len(beats.got) >= 6, 30, "no beats")
    finally:
        udp.close()
        await app.stop()
        app.sink.close()
    for _, wall, data in beats.got:
        assert data.startswith(b"#bundle\x00")
        (message,) = decode_packet(data)
        assert message.address == "/lyria/beat"
        assert message.timetag is not None and message.timetag - wall >= 0.4  # early enough


async def test_the_pulses_addresses_cannot_be_set(jack_server, monkeypatch):
    app = await serve(jack_server, monkeypatch)
    udp, client = await listener(app)
    try:
        udp.sendto(encode_message("/lyria/beat", [1, 1, 120.0]))
        await until(lambda: client.got, 5, "no reply")
    finally:
        udp.close()
        await app.stop()
        app.sink.close()
    refused = "/lyria/beat: oscserver sends this address (to /lyria/listen/beat); it cannot be set"
    assert client.messages() == [("/lyria/error", (refused,))]


async def test_oscquery_listen_streams_the_pulse_over_the_websocket(jack_server, monkeypatch):
    """An OSCQuery client LISTENs to /lyria/beat and /lyria/level: it gets every beat and the
    levels as binary OSC, nothing it did not ask for, and IGNORE stops the levels."""
    app = await serve(jack_server, monkeypatch, oscquery_port=0)
    udp, _ = await listener(app)
    host, port = app.oscquery.address
    frames: list[tuple[float, str, tuple]] = []
    try:
        async with websockets.connect(f"ws://{host}:{port}/") as ws:
            for path in ("/lyria/beat", "/lyria/level"):
                await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": path}))
            udp.sendto(encode_message("/lyria/play", []))

            async def receive(until_beats: int) -> None:
                while sum(a == "/lyria/beat" for _, a, _ in frames) < until_beats:
                    frame = await asyncio.wait_for(ws.recv(), timeout(30))
                    assert isinstance(frame, bytes)
                    for m in decode_packet(frame):
                        frames.append((time.monotonic(), m.address, m.args))

            await receive(6)
            await ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/lyria/level"}))
            await asyncio.sleep(0.3)
            ignored_at = time.monotonic()
            await receive(10)
            assert app.pulse is not None and app.pulse.wanted("beat")
        await asyncio.sleep(0.3)  # (the closed socket's streams end with it)
        assert not app.pulse.wanted("beat") and not app.pulse.wanted("analysis")
    finally:
        udp.close()
        await app.stop()
        app.sink.close()
    assert {a for _, a, _ in frames} == {"/lyria/beat", "/lyria/level"}
    beats = [at for at, a, _ in frames if a == "/lyria/beat"]
    assert all(0.25 < b - a < 0.75 for a, b in itertools.pairwise(beats)), beats  # every beat
    levels = [at for at, a, _ in frames if a == "/lyria/level"]
    assert len([at for at in levels if at < beats[5]]) >= 30  # 30 a second
    assert not [at for at in levels if at > ignored_at]
    assert all(0.0 <= args[0] <= args[1] <= 1.0 for _, a, args in frames if a == "/lyria/level")
