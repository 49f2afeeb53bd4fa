"""oscserver's audio from one JACK server into another over a network bridge, and what
arrived (test and bench helper: tests/test_network_bridge.py, bench/bridge.py;
docs/network.md).

:func:`bridge_run` plays oscserver (its command line) into a bridge of tests/bridges.py and
records both ends; :func:`compare` finds the sent music in the received one: the latency
between them, how alike they are, and any gap after the bridge locked.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from bridges import Bridge, free_port, stop
from jack_recorder import Recorder

SCALE = float(os.environ.get("OSCSERVER_TEST_TIMEOUT_SCALE", "1"))
RATE = 48000


@dataclass
class BridgeReport:
    """What arrived, window by window (half a second each).

    Attributes:
        latency_ms: For each window, how long after it left the sender's ports it left the
            receiver's (the recorders' cycle times, on one machine's monotonic clock).
        likeness: For each window, the least correlation of its tenths of a second with the
            music sent (1: the same; see :func:`_likeness`).
        gaps: Seconds into the received recording where a millisecond came with less than a
            tenth of the level sent there (a dropout, even one that rings rather than reads
            zero).
        excused: Windows left out because a recorder missed a cycle or a server reported an
            xrun there (the machine's load, not the bridge), or the music sent was silent.
        xruns: Xruns reported by either JACK server, and cycles a recorder missed, from a
            second before the measurement to its end. A sending server's xrun loses audio
            the bridge never got, and zita-n2j may lose its sync and resync seconds later: a
            measurement with any is not the bridge's.
        resyncs: How often zita-n2j lost the stream and synced again after it first locked.
        synced_after: Seconds from the bridge's start to its receiving (its sync).
    """

    latency_ms: list[float] = field(default_factory=list)
    likeness: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    excused: int = 0
    xruns: int = 0
    resyncs: int = 0
    synced_after: float = 0.0

    def summary(self) -> str:
        lat = np.array(self.latency_ms)
        return (
            f"{len(lat)} windows: latency median {np.median(lat):.1f} ms "
            f"(min {lat.min():.1f}, max {lat.max():.1f}, p95 {np.percentile(lat, 95):.1f}), "
            f"likeness min {min(self.likeness):.4f}, gaps {len(self.gaps)}, "
            f"resyncs {self.resyncs}, xruns {self.xruns}, excused {self.excused}"
        )


def _lag(sent: np.ndarray, got: np.ndarray) -> float:
    """Where ``got`` (shorter) best matches within ``sent``, in frames with a fraction.

    The cross-correlation (by FFT) peaks at the whole frame; a parabola through the peak and
    its neighbours gives the fraction (the bridge resamples: its delay is no whole number of
    frames, and a hi-hat half a frame off no longer correlates).
    """
    n = len(sent) + len(got)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(sent, size) * np.conj(np.fft.rfft(got, size))
    corr = np.fft.irfft(spectrum, size)[: len(sent) - len(got) + 1]
    k = int(np.argmax(corr))
    if 0 < k < len(corr) - 1:
        a, b, c = corr[k - 1], corr[k], corr[k + 1]
        if a - 2 * b + c < 0:
            return k + 0.5 * (a - c) / (a - 2 * b + c)
    return float(k)


def _shifted(x: np.ndarray, by: float = 0.0, below: float = 0.5) -> np.ndarray:
    """``x`` delayed by ``by`` frames (a fraction of one), by a phase shift, and without what
    is above ``below`` (a fraction of the rate)."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x))
    spectrum[freqs > below] = 0
    return np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * by), len(x))


