"""Session rotation on a real JACK server: a short session cap, a handover with a crossfade,
and a recording JACK client that must hear one continuous stream (no gap, no click)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import until
from jack_recorder import Recorder

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.app import App, Options
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import send_play

pytestmark = pytest.mark.jack

CAP = 20.0  # the engine closes every session with 1011 after this long, like the service
ROTATE_AFTER = 8.0
CROSSFADE = 3.0


async def test_rotation_before_the_cap_is_one_continuous_stream(private_jackd, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    server = private_jackd(rate=48000, period=512).server_name
    engine = EngineServer(EngineOptions(faults=(parse_fault(f"cap:{CAP}"),)))
    host, port = await engine.start()
    sink = JackSink("rotating", server, preroll_seconds=0.5)
    app = App(
        Options(
            osc_port=0,
            engine=f"ws://{host}:{port}",
            rotate_after=ROTATE_AFTER,
            crossfade=CROSSFADE,
        ),
        sink,
    )
    await app.start()
    recorder = Recorder(server, sink.port_names, 40)
    try:
        await send_play(app)
        await until(lambda: sink.stats().playing, 10)
        await until(lambda: app.rotation is not None and app.rotation.fading, ROTATE_AFTER + 10)
        fade_begins = recorder.frames
        await until(lambda: app.rotations == 1, CROSSFADE + 10)
        sessions = engine.sessions
        await until(lambda: len(engine.ends) == 1, 5)
        # The old session was ended properly, as a user would end it, not as a crash (1011).
        assert engine.ends == [1000]
        fade_written = recorder.frames + round(sink.stats().buffered_seconds * 48000)
        await until(lambda: recorder.frames > fade_written + 3 * 48000, 10)
        got = recorder.since(0)
        stats = sink.stats()
    finally:
        recorder.close()
        await app.stop()
        sink.close()
        await engine.close()

    assert sessions == 2  # a handover before the cap: no reconnect was needed
    assert stats.underruns == 0
    start = int(np.flatnonzero(np.abs(got).max(axis=0) > 0)[0])
    music = got[:, start:]
    # No gap: no 10 ms of silence anywhere from the first sound to the end.
    loud = np.abs(music).max(axis=0) > 0
    run = 480
    silent_runs = np.convolve(~loud, np.ones(run, dtype=int), mode="valid")
    assert silent_runs.max() < run, "a gap in the recording"
    # No click: the largest step between samples where the fade happened is no larger than
    # the largest inside the music before it.
    steps = np.abs(np.diff(got, axis=1)).max(axis=0)
    around = steps[fade_begins - 48000 : fade_written + 48000]
    before = steps[start + 4800 : fade_begins - 48000]
    assert len(before) > 2 * 48000 and len(around) > CROSSFADE * 48000
    print("FB", fade_begins, fade_written, start, int(np.argmax(steps)))
    assert around.max() <= before.max(), (around.max(), before.max())

    # And the level holds through the fade: no 100 ms window near the switch is much quieter
    # than the music before it.
    def rms(x: np.ndarray) -> np.ndarray:
        windows = x[0, : len(x[0]) // 4800 * 4800].reshape(-1, 4800)
        return np.sqrt((windows**2).mean(axis=1))

    assert rms(got[:, fade_begins:fade_written]).min() > 0.2 * np.median(
        rms(got[:, start:fade_begins])
    )
