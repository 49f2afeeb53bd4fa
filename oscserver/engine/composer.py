"""Bars of notes from a style and the generation controls: the engine's "model".

:func:`compose_bar` writes one 4/4 bar (16 steps) for every voice — kick, snare, hat, perc,
bass, pad, lead and, in VOCALIZATION mode, a vocal line — as :class:`Note` values. It is a pure
function of its arguments: the same style, controls, key and bar number give the same notes.

- Every pitched note is in the key's major scale (the Lyria scales pair a major key with its
  relative minor, so the pitch classes are the same); chords are diatonic.
- ``density`` sets how many notes a bar holds (hats, ghost notes, bass and lead notes).
- ``temperature`` and ``top_k`` set how much a bar varies from the context's motif: at
  temperature 0, or top_k 1, every bar with the same chord is the same; DIVERSITY mode varies
  more. The variation is drawn from the seed and the bar number, so it is reproducible.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from oscserver.engine.style import Style

__all__ = ["MAJOR", "Controls", "Note", "compose_bar"]

STEPS = 16
#: Intervals of the major scale in semitones.
MAJOR = (0, 2, 4, 5, 7, 9, 11)

#: Chord progressions as scale degrees (0 = I), one chord per bar; chosen by the style.
PROGRESSIONS = (
    (5, 3, 0, 4),  # vi-IV-I-V, minor feel
    (0, 4, 5, 3),  # I-V-vi-IV
    (1, 4, 0, 5),  # ii-V-I-vi, jazz
    (5, 5, 3, 4),  # vi-vi-IV-V, dark
    (0, 3, 0, 4),  # I-IV-I-V
    (5, 2, 3, 4),  # vi-iii-IV-V
)

# Kick weights per step: on every beat, and a broken (breakbeat / half-time) pattern.
_FOUR = np.array([1, 0, 0, 0] * 4, dtype=float)
_BROKEN = np.array([1, 0, 0, 0, 0, 0, 0.3, 0, 0, 0, 0.9, 0.4, 0, 0, 0, 0], dtype=float)
# The order in which steps gain notes as density grows (strong positions first).
_PRIORITY = (0, 8, 4, 12, 2, 10, 6, 14, 3, 11, 7, 15, 1, 9, 5, 13)


@dataclass(frozen=True)
class Note:
    """One note or hit.

    Attributes:
        voice: ``kick``, ``snare``, ``hat``, ``perc``, ``bass``, ``pad``, ``lead`` or ``vocal``.
        beat: Start within the bar, in beats (swing included).
        length: Duration in beats (drums: ignored).
        midi: MIDI pitch (0 for drums).
        velocity: 0..1.
    """

    voice: str
    beat: float
    length: float
    midi: int
    velocity: float


@dataclass(frozen=True)
class Controls:
    """The generation controls a bar is composed with (resolved: no "model decides" here)."""

    density: float = 0.5
    temperature: float = 1.1
    top_k: int = 40
    seed: int = 0
    mode: str = "QUALITY"


def variation(controls: Controls) -> float:
    """How far bars stray from the motif, 0..1, from temperature, top_k and mode."""
    breadth = 1.0 - math.exp(-(controls.top_k - 1) / 8.0)
    amount = controls.temperature / 3.0 * breadth
    if controls.mode == "DIVERSITY":
        amount *= 1.6
    return min(1.0, amount)


def _pitch(root: int, degree: int, octave_midi: int) -> int:
    """MIDI pitch of a scale degree (any integer) above the C at ``octave_midi``."""
    return octave_midi + root + 12 * (degree // 7) + MAJOR[degree % 7]


def compose_bar(
    style: Style, controls: Controls, root: int, bar: int, motif_seed: int
) -> list[Note]:
    """Compose one bar.

    Args:
        style: The blended style at the bar's start.
        controls: Density, temperature, top_k, seed and mode.
        root: Pitch class of the key's major tonic.
        bar: The bar number since the context started (drives the chord and the variation).
        motif_seed: Seeds the context's motif (the seed and the prompts).

    Returns:
        The bar's notes, in voice order.
    """
    motif = np.random.default_rng([motif_seed & 0xFFFFFFFF, 1])
    # The variation noise depends on the bar only through its own generator, so a bar is the
    # same whenever it is composed.
    vary = np.random.default_rng([controls.seed & 0xFFFFFFFF, bar, 2])
    amount = variation(controls)
    d = controls.density
    progression = PROGRESSIONS[(int(style.harmony * 3) + motif_seed) % len(PROGRESSIONS)]
    degree = progression[bar % len(progression)]

    def noise(n: int) -> np.ndarray:
        return amount * vary.uniform(-0.5, 0.5, n)

    swing = style.swing / 12.0  # delay of off-beat sixteenths, in beats

    def at(step: int) -> float:
        return step / 4.0 + (swing if step % 2 else 0.0)

    notes: list[Note] = []
    # --- drums -----------------------------------------------------------------------------
    f = style.four_on_floor
    kick = f * _FOUR + (1 - f) * _BROKEN + noise(STEPS) * 0.6
    notes += [Note("kick", at(s), 0.5, 0, 1.0) for s in range(STEPS) if kick[s] > 0.5]
    snare = np.zeros(STEPS)
    snare[[4, 12]] = 0.9
    ghosts = motif.permutation([7, 9, 14, 15, 3, 11])
    snare[ghosts[: round(style.drum_busy * d * 6)]] = 0.6
    snare += noise(STEPS) * 0.5
    notes += [
        Note("snare", at(s), 0.5, 0, 1.0 if s in (4, 12) else 0.35)
        for s in range(STEPS)
        if snare[s] > 0.5
    ]
    rate = min(1.0, style.hat_rate * 0.7 + d * 0.5)
    hat_steps = [s for s in range(STEPS) if s % 4 == 2]  # off-beats always
    if rate > 0.35:
        hat_steps += [s for s in range(STEPS) if s % 4 == 0]
    if rate > 0.7:
        hat_steps += [s for s in range(STEPS) if s % 2 == 1]
    hat = np.zeros(STEPS)
    hat[hat_steps] = 0.8
    hat += noise(STEPS) * 0.8
    notes += [
        Note("hat", at(s), 0.25, 0, 0.9 if s % 4 == 2 else 0.55)
        for s in range(STEPS)
        if hat[s] > 0.5
    ]
    percs = motif.permutation(STEPS)[: round(style.drum_busy * d * 5)]
    notes += [Note("perc", at(int(s)), 0.25, 0, 0.6) for s in sorted(percs)]
    # --- bass ------------------------------------------------------------------------------
    count = 1 + round(style.bass_motion * (2 + 6 * d))
    steps = sorted(_PRIORITY[:count])
    chord = (degree, degree + 2, degree + 4)
    for i, s in enumerate(steps):
        end = steps[i + 1] if i + 1 < len(steps) else STEPS
        choice = 0 if s % 8 == 0 else int(motif.integers(0, 3))
        choice = _choose(choice, 3, controls.top_k, amount, vary)
        note_degree = chord[choice] if style.bass_motion > 0.3 else degree
        midi = 40 + (_pitch(root, note_degree, 0) - 40) % 12  # E2..D#3, above the kick
        notes.append(Note("bass", at(s), (end - s) / 4.0 * 0.9, midi, 0.9))
    # --- pad -------------------------------------------------------------------------------
    tones = [0, 2, 4] + ([6] if style.harmony > 0.5 else []) + ([8] if style.harmony > 0.8 else [])
    base = 48 + int(style.register * 12)
    low = base - (base % 12)
    for t in tones:
        midi = _pitch(root, degree + t, low)
        while midi < base:
            midi += 12
        while midi > base + 19:
            midi -= 12
        notes.append(Note("pad", 0.0, 4.0, midi, 0.6))
    # --- lead ------------------------------------------------------------------------------
    count = round(STEPS * min(1.0, d**1.2 * (0.4 + style.lead)))
    order = motif.permutation(STEPS)
    lead_steps = sorted(int(s) for s in order[:count])
    contour = motif.integers(0, 5, STEPS)  # index into the chord tones, per step
    top = 67 + int(style.register * 12)
    for s in lead_steps:
        t = _choose(int(contour[s]), 5, controls.top_k, amount, vary)
        midi = _pitch(root, degree + (0, 2, 4, 7, 9)[t], top - top % 12)
        notes.append(Note("lead", at(s), 0.25 + 0.5 * (1 - style.attack), midi, 0.7))
    # --- vocal -----------------------------------------------------------------------------
    if controls.mode == "VOCALIZATION":
        for half in (0, 1):
            t = _choose(int(motif.integers(0, 3)), 3, controls.top_k, amount, vary)
            midi = _pitch(root, degree + (0, 2, 4)[t], 60)
            notes.append(Note("vocal", 2.0 * half, 1.9, midi, 0.8))
    return notes


def _choose(
    preferred: int, options: int, top_k: int, amount: float, vary: np.random.Generator
) -> int:
    """Pick an option: the preferred one, or with probability ``amount`` another of the top_k.

    Options are ranked by closeness to the preferred one; top_k limits how far a bar may stray.
    """
    draw = vary.random()
    pick = vary.integers(0, max(1, min(top_k, options)))
    if draw >= amount:
        return preferred
    ranked = sorted(range(options), key=lambda o: (abs(o - preferred), o))
    return ranked[int(pick)]


def motif_seed(seed: int, prompt_text: str) -> int:
    """The seed of a context's motif: the config seed and the prompt text."""
    return (seed * 1_000_003 + zlib.crc32(prompt_text.lower().encode())) & 0x7FFFFFFF
