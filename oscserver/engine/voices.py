"""Sound of each voice: drum samples and additive pitched tones, rendered segment by segment.

Every function renders the part of one note that falls inside ``[lo, hi)`` (absolute samples),
computed from the note's absolute start, so a note split across chunks is seamless.

Pitched voices use only octave partials (1, 2, 4 and 8 times the fundamental), like an organ's
8', 4', 2' and 1' stops: brightness moves energy up the octaves (the spectral centroid rises)
while every partial keeps the note's pitch class, so the audio's chroma is exactly the scale's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SAMPLE_RATE", "DrumKit", "Tone", "tone_segment"]

SAMPLE_RATE = 48000
Float = npt.NDArray[np.float32]
#: A brightness: one value, or one per sample.
Bright = float | npt.NDArray[np.float32]
_PARTIALS = np.array([1.0, 2.0, 4.0, 8.0], dtype=np.float32)


class DrumKit:
    """Precomputed one-shot drum samples (float32, mono)."""

    def __init__(self) -> None:
        self.samples: dict[str, Float] = {
            "kick": _kick(),
            # Unpitched on purpose: noise only, so the audio's pitch content is the scale's.
            "snare": _noise_hit(0.18, 12.0, seed=1),
            "hat": _noise_hit(0.05, 60.0, seed=2, highpass=True),
            "perc": _noise_hit(0.09, 30.0, seed=3, highpass=True),
        }

    def length(self, voice: str) -> int:
        """Length of a hit in samples."""
        return len(self.samples[voice])

    def segment(self, voice: str, start: int, lo: int, hi: int) -> tuple[int, Float] | None:
        """The part of a hit at ``start`` within ``[lo, hi)``: ``(offset from lo, samples)``."""
        sample = self.samples[voice]
        a, b = max(lo, start), min(hi, start + len(sample))
        if b <= a:
            return None
        return a - lo, sample[a - start : b - start]


@dataclass(frozen=True)
class Tone:
    """How a pitched voice sounds.

    Attributes:
        brightness: 0..1; weight of the upper octave partials.
        attack: Seconds to full level.
        decay: Exponential decay rate per second (0: sustained).
        release: Seconds of fade at the end.
        vibrato: Depth in semitones (0: none), at 5.5 Hz.
        formant: Boosts the partial nearest 900 Hz (a sung "ah"), 0..1.
    """

    brightness: float
    attack: float = 0.005
    decay: float = 0.0
    release: float = 0.03
    vibrato: float = 0.0
    formant: float = 0.0


def _weights(freq: float, brightness: Bright, formant: float) -> npt.NDArray[np.float32]:
    """Partial weights, shape (4,) for a fixed brightness or (4, n) for one per sample."""
    b = np.asarray(brightness, dtype=np.float32)
    w = np.stack([np.ones_like(b), 0.15 + 0.7 * b, 0.02 + 0.6 * b * b, 0.45 * b**3])
    if formant:
        nearest = int(np.argmin(np.abs(np.log2(_PARTIALS * freq / 900.0))))
        w[nearest] += 1.5 * formant
    w[_PARTIALS * freq >= SAMPLE_RATE / 2 * 0.9] = 0.0  # no aliasing
    weights: npt.NDArray[np.float32] = w / np.sum(w, axis=0)
    return weights


def tone_segment(
    midi: int,
    start: int,
    length: int,
    tone: Tone,
    lo: int,
    hi: int,
    brightness: Bright | None = None,
) -> tuple[int, Float] | None:
    """The part of a note within ``[lo, hi)``: ``(offset from lo, samples)``, or None.

    Args:
        midi: MIDI pitch.
        start: Absolute start sample.
        length: Length in samples, release included.
        tone: The timbre and envelope.
        lo: First absolute sample wanted.
        hi: One past the last.
        brightness: Overrides ``tone.brightness``: one value, or one per sample of the
            segment ``[max(lo, start), min(hi, start + length))`` (a glide).
    """
    a, b = max(lo, start), min(hi, start + length)
    if b <= a:
        return None
    freq = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    n = np.arange(a - start, b - start, dtype=np.float64)
    t = n / SAMPLE_RATE
    phase = 2 * np.pi * freq * t
    if tone.vibrato:
        rate = 5.5
        depth = freq * (2 ** (tone.vibrato / 12) - 1)  # Hz
        phase += depth / rate * (1 - np.cos(2 * np.pi * rate * t))
    phase32 = phase.astype(np.float32)
    weights = _weights(freq, tone.brightness if brightness is None else brightness, tone.formant)
    wave = np.zeros(b - a, dtype=np.float32)
    for k, w in zip(_PARTIALS, weights, strict=True):
        if np.any(w):
            wave += w * np.sin(k * phase32)
    env = np.minimum(1.0, t / max(tone.attack, 1e-4))
    if tone.decay:
        env *= np.exp(-tone.decay * t)
    remaining = (length - n) / SAMPLE_RATE
    env *= np.minimum(1.0, remaining / tone.release)
    wave *= env.astype(np.float32)
    return a - lo, wave


def _kick() -> Float:
    t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
    freq = 45.0 + 110.0 * np.exp(-t * 30.0)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    out: Float = (np.sin(phase) * np.exp(-t * 9.0)).astype(np.float32)
    return out


def _noise_hit(seconds: float, decay: float, seed: int, highpass: bool = False) -> Float:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = rng.uniform(-1.0, 1.0, len(t))
    if highpass:
        noise = np.diff(noise, prepend=0.0) * 0.5
    out: Float = (noise * np.exp(-t * decay)).astype(np.float32)
    return out
