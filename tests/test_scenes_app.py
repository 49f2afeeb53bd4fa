"""Scenes over real UDP, against the embedded engine run apart: a recall glides what the service
hears (intermediate weights, as /weight v s does) and ends on the scene; scenes survive a
restart in their file, TOML or JSON, as a person could edit it; a scene never stored, a file
that cannot be written or read, are said, and change nothing else."""

from __future__ import annotations

import asyncio
import json
import tomllib

import pytest
from conftest import timeout, until
from oscbytes import f32, message, pad
from test_replies import open_socket

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.scene_file import SceneFileError
from oscserver.app import App, Options
from oscserver.core.scenes import Scene
from oscserver.engine.server import EngineOptions, EngineServer


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


@pytest.fixture
async def engine():
    server = EngineServer(EngineOptions(chunk_seconds=0.5, lead_seconds=0.2))
    host, port = await server.start()
    server.url = f"ws://{host}:{port}"  # type: ignore[attr-defined]
    yield server
    await server.close()


async def started(engine: EngineServer, **options) -> App:
    app = App(Options(osc_port=0, engine=engine.url, **options), NullSink(preroll_seconds=0.2))
    await app.start()
    await until(lambda: app.status().link == "connected")
    return app


async def stopped(app: App) -> None:
    await app.stop()
    app.sink.close()


async def test_a_recall_glides_what_the_service_hears_and_ends_on_the_scene(engine):
    app = await started(engine)
    sock = await open_socket(app.osc_address)
    try:
        await until(lambda: bool(engine.last_prompts))
        sock.transport.sendto(message("/lyria/scene/1/store", ""))  # minimal techno, 1.0
        sock.transport.sendto(message("/lyria/prompt/1/weight", "f", f32(0.2)))
        sock.transport.sendto(message("/lyria/density", "f", f32(0.9)))
        await until(lambda: engine.last_prompts[0].weight == pytest.approx(0.2))
        sock.transport.sendto(message("/lyria/scene/1/recall", "f", f32(1.5)))
        seen: list[float] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout(10)
        while not seen or seen[-1] != pytest.approx(1.0):
            assert loop.time() < deadline, seen
            weight = engine.last_prompts[0].weight
            if not seen or weight != seen[-1]:
                seen.append(weight)
            await asyncio.sleep(0.01)
        between = [w for w in seen if 0.2 < w < 1.0]
        assert len(between) >= 3, seen  # a glide, not a jump
        assert seen == sorted(seen)  # always on its way up
        assert app.state.config.density is None  # (handed back to the model at the end)
        assert Scene.of(app.state) == app.scenes[1]
    finally:
        sock.transport.close()
        await stopped(app)


@pytest.mark.parametrize("name", ["scenes.toml", "scenes.json"])
async def test_scenes_survive_a_restart_in_their_file(engine, tmp_path, name):
    path = tmp_path / name
    app = await started(engine, scenes=str(path))
    sock = await open_socket(app.osc_address)
    try:
        sock.transport.sendto(message("/lyria/prompt/2/text", "s", pad(b"warm strings")))
        sock.transport.sendto(message("/lyria/bpm", "i", b"\x00\x00\x00\x7c"))
        sock.transport.sendto(message("/lyria/scene/3/store", ""))
        await until(lambda: path.exists())
    finally:
        sock.transport.close()
        await stopped(app)
    text = path.read_text()
    data = tomllib.loads(text) if name.endswith(".toml") else json.loads(text)
    assert data["scenes"]["3"]["prompts"]["2"] == {"text": "warm strings", "weight": 1.0}
    assert data["scenes"]["3"]["config"]["bpm"] == 124
    app = await started(engine, scenes=str(path))
    sock = await open_socket(app.osc_address)
    try:
        assert set(app.scenes) == {3}
        sock.transport.sendto(message("/lyria/scene/3/recall", ""))  # (at once)
        await until(lambda: app.state.prompt(2).text == "warm strings")
        assert app.state.config.bpm == 124
    finally:
        sock.transport.close()
        await stopped(app)


async def test_an_empty_scene_and_a_file_that_cannot_be_written_are_said(engine, tmp_path):
    app = await started(engine, scenes=str(tmp_path / "gone" / "scenes.json"))
    sock = await open_socket(app.osc_address)
    try:
        before = app.state
        sock.transport.sendto(message("/lyria/scene/5/recall", "f", f32(2.0)))
        (text,) = (await sock.next("/lyria/error"))[1]
        assert text == (
            "/lyria/scene/5/recall: scene 5 is empty (store it first with /lyria/scene/5/store)"
        )
        assert app.state == before
        sock.transport.sendto(message("/lyria/scene/2/store", ""))
        (text,) = (await sock.next("/lyria/error"))[1]
        assert "kept until oscserver stops" in text and "cannot be written" in text
        assert 2 in app.scenes  # (it can still be recalled)
    finally:
        sock.transport.close()
        await stopped(app)


async def test_a_scenes_file_that_cannot_be_read_stops_the_start_and_says_why(engine, tmp_path):
    path = tmp_path / "scenes.json"
    path.write_text('{"scenes": {"1": {"config": {"density": 4}}}}')
    app = App(
        Options(osc_port=0, engine=engine.url, scenes=str(path)), NullSink(preroll_seconds=0.2)
    )
    with pytest.raises(SceneFileError, match=r"scene 1: /lyria/density: 4 is out of range"):
        await app.start()
    await stopped(app)
