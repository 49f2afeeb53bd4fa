"""The engine's renderer: prompts and config in, 48 kHz stereo PCM out, chunk after chunk.

:class:`Synth` holds one context — tempo, key, the position since the context started — and
the mix it is playing. It behaves like the service:

- bpm and scale only change when a context starts (:meth:`Synth.reset`: RESET_CONTEXT, or PLAY
  after STOP), a hard transition (with a 10 ms fade of the old context, so it does not click);
- prompts and every other config field glide to their new values over one bar;
- PAUSE simply stops calling :meth:`render`, so the music resumes where it was.

A model that does not obey (the ``tempo`` fault): it plays at the asked bpm times
``tempo_factor``, and each context starts at a random point of its first bar, so the phase of
its beats is arbitrary, as the service's is. The synth knows where its beats are
(:attr:`Synth.contexts`, :meth:`Synth.beat_frames`): the truth a beat tracker is measured by.

Bars are composed by :func:`~oscserver.engine.composer.compose_bar` and voiced by
:mod:`~oscserver.engine.voices`. Rendering is deterministic: the same seed, prompts, config and
call sequence give bit-identical audio, however the frames are split into chunks.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oscserver.core.addresses import SCALES
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.engine.composer import Controls, Note, compose_bar, motif_seed
from oscserver.engine.style import NEUTRAL, Style, blend
from oscserver.engine.voices import SAMPLE_RATE, DrumKit, Tone, tone_segment

__all__ = ["DEFAULT_BPM", "SAMPLE_RATE", "Context", "Synth", "scale_root"]

#: The tempo when the config leaves bpm to the model.
DEFAULT_BPM = 120
DRUMS = frozenset({"kick", "snare", "hat", "perc"})
#: Level of each voice in the mix.
_LEVEL = {
    "kick": 0.9, "snare": 0.45, "hat": 0.2, "perc": 0.22,
    "bass": 0.55, "pad": 0.16, "lead": 0.22, "vocal": 0.3,
}  # fmt: skip
#: (left, right) gains of each voice.
_PAN = {
    "kick": (1.0, 1.0), "snare": (0.95, 1.0), "hat": (0.7, 1.0), "perc": (1.0, 0.65),
    "bass": (1.0, 1.0), "pad": (0.85, 1.0), "lead": (1.0, 0.8), "vocal": (1.0, 1.0),
}  # fmt: skip
_FADE = 480  # samples of fade-out of the old context at a hard transition (10 ms)


@dataclass(frozen=True)
class Context:
    """Where one context's beats are in the stream.

    Attributes:
        frame: The stream frame (counted from the synth's first) where the context began.
        start: Samples into its first bar the context began at (0 unless the phase is random).
        beat_length: Samples per beat, as played (the asked bpm times the tempo factor).
    """

    frame: int
    start: float
    beat_length: float

    def beat_frames(self, lo: int, hi: int) -> npt.NDArray[np.float64]:
        """Stream frames of the beats in ``[lo, hi)``.

        Only this context's beats; every fourth from its first bar's first beat (which may lie
        before the context began) starts a bar.
        """
        origin = self.frame - self.start  # the stream frame of the first bar's first beat
        first = max(0, math.ceil((max(lo, self.frame) - origin) / self.beat_length))
        last = math.ceil((hi - origin) / self.beat_length)
        beats = np.arange(first, max(first, last), dtype=np.float64)
        return origin + beats * self.beat_length


def scale_root(scale: str, fallback: int) -> int:
    """Pitch class (0 = C) of the major key a Lyria scale names; ``fallback`` if unspecified."""
    index = SCALES.index(scale)
    return fallback if index == 0 else index - 1


@dataclass(frozen=True)
class Mix:
    """What glides: the style, density, brightness and the level of each voice group."""

    style: Style
    density: float
    brightness: float
    drums: float
    bass: float
    pad: float
    lead: float
    vocal: float

    def lerp(self, other: Mix, amount: float) -> Mix:
        """The mix ``amount`` (0..1) of the way to ``other``."""
        if amount >= 1.0:
            return other
        if amount <= 0.0:
            return self
        numbers = {
            f.name: getattr(self, f.name)
            + (getattr(other, f.name) - getattr(self, f.name)) * amount
            for f in dataclasses.fields(self)
            if f.name != "style"
        }
        return Mix(style=self.style.lerp(other.style, amount), **numbers)

    def gain(self, voice: str) -> float:
        """The level of a voice's group (0 when muted)."""
        return float(self.drums if voice in DRUMS else getattr(self, voice))


def mix_of(config: MusicGenerationConfig, prompts: tuple[WeightedPrompt, ...]) -> Mix:
    """The mix a config and prompts ask for."""
    guidance = 4.0 if config.guidance is None else config.guidance
    style = blend([(p.text, p.weight) for p in prompts], guidance) if prompts else NEUTRAL
    only = bool(config.only_bass_and_drums)
    return Mix(
        style=style,
        density=style.energy if config.density is None else config.density,
        brightness=style.brightness if config.brightness is None else config.brightness,
        drums=0.0 if config.mute_drums else 0.4 + 0.6 * style.drums,
        bass=0.0 if config.mute_bass else 0.4 + 0.6 * style.bass,
        pad=0.0 if only else 0.3 + 0.7 * style.pad,
        lead=0.0 if only else 0.3 + 0.7 * style.lead,
        vocal=1.0 if config.music_generation_mode == "VOCALIZATION" and not only else 0.0,
    )


class Synth:
    """Renders the music, one chunk after another.

    Args:
        seed: Used when the config leaves the seed to the model.
        tempo_factor: Play at the asked bpm times this (a model that does not obey).
        phase_seed: When given, each context begins at a random point of its first bar
            (drawn from this seed): the beats' phase is arbitrary.
    """

    def __init__(
        self, seed: int = 0, tempo_factor: float = 1.0, phase_seed: int | None = None
    ) -> None:
        self._default_seed = seed
        self.tempo_factor = tempo_factor
        self._phase = random.Random(phase_seed) if phase_seed is not None else None
        #: Frames rendered since the synth was made (the stream's frame count).
        self.rendered = 0
        #: Every context so far, the last one playing (see :class:`Context`).
        self.contexts: list[Context] = []
        self._start = 0  # the position the context began at
        self.config = MusicGenerationConfig()
        self.prompts: tuple[WeightedPrompt, ...] = ()
        self._kit = DrumKit()
        self.position = 0  # samples rendered since the context started
        self._bars: dict[int, list[Note]] = {}
        self._tail: npt.NDArray[np.float32] | None = None
        # Set by reset(), which starts the first context:
        self._from: Mix
        self._to: Mix
        self._glide_start: int
        self.bpm: int
        self.root: int
        self.reset()

    # --- control -----------------------------------------------------------------------------

    def set_config(self, config: MusicGenerationConfig) -> None:
        """Take a new config: it glides in over a bar; bpm and scale wait for :meth:`reset`."""
        self.config = config
        self._retarget()

    def set_prompts(self, prompts: tuple[WeightedPrompt, ...]) -> None:
        """Take new weighted prompts; they glide in over a bar."""
        self.prompts = prompts
        self._retarget()

    def reset(self, fade: bool = True) -> None:
        """Start a new context: apply bpm and scale, start from the first bar, hard cut.

        Args:
            fade: Fade the old context out over 10 ms under the new one (RESET_CONTEXT while
                playing); False when nothing is playing (PLAY after STOP).
        """
        self._tail = None
        if fade and self.position > 0:
            tail = self._render_float(self.position, _FADE)
            tail *= np.linspace(1.0, 0.0, _FADE, dtype=np.float32)
            self._tail = tail
        self.bpm = self.config.bpm if self.config.bpm is not None else DEFAULT_BPM
        self.root = scale_root(self.config.scale or SCALES[0], self._motif() % 12)
        start = self._phase.uniform(0.0, self.bar_length) if self._phase is not None else 0.0
        self.position = self._start = round(start)
        self.contexts.append(Context(self.rendered, self._start, self.beat_length))
        self._bars.clear()
        self._from = self._to = mix_of(self.config, self.prompts)
        self._glide_start = self._start

    @property
    def bar_length(self) -> float:
        """Samples per bar (4 beats)."""
        return 4 * self.beat_length

    @property
    def beat_length(self) -> float:
        """Samples per beat, as played."""
        return SAMPLE_RATE * 60.0 / self.tempo

    @property
    def tempo(self) -> float:
        """The tempo played, in beats a minute: the bpm asked for times the tempo factor."""
        return self.bpm * self.tempo_factor

    def beat_frames(self, lo: int, hi: int) -> npt.NDArray[np.float64]:
        """Stream frames of every beat played in ``[lo, hi)``, across contexts."""
        found = []
        for i, context in enumerate(self.contexts):
            end = self.contexts[i + 1].frame if i + 1 < len(self.contexts) else hi
            found.append(context.beat_frames(lo, min(hi, end)))
        return np.concatenate(found) if found else np.zeros(0)

    def _seed(self) -> int:
        return self.config.seed if self.config.seed is not None else self._default_seed

    def _motif(self) -> int:
        return motif_seed(self._seed(), "|".join(p.text for p in self.prompts))

    def _retarget(self) -> None:
        target = mix_of(self.config, self.prompts)
        self._from = self._mix_at(self.position)
        self._to = target
        self._glide_start = self.position
        # Bars not started yet are composed again with the new controls.
        for bar in [b for b in self._bars if round(b * self.bar_length) >= self.position]:
            del self._bars[bar]

    def _mix_at(self, sample: int) -> Mix:
        amount = (sample - self._glide_start) / self.bar_length
        return self._from.lerp(self._to, amount)

    # --- rendering ---------------------------------------------------------------------------

    def render(self, frames: int) -> bytes:
        """Render the next ``frames`` frames as interleaved s16le stereo PCM."""
        out = self._render_float(self.position, frames)
        if self._tail is not None:
            n = min(len(self._tail[0]), frames)
            out[:, :n] += self._tail[:, :n]
            self._tail = self._tail[:, n:] if n < len(self._tail[0]) else None
        self.position += frames
        self.rendered += frames
        # Soft-clip, leaving about 3 dB of headroom below full scale.
        pcm: npt.NDArray[np.int16] = np.clip(
            np.tanh(out * 0.9) * 0.7 * 32767.0, -32768, 32767
        ).astype("<i2")
        return pcm.T.tobytes()

    def _render_float(self, lo: int, frames: int) -> npt.NDArray[np.float32]:
        hi = lo + frames
        out = np.zeros((2, frames), dtype=np.float32)
        bar_len = self.bar_length
        first = max(0, math.floor((lo - 1.2 * bar_len) / bar_len))
        last = math.floor((hi - 1) / bar_len)
        for bar in range(first, last + 1):
            bar_start = round(bar * bar_len)
            for note in self._bar(bar):
                self._add_note(out, note, bar_start, lo, hi)
        return out

    def _bar(self, bar: int) -> list[Note]:
        notes = self._bars.get(bar)
        if notes is None:
            start = round(bar * self.bar_length)
            mix = self._mix_at(start)
            c = self.config
            controls = Controls(
                density=mix.density,
                temperature=1.1 if c.temperature is None else c.temperature,
                top_k=40 if c.top_k is None else c.top_k,
                seed=self._seed(),
                mode=c.music_generation_mode or "QUALITY",
            )
            notes = compose_bar(mix.style, controls, self.root, bar, self._motif())
            self._bars[bar] = notes
            for old in [b for b in self._bars if b < bar - 2]:
                del self._bars[old]
        return notes

    def _add_note(
        self, out: npt.NDArray[np.float32], note: Note, bar_start: int, lo: int, hi: int
    ) -> None:
        start = bar_start + round(note.beat * self.beat_length)
        if start < self._start:  # before the context began: never struck
            return
        drum = note.voice in DRUMS
        length = self._kit.length(note.voice) if drum else round(note.length * self.beat_length)
        a, b = max(lo, start), min(hi, start + length)
        if b <= a:
            return
        # Levels and brightness follow the glide sample by sample; the rest of the timbre is
        # fixed when the note starts.
        amount = self._glide_amount(a, b)
        level = note.velocity * _LEVEL[note.voice]
        old, new = self._from.gain(note.voice), self._to.gain(note.voice)
        if old <= 0.0 and new <= 0.0:
            return
        gain = (old + (new - old) * amount) * level
        if drum:
            segment = self._kit.segment(note.voice, start, lo, hi)
        else:
            brightness = (
                self._from.brightness + (self._to.brightness - self._from.brightness) * amount
            )
            tone = _tone(note.voice, self._mix_at(start))
            segment = tone_segment(
                note.midi, start, length, tone, lo, hi, _voice_brightness(note.voice, brightness)
            )
        if segment is None:
            return
        offset, wave = segment
        left, right = _PAN[note.voice]
        out[0, offset : offset + len(wave)] += (gain * left) * wave
        out[1, offset : offset + len(wave)] += (gain * right) * wave

    def _glide_amount(self, a: int, b: int) -> float | npt.NDArray[np.float32]:
        """How far the glide is (0..1) at each sample of ``[a, b)``; one value when constant."""
        bar = self.bar_length
        first, last = (a - self._glide_start) / bar, (b - 1 - self._glide_start) / bar
        if last <= 0.0 or first >= 1.0:
            return float(min(1.0, max(0.0, first)))
        ramp = (np.arange(a, b, dtype=np.float64) - self._glide_start) / bar
        return np.clip(ramp, 0.0, 1.0).astype(np.float32)


def _voice_brightness(
    voice: str, b: float | npt.NDArray[np.float32]
) -> float | npt.NDArray[np.float32]:
    """The brightness a voice plays at for the mix's brightness ``b``."""
    if voice == "bass":
        return 0.1 + 0.5 * b
    if voice == "vocal":
        return 0.5 * b
    return b


def _tone(voice: str, mix: Mix) -> Tone:
    # Attacks of at least 8 ms and releases of 40 ms and more: no clicks, and each note's
    # spectrum stays within its semitone (a sharp edge would smear it over its neighbours).
    b, a = mix.brightness, mix.style.attack
    if voice == "bass":
        return Tone(brightness=0.1 + 0.5 * b, attack=0.008, decay=1.5 + 4 * a, release=0.05)
    if voice == "pad":
        return Tone(brightness=b, attack=0.02 + 0.3 * (1 - a), decay=0.4 * a, release=0.15)
    if voice == "lead":
        return Tone(brightness=b, attack=0.008 + 0.04 * (1 - a), decay=2 + 8 * a, release=0.04)
    return Tone(brightness=0.5 * b, attack=0.08, release=0.15, vibrato=0.25, formant=0.8)
