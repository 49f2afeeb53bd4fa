"""The measured tempo over OSC: a model that does not obey (asked for 120, playing 124.8),
oscserver finding its beats in the stream, and /lyria/get/tempo answered over real UDP."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from conftest import needs_stretch_and_beats, until
from test_app import OscClient

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.core.osc_codec import encode_message
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import oscserver_on

pytestmark = needs_stretch_and_beats


async def test_get_tempo_answers_the_tempo_the_music_plays_not_the_one_asked(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    sink = StretchingSink(NullSink(preroll_seconds=0.5), Settings(target=0.5), track_beats=True)
    engine = EngineOptions(faults=(parse_fault("tempo:1.04"),))
    async with oscserver_on(engine, sink, prompt="minimal techno") as (app, server):
        sink.bpm = lambda: app.state.config.bpm
        loop = asyncio.get_running_loop()
        udp, client = await loop.create_datagram_endpoint(OscClient, remote_addr=app.osc_address)
        try:
            udp.sendto(encode_message("/lyria/get/tempo"))
            assert await client.reply() == ("/lyria/tempo", [0.0, 0])  # nothing heard yet
            udp.sendto(encode_message("/lyria/bpm", [120]))
            udp.sendto(encode_message("/lyria/play"))
            await until(lambda: app.status().steady, 30.0, "no steady beat found")
            udp.sendto(encode_message("/lyria/get/tempo"))
            address, (bpm, steady) = await client.reply()
            assert address == "/lyria/tempo" and steady == 1
            assert bpm == pytest.approx(120 * 1.04, abs=0.2)
            assert "tempo 124.8" in app.status().line()
            # A new bpm goes through RESET_CONTEXT: a new tempo from a new beat phase, found
            # afresh (the beats of the old context are forgotten at its first chunk).
            udp.sendto(encode_message("/lyria/bpm", [130]))
            began = loop.time()
            # About 4 s of the new context (10 s while the old beats were remembered).
            await until(lambda: abs(app.status().tempo - 135.2) < 0.2, 7.0, "no new tempo")
            await until(lambda: app.status().steady, 7.0, "not steady at the new tempo")
            assert loop.time() - began < 7.0
            # The new context's beats are counted from where it really began in the stream
            # (the engine knows): not from the first chunk after the reset was sent, which
            # the service had made before it (its beats would pull the new grid off).
            assert sink.beat_lock.stream_start == server.contexts[0][-1].frame
        finally:
            udp.close()
