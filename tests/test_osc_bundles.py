"""Bundles and timetags, and address patterns, through the running server over real UDP.

Bundles are built byte by byte here (tests/oscbytes.py), independently of the server's codec;
timetag scheduling is checked against the event loop's clock.
"""

from __future__ import annotations

import asyncio
import struct
import time

import pytest
from conftest import timeout
from oscbytes import bundle, f32, i32, message, parse_reply, string

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.app import App, Options

NTP_EPOCH = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
IMMEDIATELY = 1
TOLERANCE = 0.05  # seconds, for a timetag applied on the loop's clock


def ntp(unix_seconds: float) -> int:
    whole = int(unix_seconds)
    return ((whole + NTP_EPOCH) << 32) | int((unix_seconds - whole) * 2**32)


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[tuple[str, list[object]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.replies.put_nowait(parse_reply(data))


@pytest.fixture
async def rig(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    sink = NullSink(preroll_seconds=0.2)
    app = App(Options(osc_port=0), sink)
    await app.start()
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(Client, remote_addr=app.osc_address)
    deadline = loop.time() + timeout(10)
    while app.status().link != "connected":
        assert loop.time() < deadline
        await asyncio.sleep(0.02)
    yield app, transport, client
    transport.close()
    await app.stop()
    sink.close()


async def when_true(predicate, seconds: float = 5.0) -> float:
    """Poll every millisecond; return the loop time at which the predicate became true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.001)
    return loop.time()


async def test_a_future_bundle_is_applied_on_time_and_not_before(rig):
    app, transport, _ = rig
    loop = asyncio.get_running_loop()
    due = time.time() + 0.5
    sent_at = loop.time()
    transport.sendto(bundle(ntp(due), message("/lyria/bpm", "i", i32(97))))
    await asyncio.sleep(0.2)
    assert app.state.config.bpm is None and app.scheduled == 1  # waiting, not applied
    applied = await when_true(lambda: app.state.config.bpm == 97)
    assert abs((applied - sent_at) - 0.5) < TOLERANCE + 0.01
    assert app.scheduled == 0


async def test_immediate_and_past_timetags_apply_at_once(rig):
    app, transport, _ = rig
    transport.sendto(bundle(IMMEDIATELY, message("/lyria/density", "f", f32(0.25))))
    transport.sendto(bundle(ntp(time.time() - 3), message("/lyria/brightness", "f", f32(0.75))))
    await when_true(lambda: app.state.config.density == 0.25, 1)
    await when_true(lambda: app.state.config.brightness == 0.75, 1)
    assert app.scheduled == 0


async def test_a_bundle_takes_effect_together_as_one_message_to_the_service(rig):
    app, transport, _ = rig
    engine = app._engine
    await asyncio.sleep(0.3)  # a quiet throttle window: the next change goes out at once
    before = engine.received["ClientContent"]
    transport.sendto(
        bundle(
            IMMEDIATELY,
            message("/lyria/prompt/2/text", "s", string("warm pads")),
            message("/lyria/prompt/2/weight", "f", f32(0.5)),
            message("/lyria/prompt/1/weight", "f", f32(0.3)),
        )
    )
    await when_true(lambda: engine.received["ClientContent"] > before)
    await asyncio.sleep(0.4)  # anything held back by the throttle would go out by now
    assert engine.received["ClientContent"] == before + 1
    assert [(p.text, p.weight) for p in engine.last_prompts] == [
        ("minimal techno", pytest.approx(0.3)),
        ("warm pads", 0.5),
    ]


async def test_nested_bundles_keep_their_own_timetags(rig):
    app, transport, _ = rig
    loop = asyncio.get_running_loop()
    sent_at = loop.time()
    inner = bundle(ntp(time.time() + 0.3), message("/lyria/bpm", "i", i32(133)))
    transport.sendto(bundle(IMMEDIATELY, message("/lyria/top_k", "i", i32(7)), inner))
    await when_true(lambda: app.state.config.top_k == 7, 1)
    assert app.state.config.bpm is None
    applied = await when_true(lambda: app.state.config.bpm == 133)
    assert abs((applied - sent_at) - 0.3) < TOLERANCE + 0.01


async def test_a_timetag_hours_away_is_refused(rig):
    app, transport, client = rig
    transport.sendto(bundle(ntp(time.time() + 86400), message("/lyria/bpm", "i", i32(90))))
    address, args = await asyncio.wait_for(client.replies.get(), timeout(5))
    assert address == "/lyria/error" and "in the future" in str(args[0])
    assert app.scheduled == 0 and app.state.config.bpm is None


async def test_a_pattern_reaches_every_matching_address(rig):
    app, transport, _ = rig
    transport.sendto(message("/lyria/prompt/2/text", "s", string("strings")))
    transport.sendto(message("/lyria/prompt/*/weight", "f", f32(0.0)))
    await when_true(lambda: all(p.weight == 0 for p in app.state.prompts), 2)
    transport.sendto(message("/lyria/prompt/[12]/weight", "i", i32(1)))
    await when_true(lambda: [p.weight for p in app.state.prompts[:3]] == [1.0, 1.0, 0.0], 2)


async def test_a_pattern_partly_refused_applies_the_rest_and_says_which(rig):
    app, transport, client = rig
    transport.sendto(message("/lyria/{density,bpm}", "f", f32(0.5)))
    address, args = await asyncio.wait_for(client.replies.get(), timeout(5))
    assert address == "/lyria/error"
    assert "1 of the 2 matching addresses refused" in str(args[0]) and "/lyria/bpm" in str(args[0])
    assert app.state.config.density == 0.5


async def test_doubles_and_64_bit_ints_are_numbers_and_key_names_are_scales(rig):
    app, transport, _ = rig
    transport.sendto(message("/lyria/guidance", "d", struct.pack(">d", 2.5)))
    transport.sendto(message("/lyria/seed", "h", struct.pack(">q", 123456789)))
    transport.sendto(message("/lyria/scale", "s", string("F#m")))
    await when_true(lambda: app.state.config.guidance == 2.5, 2)
    await when_true(lambda: app.state.config.scale == "A_MAJOR_G_FLAT_MINOR", 2)
    await when_true(lambda: app.state.config.seed == 123456789, 2)
