"""The continuity feeder inside oscserver: session rotations (their crossfade written through
it, their level hold reading its buffer) play on without an underrun."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import oscserver_on, send_play

pytestmark = pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")


async def test_rotations_through_the_feeder_play_on_at_the_target_latency(monkeypatch):
    """Each rotation's new session comes with a head start: the feeder cuts it in whole beats
    (the app leaves it to the feeder), and measures the new session's pace afresh, so every
    chunk after the first rotation still waits its target +- 0.5 s to be heard."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    null = NullSink(preroll_seconds=2.0)
    sink = StretchingSink(null, Settings(target=2.0))
    engine = EngineOptions(faults=(parse_fault("cap:15"),))  # the service's cap, compressed
    async with oscserver_on(engine, sink, rotate_after=6.0, crossfade=2.0) as (app, _):
        await send_play(app)
        began = asyncio.get_running_loop().time()
        for _ in range(600):
            await asyncio.sleep(0.1)
            if app.rotations >= 3:
                break
        assert app.rotations >= 3
        await asyncio.sleep(4.0)  # the music after the third handover
        assert null.stats().underruns == 0 and null.stats().playing
        assert app.status().playback == "playing"
        assert sink.stream_seconds > 10.0
    latencies = [a for t, a, bridge in sink.latencies if t > began + 8 and not bridge]
    assert len(latencies) > 5 and all(abs(a - 2.0) <= 0.5 for a in latencies), latencies


async def test_reconnects_every_ten_seconds_keep_the_speed_and_the_latency(monkeypatch):
    """Sessions closed after 10 s, no rotation: each reconnect's head start is cut, not taken
    for the service's pace (which would play the music up to 6 % fast), and every chunk waits
    its target +- 0.5 s to be heard."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    null = NullSink(preroll_seconds=2.0)
    sink = StretchingSink(null, Settings(target=2.0))
    engine = EngineOptions(faults=(parse_fault("cap:10"),))
    ratios = []
    async with oscserver_on(engine, sink) as (app, _):
        await send_play(app)
        began = asyncio.get_running_loop().time()
        for _ in range(80):  # 40 s: a measurement, not scaled
            await asyncio.sleep(0.5)
            ratios.append(sink.controller.ratio)
        assert app.channel.sessions >= 3  # it reconnected
        assert null.stats().underruns == 0
    assert max(abs(r - 1.0) for r in ratios) <= 0.02, ratios
    latencies = [a for t, a, bridge in sink.latencies if t > began + 10 and not bridge]
    assert len(latencies) > 10 and all(abs(a - 2.0) <= 0.5 for a in latencies), latencies
