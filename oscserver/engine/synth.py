"""A procedural music renderer: the embedded engine's stand-in for the Lyria model.

It renders a steady groove — kick on every beat, snare on 2 and 4, hi-hats, a bass line, a pad
and, with density, an arpeggio — from a :class:`~oscserver.core.lyria.MusicGenerationConfig`
and the weighted prompts, as 48 kHz stereo signed 16-bit PCM, chunk by chunk and seamlessly
across chunk boundaries (every note is computed from its absolute start sample).

Like the service, bpm and scale only change at a context reset (:meth:`Synth.reset`); the other
fields apply from the next chunk. Rendering is deterministic: the same seed, prompts, config and
call sequence give bit-identical audio.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oscserver.core.addresses import SCALES
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt

__all__ = ["DEFAULT_BPM", "SAMPLE_RATE", "Synth"]

SAMPLE_RATE = 48000
CHANNELS = 2
#: The tempo when the config leaves bpm to the model.
DEFAULT_BPM = 120

Float = npt.NDArray[np.float64]

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
#: A vi-IV-I-V progression as scale degrees (0-based), one chord per bar.
_PROGRESSION = (5, 3, 0, 4)


def scale_root(scale: str, fallback: int) -> int:
    """Pitch class (0 = C) of the major key a Lyria scale names; ``fallback`` if unspecified."""
    index = SCALES.index(scale)
    return fallback if index == 0 else index - 1


@dataclass(frozen=True)
class _Context:
    """What only changes at a context reset."""

    bpm: int
    root: int  # pitch class of the major key

    @property
    def beat(self) -> float:
        return SAMPLE_RATE * 60.0 / self.bpm


class Synth:
    """Renders the music, one chunk after another.

    Args:
        seed: Used when the config leaves the seed to the model.
    """

    def __init__(self, seed: int = 0) -> None:
        self._default_seed = seed
        self.config = MusicGenerationConfig()
        self.prompts: tuple[WeightedPrompt, ...] = ()
        self._context = self._new_context()
        self.position = 0  # samples rendered since the context started
        self._kick = _kick()
        self._snare = _noise_hit(0.18, 9.0, 1)
        self._hat = _noise_hit(0.05, 60.0, 2, highpass=True)

    # --- control -----------------------------------------------------------------------------

    def set_config(self, config: MusicGenerationConfig) -> None:
        """Take a new config; bpm and scale wait for :meth:`reset`."""
        self.config = config

    def set_prompts(self, prompts: tuple[WeightedPrompt, ...]) -> None:
        """Take new weighted prompts."""
        self.prompts = prompts

    def reset(self) -> None:
        """Start a new context: apply bpm and scale, and start again from the first bar."""
        self._context = self._new_context()
        self.position = 0

    @property
    def bpm(self) -> int:
        """The tempo being played."""
        return self._context.bpm

    def _new_context(self) -> _Context:
        bpm = self.config.bpm if self.config.bpm is not None else DEFAULT_BPM
        scale = self.config.scale or SCALES[0]
        return _Context(bpm=bpm, root=scale_root(scale, self._prompt_hash() % 12))

    def _prompt_hash(self) -> int:
        text = "|".join(p.text.lower() for p in self.prompts)
        return zlib.crc32(text.encode())

    def _seed(self) -> int:
        return self.config.seed if self.config.seed is not None else self._default_seed

    # --- rendering ---------------------------------------------------------------------------

    def render(self, frames: int) -> bytes:
        """Render the next ``frames`` frames as interleaved s16le stereo PCM."""
        start = self.position
        out = np.zeros((CHANNELS, frames), dtype=np.float64)
        c = self.config
        ctx = self._context
        beat = ctx.beat
        density = 0.5 if c.density is None else c.density
        brightness = 0.5 if c.brightness is None else c.brightness
        if not c.mute_drums:
            self._drums(out, start, beat, density)
        if not c.mute_bass:
            self._bass(out, start, beat, ctx.root)
        if not c.only_bass_and_drums:
            self._pad(out, start, beat, ctx.root, brightness)
            if density > 0.3:
                self._arp(out, start, beat, ctx.root, density, brightness)
        self.position += frames
        # Soft-clip, leaving about 3 dB of headroom below full scale.
        pcm = np.clip(np.tanh(out * 0.9) * 0.7 * 32767.0, -32768, 32767).astype("<i2")
        return pcm.T.tobytes()

    def _drums(self, out: Float, start: int, beat: float, density: float) -> None:
        _place(out, self._kick, start, beat, 0.0, gain=(0.9, 0.9))
        _place(out, self._snare, start, beat * 2, beat, gain=(0.35, 0.35))
        step = beat / 4 if density > 0.6 else beat / 2
        offset = 0.0 if density > 0.6 else beat / 2
        _place(out, self._hat, start, step, offset, gain=(0.12, 0.16))

    def _bass(self, out: Float, start: int, beat: float, root: int) -> None:
        length = int(beat * 0.45)
        for n, at in _onsets(start, out.shape[1], beat / 2, 0.0, length):
            degree = _PROGRESSION[int(n * beat / 2 // (beat * 4)) % len(_PROGRESSION)]
            midi = 40 + (root + _MAJOR[degree] - 4) % 12  # E2..D#3: above the kick
            note = _tone(midi, length, harmonics=3, decay=6.0)
            _add(out, note, at, start, (0.45, 0.45))

    def _pad(self, out: Float, start: int, beat: float, root: int, brightness: float) -> None:
        bar = beat * 4
        length = int(bar)
        for n, at in _onsets(start, out.shape[1], bar, 0.0, length):
            degree = _PROGRESSION[n % len(_PROGRESSION)]
            for i, step in enumerate((0, 2, 4)):
                d = degree + step
                midi = 60 + (root + _MAJOR[d % 7]) % 12 + 12 * (d // 7) - 12 * (root > 5)
                note = _tone(midi, length, harmonics=1 + int(brightness * 5), decay=0.6)
                note *= np.minimum(1.0, np.arange(length) / (0.05 * SAMPLE_RATE))
                pan = (0.10 + 0.04 * i, 0.14 - 0.04 * i)
                _add(out, note, at, start, pan)

    def _arp(
        self, out: Float, start: int, beat: float, root: int, density: float, brightness: float
    ) -> None:
        step = beat / 4
        length = int(step * 0.9)
        rng_seed = self._seed() ^ self._prompt_hash()
        for n, at in _onsets(start, out.shape[1], step, 0.0, length):
            # A note on some steps, chosen per step from the seed: more with density.
            if (zlib.crc32(f"{rng_seed}:{n}".encode()) % 1000) / 1000 > density - 0.2:
                continue
            degree = _PROGRESSION[int(n // 16) % len(_PROGRESSION)]
            d = degree + (0, 2, 4, 7)[n % 4]
            midi = 72 + (root + _MAJOR[d % 7]) % 12 + 12 * (d // 7)
            note = _tone(midi, length, harmonics=1 + int(brightness * 4), decay=12.0)
            _add(out, note, at, start, (0.06, 0.09) if n % 2 else (0.09, 0.06))


def _onsets(
    start: int, frames: int, period: float, offset: float, length: int
) -> list[tuple[int, int]]:
    """``(n, onset sample)`` of every periodic event that sounds within the chunk."""
    first = max(0, int(np.floor((start - length - offset) / period)))
    out: list[tuple[int, int]] = []
    n = first
    while True:
        at = round(offset + n * period)
        if at >= start + frames:
            return out
        if at + length > start:
            out.append((n, at))
        n += 1


def _place(
    out: Float, sample: Float, start: int, period: float, offset: float, gain: tuple[float, float]
) -> None:
    for _, at in _onsets(start, out.shape[1], period, offset, len(sample)):
        _add(out, sample, at, start, gain)


def _add(out: Float, sample: Float, at: int, start: int, gain: tuple[float, float]) -> None:
    """Mix ``sample`` starting at absolute sample ``at`` into a chunk starting at ``start``."""
    lo = max(at, start)
    hi = min(at + len(sample), start + out.shape[1])
    if hi <= lo:
        return
    piece = sample[lo - at : hi - at]
    out[0, lo - start : hi - start] += gain[0] * piece
    out[1, lo - start : hi - start] += gain[1] * piece


def _tone(midi: int, length: int, harmonics: int, decay: float) -> Float:
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    t = np.arange(length) / SAMPLE_RATE
    wave = np.zeros(length)
    for h in range(1, harmonics + 1):
        if freq * h < SAMPLE_RATE / 2:
            wave += np.sin(2 * np.pi * freq * h * t) / h
    envelope = np.exp(-decay * t) * np.minimum(1.0, (length - np.arange(length)) / 200.0)
    note: Float = wave * envelope * np.minimum(1.0, np.arange(length) / 48.0)
    return note


def _kick() -> Float:
    t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
    freq = 45.0 + 110.0 * np.exp(-t * 30.0)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    return np.sin(phase) * np.exp(-t * 9.0)


def _noise_hit(seconds: float, decay: float, seed: int, highpass: bool = False) -> Float:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = rng.uniform(-1.0, 1.0, len(t))
    if highpass:
        noise = np.diff(noise, prepend=0.0) * 0.5
    hit: Float = noise * np.exp(-t * decay)
    return hit
