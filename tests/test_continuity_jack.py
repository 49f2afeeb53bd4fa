"""Continuity on a real JACK server: against an engine generating at 0.94 of real time, or
sending chunks seconds late, the continuity feeder keeps the music going (stretching, then
bridging with the last bar); the same runs without it fall silent. What a listener hears is
judged from a JACK recording (silent 60 ms blocks, clicks at the joins), with the underruns."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from audio_analysis import worst_click
from conftest import until
from jack_recorder import Recorder

from oscserver.adapters.audio.base import SinkStats
from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.app import App, Options
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import send, send_play

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform"),
]

PACE = 0.94  # the service's slowest minutes are slower still (0.77): see docs/protocol.md
# Without stretching the buffer (1 s lead + 2 s pre-roll, more when a loaded machine starts late
# or JACK's dummy clock loses periods) is dry after 50-70 s: 80 s leaves a margin.
SECONDS = 80.0


def silent_blocks(audio: np.ndarray, block: int = round(0.06 * 48000)) -> int:
    """60 ms blocks under -60 dBFS, from the first sound on."""
    mono = audio.mean(axis=0)
    start = int(np.argmax(np.abs(mono) > 0.01))
    usable = (len(mono) - start) // block * block
    rms = np.sqrt((mono[start : start + usable].reshape(-1, block) ** 2).mean(axis=1))
    return int((rms < 10 ** (-60 / 20)).sum())


#: The long proof (``make continuity-proof``): seconds of each run, 0 to skip it.
PROOF_SECONDS = float(os.environ.get("OSCSERVER_PROOF_SECONDS", "0"))
TARGET = 2.0
SETTLED = 30.0  # seconds after which the latency must hold (the pace is known after 15 s)


async def play_for(
    server: str,
    continuity: bool,
    fault: str = f"slow:0:{PACE}",
    seconds: float = SECONDS,
    settled: float = SETTLED,
    missed: list[int] | None = None,
    xruns: list[int] | None = None,
    controls: tuple[tuple[str, object], ...] = (),
) -> tuple[np.ndarray, int, SinkStats, list[float]]:
    """Play ``seconds`` of a faulty engine (faults separated by commas).

    Args:
        controls: OSC messages (address, argument) sent before ``/lyria/play``.
        missed: Filled with where the recording lacks cycles its recorder was late for
            (:meth:`Recorder.missed`).
        xruns: Filled with where the server reported xruns (:meth:`Recorder.xruns`).

    Returns:
        The recording, the underruns, the last stats, and the latency of every chunk written
        after the first ``settled`` seconds but those that end a bridge (heard at once).
    """
    faults = tuple(parse_fault(f) for f in fault.split(","))
    engine = EngineServer(EngineOptions(faults=faults))
    host, port = await engine.start()
    name = "continuous" if continuity else "as-it-comes"
    jack = JackSink(name, server, preroll_seconds=2.0)
    sink = StretchingSink(jack, Settings(target=TARGET, max_stretch=0.08)) if continuity else jack
    app = App(Options(osc_port=0, engine=f"ws://{host}:{port}"), sink)
    await app.start()
    recorder = Recorder(server, jack.port_names, seconds + 20)
    try:
        for address, argument in controls:
            await send(app, address, argument)
        await send_play(app)
        await until(lambda: jack.stats().playing, 15)
        start, began = recorder.mark(), asyncio.get_running_loop().time()
        await asyncio.sleep(seconds)  # a measurement, not a wait: not scaled
        audio = recorder.since(start)
        if missed is not None:
            missed.extend(recorder.missed(start, start + audio.shape[1]))
        if xruns is not None:
            xruns.extend(recorder.xruns(start, start + audio.shape[1]))
        latencies = []
        if isinstance(sink, StretchingSink):
            latencies = [a for t, a, bridge in sink.latencies if t > began + settled and not bridge]
        return audio, jack.stats().underruns, sink.stats(), latencies
    finally:
        recorder.close()
        await app.stop()
        sink.close()
        await engine.close()


async def test_a_slow_service_plays_without_a_gap_only_when_stretched(private_jackd, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    server = private_jackd(rate=48000, period=256).server_name

    # At 0.94 the stretch's limit (1.08 here) leaves 1.5 % to refill what the first seconds
    # lost, before the pace was measured: the latency holds from 50 s on.
    audio, underruns, stats, latencies = await play_for(server, continuity=True, settled=50.0)
    assert audio.shape[1] >= (SECONDS - 1) * 48000
    assert underruns == 0
    assert silent_blocks(audio) == 0
    assert stats.stretch_ratio > 1.03  # it had to play slower to keep up with 0.94
    # Once settled, every chunk waits its target, give or take half a second, to be heard.
    assert len(latencies) > 10
    assert all(abs(a - TARGET) <= 0.5 for a in latencies), latencies

    # As it comes, a service that slow runs dry within a minute; at 0.85 (its slowest minutes
    # are slower still) within 30 s, which keeps this control short.
    audio, underruns, stats, _ = await play_for(server, False, "slow:0:0.85", 40.0)
    assert underruns >= 1 and silent_blocks(audio) > 10
    assert stats.stretch_ratio == 1.0


async def test_chunks_seconds_late_are_bridged_with_the_music_itself(private_jackd, monkeypatch):
    """Every 4th chunk 6 s late: the buffer cannot cover it (2 s at its target; without
    stretching 3 s, or a little more when a loaded machine starts late: CI once saw a 3 s delay
    covered); the bridge loops the last bar instead of falling silent, and no join clicks.

    The drums are muted (``/lyria/mute_drums 1``): their noise would hide a click, as they did
    one that the bridge repeated at every turn of its loop (a jump in the music it remembered).
    """
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    server = private_jackd(rate=48000, period=256).server_name

    missed: list[int] = []
    xruns: list[int] = []
    mute = (("/lyria/mute_drums", 1),)
    audio, underruns, stats, _ = await play_for(
        server, True, "late:4:6", 40.0, missed=missed, xruns=xruns, controls=mute
    )
    said = (
        f"{stats}, {silent_blocks(audio)} silent blocks, recorder late at {missed}, "
        f"xruns at {xruns}"
    )
    assert stats.bridged_seconds >= 0.5, said  # the bridge was needed
    assert underruns == 0, said
    assert silent_blocks(audio) == 0, said
    # No click: no step stands out from the steps around it as a butt join's does (the music
    # itself: at most 1.3; unfaded splices of it: over 2 for 93 % of them). Where the machine
    # was too loaded for a cycle (an xrun) the jump is the server's, not oscserver's: 4 cycles
    # either side of where it was reported are left out (the report's place, reckoned on
    # another thread, was seen 270 frames after a jump and 400 before one).
    first = int(np.argmax(np.abs(audio[0]) > 0.01))
    ignore = [(x - first - 4 * 256, x - first + 4 * 256) for x in xruns]
    click, at = worst_click(audio[:, first:], [m - first for m in missed], ignore)
    assert click <= 2.0, (click, (first + at) / 48000, said)

    audio, underruns, stats, _ = await play_for(server, False, "late:4:6", 25.0)
    assert underruns >= 1 and silent_blocks(audio) > 5  # the same lateness, as it comes


@pytest.mark.skipif(not PROOF_SECONDS, reason="the long proof: make continuity-proof")
async def test_minutes_of_a_slow_and_late_service_keep_the_music_and_the_latency(
    private_jackd, monkeypatch
):
    """The service at 0.96 of real time with every 8th chunk 3 s late, for PROOF_SECONDS (180
    in ``make continuity-proof``): no gap, no underrun, and once settled every chunk waits its
    target +- 0.5 s to be heard (the ones a bridge covered are heard at once); as it comes, the
    same service leaves gaps."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    server = private_jackd(rate=48000, period=256).server_name
    faults = "slow:0:0.96,late:8:3"

    audio, underruns, stats, latencies = await play_for(server, True, faults, PROOF_SECONDS)
    said = f"{stats}, {silent_blocks(audio)} silent blocks"
    print(f"stretch: {said}; latency {min(latencies):.2f}..{max(latencies):.2f} s")
    assert underruns == 0 and silent_blocks(audio) == 0, said
    assert stats.bridged_seconds > 0, said  # the late chunks needed the bridge
    assert all(abs(a - TARGET) <= 0.5 for a in latencies), latencies

    audio, underruns, stats, _ = await play_for(server, False, faults, PROOF_SECONDS)
    print(f"off: {stats}, {silent_blocks(audio)} silent blocks")
    assert underruns >= 1 and silent_blocks(audio) > 5
