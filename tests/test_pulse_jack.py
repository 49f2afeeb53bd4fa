"""The pulse against the sound, on a real JACK server: /lyria/beat reaches a patch's socket
as the kick it stands for leaves oscserver's JACK ports (the recording made by another client,
each frame timed by the cycle it left in), and with a lookahead its bundle's time tag names
that moment and comes early; and each /lyria/level is the loudness of the recording's next
1/30 s from its arrival, through a mute into silence.

The beats are the music's own (no clock): the stream's, carried through the continuity
stretch to the output (the stretch moves the tempo by 3 % about 18 s in). The kicks are found
in the recording by their envelope (``kick_onsets(..., stretched=True)``: the stretch keeps a
kick's envelope, not the phase of its cycles). Over 40 s: median 1.2-1.4 ms, p95 5-6 ms.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from audio_analysis import kick_onsets
from conftest import needs_stretch_and_beats
from jack_recorder import Recorder

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.core.continuity import Settings
from oscserver.core.osc_codec import decode_packet, encode_message
from oscserver.engine.voices import DrumKit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import playing_off_tempo

pytestmark = [
    pytest.mark.jack,
    pytest.mark.usefixtures("no_api_key"),
    needs_stretch_and_beats,
]
#: Seconds of music the beats are judged over (``make pulse``: a minute).
SECONDS = float(os.environ.get("OSCSERVER_PULSE_SECONDS", "20"))
#: Seconds after the first kick from which beats are judged (the tracker's grid is drawn).
SETTLE = 8.0


class Patch:
    """A patch's UDP socket, read by a thread of its own so that each datagram is timed as it
    arrives (the receiver's clock): ``(monotonic, wall, datagram)``."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.got: list[tuple[float, float, bytes]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            with contextlib.suppress(TimeoutError):
                data = self.sock.recv(65536)
                self.got.append((time.monotonic(), time.time(), data))

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


async def play_and_listen(server: str, lookahead: float) -> tuple[Patch, np.ndarray]:
    """Techno for SECONDS, a patch listening to the beats; returns it and the kicks' times
    (monotonic, when they left the ports)."""
    jack = JackSink("pulse", server, preroll_seconds=0.5)
    sink = StretchingSink(jack, Settings(target=1.0), track_beats=True)
    recorder = Recorder(server, jack.port_names, SECONDS + 20)
    patch = Patch()
    try:
        async with playing_off_tempo(sink, prompt="techno", osc_lookahead=lookahead) as app:
            patch.sock.sendto(encode_message("/lyria/listen/beat", []), app.osc_address)
            await _sleep(SECONDS)
            audio = recorder.since(0)
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"], stretched=True)
            heard = recorder.times(kicks)
    finally:
        recorder.close()
        patch.close()
    return patch, heard


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)  # a measurement, not a wait: not scaled


def errors(times: np.ndarray, kicks: np.ndarray) -> np.ndarray:
    """Seconds from each kick (after the first SETTLE s) to the nearest of ``times``."""
    judged = kicks[kicks > kicks[0] + SETTLE]
    at = np.clip(np.searchsorted(times, judged), 1, len(times) - 1)
    nearest = np.where(
        np.abs(times[at] - judged) < np.abs(times[at - 1] - judged), times[at], times[at - 1]
    )
    return nearest - judged


def judge(what: str, error: np.ndarray) -> None:
    print(
        f"{what}: {len(error)} kicks; error ms: median {np.median(np.abs(error)) * 1e3:.1f}, "
        f"p95 {np.percentile(np.abs(error), 95) * 1e3:.1f}, max {np.abs(error).max() * 1e3:.1f}; "
        f"signed median {np.median(error) * 1e3:+.1f}"
    )
    assert len(error) >= 16
    assert np.median(np.abs(error)) <= 0.005
    assert np.percentile(np.abs(error), 95) <= 0.015


async def test_a_beat_arrives_as_its_kick_leaves_the_ports(private_jackd):
    server = private_jackd(rate=48000, period=256).server_name
    patch, kicks = await play_and_listen(server, 0.0)
    arrivals = np.array([at for at, _, data in patch.got if b"/lyria/beat" in data])
    assert len(arrivals) >= 16
    judge("arrivals", errors(arrivals, kicks))


async def test_with_a_lookahead_the_time_tags_name_the_kicks_and_come_early(private_jackd):
    server = private_jackd(rate=48000, period=256).server_name
    patch, kicks = await play_and_listen(server, 0.5)
    tags, early = [], []
    for at, wall, data in patch.got:
        (message,) = decode_packet(data)
        assert message.address == "/lyria/beat" and message.timetag is not None
        tag = message.timetag - (wall - at)  # the time tag on the receiver's monotonic clock
        tags.append(tag)
        early.append(tag - at)
    judge("time tags", errors(np.array(tags), kicks))
    assert min(early) >= 0.4, min(early)


async def test_the_level_follows_the_music_into_a_mute_as_it_is_heard(private_jackd):
    """Every instrument muted (the engine glides them out over a bar, then silence): each
    /lyria/level, as it arrives, is the loudness of the recording's next 1/30 s from that
    moment, to within a fraction of the period, through the music, the fade and the silence."""
    server = private_jackd(rate=48000, period=256).server_name
    jack = JackSink("level", server, preroll_seconds=0.5)
    recorder = Recorder(server, jack.port_names, 40)
    patch = Patch()
    period = 1 / 30
    try:
        async with playing_off_tempo(jack, prompt="techno") as app:
            patch.sock.sendto(encode_message("/lyria/listen/analysis", []), app.osc_address)
            await _sleep(4.0)
            for control in ("/lyria/only_bass_and_drums", "/lyria/mute_bass", "/lyria/mute_drums"):
                patch.sock.sendto(encode_message(control, [1]), app.osc_address)
            muted_at = time.monotonic()
            await _sleep(8.0)  # the change with new audio (a chunk, what waits), a bar's glide
            audio = recorder.since(0)
            times = recorder.times(np.arange(audio.shape[1]))
    finally:
        recorder.close()
        patch.close()
    levels = np.array(
        [
            (at, m.args[0])
            for at, _, data in patch.got
            for m in decode_packet(data)
            if m.address == "/lyria/level"
        ]
    )
    arrived, rms = levels[:, 0], levels[:, 1]

    def heard(lag: float) -> np.ndarray:
        """The recording's rms over the period from each arrival + lag."""
        start = np.searchsorted(times, arrived + lag)
        n = round(period * 48000)
        return np.array(
            [
                np.sqrt(np.mean(audio[:, s : s + n] ** 2)) if s + n <= len(times) else np.nan
                for s in start
            ]
        )

    judged = (arrived > arrived[0] + 1.0) & (arrived < times[-1] - 0.1)
    lags = np.arange(-0.1, 0.1001, 0.001)
    mismatch = [np.nanmean(np.abs(heard(lag)[judged] - rms[judged])) for lag in lags]
    best = lags[int(np.argmin(mismatch))]
    before = rms[judged & (arrived < muted_at)]
    after = rms[arrived > arrived[-1] - 1.0]
    print(
        f"{judged.sum()} levels; best lag {best * 1e3:+.0f} ms; mismatch there "
        f"{min(mismatch):.4f}, at one period {np.interp(period, lags, mismatch):.4f}; "
        f"rms {np.median(before):.3f} before the mute, {after.max():.5f} after"
    )
    assert np.median(before) > 0.05 and after.max() < 0.001  # the music, then silence
    assert abs(best) <= period / 2
    assert min(mismatch) < 0.1 * np.median(before)  # the same audio's level, not a look-alike
