"""Network hygiene on a real socket: the allowlist, oversized and malformed datagrams, and a
log that a flood of bad input cannot flood."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import pytest
from oscbytes import i32, message
from test_replies import Socket, open_socket

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.app import App, Options
from oscserver.cli import parse_allow


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


async def running(**options) -> App:
    app = App(Options(osc_port=0, **options), NullSink(preroll_seconds=0.2))
    await app.start()
    return app


async def stop(app: App) -> None:
    await app.stop()
    app.sink.close()


async def ask_bpm(sock: Socket) -> tuple[str, list[object]]:
    sock.transport.sendto(message("/lyria/get/bpm", ""))
    return await sock.next()


async def test_senders_outside_the_allowlist_are_dropped_unanswered():
    app = await running(allow=(ipaddress.ip_network("10.9.8.0/24"),))
    try:
        sock = await open_socket(app.osc_address)
        sock.transport.sendto(message("/lyria/get/bpm", ""))
        sock.transport.sendto(b"garbage")
        await asyncio.sleep(0.3)
        assert sock.drain() == []
        assert app.udp.stats.strangers == 2 and app.udp.stats.malformed == 0
    finally:
        await stop(app)
    app = await running(allow=parse_allow("10.0.0.7, 127.0.0.0/8"))
    try:
        sock = await open_socket(app.osc_address)
        assert await ask_bpm(sock) == ("/lyria/bpm", ["auto"])
    finally:
        await stop(app)


def test_allow_lists_are_read_and_mistakes_named():
    assert [str(n) for n in parse_allow("192.168.1.0/24,10.0.0.7,fd00::/8")] == [
        "192.168.1.0/24",
        "10.0.0.7/32",
        "fd00::/8",
    ]
    assert parse_allow("") == ()
    with pytest.raises(RuntimeError, match="'studio' is not an IP address"):
        parse_allow("10.0.0.1,studio")


async def test_oversized_datagrams_are_refused_counted_and_answered():
    app = await running(max_datagram=1024)
    try:
        sock = await open_socket(app.osc_address)
        sock.transport.sendto(b"/lyria/bpm\x00\x00,i\x00\x00" + bytes(4096))
        address, args = await sock.next()
        assert address == "/lyria/error" and "over the limit of 1024" in str(args[0])
        assert app.udp.stats.oversized == 1
        assert await ask_bpm(sock) == ("/lyria/bpm", ["auto"])  # still serving
    finally:
        await stop(app)


async def test_a_flood_of_bad_input_is_answered_but_the_log_stays_short(caplog):
    app = await running()
    try:
        sock = await open_socket(app.osc_address)
        with caplog.at_level(logging.WARNING):
            for i in range(1000):
                sock.transport.sendto(
                    b"\x00junk" if i % 2 else message("/lyria/bpm", "i", i32(999))
                )
                if i % 100 == 99:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
        errors = [a for a, _ in sock.drain() if a == "/lyria/error"]
        assert len(errors) >= 900  # every one answered (UDP on loopback may drop a few)
        assert app.udp.stats.malformed + app.refused >= 900
        lines = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert 50 <= len(lines) <= 55, len(lines)  # a burst, then 2 a second with counts
        assert await ask_bpm(sock) == ("/lyria/bpm", ["auto"])
    finally:
        await stop(app)
