"""Measurements on rendered or recorded audio (test helper)."""

from __future__ import annotations

import numpy as np


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level in dBFS of float audio (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return -np.inf if rms == 0 else 20 * np.log10(rms)


def lowpass(mono: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    """Brick-wall low-pass by FFT: keeps the kick drum's body, drops most else."""
    spectrum = np.fft.rfft(mono)
    spectrum[np.fft.rfftfreq(len(mono), 1 / rate) > cutoff] = 0
    return np.fft.irfft(spectrum, len(mono))


def onset_envelope(mono: np.ndarray, rate: int, hop: int = 128) -> np.ndarray:
    """Half-wave rectified rise of the frame energy: peaks where notes and hits start."""
    frames = len(mono) // hop
    energy = np.sqrt(np.mean(mono[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    rise = np.diff(energy, prepend=0.0)
    return np.maximum(rise, 0.0)


def strong_onsets(env: np.ndarray, fps: float, high: float = 200.0) -> np.ndarray:
    """Frame indices of the strong onsets (local maxima above 40 % of the loudest)."""
    threshold = 0.4 * np.percentile(env, 99.5)
    gap = int(fps * 60 / high * 0.5)
    peaks: list[int] = []
    for i in np.flatnonzero(env > threshold):
        lo, hi = max(0, i - gap), min(len(env), i + gap + 1)
        if env[i] == env[lo:hi].max() and (not peaks or i - peaks[-1] > gap):
            peaks.append(int(i))
    return np.array(peaks)


def tempo_bpm(audio: np.ndarray, rate: int, low: float = 60.0, high: float = 200.0) -> float:
    """Tempo of a beat-driven recording (a kick drum on every beat, as the engine plays).

    The beat period is first taken as the median interval between strong low-band onsets (the
    kicks), then refined by the autocorrelation of the onset envelope near four beats.
    """
    hop = 128
    fps = rate / hop
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    env = onset_envelope(lowpass(mono, rate, 60.0), rate, hop)
    peaks = strong_onsets(env, fps, high)
    if len(peaks) < 4:
        raise ValueError("too few onsets to measure a tempo")
    lag = float(np.median(np.diff(peaks)))
    centered = env - env.mean()
    corr = np.correlate(centered, centered, mode="full")[len(env) - 1 :]
    k = 4
    lo, hi = int(k * lag * 0.95), int(np.ceil(k * lag * 1.05)) + 1
    hi = min(hi, len(corr) - 1)
    best = lo + int(np.argmax(corr[lo:hi]))
    a, b, c = corr[best - 1], corr[best], corr[best + 1]
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom else 0.0
    bpm = 60.0 * fps * k / (best + shift)
    if not low - 1 <= bpm <= high + 1:
        raise ValueError(f"tempo {bpm:.1f} outside {low}..{high}")
    return float(bpm)