def _likeness(sent: np.ndarray, got: np.ndarray, lag: float, piece: int = RATE // 10) -> float:
    """The least correlation of ``got``'s tenths of a second with the music sent at ``lag``.

    Each tenth is aligned on its own, to a fraction of a frame: the bridge's resampler follows
    the two clocks, so its delay wanders by a fraction of a frame within half a second, and a
    hi-hat (noise) a third of a frame off correlates only at 0.8. Both are compared below
    19 kHz: the resampler keeps 20 kHz and below (zita-njbridge(1), "Resampler filter
    length"), and a hi-hat's air above it is not the bridge's to carry.
    """
    below = 19000 / RATE
    heard = _shifted(got, 0.0, below)
    worst = 1.0
    for at in range(0, len(got) - piece + 1, piece):
        near = int(np.floor(lag)) + at - 8
        fine = near + _lag(sent[near : near + piece + 16], got[at : at + piece])
        whole = int(np.floor(fine))
        part = sent[whole - 64 : whole + piece + 64]
        aligned = _shifted(part, -(fine - whole), below)[64:-64]
        this = heard[at : at + piece]
        if aligned.std() == 0 or this.std() == 0:  # silence on one side only: nothing alike
            worst = min(worst, 1.0 if aligned.std() == this.std() else 0.0)
            continue
        worst = min(worst, float(np.corrcoef(aligned, this)[0, 1]))
    return worst


def compare(
    sent: Recorder, received: Recorder, start: int, end: int, window: float = 0.5
) -> BridgeReport:
    """Find each window of ``received`` (frames ``start`` to ``end``) in ``sent``'s recording
    (the left channels: both channels travel in the same packets).

    Args:
        sent: The recording of the ports sent (on the sending server).
        received: The recording of the bridge's outputs (on the receiving server).
        start: Where to begin in ``received``, once the bridge has locked.
        end: Where to end.
        window: Seconds per window.
    """
    report = BridgeReport()
    got_all = received.buffer[0, start:end].astype(np.float64)
    sent_all = sent.buffer[0, : sent.frames].astype(np.float64)
    sent_times = sent.times(np.arange(sent.frames))
    size = int(window * RATE)
    bad = received.missed(start, end) + received.xruns(start, end)
    before = int(np.searchsorted(sent_times, received.times(np.array([start]))[0] - 1.0))
    report.xruns = len(bad) + len(
        sent.missed(before, sent.frames) + sent.xruns(before, sent.frames)
    )
    for at in range(0, len(got_all) - size + 1, size):
        got = got_all[at : at + size]
        when = received.times(np.array([start + at]))[0]
        # The music sent up to a quarter of a second before it was received (less than a
        # beat: the music repeats every beat, and a bridge's latency is far less).
        lo = int(np.searchsorted(sent_times, when - 0.25))
        hi = int(np.searchsorted(sent_times, when + 0.01)) + size
        near_bad = any(at - 512 <= i < at + size + 512 for i in bad)
        s_lo, s_hi = lo, min(hi, sent.frames)
        sent_bad = sent.missed(s_lo, s_hi) + sent.xruns(s_lo, s_hi)
        if near_bad or sent_bad or s_hi - s_lo < size:
            report.excused += 1
            continue
        lag = lo + _lag(sent_all[s_lo:s_hi], got)
        match = int(np.floor(lag))
        source = sent_all[match : match + size]
        if np.abs(source).max() < 1e-3:
            report.excused += 1  # silence sent: nothing to find (not a gap of the bridge)
            continue
        report.latency_ms.append(1000 * (when - sent_times[match]) - 1000 * (lag - match) / RATE)
        report.likeness.append(_likeness(sent_all, got, lag))
        # A gap: a millisecond received with less than a tenth of the level sent there (a lost
        # packet: zita-n2j puts silence in its place, which its resampler rings into).
        ms = RATE // 1000
        level_sent = np.sqrt(np.mean(source[: size // ms * ms].reshape(-1, ms) ** 2, axis=1))
        level_got = np.sqrt(np.mean(got[: size // ms * ms].reshape(-1, ms) ** 2, axis=1))
        places = np.flatnonzero((level_sent > 3e-3) & (level_got < 0.1 * level_sent))
        firsts = places[np.diff(places, prepend=-2) > 1]  # where each run of them begins
        report.gaps.extend(float(start + at + i * ms) / RATE for i in firsts)
    return report


def _wait(predicate, seconds: float, what: str) -> None:
    """Wait (scaled) until ``predicate()``."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > seconds * SCALE:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.05)


def bridge_run(bridge: Bridge, seconds: float, settle: float = 2.0) -> BridgeReport:
    """oscserver (its command line) playing into ``bridge``; what arrived at its other end.

    Waits for the bridge's ports, starts ``oscserver --jack-server SOURCE --jack-connect
    PATTERN`` on the embedded engine, records its ports and the bridge's outputs, sends
    ``/lyria/play``, waits for the music to arrive and ``settle`` seconds more, then compares
    ``seconds`` of it. Closes the bridge.
    """
    from oscserver.core.osc_codec import encode_message

    recorders: list[Recorder] = []
    server: subprocess.Popen[str] | None = None
    log: list[str] = []
    try:
        if not bridge.wait_ports(20 * SCALE):
            raise AssertionError(f"{bridge.name} did not register its ports: {bridge.said}")
        osc_port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "oscserver", "--engine", "embedded", "--output", "jack"),
                *("--jack-server", bridge.source, "--no-start-jack"),
                *("--jack-connect", bridge.connect, "--osc-port", str(osc_port), "--no-oscquery"),
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = threading.Event()

        def read() -> None:
            assert server is not None and server.stderr is not None
            for line in server.stderr:
                log.append(line)
                if "press Ctrl-C to stop" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60 * SCALE):
            raise AssertionError("oscserver did not start:\n" + "".join(log))
        total = seconds + settle + 30
        sent = Recorder(bridge.source, ("oscserver:out_left", "oscserver:out_right"), total)
        recorders.append(sent)
        received = Recorder(bridge.target, bridge.outputs, total)
        recorders.append(received)
        if not bridge.wait_receiving(20 * SCALE):
            raise AssertionError(f"{bridge.name} never received: " + "; ".join(bridge.said))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(encode_message("/lyria/play", []), ("127.0.0.1", osc_port))
        _wait(lambda: np.abs(sent.buffer[0]).max() > 0.01, 30, "oscserver played")
        _wait(lambda: np.abs(received.buffer[0]).max() > 0.01, 10, "the music arrived")
        time.sleep(settle)
        start = received.mark()
        time.sleep(seconds)  # a measurement, not a wait: not scaled
        report = compare(sent, received, start, received.mark())
        report.resyncs = bridge.resyncs()
        report.synced_after = bridge.synced_after or 0.0
        return report
    finally:
        for recorder in recorders:
            recorder.close()
        if server is not None:
            stop(server, 20)
        bridge.close()
