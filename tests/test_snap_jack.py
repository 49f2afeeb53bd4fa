"""How late a change is heard, on a real JACK server: what oscserver reports (from the chunks'
sourceMetadata and its buffer) against the JACK recording: as the stream comes, and through the
continuity feeder with --snap on.

The change mutes every voice of the embedded engine: its first chunk generated afterwards glides
to digital silence over one bar, so the recording says exactly when that chunk began to be
heard (silence minus a bar)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import until
from jack_recorder import Recorder
from oscbytes import bundle, i32, message

from oscserver.adapters.audio.base import SNAP_MARGIN
from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.adapters.lyria_ws import engine_url
from oscserver.app import App, Options
from oscserver.core.continuity import Settings
from oscserver.dsp import stretch
from oscserver.engine.server import EngineOptions, EngineServer

pytestmark = pytest.mark.jack

RATE = 48000
BPM = 120
BEAT = 60 / BPM
BAR = 4 * BEAT
BLOCK = RATE // 50  # 20 ms

NEEDS_STRETCH = pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")
MUTE_ALL = bundle(
    1,  # "immediately" (OSC 1.0 timetag)
    message("/lyria/mute_bass", "i", i32(1)),
    message("/lyria/mute_drums", "i", i32(1)),
    message("/lyria/only_bass_and_drums", "i", i32(1)),
)


async def send(app: App, data: bytes) -> None:
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=app.osc_address
    )
    udp.sendto(data)
    udp.close()


def levels_db(audio: np.ndarray) -> np.ndarray:
    mono = audio.mean(axis=0)
    usable = len(mono) // BLOCK * BLOCK
    rms = np.sqrt((mono[:usable].reshape(-1, BLOCK) ** 2).mean(axis=1))
    return 20 * np.log10(rms + 1e-12)


async def mute_and_listen(
    server: str, continuity: bool, snap: bool
) -> tuple[App, np.ndarray, int, float, int]:
    """Play 6 s, mute everything; the app, the recording from the change on, the underruns,
    the stretch ratio at the end and the snaps made after the change."""
    engine = EngineServer(EngineOptions())
    host, port = await engine.start()
    jack = JackSink("snap" if snap else "no-snap", server, preroll_seconds=2.0)
    sink = StretchingSink(jack, Settings(target=2.0)) if continuity else jack
    options = Options(osc_port=0, engine=engine_url(host, port), rotate_after=0, snap=snap)
    app = App(options, sink)
    await app.start()
    recorder = Recorder(server, jack.port_names, 40)
    try:
        await send(app, bundle(1, message("/lyria/bpm", "i", i32(BPM)), message("/lyria/play", "")))
        await until(lambda: jack.stats().playing, 15)
        await asyncio.sleep(6.0)  # the buffer at its usual level: a measurement, not scaled
        start, snaps = recorder.mark(), jack.snaps  # (a burst at the start is cut, too)
        await send(app, MUTE_ALL)
        await until(lambda: app.change_heard > 0, 15)
        await asyncio.sleep(app.change_heard + BAR + 1.0)
        ratio = sink.stats().stretch_ratio
        return app, recorder.since(start), jack.stats().underruns, ratio, jack.snaps - snaps
    finally:
        recorder.close()
        await app.stop()
        sink.close()
        await engine.close()


@pytest.mark.parametrize(
    ("continuity", "snap"), [(False, False), pytest.param(True, True, marks=NEEDS_STRETCH)]
)
async def test_the_change_is_heard_when_oscserver_says_and_sooner_with_snap(
    private_jackd, monkeypatch, continuity, snap
):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    server = private_jackd(rate=RATE, period=256).server_name

    app, audio, underruns, ratio, snaps = await mute_and_listen(server, continuity, snap)
    levels = levels_db(audio)
    silent = np.flatnonzero(levels < -90)
    assert len(silent), "the muted music never went silent"
    # The chunk's glide began a bar (as played: the stretch included) before the silence.
    heard = silent[0] * BLOCK / RATE - BAR * ratio
    assert underruns == 0
    assert np.all(levels[: int(heard * RATE) // BLOCK] > -60)  # music until the glide: no gap
    # What oscserver reports is what the recording shows: a JACK period and a block apart; when
    # stretched, also the bar's length as played (the ratio moved during it) and Rubber Band
    # setting the glide's last 40 ms (below -70 dBFS) to digital silence early.
    slack = 0.05 + BAR * abs(ratio - 1.0) if continuity else 0.0
    assert app.change_heard == pytest.approx(heard, abs=0.06 + slack)
    assert 0 < app.change_arrived < app.change_heard
    waited = app.change_heard - app.change_arrived
    if snap:
        # The older audio was cut back in whole beats: at most the margin and a beat remained.
        assert waited <= SNAP_MARGIN + BEAT + 0.05
        assert snaps == 1
        # The cut itself: no step beyond what the music has in its other seconds.
        cut = round((app.change_heard) * RATE)
        mono = audio.mean(axis=0)
        steps = [np.abs(np.diff(mono[i : i + RATE])).max() for i in range(0, cut - RATE, RATE)]
        assert np.abs(np.diff(mono[cut - BLOCK : cut + BLOCK])).max() <= 1.5 * max(steps)
    else:
        assert waited >= 1.0  # heard after what was waiting: 1-3 s of buffer
        assert snaps == 0
