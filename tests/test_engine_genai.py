"""Google's own client (google-genai) against the embedded engine: an independent protocol check.

The session is driven through the whole protocol, and every fault mode must reach the client as
the real service presents it (an APIError with the close code and reason).
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import websockets
from audio_analysis import kick_onsets, tempo_bpm
from conftest import timeout
from google import genai
from google.genai import errors, types

from oscserver.adapters.lyria_ws import MUSIC_PATH
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import FILTER_REASON, EngineOptions, EngineServer
from oscserver.engine.synth import SAMPLE_RATE, Synth
from oscserver.engine.voices import DrumKit

CHUNK = 0.25  # short chunks keep the tests quick; the protocol is the same
FRAMES = round(CHUNK * SAMPLE_RATE)


async def start(**options) -> tuple[EngineServer, int]:
    server = EngineServer(EngineOptions(chunk_seconds=CHUNK, lead_seconds=0.1, **options))
    _, port = await server.start("127.0.0.1", 0)
    return server, port


@pytest.fixture
async def engine():
    server, port = await start()
    yield port
    await server.close()


def client_for(port: int, key: str = "test-key") -> genai.Client:
    client = genai.Client(api_key=key, http_options={"api_version": "v1alpha"})
    # The SDK's private hook for its WebSocket base URL (docs/engine.md); it then requests
    # ws://127.0.0.1:PORT//ws/google.ai...BidiGenerateMusic, doubled slash included.
    client._api_client._websocket_base_url = lambda *a, **k: f"ws://127.0.0.1:{port}"
    return client


def connect(port: int, key: str = "test-key"):
    return client_for(port, key).aio.live.music.connect(model="models/lyria-realtime-exp")


async def next_message(session, seconds: float = 5.0) -> types.LiveMusicServerMessage:
    iterator = session.receive().__aiter__()
    return await asyncio.wait_for(iterator.__anext__(), timeout(seconds))


async def next_chunk(session, seconds: float = 5.0) -> bytes:
    while True:
        message = await next_message(session, seconds)
        if message.server_content and message.server_content.audio_chunks:
            return message.server_content.audio_chunks[0].data


def offline(frames: int, prompts=(("minimal techno", 1.0),), **config) -> bytes:
    """The same music rendered without the server: what the stream must carry, bit for bit."""
    synth = Synth()
    synth.set_prompts(tuple(WeightedPrompt(t, w) for t, w in prompts))
    synth.set_config(MusicGenerationConfig(**config))
    synth.reset()
    return synth.render(frames)


async def setup_music(session) -> None:
    await session.set_weighted_prompts(
        prompts=[types.WeightedPrompt(text="minimal techno", weight=1.0)]
    )
    await session.set_music_generation_config(
        config=types.LiveMusicGenerationConfig(bpm=96, scale=types.Scale.D_MAJOR_B_MINOR)
    )


async def test_google_client_plays_pauses_resumes_resets_and_stops(engine):
    config = dict(bpm=96, scale="D_MAJOR_B_MINOR")
    async with connect(engine) as session:
        await setup_music(session)
        await session.play()
        first = await next_chunk(session)
        assert len(first) == FRAMES * 4
        assert np.abs(np.frombuffer(first, "<i2")).max() > 3000  # music, not silence
        assert first == offline(FRAMES, **config)[: len(first)]

        # PAUSE: no more audio; PLAY resumes exactly where the music was.
        received = [first, await next_chunk(session)]
        await session.pause()
        await asyncio.sleep(CHUNK * 3)
        with pytest.raises(TimeoutError):
            while True:  # drain what was in flight, then nothing more comes
                received.append(await next_chunk(session, CHUNK * 3))
        await session.play()
        received.append(await next_chunk(session))
        stream = b"".join(received)
        assert stream == offline(len(stream) // 4, **config)

        # STOP then PLAY: the music starts again from its first bar.
        await session.stop()
        await asyncio.sleep(CHUNK * 2)
        await session.play()
        chunk = await next_chunk(session)
        while chunk != first:  # chunks rendered before STOP may still be in flight
            chunk = await next_chunk(session)

        # RESET_CONTEXT: a new context at once, still playing (after its 10 ms fade-in).
        await session.reset_context()
        fade = 480 * 4
        for _ in range(10):
            chunk = await next_chunk(session)
            if chunk[fade:] == first[fade:]:
                break
        else:
            raise AssertionError("no new context after RESET_CONTEXT")


async def test_filtered_prompts_are_reported_and_the_others_play(engine):
    async with connect(engine) as session:
        await session.set_weighted_prompts(
            prompts=[
                types.WeightedPrompt(text="nsfw beats", weight=1.0),
                types.WeightedPrompt(text="minimal techno", weight=1.0),
            ]
        )
        message = await next_message(session)
        assert message.filtered_prompt is not None
        assert message.filtered_prompt.text == "nsfw beats"
        assert message.filtered_prompt.filtered_reason == FILTER_REASON
        await session.play()
        assert await next_chunk(session) == offline(FRAMES)


FAULTS = [
    ("bad-key", 1007, "API key not valid"),
    ("refused", 1008, "refused"),
    ("quota", 1011, "exhausted"),
    ("busy", 1013, "try again later"),
    ("cap:0.5", 1011, "Session duration limit"),
    ("close:0.3:1011:internal error", 1011, "internal error"),
]


@pytest.mark.parametrize(("fault", "code", "reason"), FAULTS)
async def test_close_faults_reach_the_google_client_as_the_service_presents_them(
    fault, code, reason
):
    server, port = await start(faults=(parse_fault(fault),))
    try:
        async with connect(port) as session:
            await setup_music(session)
            await session.play()
            with pytest.raises(errors.APIError) as info:
                while True:
                    await next_chunk(session)
        assert info.value.code == code
        assert reason.lower() in str(info.value).lower()
    finally:
        await server.close()


async def test_only_the_configured_key_is_accepted_as_header_or_query():
    server, port = await start(api_key="right-key")
    try:
        # The SDK awaits setupComplete inside connect(), so the close surfaces there, raw.
        with pytest.raises(websockets.ConnectionClosedError) as info:
            async with connect(port, key="wrong-key"):
                pass
        assert info.value.rcvd.code == 1007
        assert "API key not valid" in info.value.rcvd.reason
        async with connect(port, key="right-key") as session:
            await setup_music(session)
            await session.play()
            assert len(await next_chunk(session)) == FRAMES * 4
        url = f"ws://127.0.0.1:{port}{MUSIC_PATH}?key=right-key"
        async with websockets.connect(url) as ws:
            await ws.send('{"setup": {"model": "models/lyria-realtime-exp"}}')
            assert await ws.recv() == '{"setupComplete": {}}'
    finally:
        await server.close()


async def test_stall_stops_audio_but_keeps_the_connection():
    server, port = await start(faults=(parse_fault("stall:0.5"),))
    try:
        async with connect(port) as session:
            await setup_music(session)
            await session.play()
            await next_chunk(session)
            await asyncio.sleep(0.8)
            with pytest.raises(TimeoutError):
                while True:
                    await next_chunk(session, 1.0)
    finally:
        await server.close()


async def chunk_arrivals(count: int, **options) -> list[float]:
    """Play on a fresh engine; the loop times at which the first ``count`` chunks arrive."""
    server, port = await start(**options)
    loop = asyncio.get_running_loop()
    arrivals = []
    try:
        async with connect(port) as session:
            await setup_music(session)
            await session.play()
            for _ in range(count):
                await next_chunk(session)
                arrivals.append(loop.time())
    finally:
        await server.close()
    return arrivals


def pace_of(arrivals: list[float], skip: int = 2) -> float:
    """Seconds of audio per second, from chunk arrival times (the lead's burst skipped)."""
    return (len(arrivals) - 1 - skip) * CHUNK / (arrivals[-1] - arrivals[skip])


async def test_a_service_faster_than_real_time():
    arrivals = await chunk_arrivals(14, faults=(parse_fault("slow:0:1.5"),))
    assert pace_of(arrivals) == pytest.approx(1.5, rel=0.1)


async def test_a_wandering_service_keeps_its_mean_pace():
    """Ten periods of 0.5 s at paces between 0.6 and 1.0, averaging 0.8."""
    arrivals = await chunk_arrivals(24, faults=(parse_fault("wander:0:0.8:0.6:1.0:0.5"),))
    assert pace_of(arrivals) == pytest.approx(0.8, abs=0.06)
    gaps = np.diff(arrivals[2:])
    assert max(gaps) / min(gaps) > 1.2  # the pace really changes from period to period


def test_wander_paces_are_seeded_bounded_and_average_the_mean():
    from itertools import islice

    from oscserver.engine.faults import wander_rates

    rates = list(islice(wander_rates(3, 0.98, 0.77, 1.03), 100))
    assert rates == list(islice(wander_rates(3, 0.98, 0.77, 1.03), 100))
    assert min(rates) >= 0.77 and max(rates) <= 1.03 and max(rates) - min(rates) > 0.1
    for block in range(0, 100, 10):
        assert sum(rates[block : block + 10]) / 10 == pytest.approx(0.98, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("wander:0:1.2:0.8:1.0", "LOW <= MEAN <= HIGH"),
        ("wander:0:0.9:0.8:1.0:0", "period must be above 0"),
        ("wander:0:0.9:0.8", "use close:S:CODE"),
    ],
)
def test_bad_wander_faults_are_explained(text, words):
    with pytest.raises(ValueError, match=words):
        parse_fault(text)


