"""Replies over real UDP: getters, status, subscriptions (coalesced), the reply port; and the
subscriber bookkeeping in the core."""

from __future__ import annotations

import asyncio

import pytest
from conftest import free_udp_port, timeout
from oscbytes import f32, i32, message, parse_reply, string

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.app import App, Options
from oscserver.core.replies import Mirror, portable, snapshot
from oscserver.core.state import MusicalState


class Socket(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[tuple[str, list[object]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.raw: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.raw.append(data)
        self.replies.put_nowait(parse_reply(data))

    async def next(self, address: str | None = None, seconds: float = 5.0):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout(seconds)
        while True:
            got = await asyncio.wait_for(self.replies.get(), deadline - loop.time())
            if address is None or got[0] == address:
                return got

    def drain(self) -> list[tuple[str, list[object]]]:
        out = []
        while not self.replies.empty():
            out.append(self.replies.get_nowait())
        return out


def tags_of(datagram: bytes) -> str:
    """The type tag string of one OSC message."""
    start = datagram.index(b",")
    return datagram[start : datagram.index(b"\x00", start)].decode()


async def open_socket(target, port: int = 0) -> Socket:
    loop = asyncio.get_running_loop()
    _, sock = await loop.create_datagram_endpoint(
        Socket, local_addr=("127.0.0.1", port), remote_addr=target
    )
    return sock


async def start_app(**options) -> App:
    app = App(Options(osc_port=0, **options), NullSink(preroll_seconds=0.2))
    await app.start()
    return app


async def stop_app(app: App) -> None:
    await app.stop()
    app.sink.close()


@pytest.fixture
async def app(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    app = await start_app()
    yield app
    await stop_app(app)


async def test_getters_answer_at_the_values_own_address(app):
    sock = await open_socket(app.osc_address)
    sock.transport.sendto(message("/lyria/get/bpm", ""))
    assert await sock.next() == ("/lyria/bpm", ["auto"])  # the model decides
    sock.transport.sendto(message("/lyria/bpm", "i", i32(124)))
    sock.transport.sendto(message("/lyria/get/bpm", "i", i32(1)))  # a TouchDesigner pulse
    assert await sock.next() == ("/lyria/bpm", [124])
    sock.transport.sendto(message("/lyria/get/prompt/1/text", ""))
    assert await sock.next() == ("/lyria/prompt/1/text", ["minimal techno"])
    sock.transport.sendto(message("/lyria/get/prompt/1", ""))
    assert await sock.next() == ("/lyria/prompt/1", ["minimal techno", 1.0])
    sock.transport.sendto(message("/lyria/get/scale", ""))
    assert await sock.next() == ("/lyria/scale", ["SCALE_UNSPECIFIED"])


async def test_get_everything_and_getter_patterns(app):
    sock = await open_socket(app.osc_address)
    sock.transport.sendto(message("/lyria/get", ""))
    expected = snapshot(app.state)
    got = [await sock.next() for _ in expected]
    assert got == [
        (address, [pytest.approx(a) for a in portable(args)]) for address, args in expected
    ]
    # Only the OSC 1.0 types that Pd vanilla's [oscparse] reads: no T, F or N.
    assert {tags_of(datagram) for datagram in sock.raw} <= {",s", ",f", ",i", ",sf"}
    sock.transport.sendto(message("/lyria/get/prompt/*/weight", ""))
    weights = [await sock.next() for _ in range(8)]
    assert [w[0] for w in weights] == [f"/lyria/prompt/{n}/weight" for n in range(1, 9)]


async def test_a_reply_routed_back_into_its_setter_sets_the_same_value(app):
    """What a patch gets back it can send back: 1/0 for on/off, auto for the model's choice."""
    sock = await open_socket(app.osc_address)
    sock.transport.sendto(message("/lyria/density", "f", f32(0.25)))
    sock.transport.sendto(message("/lyria/mute_drums", "i", i32(1)))
    sock.transport.sendto(message("/lyria/density", "s", string("auto")))
    await asyncio.sleep(0.1)
    assert app.state.config.density is None and app.state.config.mute_drums is True
    sock.transport.sendto(message("/lyria/get/mute_drums", ""))
    reply = await sock.next("/lyria/mute_drums")
    sock.transport.sendto(message("/lyria/mute_drums", "i", i32(0)))
    sock.transport.sendto(message(*reply[:1], "i", i32(reply[1][0])))
    await asyncio.sleep(0.1)
    assert app.state.config.mute_drums is True


async def test_a_toggle_turns_listening_on_and_off(app):
    """Pd's [tgl] sends /lyria/listen 1 and /lyria/listen 0: the sender, not a host named 1."""
    sock = await open_socket(app.osc_address)
    sock.transport.sendto(message("/lyria/listen", "f", f32(1.0)))
    assert await sock.next("/lyria/status")  # the snapshot ends with the status
    assert len(app.feedback.mirror.subscribers) == 1
    assert app.feedback.mirror.subscribers[0][0] == "127.0.0.1"
    sock.transport.sendto(message("/lyria/bpm", "i", i32(101)))
    assert await sock.next("/lyria/bpm") == ("/lyria/bpm", [101])
    assert {tags_of(datagram) for datagram in sock.raw} <= {
        ",s",
        ",f",
        ",i",
        ",sf",
        ",ssfiiiifffsfsf",
    }
    sock.transport.sendto(message("/lyria/listen", "i", i32(0)))
    await asyncio.sleep(0.1)
    assert app.feedback.mirror.subscribers == []


async def test_status_answers_connection_playback_buffer_and_counters(app):
    sock = await open_socket(app.osc_address)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(10)
    while app.status().link != "connected":
        assert loop.time() < deadline
        await asyncio.sleep(0.02)
    sock.transport.sendto(message("/lyria/status", ""))
    address, args = await sock.next()
    assert address == "/lyria/status"
    assert args[:2] == ["connected", "stopped"]
    assert isinstance(args[2], float) and args[3:5] == [0, 0]
    assert args[5] == app.udp.stats.messages and args[5] >= 1 and args[6] == 0
    assert args[10:] == ["none", 0.0, "", 0.0]  # no clock (--clock none): nothing to lock to


async def test_a_listener_mirrors_changes_coalesced_and_ignore_ends_it(app):
    listener = await open_socket(app.osc_address)
    controller = await open_socket(app.osc_address)
    listener.transport.sendto(message("/lyria/listen", ""))
    first = [await listener.next() for _ in range(len(snapshot(app.state)) + 1)]
    assert first[0][0] == "/lyria/prompt/1/text" and first[-1][0] == "/lyria/status"
    controller.transport.sendto(message("/lyria/density", "f", f32(0.7)))
    assert await listener.next("/lyria/density") == ("/lyria/density", [pytest.approx(0.7)])
    # A sensor-rate flood reaches the listener coalesced, the final value last.
    for i in range(1000):
        controller.transport.sendto(message("/lyria/brightness", "f", f32(i / 1000)))
        if i % 100 == 99:
            await asyncio.sleep(0.01)
    controller.transport.sendto(message("/lyria/brightness", "f", f32(0.25)))
    await asyncio.sleep(0.3)
    pushed = [args[0] for address, args in listener.drain() if address == "/lyria/brightness"]
    assert pushed and pushed[-1] == pytest.approx(0.25)
    assert len(pushed) < 100  # at most one per 20 ms, not one per message
    listener.transport.sendto(message("/lyria/ignore", ""))
    await asyncio.sleep(0.1)
    controller.transport.sendto(message("/lyria/density", "f", f32(0.1)))
    await asyncio.sleep(0.2)
    assert listener.drain() == []
    assert controller.drain() == []  # the controller never subscribed


async def test_listen_for_another_host_and_port(app):
    port = free_udp_port()
    other = await open_socket(app.osc_address, port)
    controller = await open_socket(app.osc_address)
    controller.transport.sendto(message("/lyria/listen", "si", string("127.0.0.1"), i32(port)))
    await other.next("/lyria/status")
    controller.transport.sendto(message("/lyria/play", ""))
    _, args = await other.next("/lyria/status")
    assert args[1] == "playing"
    assert all(a != "/lyria/status" for a, _ in controller.drain())


async def test_the_reply_port_receives_replies_and_errors(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    port = free_udp_port()
    app = await start_app(reply_port=port)
    try:
        inbox = await open_socket(app.osc_address, port)
        sender = await open_socket(app.osc_address)
        sender.transport.sendto(message("/lyria/get/density", ""))
        assert await inbox.next() == ("/lyria/density", ["auto"])
        sender.transport.sendto(message("/lyria/bpm", "i", i32(999)))
        address, args = await inbox.next()
        assert address == "/lyria/error" and "out of range" in str(args[0])
        sender.transport.sendto(b"not osc")
        address, _ = await inbox.next()
        assert address == "/lyria/error"
        assert sender.drain() == []
    finally:
        await stop_app(app)


def test_mirror_coalesces_per_address_and_keeps_the_order_of_change():
    mirror = Mirror(interval=0.02)
    mirror.changed([("/lyria/bpm", [90])])  # no subscriber yet: nothing is kept
    assert mirror.next_deadline() is None
    mirror.listen(("127.0.0.1", 1))
    mirror.changed([("/lyria/bpm", [90]), ("/lyria/density", [0.1])])
    mirror.changed([("/lyria/bpm", [100])])
    assert mirror.flush(10.0) == [("/lyria/density", [0.1]), ("/lyria/bpm", [100])]
    mirror.changed([("/lyria/bpm", [110])])
    assert mirror.flush(10.01) == []  # not yet: one send per interval
    assert mirror.next_deadline() == pytest.approx(10.02)
    assert mirror.flush(10.02) == [("/lyria/bpm", [110])]


def test_mirror_limits_subscribers_and_forgets_the_oldest():
    mirror = Mirror(limit=2)
    assert mirror.listen(("h", 1)) is None and mirror.listen(("h", 2)) is None
    assert mirror.listen(("h", 3)) == ("h", 1)
    assert mirror.subscribers == [("h", 2), ("h", 3)]
    assert mirror.ignore(("h", 2)) and not mirror.ignore(("h", 2))


def test_snapshot_lists_every_value_once():
    replies = snapshot(MusicalState.initial([("ambient", 0.5)]))
    addresses = [a for a, _ in replies]
    assert len(addresses) == len(set(addresses))
    assert ("/lyria/prompt/1/weight", [0.5]) in replies and ("/lyria/bpm", [None]) in replies
    assert portable([True, False, None]) == [1, 0, "auto"]


async def test_liblo_oscsend_symbols_patterns_and_getters(monkeypatch):
    """Messages from liblo's oscsend (an independent OSC implementation), replies to a port."""
    import shutil
    import subprocess

    assert shutil.which("oscsend"), "liblo-tools is not installed (make test installs it)"
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    port = free_udp_port()
    app = await start_app(reply_port=port)
    inbox = await open_socket(app.osc_address, port)

    async def oscsend(*args: str) -> None:
        host, osc_port = app.osc_address
        cmd = ["oscsend", host, str(osc_port), *args]
        await asyncio.to_thread(subprocess.run, cmd, check=True, timeout=timeout(10))

    try:
        await oscsend("/lyria/scale", "S", "F#m")  # a symbol, as liblo and Max send them
        await oscsend("/lyria/get/scale")
        assert await inbox.next() == ("/lyria/scale", ["A_MAJOR_G_FLAT_MINOR"])
        await oscsend("/lyria/prompt/*/weight", "i", "0")
        await oscsend("/lyria/get/prompt/[1-2]/weight")
        assert await inbox.next() == ("/lyria/prompt/1/weight", [0.0])
        assert await inbox.next() == ("/lyria/prompt/2/weight", [0.0])
        await oscsend("/lyria/mute_drums", "T")
        await oscsend("/lyria/guidance", "d", "5.5")
        await oscsend("/lyria/get/mute_drums")
        assert await inbox.next() == ("/lyria/mute_drums", [1])
        await oscsend("/lyria/get/guidance")
        assert await inbox.next() == ("/lyria/guidance", [5.5])
        await oscsend("/lyria/play", "I")  # a bang (OSC 1.1 impulse)
        address, args = await inbox.next()  # every weight is 0: nothing can play, and why
        assert address == "/lyria/error" and "no active prompt" in str(args[0])
    finally:
        await stop_app(app)
