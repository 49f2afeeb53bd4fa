"""Prompts to style: the engine's vocabulary and how weighted prompts blend.

A :class:`Style` is a point in a small space of musical parameters, each 0..1. Every word of the
vocabulary moves some of them away from :data:`NEUTRAL`; a prompt's style is the mean of its
words' styles; weighted prompts blend as the service does (weights normalised by their sum of
magnitudes); a negative weight pushes away from its prompt; ``guidance`` scales how far the
result moves from neutral (0: prompts are ignored, 4: the default, 6: exaggerated).

Unknown words still do something, deterministically: each is hashed to its own style.

>>> blend([("techno", 1.0)], guidance=4.0).four_on_floor
1.0
>>> blend([("techno", 1.0)], guidance=0.0) == NEUTRAL
True
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["NEUTRAL", "VOCABULARY", "Style", "blend", "style_of_text", "vocabulary_markdown"]


@dataclass(frozen=True)
class Style:
    """Musical parameters, each in 0..1.

    Attributes:
        four_on_floor: Kick on every beat (1) or a broken, half-time pattern (0).
        drum_busy: Ghost notes and extra percussion.
        hat_rate: Hi-hat subdivision: quarters (0), eighths (0.5), sixteenths (1).
        swing: Delay of the off-beat sixteenths (0 straight, 1 a heavy shuffle).
        bass_motion: Bass line from held roots (0) to moving eighths and arpeggios (1).
        harmony: Chords from triads (0) to sevenths and ninths (1), always in the scale.
        register: Pitch register of the pad and lead.
        brightness: Overtones of the pitched voices.
        attack: Soft, slow envelopes (0) or plucked, percussive ones (1).
        drums: Level of the drum kit.
        bass: Level of the bass.
        pad: Level of the sustained chords.
        lead: Level of the lead / arpeggio line.
        energy: Overall note density bias (used when the config leaves density to the model).
    """

    four_on_floor: float = 0.5
    drum_busy: float = 0.5
    hat_rate: float = 0.5
    swing: float = 0.2
    bass_motion: float = 0.5
    harmony: float = 0.4
    register: float = 0.5
    brightness: float = 0.5
    attack: float = 0.5
    drums: float = 0.6
    bass: float = 0.6
    pad: float = 0.5
    lead: float = 0.5
    energy: float = 0.5

    def values(self) -> tuple[float, ...]:
        """The parameters in field order."""
        return dataclasses.astuple(self)

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Style:
        """Build from parameters in field order, clipped to 0..1."""
        return cls(*(min(1.0, max(0.0, float(v))) for v in values))

    def lerp(self, other: Style, amount: float) -> Style:
        """The style ``amount`` (0..1) of the way from this one to ``other``."""
        return Style.from_values(
            a + (b - a) * amount for a, b in zip(self.values(), other.values(), strict=True)
        )


NEUTRAL = Style()

#: Each word moves some parameters. Multi-word entries match before single words.
VOCABULARY: dict[str, dict[str, float]] = {
    # genres
    "techno": dict(
        four_on_floor=1,
        hat_rate=0.6,
        swing=0,
        bass_motion=0.3,
        harmony=0.1,
        brightness=0.4,
        attack=0.8,
        pad=0.3,
        drums=0.9,
        energy=0.7,
    ),
    "house": dict(
        four_on_floor=1,
        hat_rate=0.5,
        swing=0.4,
        bass_motion=0.6,
        harmony=0.6,
        pad=0.6,
        drums=0.8,
        energy=0.6,
    ),
    "deep": dict(brightness=0.25, register=0.35, attack=0.3, pad=0.7, energy=0.4),
    "minimal": dict(drum_busy=0.2, bass_motion=0.2, harmony=0.1, pad=0.2, lead=0.2, energy=0.3),
    "trance": dict(
        four_on_floor=1,
        hat_rate=0.9,
        swing=0,
        harmony=0.3,
        register=0.7,
        brightness=0.8,
        lead=0.9,
        energy=0.8,
    ),
    "ambient": dict(
        four_on_floor=0,
        drum_busy=0,
        hat_rate=0,
        drums=0.05,
        bass=0.3,
        pad=1,
        lead=0.3,
        attack=0,
        harmony=0.7,
        energy=0.15,
    ),
    "drum and bass": dict(
        four_on_floor=0,
        drum_busy=0.9,
        hat_rate=1,
        swing=0.05,
        bass_motion=0.8,
        bass=0.9,
        drums=1,
        energy=0.9,
    ),
    "dnb": dict(
        four_on_floor=0, drum_busy=0.9, hat_rate=1, bass_motion=0.8, bass=0.9, drums=1, energy=0.9
    ),
    "dubstep": dict(
        four_on_floor=0,
        drum_busy=0.4,
        hat_rate=0.4,
        bass=1,
        bass_motion=0.7,
        brightness=0.7,
        energy=0.7,
    ),
    "hip hop": dict(
        four_on_floor=0, swing=0.7, hat_rate=0.6, bass=0.8, harmony=0.6, drums=0.8, energy=0.5
    ),
    "lofi": dict(
        four_on_floor=0, swing=0.8, brightness=0.15, harmony=0.9, attack=0.4, drums=0.5, energy=0.35
    ),
    "lo-fi": dict(
        four_on_floor=0, swing=0.8, brightness=0.15, harmony=0.9, attack=0.4, drums=0.5, energy=0.35
    ),
    "jazz": dict(
        four_on_floor=0,
        swing=0.9,
        bass_motion=1,
        harmony=1,
        drum_busy=0.6,
        hat_rate=0.5,
        attack=0.6,
        energy=0.55,
    ),
    "funk": dict(
        four_on_floor=0.3,
        swing=0.5,
        drum_busy=0.8,
        bass_motion=0.9,
        attack=0.9,
        harmony=0.7,
        energy=0.75,
    ),
    "disco": dict(
        four_on_floor=1, hat_rate=0.5, bass_motion=1, harmony=0.6, brightness=0.7, energy=0.75
    ),
    "reggae": dict(
        four_on_floor=0, swing=0.5, bass=0.9, bass_motion=0.4, attack=0.8, pad=0.2, energy=0.4
    ),
    "dub": dict(
        four_on_floor=0.2,
        drum_busy=0.3,
        bass=1,
        bass_motion=0.3,
        brightness=0.3,
        pad=0.3,
        energy=0.35,
    ),
    "rock": dict(
        four_on_floor=0.3,
        hat_rate=0.5,
        drum_busy=0.5,
        harmony=0.1,
        brightness=0.8,
        attack=0.7,
        drums=0.9,
        energy=0.75,
    ),
    "metal": dict(
        four_on_floor=0.6,
        hat_rate=1,
        drum_busy=0.9,
        harmony=0,
        brightness=1,
        attack=1,
        drums=1,
        energy=1,
    ),
    "pop": dict(
        four_on_floor=0.7, harmony=0.3, register=0.6, brightness=0.65, lead=0.7, energy=0.6
    ),
    "classical": dict(
        drums=0, bass=0.4, pad=0.8, lead=0.8, harmony=0.6, attack=0.3, swing=0, energy=0.5
    ),
    "orchestral": dict(
        drums=0.2, pad=1, lead=0.7, harmony=0.5, attack=0.2, register=0.55, energy=0.55
    ),
    "cinematic": dict(
        drums=0.3,
        four_on_floor=0,
        pad=1,
        harmony=0.4,
        register=0.4,
        brightness=0.45,
        attack=0.1,
        energy=0.45,
    ),
    "synthwave": dict(
        four_on_floor=0.8,
        hat_rate=0.5,
        swing=0,
        brightness=0.75,
        lead=0.8,
        pad=0.7,
        harmony=0.3,
        energy=0.65,
    ),
    "acid": dict(
        four_on_floor=1, bass_motion=1, bass=1, brightness=0.9, attack=1, pad=0.1, energy=0.8
    ),
    "breakbeat": dict(
        four_on_floor=0, drum_busy=0.85, hat_rate=0.7, swing=0.3, drums=0.95, energy=0.8
    ),
    "trap": dict(four_on_floor=0, hat_rate=1, drum_busy=0.7, bass=1, swing=0.1, energy=0.65),
    "garage": dict(four_on_floor=0.4, swing=0.85, drum_busy=0.6, bass_motion=0.7, energy=0.65),
    "afrobeat": dict(
        four_on_floor=0.5, drum_busy=0.9, swing=0.6, bass_motion=0.8, attack=0.8, energy=0.75
    ),
    "bossa nova": dict(
        four_on_floor=0,
        swing=0.3,
        harmony=1,
        bass_motion=0.6,
        drums=0.4,
        attack=0.6,
        brightness=0.4,
        energy=0.4,
    ),
    "blues": dict(four_on_floor=0, swing=1, harmony=0.7, bass_motion=0.8, energy=0.5),
    # instruments
    "piano": dict(attack=0.75, harmony=0.7, pad=0.7, brightness=0.55),
    "synth": dict(brightness=0.7, lead=0.7),
    "guitar": dict(attack=0.9, brightness=0.65, pad=0.6),
    "bass": dict(bass=1, bass_motion=0.7),
    "808": dict(bass=1, four_on_floor=0, drums=0.8),
    "strings": dict(pad=1, attack=0, harmony=0.6, register=0.6),
    "organ": dict(pad=0.9, attack=0.1, brightness=0.6, harmony=0.6),
    "bells": dict(register=1, brightness=0.9, attack=1, lead=0.8),
    "pads": dict(pad=1, attack=0, lead=0.2),
    "drums": dict(drums=1, drum_busy=0.7),
    "percussion": dict(drum_busy=1, drums=0.9, hat_rate=0.8),
    "choir": dict(pad=1, attack=0, register=0.6, brightness=0.4),
    "flute": dict(lead=1, register=0.85, attack=0.2, brightness=0.3),
    "marimba": dict(lead=0.9, attack=1, register=0.6, brightness=0.35),
    # moods
    "dark": dict(brightness=0.1, register=0.2, harmony=0.2),
    "bright": dict(brightness=0.95, register=0.8),
    "happy": dict(register=0.7, brightness=0.75, energy=0.65),
    "sad": dict(register=0.35, brightness=0.3, energy=0.3, attack=0.3),
    "chill": dict(energy=0.3, swing=0.5, attack=0.3, brightness=0.35),
    "energetic": dict(energy=0.95, hat_rate=0.9, drums=0.9, attack=0.8),
    "aggressive": dict(energy=1, brightness=0.9, attack=1, drums=1, drum_busy=0.8),
    "dreamy": dict(pad=1, attack=0, brightness=0.4, harmony=0.8, energy=0.25),
    "melancholic": dict(register=0.4, harmony=0.7, brightness=0.3, energy=0.3),
    "uplifting": dict(register=0.75, brightness=0.7, lead=0.8, energy=0.7),
    "epic": dict(pad=1, drums=0.9, register=0.5, energy=0.8),
    "warm": dict(brightness=0.3, attack=0.3, pad=0.7),
    "cold": dict(brightness=0.85, attack=0.9, pad=0.2),
    "groovy": dict(swing=0.6, bass_motion=0.9, drum_busy=0.7),
    "calm": dict(energy=0.15, drums=0.2, attack=0.2),
    "intense": dict(energy=1, drum_busy=0.9, hat_rate=1),
}

_FIELDS = tuple(f.name for f in dataclasses.fields(Style))
_PHRASES = sorted((k for k in VOCABULARY if " " in k), key=len, reverse=True)
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")


def _word_style(word: str) -> Style:
    overrides = VOCABULARY.get(word)
    if overrides is not None:
        return dataclasses.replace(NEUTRAL, **{k: float(v) for k, v in overrides.items()})
    # An unknown word: its own deterministic style, hashed from the word, kept musical
    # (0.15..0.85 for every parameter).
    seed = zlib.crc32(word.encode())
    values = [0.15 + 0.7 * ((seed >> (2 * i) & 0xFF) / 255.0) for i in range(len(_FIELDS))]
    return Style.from_values(values)


def style_of_text(text: str) -> Style:
    """The style of one prompt: the mean of its words' styles (neutral for empty text)."""
    rest = " " + text.lower() + " "
    styles: list[Style] = []
    for phrase in _PHRASES:
        while f" {phrase} " in rest:
            styles.append(_word_style(phrase))
            rest = rest.replace(f" {phrase} ", " ", 1)
    styles.extend(_word_style(w) for w in _WORD.findall(rest))
    if not styles:
        return NEUTRAL
    n = len(styles)
    return Style.from_values(sum(v) / n for v in zip(*(s.values() for s in styles), strict=True))