async def test_a_model_that_does_not_obey_keeps_its_own_tempo_and_says_where_its_beats_are():
    """tempo:1.04 over the wire: asked for 96 bpm, the stream plays 99.84, from a beat phase
    the engine draws; its record of the session's contexts finds every kick in the stream."""
    server, port = await start(faults=(parse_fault("tempo:1.04"),))
    try:
        async with connect(port) as session:
            await setup_music(session)  # minimal techno at 96 bpm: a kick on every beat
            await session.play()
            pcm = b"".join([await next_chunk(session) for _ in range(40)])  # 10 s
        x = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).T / 32768.0
        assert tempo_bpm(x, SAMPLE_RATE) == pytest.approx(96 * 1.04, abs=0.5)
        kicks = kick_onsets(x, SAMPLE_RATE, DrumKit().samples["kick"])
        (contexts,) = server.contexts
        # The context PLAY started; a kick within 50 ms of the end is cut short.
        beats = contexts[-1].beat_frames(0, x.shape[1] - 2400)
        assert len(kicks) >= 14 and len(kicks) == len(beats)
        assert np.max(np.abs(kicks - beats)) < 0.001 * SAMPLE_RATE, (kicks, beats)
        assert beats[0] > 0.01 * SAMPLE_RATE  # not on the stream's first frame
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("text", "words"),
    [("tempo:3", "from 0.5 to 2"), ("tempo:fast", "could not convert"), ("tempo", "tempo:FACTOR")],
)
def test_bad_tempo_faults_are_explained(text, words):
    with pytest.raises(ValueError, match=words):
        parse_fault(text)


