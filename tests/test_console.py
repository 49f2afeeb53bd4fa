"""The web console without a browser: its controls come from the address table, the story is
bounded and newest first, and over real HTTP and WebSocket the page and its files are served
(or not, with --no-console or outside --allow), a page's messages are applied as OSC over UDP
would be and refusals come back to it, changes from a UDP sender reach it, a page from another
site gets no socket, and the API key reaches nothing the page gets."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import urllib.error
import urllib.request

import pytest
import websockets
from conftest import timeout, until
from oscbytes import f32, message
from test_replies import open_socket

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.lyria_ws import MUSIC_PATH
from oscserver.app import App, Options
from oscserver.core.addresses import PROMPT_SLOTS, TABLE, Effect
from oscserver.core.console import controls
from oscserver.core.story import Story
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

KEY = "AIzaSyTESTKEY0123456789abcdefghijklmnop"


def test_every_control_comes_from_the_address_table():
    c = controls()
    config = [e for e in TABLE if e.effect is Effect.CONFIG]
    assert [m["path"] for m in c["music"]] == [e.path for e in config]
    density = next(m for m in c["music"] if m["path"] == "/lyria/density")
    assert (density["kind"], density["min"], density["max"], density["auto"]) == (
        "float",
        0.0,
        1.0,
        True,
    )
    scale = next(m for m in c["music"] if m["path"] == "/lyria/scale")
    assert scale["kind"] == "enum" and scale["choices"][1] == "C_MAJOR_A_MINOR"
    assert not next(m for m in c["music"] if m["path"] == "/lyria/guidance")["auto"]
    assert [p["label"] for p in c["playback"]] == ["play", "pause", "stop", "reset"]
    assert [s["path"] for s in c["settings"]] == ["/lyria/clock"]
    prompts = c["prompts"]
    assert prompts["slots"] == PROMPT_SLOTS
    assert prompts["weight"]["path"] == "/lyria/prompt/{slot}/weight"
    assert (prompts["weight"]["min"], prompts["weight"]["max"]) == (-2.0, 2.0)
    assert prompts["weight"]["glide"]["max"] == 3600.0
    json.dumps(c)  # (all of it JSON)


def test_the_story_is_bounded_newest_first_and_read_from_where_a_reader_stopped():
    story = Story(limit=3)
    for n in range(5):
        story.add(100.0 + n, "info" if n % 2 else "connect", f"thing {n}")
    assert [e.text for e in story.newest_first()] == ["thing 4", "thing 3", "thing 2"]
    assert [e.number for e in story.newest_first(after=3)] == [5, 4]
    assert story.add(106.0, "nonsense", "x").kind == "info"


@pytest.fixture
async def app(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    app = App(Options(osc_port=0, oscquery_port=0), NullSink(preroll_seconds=0.2))
    await app.start()
    yield app
    await app.stop()
    app.sink.close()


async def fetch(app: App, target: str) -> tuple[int, dict[str, str], bytes]:
    host, port = app.oscquery.address

    def get() -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{target}", timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    return await asyncio.to_thread(get)


def socket_url(app: App) -> str:
    host, port = app.oscquery.address
    return f"ws://{host}:{port}/console/ws"


async def frames_until(ws, predicate, seconds: float = 5.0) -> dict:
    """Read frames (status frames too) until one satisfies ``predicate``; returns it."""
    async with asyncio.timeout(timeout(seconds)):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


async def test_the_page_and_its_files_are_served_with_a_strict_policy(app):
    status, headers, body = await fetch(app, "/console/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="console.js"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = await fetch(app, "/console/console.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert (await fetch(app, "/console/console.css"))[0] == 200
    assert (await fetch(app, "/console/secrets.txt"))[0] == 404
    status, _, body = await fetch(app, "/console")  # (followed to /console/)
    assert status == 200 and b"<title>oscserver console</title>" in body
    status, _, body = await fetch(app, "/")  # OSCQuery's JSON stays where it was
    assert status == 200 and json.loads(body)["FULL_PATH"] == "/"


async def test_a_pages_messages_are_applied_as_over_udp_and_refusals_come_back(app):
    async with websockets.connect(socket_url(app)) as ws:
        hello = json.loads(await ws.recv())["hello"]
        assert hello["values"]["/lyria/density"] is None  # (the model decides)
        assert hello["values"]["/lyria/prompt/1/text"] == "minimal techno"
        assert hello["status"]["link"]
        await ws.send(json.dumps({"osc": ["/lyria/density", 0.25]}))
        await ws.send(json.dumps({"osc": ["/lyria/prompt/3/weight", 0.5, 2.0]}))  # a glide
        await ws.send(json.dumps({"osc": ["/lyria/temperature", 9]}))
        error = await frames_until(ws, lambda f: "error" in f)
        assert error["error"] == "/lyria/temperature: 9 is out of range 0..3"
        await ws.send(json.dumps({"osc": ["/lyria/status"]}))
        error = await frames_until(ws, lambda f: "error" in f)
        assert "the console sets values and plays" in error["error"]
        await ws.send("not json")
        error = await frames_until(ws, lambda f: "error" in f)
        assert '{"osc": [address, args...]}' in error["error"]
        await until(lambda: app.state.config.density == 0.25)
        # (gliding to 0.5 over 2 s through values between, as /weight v s does)
        await until(lambda: 0.5 < app.state.prompt(3).weight < 1.0)
        assert app.state.config.temperature == 1.1  # (the refused value left no trace)
        assert app.refused == 3  # (each logged and told in the story too)
        assert app.status().osc_messages == 4  # (the page's count as OSC's; "not json" is none)


async def test_a_change_from_a_udp_sender_reaches_the_page_and_so_does_the_story(app):
    sock = await open_socket(app.osc_address)
    async with websockets.connect(socket_url(app)) as ws:
        json.loads(await ws.recv())
        sock.transport.sendto(message("/lyria/brightness", "f", f32(0.75)))
        frame = await frames_until(ws, lambda f: "values" in f)
        assert frame["values"] == {"/lyria/brightness": 0.75}
        sock.transport.sendto(message("/lyria/nowhere", ""))
        frame = await frames_until(ws, lambda f: "warning" in str(f.get("story")))
        (entry,) = frame["story"]
        assert "/lyria/nowhere: unknown address" in entry["text"]
        assert [e.kind for e in app.story.newest_first()] == ["warning", "connect"]
        status = await frames_until(ws, lambda f: "status" in f)
        assert status["status"]["osc_refused"] == 1 and status["status"]["osc_messages"] == 2
    sock.transport.close()


async def test_a_page_of_another_site_gets_no_socket(app):
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(socket_url(app), origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    host, port = app.oscquery.address
    async with websockets.connect(socket_url(app), origin=f"http://{host}:{port}") as ws:
        assert "hello" in json.loads(await ws.recv())


async def test_no_console_with_no_console_nor_outside_allow(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    off = App(Options(osc_port=0, oscquery_port=0, console=False), NullSink(preroll_seconds=0.2))
    others = App(
        Options(osc_port=0, oscquery_port=0, allow=(ipaddress.ip_network("10.0.0.0/8"),)),
        NullSink(preroll_seconds=0.2),
    )
    for app in (off, others):
        await app.start()
    try:
        assert (await fetch(off, "/console/"))[0] == 404
        assert (await fetch(off, "/"))[0] == 200  # (OSCQuery still served)
        assert (await fetch(others, "/console/"))[0] == 403
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(socket_url(others)):
                pass
    finally:
        for app in (off, others):
            await app.stop()
            app.sink.close()


async def test_the_api_key_reaches_nothing_the_page_gets(monkeypatch):
    """The key goes to "Google" (the embedded engine at --google-url), which closes with the key
    in its reason (a proxy that echoes it): the story tells the close, the key redacted; neither
    the page's files, nor its hello, nor any frame has it."""
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    engine = EngineServer(EngineOptions(faults=(parse_fault(f"close:0.5:1011:bad {KEY}"),)))
    host, port = await engine.start()
    app = App(
        Options(
            osc_port=0,
            oscquery_port=0,
            engine="google",
            google_url=f"ws://{host}:{port}{MUSIC_PATH}",
        ),
        NullSink(preroll_seconds=0.2),
    )
    await app.start()
    got = []
    try:
        for name in ("", "console.js", "console.css"):
            got.append((await fetch(app, f"/console/{name}"))[2].decode())
        async with websockets.connect(socket_url(app)) as ws:
            got.append(await ws.recv())
            async with asyncio.timeout(timeout(10)):
                while '"reconnect"' not in got[-1]:
                    got.append(await ws.recv())
    finally:
        await app.stop()
        app.sink.close()
        await engine.close()
    assert "bad ***" in got[-1]
    assert not any(KEY in text for text in got)
