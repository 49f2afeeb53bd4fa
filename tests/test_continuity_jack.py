"""Continuity on a real JACK server: against an engine generating at 0.94 of real time, the
stretching feeder keeps the music going; the same run without it falls silent. What a listener
hears is judged from a JACK recording (silent 60 ms blocks), with the sink's underrun count."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import until
from jack_recorder import Recorder
from oscbytes import message

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.app import App, Options
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform"),
]

PACE = 0.94  # the service's slowest minutes are slower still (0.77): see docs/protocol.md
SECONDS = 70.0  # without stretching, the buffer (1 s lead + 2 s pre-roll) is dry after ~50 s


def silent_blocks(audio: np.ndarray, block: int = round(0.06 * 48000)) -> int:
    """60 ms blocks under -60 dBFS, from the first sound on."""
    mono = audio.mean(axis=0)
    start = int(np.argmax(np.abs(mono) > 0.01))
    usable = (len(mono) - start) // block * block
    rms = np.sqrt((mono[start : start + usable].reshape(-1, block) ** 2).mean(axis=1))
    return int((rms < 10 ** (-60 / 20)).sum())


async def play_for(server: str, continuity: bool) -> tuple[np.ndarray, int, float]:
    """Play SECONDS of a slow engine; the recording, the underruns, the final stretch ratio."""
    engine = EngineServer(EngineOptions(faults=(parse_fault(f"slow:0:{PACE}"),)))
    host, port = await engine.start()
    name = "continuous" if continuity else "as-it-comes"
    jack = JackSink(name, server, preroll_seconds=2.0)
    sink = StretchingSink(jack, Settings(target=2.0, max_stretch=0.08)) if continuity else jack
    app = App(Options(osc_port=0, engine=f"ws://{host}:{port}"), sink)
    await app.start()
    recorder = Recorder(server, jack.port_names, SECONDS + 20)
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=app.osc_address
    )
    try:
        udp.sendto(message("/lyria/play", ""))
        await until(lambda: jack.stats().playing, 15)
        start = recorder.mark()
        await asyncio.sleep(SECONDS)  # a measurement, not a wait: not scaled
        audio = recorder.since(start)
        return audio, sink.stats().underruns, sink.stats().stretch_ratio
    finally:
        udp.close()
        recorder.close()
        await app.stop()
        sink.close()
        await engine.close()


async def test_a_slow_service_plays_without_a_gap_only_when_stretched(private_jackd, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    server = private_jackd(rate=48000, period=256).server_name

    audio, underruns, ratio = await play_for(server, continuity=True)
    assert audio.shape[1] >= (SECONDS - 1) * 48000
    assert underruns == 0
    assert silent_blocks(audio) == 0
    assert ratio > 1.03  # it had to play slower to keep up with 0.94

    audio, underruns, ratio = await play_for(server, continuity=False)
    assert underruns >= 1 and silent_blocks(audio) > 10  # the same service, as it comes
    assert ratio == 1.0
