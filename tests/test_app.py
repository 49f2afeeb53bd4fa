"""The server in-process on real parts: UDP socket, embedded engine over WebSocket, JACK sink.

Every refused input must come back to the sender as /lyria/error with a clear message, leave
the state as it was, and leave the server working.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from conftest import timeout, until
from oscbytes import bundle, f32, i32, message, parse_reply, string

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.app import App, Options
from oscserver.core.addresses import TABLE, Effect

pytestmark = pytest.mark.jack


class OscClient(asyncio.DatagramProtocol):
    """A UDP socket that sends datagrams and collects the replies."""

    def __init__(self) -> None:
        self.replies: asyncio.Queue[tuple[str, list[object]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.replies.put_nowait(parse_reply(data))

    async def reply(self) -> tuple[str, list[object]]:
        return await asyncio.wait_for(self.replies.get(), timeout(5))

    def received(self) -> list[str]:
        """The addresses of the replies received and not yet taken (taking them)."""
        got = []
        while not self.replies.empty():
            got.append(self.replies.get_nowait()[0])
        return got


@pytest.fixture
async def app(jack_server, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    sink = JackSink("oscserver-app-test", jack_server, preroll_seconds=0.2)
    app = App(Options(osc_port=0), sink)
    await app.start()
    yield app
    await app.stop()
    sink.close()


@pytest.fixture
async def client(app):
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        OscClient, remote_addr=app.osc_address
    )
    yield transport, protocol
    transport.close()


@pytest.mark.parametrize(
    ("datagram", "error"),
    [
        (message("/lyria/bpm", "i", i32(300)), "/lyria/bpm: 300 is out of range 60..200"),
        (
            message("/lyria/bpm", "s", string("fast")),
            "/lyria/bpm: bpm must be int 60..200 or auto, got 'fast'",
        ),
        (message("/lyria/volume", "f", f32(1)), "/lyria/volume: unknown address"),
        (message("/lyria/prompt/9/text", "s", string("x")), "N in 1..8"),
        (message("/lyria/scale", "s", string("H_MAJOR")), "/lyria/scale: 'H_MAJOR' is not one of"),
        (message("/lyria/density", ""), "/lyria/density: expected density"),
        (b"garbage!", "datagram of 8 bytes is not OSC"),
        (message("/lyria/bpm", "i"), "malformed OSC datagram"),
    ],
)
async def test_refused_input_gets_a_clear_error_reply_and_changes_nothing(
    app, client, datagram, error
):
    transport, protocol = client
    before = app.state
    transport.sendto(datagram)
    address, args = await protocol.reply()
    assert address == "/lyria/error"
    assert error in str(args[0])
    assert app.state == before
    # ... and the server still works: a valid message right after takes effect.
    transport.sendto(message("/lyria/density", "f", f32(0.25)))
    await until(lambda: app.state.config.density == 0.25)


async def test_every_address_answers_a_wrong_type_with_an_error_naming_it(app, client, caplog):
    transport, protocol = client
    before = app.state
    blob = struct.pack(">i", 4) + b"\x01\x02\x03\x04"
    replies = []
    for entry in TABLE:
        for path, _ in entry.concrete_paths():
            transport.sendto(message(path, "b", blob))
            address, args = await protocol.reply()
            assert address == "/lyria/error"
            assert str(args[0]).startswith(f"{path}: "), args
            expected = (
                ("sends this address",) if entry.effect is Effect.SENT else ("blob[4]", "expected")
            )
            assert any(e in str(args[0]) for e in expected), args
            replies.append(str(args[0]))
    assert app.state == before
    # Logged too: each of the first 50 (a burst per sender), then with a count of the rest.
    assert all(reply in caplog.text for reply in replies[:50])


async def test_bundle_applies_valid_messages_together_and_reports_the_refused_one(app, client):
    transport, protocol = client
    transport.sendto(
        bundle(
            1,
            message("/lyria/prompt/2", "sf", string("deep house"), f32(0.7)),
            message("/lyria/bpm", "i", i32(999)),
            message("/lyria/bpm", "f", f32(124.0)),
        )
    )
    address, args = await protocol.reply()
    assert (address, args) == ("/lyria/error", ["/lyria/bpm: 999 is out of range 60..200"])
    await until(lambda: app.state.config.bpm == 124)
    assert app.state.prompt(2).text == "deep house"
    assert app.state.prompt(2).weight == pytest.approx(0.7)


async def test_connects_to_the_embedded_engine_without_any_osc(app):
    assert app.engine_label.startswith("embedded engine at ws://127.0.0.1:")
    await until(lambda: app.status().link == "connected")


async def test_play_reaches_jack_and_no_prompt_is_explained(app, client):
    transport, protocol = client
    transport.sendto(message("/lyria/play", ""))
    await until(lambda: app.sink.stats().buffered_frames > 0 or app.sink.stats().peak > 0)
    await until(lambda: app.sink.stats().peak > 0.05)
    transport.sendto(message("/lyria/prompt/1/weight", "f", f32(0.0)))
    address, args = await protocol.reply()
    assert address == "/lyria/error"
    assert "no active prompt" in str(args[0])
    await until(lambda: not app.sink.stats().playing)


async def test_a_flood_of_weight_changes_is_throttled_and_the_last_value_wins(app, client):
    transport, _ = client
    await until(lambda: app.status().link == "connected")
    engine = app._engine
    before = engine.received["ClientContent"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for i in range(5000):  # 5,000 weight updates within about a second
        transport.sendto(message("/lyria/prompt/1/weight", "f", f32(0.5 + (i % 1000) / 10000)))
        if i % 250 == 249:
            await asyncio.sleep(0.05)
    transport.sendto(message("/lyria/prompt/1/weight", "f", f32(0.25)))
    elapsed = loop.time() - started
    await until(lambda: engine.last_prompts and engine.last_prompts[0].weight == 0.25)
    sent = engine.received["ClientContent"] - before
    # At most one per 200 ms window, plus the first one at once and the final flush.
    assert sent <= elapsed / 0.2 + 2, (sent, elapsed)
    assert app.udp.stats.messages >= 4000  # the updates did arrive
    assert app.state.prompt(1).weight == 0.25


async def test_a_filtered_prompt_is_reported_to_the_sender(app, client):
    transport, protocol = client
    await until(lambda: app.status().link == "connected")
    transport.sendto(message("/lyria/prompt/2", "sf", string("nsfw beats"), f32(1.0)))
    address, args = await protocol.reply()
    assert address == "/lyria/filtered"
    assert args == [2, "nsfw beats", "The prompt was blocked by the safety filter."]
    # The other prompt still plays.
    transport.sendto(message("/lyria/play", ""))
    await until(lambda: app.sink.stats().peak > 0.05)
