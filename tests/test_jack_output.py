"""The JACK output on real JACK servers (dummy backend), recorded by a separate JACK client.

oscserver runs in-process here (its real-time JACK process is a real child process) so the test
can compare what reaches the recorder with the exact stream the embedded engine renders.
"""

from __future__ import annotations

import asyncio
import time

import jack
import numpy as np
import pytest
import soxr
from audio_analysis import tempo_bpm
from conftest import timeout
from jack_recorder import Recorder
from oscbytes import message

from oscserver.adapters.audio import jack_process
from oscserver.adapters.audio.base import SinkStats
from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.app import App, Options
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.engine.synth import DEFAULT_BPM, Synth

pytestmark = pytest.mark.jack

RAMP = 0.1  # seconds


def expected_stream(seconds: float) -> np.ndarray:
    """What the embedded engine sends for oscserver's start-up state, as float32."""
    synth = Synth()
    synth.set_prompts((WeightedPrompt("minimal techno", 1.0),))
    synth.set_config(MusicGenerationConfig())
    synth.reset()
    pcm = synth.render(int(seconds * 48000))
    return (np.frombuffer(pcm, "<i2").reshape(-1, 2).T / 32768.0).astype(np.float32)


class Running:
    """oscserver in-process on a JACK server, with a recorder on its ports."""

    def __init__(self, server: str, name: str, **sink_options) -> None:
        self.server = server
        self.sink = JackSink(name, server, preroll_seconds=0.2, ramp_seconds=RAMP, **sink_options)
        self.app = App(Options(osc_port=0), self.sink)

    async def start(self) -> None:
        await self.app.start()
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=self.app.osc_address
        )

    def osc(self, address: str) -> None:
        self.udp.sendto(message(address, ""))

    async def close(self) -> None:
        self.udp.close()
        await self.app.stop()
        self.sink.close()


async def wait_for(predicate, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + timeout(seconds)
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def sound_starts(x: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(x).max(axis=0) > 0)[0])


async def record_play(server: str, name: str, seconds: float) -> tuple[np.ndarray, SinkStats]:
    """Play for ``seconds`` on a JACK server; returns the recording from its first sound on,
    and the sink's counters."""
    run = Running(server, name)
    await run.start()
    recorder = Recorder(server, run.sink.port_names, 30)
    try:
        run.osc("/lyria/play")
        await wait_for(lambda: np.abs(recorder.buffer).max() > 0)
        start = sound_starts(recorder.since(0))
        await wait_for(lambda: recorder.frames - start > seconds * run.sink.sample_rate, 30)
        got = recorder.since(start)
        stats = run.sink.stats()
    finally:
        recorder.close()
        await run.close()
    return got, stats


def match_in_pieces(
    got: np.ndarray, stream: np.ndarray, start: int, period: int, atol: float = 0.0
) -> int:
    """Check that ``got`` is ``stream[start:]`` sample for sample (within ``atol``), except
    around cycles a client missed (the xruns JACK reports): there the recording skips whole
    periods of the stream, or holds whole periods of something else. Returns how many such
    cycles it found."""

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol))

    glitches = 0
    g, s = 0, start
    while g < got.shape[1] - 256:
        n = min(got.shape[1] - g, stream.shape[1] - s)
        diff = np.flatnonzero((np.abs(got[:, g : g + n] - stream[:, s : s + n]) > atol).any(axis=0))
        if len(diff) == 0:
            return glitches
        g += int(diff[0])
        s += int(diff[0])
        for k in range(1, 9):
            if np.array_equal(
                got[:, g : g + 256], stream[:, s + k * period : s + k * period + 256]
            ):
                s += k * period  # the recording skipped k periods of the stream
                break
            if np.array_equal(
                got[:, g + k * period : g + k * period + 256], stream[:, s : s + 256]
            ):
                g += k * period  # the recording holds k periods of something else
                break
        else:
            raise AssertionError(f"samples differ from the stream at frame {g} of the recording")
        glitches += 1
    return glitches


def find_in(stream: np.ndarray, piece: np.ndarray) -> int:
    """Where ``piece`` (stereo frames) occurs in ``stream``, sample for sample."""
    for at in np.flatnonzero(stream[0] == piece[0, 0]):
        if np.array_equal(stream[:, at : at + piece.shape[1]], piece):
            return int(at)
    raise AssertionError("the recording is not the stream there")


