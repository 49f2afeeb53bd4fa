"""Google's own client (google-genai) against the embedded engine: an independent protocol check."""

from __future__ import annotations

import asyncio
import warnings

import numpy as np
import pytest
from conftest import timeout
from google import genai
from google.genai import errors, types

from oscserver.engine.server import EngineServer

warnings.filterwarnings("ignore", message="Realtime music generation is experimental")


@pytest.fixture
async def engine_port():
    server = EngineServer()
    _, port = await server.start("127.0.0.1", 0)
    yield port
    await server.close()


def client_for(port: int) -> genai.Client:
    client = genai.Client(api_key="test-key", http_options={"api_version": "v1alpha"})
    # The SDK's private hook for its WebSocket base URL (see docs/engine.md); it then requests
    # ws://127.0.0.1:PORT//ws/google.ai...BidiGenerateMusic, doubled slash included.
    client._api_client._websocket_base_url = lambda *a, **k: f"ws://127.0.0.1:{port}"
    return client


async def first_chunk(session) -> types.AudioChunk:
    async for message in session.receive():
        if message.server_content and message.server_content.audio_chunks:
            return message.server_content.audio_chunks[0]
    raise AssertionError("the stream ended without audio")


async def test_google_client_completes_a_session(engine_port):
    client = client_for(engine_port)
    async with client.aio.live.music.connect(model="models/lyria-realtime-exp") as session:
        await session.set_weighted_prompts(
            prompts=[
                types.WeightedPrompt(text="minimal techno", weight=1.0),
                types.WeightedPrompt(text="dub", weight=0.5),
            ]
        )
        await session.set_music_generation_config(
            config=types.LiveMusicGenerationConfig(
                bpm=96, scale=types.Scale.D_MAJOR_B_MINOR, density=0.6, brightness=0.4
            )
        )
        await session.play()
        chunk = await asyncio.wait_for(first_chunk(session), timeout(10))
        assert chunk.mime_type == "audio/l16;rate=48000;channels=2"
        pcm = np.frombuffer(chunk.data, dtype="<i2").reshape(-1, 2)
        assert pcm.shape[0] == 96000  # 2 s at 48 kHz
        assert np.abs(pcm).max() > 3000  # music, not silence
        await session.pause()
        await session.reset_context()
        await session.stop()


async def test_snake_case_and_string_bpm_like_the_service(engine_port):
    import websockets

    url = f"ws://127.0.0.1:{engine_port}/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic?key=k"
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send('{"setup": {"model": "models/lyria-realtime-exp"}}')
        assert await ws.recv() == '{"setupComplete": {}}'
        await ws.send('{"client_content": {"weighted_prompts": [{"text": "x", "weight": 1}]}}')
        await ws.send('{"music_generation_config": {"bpm": "120"}}')
        await ws.send('{"playback_control": "PLAY"}')
        frame = await asyncio.wait_for(ws.recv(), timeout(10))
        assert frame.startswith('{"serverContent": {"audioChunks": [{"data": "')


async def test_invalid_request_closes_with_1007_as_the_service_does(engine_port):
    client = client_for(engine_port)
    async with client.aio.live.music.connect(model="models/lyria-realtime-exp") as session:
        await session._ws.send('{"musicGenerationConfig": {"bpm": 500}}')
        with pytest.raises(errors.APIError) as info:
            await asyncio.wait_for(first_chunk(session), timeout(10))
    assert info.value.code == 1007
    assert "bpm 500 is out of range 60..200" in str(info.value)


async def test_unknown_path_is_refused(engine_port):
    import websockets

    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(f"ws://127.0.0.1:{engine_port}/ws/other"):
            pass
    assert info.value.response.status_code == 404
