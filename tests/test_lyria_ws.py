"""The WebSocket client against the embedded engine over real connections: handshake, audio,
reconnects after a drop, stopping on a fatal close code, and no key in anything reported."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from conftest import timeout

from oscserver.adapters.lyria_ws import LyriaLink, engine_url
from oscserver.core.session import AudioReceived, Notice, Phase, Session
from oscserver.core.state import MusicalState
from oscserver.engine.server import EngineServer

KEY = "AIzaFAKE-secret-key-123"


class Harness:
    def __init__(self, url: str):
        self.state = MusicalState.initial([("minimal techno", 1.0)])
        self.session = Session(self.state)
        self.events: list[object] = []
        self.link = LyriaLink(self.session, url, KEY, self.events.extend)
        self.task = asyncio.create_task(self.link.run())

    def osc(self, path: str, *args: object) -> None:
        self.state, update = self.state.apply(path, list(args))
        self.events.extend(self.session.state_changed(self.state, update))
        self.link.kick()

    async def until(self, predicate, seconds: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout(seconds)
        while not predicate():
            assert asyncio.get_running_loop().time() < deadline, (self.link.status, self.events)
            await asyncio.sleep(0.01)

    def notices(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Notice)]

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@pytest.fixture
async def engine():
    server = EngineServer()
    host, port = await server.start()
    yield server, engine_url(host, port)
    await server.close()


async def test_connects_plays_and_receives_audio(engine):
    _, url = engine
    h = Harness(url)
    await h.until(lambda: h.link.status == "connected")
    h.osc("/lyria/play")
    await h.until(lambda: any(isinstance(e, AudioReceived) for e in h.events))
    chunk = next(e for e in h.events if isinstance(e, AudioReceived)).chunk
    assert chunk.format == (48000, 2) and chunk.frames == 96000
    await h.close()


async def test_reconnects_after_a_drop_and_replays_the_state(engine):
    server, url = engine
    h = Harness(url)
    await h.until(lambda: h.link.status == "connected")
    h.osc("/lyria/bpm", 90)
    h.osc("/lyria/play")
    await h.until(lambda: h.session.chunks_received >= 1)
    assert await server.close_sessions(1011, "session cap reached") == 1
    await h.until(lambda: h.link.connections == 2 and h.session.phase is Phase.READY)
    assert any("close 1011" in n and "reconnecting" in n for n in h.notices())
    received = h.session.chunks_received
    # The new session was told to PLAY again: audio keeps coming without any new OSC.
    await h.until(lambda: h.session.chunks_received > received)
    await h.close()


async def test_rejected_key_stops_and_says_so_without_the_key(engine):
    server, url = engine
    h = Harness(url)
    await h.until(lambda: h.link.status == "connected")
    await server.close_sessions(1007, f"API key not valid: {KEY}")
    await asyncio.wait_for(h.task, timeout(10))  # run() returned: no retry
    assert h.link.status.startswith("stopped: the service rejected the API key")
    assert h.link.connections == 1


async def test_close_reasons_are_redacted(engine):
    server, url = engine
    h = Harness(url)
    await h.until(lambda: h.link.status == "connected")
    await server.close_sessions(1008, f"refused for key={KEY}")
    await asyncio.wait_for(h.task, timeout(10))
    text = " ".join(h.notices()) + h.link.status
    assert "close 1008" in text
    assert KEY not in text
    assert "refused for key=***" in text


async def test_unreachable_endpoint_retries_with_a_clear_message():
    h = Harness("ws://127.0.0.1:9/ws/x")  # discard port: nothing listens
    await h.until(lambda: h.link.status.startswith("reconnecting in"))
    assert "the connection dropped (close 1006: " in h.link.status
    await h.close()


@pytest.mark.parametrize("kind", ["json", "type", "mime", "odd"])
async def test_malformed_frames_are_reported_and_the_stream_goes_on(kind):
    from oscserver.engine.faults import parse_fault
    from oscserver.engine.server import EngineOptions

    server = EngineServer(
        EngineOptions(
            chunk_seconds=0.25, lead_seconds=0.1, faults=(parse_fault(f"malformed:{kind}:0.3"),)
        )
    )
    host, port = await server.start()
    h = Harness(engine_url(host, port))
    try:
        await h.until(lambda: h.link.status == "connected")
        h.osc("/lyria/play")
        await h.until(lambda: any("bad frame from the service" in n for n in h.notices()))
        received = h.session.chunks_received
        await h.until(lambda: h.session.chunks_received > received)
        assert h.link.connections == 1  # no reconnect was needed
    finally:
        await h.close()
        await server.close()


# Each fault of the embedded engine, as the service presents it, and what the link must do:
# (fault, words in the status, retry, longest first delay).
CLOSE_FAULTS = [
    ("bad-key", "rejected the API key (close 1007", False, 0.0),
    ("refused", "refused the session (close 1008", False, 0.0),
    ("invalid:0.3", "refused a request as invalid (close 1007: Request contains", True, 0.5),
    ("quota:0.2", "quota is exhausted (close 1011", True, 60.0),
    ("busy", "busy (close 1013", True, 0.5),
    ("cap:0.3", "ended the session (close 1011", True, 0.5),
    ("reset:0.3", "dropped (close 1006", True, 0.5),
    ("huge:0.3", "a frame larger than oscserver accepts (close 1009", True, 0.5),
]


@pytest.mark.parametrize(("fault", "words", "retry", "longest"), CLOSE_FAULTS)
async def test_each_close_of_the_service_gets_its_message_and_retry_decision(
    fault, words, retry, longest
):
    from oscserver.engine.faults import parse_fault
    from oscserver.engine.server import EngineOptions

    server = EngineServer(EngineOptions(faults=(parse_fault(fault),)))
    host, port = await server.start()
    h = Harness(engine_url(host, port))
    try:
        if not retry:
            await asyncio.wait_for(h.task, timeout(10))  # run() returned: no retry
            assert h.link.status.startswith("stopped: ") and words in h.link.status
            assert h.link.connections == 1
        else:
            await h.until(lambda: h.link.status.startswith("reconnecting in"))
            assert words in h.link.status
            assert longest / 2 <= h.link.next_delay <= longest  # jittered in its upper half
        assert any(words in n for n in h.notices())  # what the user is told, over OSC too
        assert KEY not in " ".join(h.notices()) + h.link.status
    finally:
        await h.close()
        await server.close()


@pytest.mark.parametrize("fault", ["cap:1", "busy", "reset:1"])
async def test_after_a_retried_close_prompts_config_and_playback_are_replayed(fault):
    from oscserver.engine.faults import parse_fault
    from oscserver.engine.server import EngineOptions

    # The fault hits only the first session: later ones play on.
    server = EngineServer(
        EngineOptions(
            chunk_seconds=0.5, lead_seconds=0.2, faults=(parse_fault(fault),), faulty_sessions=1
        )
    )
    host, port = await server.start()
    h = Harness(engine_url(host, port))
    try:
        h.osc("/lyria/prompt/2/text", "warm", "pads")
        h.osc("/lyria/prompt/2/weight", 0.4)
        h.osc("/lyria/density", 0.8)
        h.osc("/lyria/play")
        await h.until(lambda: h.link.connections >= 2 and h.session.phase is Phase.READY, 15)
        received = h.session.chunks_received
        await h.until(lambda: h.session.chunks_received > received)  # playing again, no OSC
        assert [(p.text, p.weight) for p in server.last_prompts] == [
            ("minimal techno", 1.0),
            ("warm pads", 0.4),
        ]
        assert server.received["MusicGenerationConfig"] >= 2  # the config went out again
    finally:
        await h.close()
        await server.close()