async def test_at_48k_the_samples_are_bit_identical_to_the_stream(private_jackd):
    server = private_jackd(rate=48000, period=256).server_name
    got, stats = await record_play(server, "bitexact", 10)
    stream = expected_stream(got.shape[1] / 48000 + 2)
    lead = sound_starts(stream)  # the stream may start with an exact 0
    ramp = round(RAMP * 48000)
    assert got.shape[1] > 4 * 48000
    assert stats.native_callback  # what reached the recorder came through the C callback
    # After the 100 ms fade-in, the stream itself, bit for bit.
    glitches = match_in_pieces(got[:, ramp:], stream, lead + ramp, stats.blocksize)
    # Only where JACK reported late cycles; one late cycle can leave two marks in the recording
    # (where the recorder or oscserver missed it, and where the streams line up again).
    assert glitches <= 2 * stats.xruns
    # The fade-in is the 100 ms ramp applied to the stream.
    ref = stream[0, lead + 1 : lead + ramp]
    audible = np.abs(ref) > 0.01
    gain = got[0, 1:ramp][audible] / ref[audible]
    assert np.allclose(gain, (np.arange(2, ramp + 1) / ramp)[audible], atol=1e-3)


async def test_at_44k1_the_output_is_the_soxr_conversion_without_seams(private_jackd):
    server = private_jackd(rate=44100, period=256).server_name
    got, stats = await record_play(server, "resampled", 11)
    assert stats.sample_rate == 44100
    reference = soxr.resample(expected_stream(12).T, 48000, 44100, quality="HQ").T
    ramp = round(RAMP * 44100)
    n = got.shape[1] - ramp - 10
    assert n > 4 * 44100
    # Align: the recording starts where the reference first becomes audible (give or take).
    start = sound_starts(np.where(np.abs(reference) > 1e-6, reference, 0))
    window = got[0, ramp : ramp + 2000]
    lags = range(start - 20, start + 20)
    errors = [np.abs(reference[0, lag + ramp : lag + ramp + 2000] - window).max() for lag in lags]
    lag = lags[int(np.argmin(errors))]
    glitches = match_in_pieces(got[:, ramp:], reference, lag + ramp, stats.blocksize, atol=1e-4)
    assert glitches <= 2 * stats.xruns  # as at 48 kHz: only around JACK-reported late cycles
    # No seam where the 2 s chunks join.
    steps = np.abs(np.diff(got[:, ramp : ramp + n], axis=1)).max(axis=0)
    for k in range(1, int(n / 88200)):
        join = round(k * 88200) - lag - ramp
        if 5 < join < len(steps) - 5:
            assert steps[join - 5 : join + 5].max() <= steps.max()


async def test_pause_and_play_ramp_in_the_recording(private_jackd, jack_server):
    server = private_jackd(rate=48000, period=128).server_name
    run = Running(server, "ramps")
    await run.start()
    recorder = Recorder(server, run.sink.port_names, 40)
    try:
        run.osc("/lyria/play")
        await wait_for(lambda: np.abs(recorder.buffer).max() > 0)
        await asyncio.sleep(2)
        mark = recorder.mark()
        await asyncio.sleep(0.5)
        run.osc("/lyria/pause")
        await asyncio.sleep(1)
        paused = recorder.since(mark)
        mark = recorder.mark()
        run.osc("/lyria/play")
        await wait_for(
            lambda: recorder.frames > mark + 48000 and np.abs(recorder.since(mark)).max() > 0
        )
        await asyncio.sleep(1)
        resumed = recorder.since(mark)
    finally:
        recorder.close()
        await run.close()
    # Pause: the stream itself, then the 100 ms ramp down applied to it, then nothing.
    level = np.abs(paused).max(axis=0)
    playing_until = int(np.flatnonzero(level > 0)[-1])
    assert np.all(level[playing_until + 1 :] == 0)
    ramp = round(RAMP * 48000)
    before = playing_until - ramp - 1024  # a stretch of the stream at full gain
    heard = paused[0, before : playing_until + 1]
    stream = expected_stream(30)
    at = find_in(stream, paused[:, before : before + 256])
    gain = np.ones(len(heard) + 4096)
    gain[len(heard) - ramp + 1 : len(heard)] = 1 - np.arange(1, ramp) / ramp
    gain[len(heard) :] = 0  # the ramp's last frame is 0
    # Each 10 ms is the stream times the ramp, sample for sample. Where a cycle was missed (an
    # xrun), the recording has skipped or held whole periods: both the stream and the ramp are
    # then that many periods further on, so each window is matched at its own shift.
    matched = 0
    for w in range(len(heard) - ramp - 960, len(heard), 480):
        errors = []
        for shift in range(-4 * 128, 4 * 128 + 1, 128):
            i = np.arange(w, min(w + 480, len(heard)))
            ref = stream[0, at + i + shift] * gain[np.maximum(i + shift, 0)]
            errors.append(np.abs(heard[i] - ref).max())
        matched += min(errors) < 1e-3
    windows = len(range(len(heard) - ramp - 960, len(heard), 480))
    assert matched >= windows - 2  # a missed cycle may spoil the window or two it falls in
    # Play: silence, then a 100 ms fade-in (the first 10 ms far below the level after it).
    start = sound_starts(resumed)
    first = np.abs(resumed[:, start : start + 480]).max()
    later = np.abs(resumed[:, start + 4800 : start + 48000]).max()
    assert first < 0.15 * later


