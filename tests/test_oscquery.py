"""OSCQuery over real HTTP and WebSocket: the namespace walked node by node against the
proposal's rules, HOST_INFO, attributes, errors, and LISTEN streaming OSC changes."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets
from conftest import timeout
from oscbytes import f32, i32, message, parse_reply
from test_replies import open_socket

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.app import App, Options
from oscserver.core.addresses import TABLE

TYPE_TAGS = set("ifsTFNhd")


@pytest.fixture
async def app(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    app = App(Options(osc_port=0, oscquery_port=0), NullSink(preroll_seconds=0.2))
    await app.start()
    assert app.oscquery is not None
    yield app
    await app.stop()
    app.sink.close()


async def get(app: App, target: str) -> tuple[int, object, str]:
    host, port = app.oscquery.address

    def fetch() -> tuple[int, object, str]:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{target}", timeout=10) as r:
                body = r.read()
                return r.status, json.loads(body) if body else None, r.headers["Content-Type"]
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null"), exc.headers["Content-Type"]

    return await asyncio.to_thread(fetch)


def walk(node: dict, path: str, methods: dict[str, dict]) -> None:
    """Check one node and everything under it against the proposal's rules."""
    assert node["FULL_PATH"] == path
    if "CONTENTS" in node:
        assert isinstance(node["CONTENTS"], dict) and node["CONTENTS"]
        for name, child in node["CONTENTS"].items():
            assert name and "/" not in name
            walk(child, (path.rstrip("/") + "/" + name), methods)
    if "TYPE" in node:
        tags = node["TYPE"]
        assert isinstance(tags, str) and tags and set(tags) <= TYPE_TAGS, tags
        assert node["ACCESS"] in (0, 1, 2, 3)
        assert isinstance(node["DESCRIPTION"], str) and node["DESCRIPTION"]
        if "VALUE" in node:
            assert node["ACCESS"] & 1 and len(node["VALUE"]) == len(tags)
        if "RANGE" in node:
            assert len(node["RANGE"]) == len(tags)
            for item in node["RANGE"]:
                assert set(item) <= {"MIN", "MAX", "VALS"}
                if "MIN" in item and "MAX" in item:
                    assert item["MIN"] <= item["MAX"]
                if "VALS" in item:
                    assert isinstance(item["VALS"], list) and item["VALS"]
        methods[path] = node
    else:
        assert "CONTENTS" in node, f"{path} is neither a container nor a method"


async def test_the_namespace_follows_the_proposal_node_by_node(app):
    status, root, content_type = await get(app, "/")
    assert status == 200 and content_type == "application/json"
    methods: dict[str, dict] = {}
    walk(root, "/", methods)
    table = {path for entry in TABLE for path, _ in entry.concrete_paths()}
    assert set(methods) == table  # every address, and nothing else
    bpm = methods["/lyria/bpm"]
    assert bpm["TYPE"] == "i" and bpm["RANGE"] == [{"MIN": 60, "MAX": 200}]
    assert bpm["VALUE"] == [None] and bpm["ACCESS"] == 3
    assert methods["/lyria/scale"]["RANGE"][0]["VALS"][1] == "C_MAJOR_A_MINOR"
    assert methods["/lyria/prompt/1"]["TYPE"] == "sf"
    assert methods["/lyria/play"]["ACCESS"] == 2 and "VALUE" not in methods["/lyria/play"]


async def test_host_info_says_where_osc_goes(app):
    status, info, _ = await get(app, "/?HOST_INFO")
    assert status == 200
    assert info["OSC_PORT"] == app.osc_address[1] and info["OSC_TRANSPORT"] == "UDP"
    assert info["OSC_IP"] == app.osc_address[0]
    assert info["EXTENSIONS"]["LISTEN"] is True and info["EXTENSIONS"]["VALUE"] is True
    assert info["WS_PORT"] == app.oscquery.address[1]


async def test_values_follow_osc_and_attributes_and_errors_are_answered(app):
    sock = await open_socket(app.osc_address)
    sock.transport.sendto(message("/lyria/bpm", "i", i32(120)))
    await asyncio.sleep(0.1)
    assert (await get(app, "/lyria/bpm?VALUE"))[:2] == (200, {"VALUE": [120]})
    status, node, _ = await get(app, "/lyria/prompt/1")
    assert status == 200 and node["CONTENTS"]["text"]["VALUE"] == ["minimal techno"]
    assert (await get(app, "/lyria/play?VALUE"))[:2] == (200, {})
    assert (await get(app, "/lyria/volume"))[0] == 404
    assert (await get(app, "/lyria/bpm?COLOUR"))[0] == 400


async def test_listen_streams_changes_as_osc_and_ignore_stops_them(app):
    host, port = app.oscquery.address
    sock = await open_socket(app.osc_address)
    async with websockets.connect(f"ws://{host}:{port}/") as ws:
        await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/lyria/density"}))
        await asyncio.sleep(0.1)
        sock.transport.sendto(message("/lyria/density", "f", f32(0.3)))
        sock.transport.sendto(message("/lyria/brightness", "f", f32(0.9)))  # not listened to
        frame = await asyncio.wait_for(ws.recv(), timeout(5))
        assert isinstance(frame, bytes)
        address, args = parse_reply(frame)
        assert address == "/lyria/density" and args == [pytest.approx(0.3)]
        await ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/lyria/density"}))
        await asyncio.sleep(0.1)
        sock.transport.sendto(message("/lyria/density", "f", f32(0.6)))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