async def test_late_chunks_arrive_late():
    arrivals = await chunk_arrivals(6, faults=(parse_fault("late:3:0.5"),))
    gaps = np.diff(arrivals)
    assert max(gaps) >= CHUNK + 0.4  # the 3rd and 6th chunks
    assert sorted(gaps)[0] < CHUNK + 0.2


async def test_malformed_json_reaches_the_google_client_as_a_parse_error():
    server, port = await start(faults=(parse_fault("malformed:json:0.2"),))
    try:
        async with connect(port) as session:
            await setup_music(session)
            await session.play()
            with pytest.raises(ValueError, match="Failed to parse response"):
                while True:
                    await next_chunk(session)
    finally:
        await server.close()


async def raw_session(port: int):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}{MUSIC_PATH}", max_size=None)
    await ws.send('{"setup": {"model": "models/lyria-realtime-exp"}}')
    assert json.loads(await ws.recv()) == {"setupComplete": {}}
    return ws


async def test_snake_case_and_string_numbers_like_the_service(engine):
    ws = await raw_session(engine)
    async with ws:
        await ws.send('{"client_content": {"weighted_prompts": [{"text": "x", "weight": 1}]}}')
        await ws.send('{"music_generation_config": {"bpm": "120"}}')
        await ws.send('{"playback_control": "PLAY"}')
        frame = await asyncio.wait_for(ws.recv(), timeout(10))
        assert frame.startswith('{"serverContent": {"audioChunks": [{"data": "')