async def test_a_restarted_jack_server_gets_the_ports_and_connections_back(private_jackd):
    first = private_jackd(rate=48000)
    name = first.server_name
    run = Running(name, "survivor", connect="system:playback_.*")
    await run.start()
    try:
        probe = jack.Client("probe", no_start_server=True, servername=name)
        left, right = run.sink.port_names
        assert [p.name for p in probe.get_all_connections(left)] == ["system:playback_1"]
        probe.connect(right, "system:playback_1")  # a connection the user makes by hand
        probe.close()
        run.osc("/lyria/play")
        await asyncio.sleep(1)
        first.stop()
        await wait_for(lambda: run.sink.stats().state == "JACK server gone")
        run.osc("/lyria/density")  # bad input while the audio is away: still answered
        second = private_jackd(name=name, rate=44100)  # back, at another rate
        await wait_for(lambda: run.sink.stats().state == "running", 20)
        assert run.sink.sample_rate == 44100  # the resampler follows the new rate
        probe = jack.Client("probe2", no_start_server=True, servername=second.server_name)
        try:
            await wait_for(lambda: len(probe.get_all_connections(right)) == 2, 10)
            assert [p.name for p in probe.get_all_connections(left)] == ["system:playback_1"]
            assert {p.name for p in probe.get_all_connections(right)} == {
                "system:playback_1",
                "system:playback_2",
            }
        finally:
            probe.close()
        recorder = Recorder(name, run.sink.port_names, 20)
        try:
            await wait_for(lambda: np.abs(recorder.buffer).max() > 0.05, 15)
            start = recorder.frames
            await wait_for(lambda: recorder.frames - start > 8 * 44100, 20)
            # The music at the new rate is converted, not played 48 kHz samples at 44.1 kHz
            # (which would be 8 % slow and flat: 110 bpm instead of 120).
            assert tempo_bpm(recorder.since(start), 44100) == pytest.approx(DEFAULT_BPM, abs=1.5)
        finally:
            recorder.close()
    finally:
        await run.close()


async def test_a_buffer_size_change_is_followed(private_jackd):
    import os
    import subprocess

    server = private_jackd(rate=48000, period=256).server_name
    run = Running(server, "bufsize")
    await run.start()
    try:
        run.osc("/lyria/play")
        await wait_for(lambda: run.sink.stats().playing)
        env = dict(os.environ, JACK_DEFAULT_SERVER=server)
        subprocess.run(["jack_bufsize", "64"], env=env, check=True, capture_output=True)
        await wait_for(lambda: run.sink.stats().blocksize == 64)
        recorder = Recorder(server, run.sink.port_names, 10)
        try:
            await wait_for(lambda: np.abs(recorder.buffer).max() > 0.05)
        finally:
            recorder.close()
        assert run.sink.stats().playing
    finally:
        await run.close()


