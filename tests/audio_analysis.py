"""Measurements on rendered or recorded audio (test helper)."""

from __future__ import annotations

import itertools

import numpy as np


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level in dBFS of float audio (-inf for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return -np.inf if rms == 0 else 20 * np.log10(rms)


def lowpass(mono: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    """Brick-wall low-pass by FFT: keeps the kick drum's body, drops most else.

    Zero-padded to twice the length so that the filter does not wrap the end onto the start.
    """
    n = 2 * len(mono)
    spectrum = np.fft.rfft(mono, n)
    spectrum[np.fft.rfftfreq(n, 1 / rate) > cutoff] = 0
    return np.fft.irfft(spectrum, n)[: len(mono)]


def onset_envelope(mono: np.ndarray, hop: int = 128) -> np.ndarray:
    """Half-wave rectified rise of the RMS level from one hop to the next."""
    frames = len(mono) // hop
    level = np.sqrt(np.mean(mono[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    return np.maximum(np.diff(level, prepend=level[0]), 0.0)


def peaks_above(values: np.ndarray, threshold: float, gap: int) -> np.ndarray:
    """Indices of the local maxima above ``threshold``, each the highest within ``gap`` either
    side and more than ``gap`` after the one before."""
    peaks: list[int] = []
    for i in np.flatnonzero(values > threshold):
        lo, hi = max(0, i - gap), min(len(values), i + gap + 1)
        if values[i] == values[lo:hi].max() and (not peaks or i - peaks[-1] > gap):
            peaks.append(int(i))
    return np.array(peaks)


def strong_onsets(env: np.ndarray, fps: float, high: float = 200.0) -> np.ndarray:
    """Frame indices of the strong onsets (local maxima above 40 % of the loudest)."""
    return peaks_above(env, 0.4 * np.percentile(env, 99.5), int(fps * 60 / high * 0.5))


def tempo_bpm(audio: np.ndarray, rate: int, low: float = 60.0, high: float = 200.0) -> float:
    """Tempo of a beat-driven recording (a kick drum on every beat, as the engine plays).

    The onsets of the band below 60 Hz (the kick's body; the engine's bass sits above it) give
    the beat: a first period from the median interval between strong onsets, then a least-squares
    fit of onset time against beat number over the whole recording, which averages out the
    timing jitter of single onsets.

    Raises:
        ValueError: Too few beats, or a tempo outside ``low..high``.
    """
    hop = 128
    fps = rate / hop
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    peaks = strong_onsets(onset_envelope(lowpass(mono, rate, 60.0), hop), fps, high)
    edge = int(0.1 * fps)  # a hit cut by either end of the recording has no clean onset
    peaks = peaks[(peaks > edge) & (peaks < int(len(mono) / hop) - edge)]
    if len(peaks) < 4:
        raise ValueError("too few onsets to measure a tempo")
    period = float(np.median(np.diff(peaks)))
    # Walk the onsets from the first one a period before the next, keeping those on the beat
    # grid (whole numbers of periods apart) and numbering them; a missed hit skips a number,
    # a stray onset between beats is left out.
    ratios = np.diff(peaks) / period
    starts = np.flatnonzero(np.abs(ratios - 1) < 0.2)
    if len(starts) == 0:
        raise ValueError("no regular beat found")
    kept, beats = [peaks[starts[0]]], [0]
    for peak in peaks[starts[0] + 1 :]:
        ratio = (peak - kept[-1]) / period
        if round(ratio) >= 1 and abs(ratio - round(ratio)) < 0.2:
            kept.append(peak)
            beats.append(beats[-1] + round(ratio))
    if len(kept) < 4:
        raise ValueError("too few beats to measure a tempo")
    slope = np.polyfit(beats, kept, 1)[0]
    bpm = float(60.0 * fps / slope)
    if not low - 1 <= bpm <= high + 1:
        raise ValueError(f"tempo {bpm:.1f} outside {low}..{high}")
    return bpm


def kick_onsets(
    audio: np.ndarray, rate: int, kick: np.ndarray, stretched: bool = False
) -> np.ndarray:
    """Sample times of the hits of a known drum sound (the engine's kick), to a fraction of a
    millisecond: the peaks of the recording's cross-correlation with the hit's first 40 ms (a
    matched filter), above half the loudest and at least 100 ms apart.

    ``stretched``: the audio went through a time stretcher: the peaks of the correlation's
    envelope (the analytic signal's magnitude) instead. A phase vocoder keeps a kick's envelope
    but not the phase of its cycles, and the correlation's own peaks, one per cycle of the kick
    (9.5 ms), then trade places: on the engine's music through Rubber Band at 1.03, a third of
    the kicks came out 9 ms off. The envelope is broader, and moves by up to a millisecond with
    what sounds under the kick (a bass note): on audio not stretched, the correlation's peaks
    are exact."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    template = np.asarray(kick[: int(0.04 * rate)], dtype=np.float64)
    size = 1 << (len(mono) + len(template) - 1).bit_length()
    if stretched:
        spectrum_ = np.fft.fft(mono, size) * np.conj(np.fft.fft(template, size))
        spectrum_[size // 2 + 1 :] = 0  # the analytic signal: no negative frequencies,
        spectrum_[1 : size // 2] *= 2  # the positive ones doubled
        match = np.abs(np.fft.ifft(spectrum_))[: len(mono)]
    else:
        spectrum_ = np.fft.rfft(mono, size) * np.conj(np.fft.rfft(template, size))
        match = np.fft.irfft(spectrum_, size)[: len(mono)]
    return peaks_above(match, 0.5 * np.percentile(match, 99.9), int(0.1 * rate))


def spectrum(mono: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrum of a whole recording (Hann window): ``(frequencies, power)``."""
    power = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    return np.fft.rfftfreq(len(mono), 1 / rate), power


def band_energy(audio: np.ndarray, rate: int, low: float, high: float) -> float:
    """Share of the total power between ``low`` and ``high`` Hz."""
    freqs, power = spectrum(audio.mean(axis=0), rate)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


def spectral_centroid(audio: np.ndarray, rate: int) -> float:
    """Power-weighted mean frequency in Hz."""
    freqs, power = spectrum(audio.mean(axis=0), rate)
    return float((freqs * power).sum() / power.sum())


def chroma(audio: np.ndarray, rate: int, low: float = 60.0, high: float = 5000.0) -> np.ndarray:
    """Share of spectral power per pitch class (0 = C), from ``low`` to ``high`` Hz."""
    freqs, power = spectrum(audio.mean(axis=0), rate)
    keep = (freqs >= low) & (freqs < high)
    classes = np.round(12 * np.log2(freqs[keep] / 440.0) + 69).astype(int) % 12
    out = np.bincount(classes, weights=power[keep], minlength=12)
    return out / out.sum()


def harmony_change_by_place(
    audio: np.ndarray, rate: int, beats: np.ndarray, places: np.ndarray, bar: int = 4
) -> np.ndarray:
    """How much the harmony changes into each beat of a bar, on average: ``beats`` are the
    frames of successive beats, ``places`` their places in the bar (0 = its first). Each
    beat's chroma (60 Hz to 2 kHz, after its first 60 ms: past the drums' attack) is compared
    with the one before's (L1 distance of the shares); the engine changes chord with each bar,
    so the bar's first beat is where the change is largest."""
    skip = int(0.06 * rate)
    shares = [
        chroma(audio[:, int(a) + skip : int(b)], rate, 60.0, 2000.0)
        for a, b in itertools.pairwise(beats)
    ]
    change = np.abs(np.diff(np.array(shares), axis=0)).sum(axis=1)  # into beats 1 .. n - 2
    into = np.asarray(places)[1:-1]
    return np.array([change[into == k].mean() for k in range(bar)])


def onsets_per_grid(audio: np.ndarray, rate: int, bpm: float, ratio: float = 2.0) -> int:
    """Number of sixteenth-note steps where a note starts, for music at a known tempo.

    A step counts when the power in the 30 ms after it (or up to 30 ms later, for swing) is at
    least ``ratio`` times the power in the 30 ms before it. Slow changes (decays, the beating
    of close partials) never double the power in 30 ms; a new note does.
    """
    mono = audio.mean(axis=0)
    step = rate * 60.0 / bpm / 4
    w = int(0.03 * rate)
    delays = (0, w // 2, w)
    count = 0
    k = 1
    while (k + 1) * step + 2 * w < len(mono):
        t = round(k * step)
        before = np.mean(mono[t - w : t] ** 2)
        after = max(np.mean(mono[t + d : t + d + w] ** 2) for d in delays)
        count += bool(after > ratio * before)
        k += 1
    return count


def frequency_hz(mono: np.ndarray, rate: int) -> float:
    """The frequency of the strongest partial, to a small fraction of a cent for a steady tone
    of a few seconds (Hann window, 8x zero-padding, parabolic interpolation of the log peak)."""
    n = len(mono)
    spectrum_ = np.abs(np.fft.rfft(mono * np.hanning(n), 8 * n))
    k = int(np.argmax(spectrum_[1:-1])) + 1
    a, b, c = np.log(spectrum_[k - 1 : k + 2] + 1e-30)
    return float((k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / (8 * n))


def cents(frequency: float, reference: float) -> float:
    """How far ``frequency`` is from ``reference``, in cents (100 to a semitone)."""
    return float(1200 * np.log2(frequency / reference))


def largest_step(audio: np.ndarray, missed: list[int] | None = None) -> float:
    """The largest step between neighbouring frames, but across cycles the recorder missed
    (``Recorder.missed``, counted from the first frame of ``audio``)."""
    steps = np.abs(np.diff(audio, axis=1)).max(axis=0)
    for i in missed or ():
        if 0 < i <= len(steps):
            steps[i - 1] = 0.0  # frames i - 1 and i were not neighbours at the ports
    return float(steps.max())


def worst_click(
    audio: np.ndarray,
    missed: list[int] | None = None,
    ignore: list[tuple[int, int]] | None = None,
    reach: int = 40,
) -> tuple[float, int]:
    """How far the step between neighbouring frames that most stands out from the steps
    around it does: its size over the largest step within ``reach`` frames either side.

    A tone's, a pad's or a bass line's steps change smoothly from frame to frame (music
    without drums from the engine: at most 1.3); where two waveforms are butted together
    without a crossfade, one step stands alone (over 2 for 93 % of random splices of that
    music). Drums' noise hides such steps: judge music without them. Steps across cycles the
    recorder missed (``Recorder.missed``, from the first frame of ``audio``) and in the
    ``ignore`` ranges of frames (``(first, end)``: e.g. around the server's xruns) are left
    out, and steps among neighbours under 1e-3 (silence) count against 1e-3.

    Returns:
        The ratio and the frame where it is (its step is to the next frame).
    """
    steps = np.abs(np.diff(audio, axis=1)).max(axis=0).astype(np.float64)
    for i in missed or ():
        if 0 < i <= len(steps):
            steps[i - 1] = 0.0  # frames i - 1 and i were not neighbours at the ports
    for first, end in ignore or ():
        steps[max(0, first) : max(0, end)] = 0.0
    padded = np.concatenate([np.zeros(reach), steps, np.zeros(reach)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    around = np.maximum(windows[:, :reach].max(axis=1), windows[:, reach + 1 :].max(axis=1))
    ratios = steps / np.maximum(around, 1e-3)
    at = int(np.argmax(ratios))
    return float(ratios[at]), at