def blend(prompts: Sequence[tuple[str, float]], guidance: float = 4.0) -> Style:
    """Blend weighted prompts into one style.

    Args:
        prompts: ``(text, weight)`` pairs; weights may be negative (push away), never all 0.
        guidance: 0..6; how far the result moves from neutral towards the prompts.

    Returns:
        The blended style; :data:`NEUTRAL` for no prompts or guidance 0.
    """
    total = sum(abs(w) for _, w in prompts)
    if not prompts or total == 0 or guidance <= 0:
        return NEUTRAL
    strength = guidance / 4.0
    neutral = NEUTRAL.values()
    offset = [0.0] * len(neutral)
    for text, weight in prompts:
        values = style_of_text(text).values()
        for i, (v, n) in enumerate(zip(values, neutral, strict=True)):
            offset[i] += (weight / total) * (v - n)
    return Style.from_values(n + strength * o for n, o in zip(neutral, offset, strict=True))


def vocabulary_markdown() -> str:
    """The vocabulary as a Markdown table (docs/engine.md embeds it; a test keeps it current)."""
    lines = ["| word | moves |", "|---|---|"]
    neutral = dataclasses.asdict(NEUTRAL)
    for word, overrides in VOCABULARY.items():
        moves = []
        for name, value in overrides.items():
            arrow = "↑" if value > neutral[name] else "↓" if value < neutral[name] else "="
            moves.append(f"{name.replace('_', ' ')} {arrow}{value:g}")
        lines.append(f"| `{word}` | {', '.join(moves)} |")
    return "\n".join(lines) + "\n"