async def test_a_killed_audio_process_is_restarted(private_jackd):
    server = private_jackd(rate=48000).server_name
    run = Running(server, "phoenix")
    await run.start()
    try:
        run.sink._process.kill()  # as if the real-time process crashed
        messages: list[str] = []

        def restarted() -> bool:
            message = run.sink.check()
            if message:
                messages.append(message)
            return bool(messages)

        await wait_for(restarted)
        assert "the JACK audio process stopped (exit code -9); restarted it" in messages[0]
        await wait_for(lambda: run.sink.stats().state == "running")
        run.osc("/lyria/play")
        await wait_for(lambda: run.sink.stats().playing)
    finally:
        await run.close()


async def test_ports_disconnected_by_another_client_stay_as_the_user_left_them(private_jackd):
    """Someone re-patches in a patchbay: oscserver does not fight it, keeps running, and plays
    into the new connection."""
    name = private_jackd(rate=48000).server_name
    run = Running(name, "repatched", connect="system:playback_.*")
    await run.start()
    try:
        left, right = run.sink.port_names
        run.osc("/lyria/play")
        await wait_for(lambda: run.sink.stats().playing)
        patchbay = jack.Client("patchbay", no_start_server=True, servername=name)
        try:
            patchbay.disconnect(left, "system:playback_1")
            patchbay.disconnect(right, "system:playback_2")
            await asyncio.sleep(1.5)  # six of oscserver's connection checks
            assert patchbay.get_all_connections(left) == []  # not re-made behind the user
            assert patchbay.get_all_connections(right) == []
            assert run.sink.stats().state == "running" and run.sink.stats().playing
        finally:
            patchbay.close()
        recorder = Recorder(name, run.sink.port_names, 20)  # the user's new connection
        try:
            await wait_for(lambda: np.abs(recorder.buffer).max() > 0.05, 15)
        finally:
            recorder.close()
    finally:
        await run.close()


class ForkedJackSink(JackSink):
    """A JackSink whose audio process is forked, so that it inherits the test's patches."""

    def _start(self) -> None:
        import multiprocessing

        from oscserver.adapters.audio import jack_process

        context = multiprocessing.get_context("fork")
        self._process = context.Process(target=jack_process.run, args=self._args, daemon=True)
        self._process.start()


def test_when_the_c_callback_cannot_be_plugged_in_the_python_one_plays(private_jackd, monkeypatch):
    """Windows' libjack64, a Homebrew libjack, an ABI we did not foresee: a failure to attach
    the C callback falls back to the Python one; it never takes the audio away."""
    from oscserver.adapters.audio import playout_native

    if not playout_native.available():
        pytest.skip("the C playout is not built here")

    def refuse(*args: object) -> None:
        raise OSError("no jack_port_get_buffer in this libjack")

    monkeypatch.setattr(playout_native.NativePlayout, "attach", refuse)
    server = private_jackd(rate=48000, period=256).server_name
    sink = ForkedJackSink("fallback", server, preroll_seconds=0.1)
    recorder = Recorder(server, ("fallback:out_left", "fallback:out_right"), 20)
    try:
        t = np.arange(48000 * 3) / 48000
        tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        sink.write(np.vstack([tone, tone]))
        start = recorder.mark()
        sink.set_playing(True)
        deadline = time.monotonic() + timeout(10)
        while np.abs(recorder.since(start)).max(initial=0.0) < 0.4:
            assert time.monotonic() < deadline, "no sound from the Python fallback"
            time.sleep(0.05)
        stats = sink.stats()
        assert not stats.native_callback and stats.state == "running"
    finally:
        recorder.close()
        sink.close()


async def test_the_output_latency_is_jacks_playback_latency_of_the_ports(private_jackd):
    """What a clock's lock adds to the time a frame leaves the ports: JACK's playback latency
    of oscserver's ports, as JACK's latency API computes it for the graph they feed."""
    server = private_jackd(rate=48000, period=256).server_name
    run = Running(server, "latent", connect="system:playback_.*")
    await run.start()
    probe = jack.Client("latency-probe", no_start_server=True, servername=server)
    try:
        await wait_for(lambda: run.sink.output_latency() > 0, 10)
        # What JACK says of the port, asked by another client through libjack.
        port = probe.get_port_by_name(run.sink.port_names[0])
        frames = jack_process._playback_latency()(port)
        print("playback latency", frames, "frames; period 256")
        assert run.sink.output_latency() == pytest.approx(frames / 48000)
        assert frames >= 256  # at least the period the driver plays out after the cycle
    finally:
        probe.close()
        await run.close()