async def test_warnings_where_the_service_would_only_when_asked():
    server, port = await start(warnings=True)
    ws = await raw_session(port)
    async with ws:
        await ws.send('{"playbackControl": "PLAY"}')
        assert json.loads(await ws.recv()) == {
            "warning": "no prompts are set: playing without guidance"
        }
        muted = {"muteBass": True, "muteDrums": True, "onlyBassAndDrums": True}
        await ws.send(json.dumps({"musicGenerationConfig": muted}))
        while "warning" not in (message := json.loads(await ws.recv())):
            pass
        assert message == {"warning": "every instrument is muted: the music is silent"}
    await server.close()


async def test_by_default_an_sdk_user_gets_no_empty_messages(engine):
    """Google's SDKs have no warning field: a warning would reach them as an empty message."""
    async with connect(engine) as session:
        await session.play()  # no prompts: the one case the engine could warn about
        message = await next_message(session)
        assert message.server_content is not None and message.server_content.audio_chunks


async def test_the_sdks_unspecified_mode_is_accepted_as_the_default(engine):
    async with connect(engine) as session:
        await session.set_weighted_prompts(
            prompts=[types.WeightedPrompt(text="minimal techno", weight=1.0)]
        )
        await session.set_music_generation_config(
            config=types.LiveMusicGenerationConfig(
                music_generation_mode=types.MusicGenerationMode.MUSIC_GENERATION_MODE_UNSPECIFIED,
                scale=types.Scale.SCALE_UNSPECIFIED,
            )
        )
        await session.play()
        chunk = await next_chunk(session)
    assert chunk == offline(FRAMES)[: len(chunk)]  # the default mode, the default scale


async def test_each_chunk_says_what_it_was_generated_from(engine):
    async with connect(engine) as session:
        await setup_music(session)
        await session.play()
        while True:
            message = await next_message(session)
            if message.server_content and message.server_content.audio_chunks:
                break
        meta = message.server_content.audio_chunks[0].source_metadata
        assert meta is not None
        assert [(p.text, p.weight) for p in meta.client_content.weighted_prompts] == [
            ("minimal techno", 1.0)
        ]
        assert meta.music_generation_config.bpm == 96
        assert meta.music_generation_config.scale == types.Scale.D_MAJOR_B_MINOR
        # A change is in the metadata of the chunks generated after it.
        await session.set_weighted_prompts(
            prompts=[types.WeightedPrompt(text="ambient", weight=0.5)]
        )
        for _ in range(40):
            meta = (await next_chunk_message(session)).source_metadata
            if meta.client_content.weighted_prompts[0].text == "ambient":
                break
        else:
            raise AssertionError("the new prompt never showed in sourceMetadata")
        assert meta.client_content.weighted_prompts[0].weight == 0.5


async def next_chunk_message(session) -> types.AudioChunk:
    while True:
        message = await next_message(session)
        if message.server_content and message.server_content.audio_chunks:
            return message.server_content.audio_chunks[0]


async def test_an_unknown_model_is_refused_with_a_clear_reason(engine):
    client = client_for(engine)
    # The SDK waits for setupComplete inside connect(): the close reaches it there, raw.
    with pytest.raises(websockets.ConnectionClosed) as info:
        async with client.aio.live.music.connect(model="models/no-such-model") as session:
            await next_message(session)
    assert info.value.rcvd.code == 1008
    assert info.value.rcvd.reason.startswith("models/no-such-model is not found")


async def test_invalid_request_closes_with_1007_as_the_service_does(engine):
    async with connect(engine) as session:
        await session._ws.send('{"musicGenerationConfig": {"bpm": 500}}')
        with pytest.raises(errors.APIError) as info:
            await next_chunk(session)
    assert info.value.code == 1007
    assert "bpm 500 is out of range 60..200" in str(info.value)


async def test_unknown_path_is_refused(engine):
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(f"ws://127.0.0.1:{engine}/ws/other"):
            pass
    assert info.value.response.status_code == 404


async def test_jitter_varies_arrival_but_keeps_real_time():
    arrivals = await chunk_arrivals(9, jitter_seconds=0.1)
    gaps = np.diff(arrivals[1:])
    assert np.std(gaps) > 0.01
    assert (arrivals[-1] - arrivals[1]) == pytest.approx(7 * CHUNK, abs=0.2 * timeout(1))
