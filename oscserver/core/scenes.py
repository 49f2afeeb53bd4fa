"""Scenes: whole states kept, and recalled with a glide.

A scene is what a performance moves between: the eight prompt slots (text and weight) and the
model's settings (the generation config). Not playback (a recall does not start or stop the
music) and not oscserver's own settings (the clock).

Recalled over some seconds, it is reached the way a performer would move there by hand:

- a slot whose prompt stays glides its weight to the scene's;
- a prompt coming into a slot that is silent now (no text, or weight 0) comes in from weight 0;
- a prompt going out (the scene's slot is silent) fades to 0, and the slot then takes the
  scene's text and weight;
- a slot where one prompt gives way to another fades the old one out over the first half and
  the new one in over the second half (one slot holds one prompt: the text changes at 0);
- the continuous settings (guidance, temperature, density, brightness) glide from value to
  value; "the model decides" is handed back at the end. Everything else changes at once, at
  the start: a bpm or a scale through the context reset the session sends for them (a hard
  cut, the only way the service takes them), the mutes, the mode, the seed, top k.

Everything is in messages to the address table's own addresses (the glides are advanced by
:class:`oscserver.core.glides.Glides` on the caller's clock), so a recall is checked, sent and
told to listeners exactly as those messages from a patch would be. Plain data: the scenes'
file is :mod:`oscserver.adapters.scene_file`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from oscserver.core.addresses import AUTO, PROMPT_SLOTS, SCENES, TABLE, Effect
from oscserver.core.glides import Glide, Later
from oscserver.core.state import Config, MusicalState, Prompt

__all__ = ["GLIDING", "SCENES", "Scene", "recall"]

#: Config fields that glide on a recall (continuous values); the rest change at once.
GLIDING = frozenset({"guidance", "temperature", "density", "brightness"})
#: The address that sets each config field (``music_generation_mode`` is ``/lyria/mode``).
CONFIG_PATHS = {e.target: e.path for e in TABLE if e.effect is Effect.CONFIG}


@dataclass(frozen=True)
class Scene:
    """The prompt slots and the config of a moment."""

    prompts: tuple[Prompt, ...]
    config: Config

    @classmethod
    def of(cls, state: MusicalState) -> Scene:
        """The scene of ``state`` as it is now."""
        return cls(state.prompts, state.config)

    def messages(self) -> list[tuple[str, list[Any]]]:
        """The messages that set it, every slot and field (``auto`` where the model decides)."""
        out: list[tuple[str, list[Any]]] = []
        for slot, prompt in enumerate(self.prompts, start=1):
            out.append((f"/lyria/prompt/{slot}/text", [prompt.text]))
            out.append((f"/lyria/prompt/{slot}/weight", [prompt.weight]))
        for field in fields(Config):
            value = getattr(self.config, field.name)
            out.append((CONFIG_PATHS[field.name], [AUTO if value is None else value]))
        return out

    def to_data(self) -> dict[str, Any]:
        """The scene as a file keeps it: the slots with text, and every config field."""
        return {
            "prompts": {
                str(slot): {"text": p.text, "weight": p.weight}
                for slot, p in enumerate(self.prompts, start=1)
                if p.text
            },
            "config": {
                f.name: AUTO if (v := getattr(self.config, f.name)) is None else v
                for f in fields(Config)
            },
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Scene:
        """Read a scene as :meth:`to_data` writes it (or as a person wrote it by hand).

        Slots left out are silent; config fields left out take their defaults. Each value is
        checked by the address table, as the same message over OSC would be.

        Raises:
            OscInputError: A value the address would refuse (the message names it).
            ValueError: Not a scene's shape (the message says what is wrong).
        """
        prompts = data.get("prompts", {})
        config = data.get("config", {})
        if not isinstance(prompts, Mapping) or not isinstance(config, Mapping):
            raise ValueError("a scene has a table of prompts and a table of config")
        state = MusicalState.initial()
        for slot, prompt in prompts.items():
            if not (str(slot).isdigit() and 1 <= int(slot) <= PROMPT_SLOTS):
                raise ValueError(f"prompt slot {slot!r}: slots are 1 to {PROMPT_SLOTS}")
            if not isinstance(prompt, Mapping):
                raise ValueError(f"prompt {slot}: give its text and weight")
            base = f"/lyria/prompt/{int(slot)}"
            state, _ = state.apply(base + "/text", [prompt.get("text", "")])
            state, _ = state.apply(base + "/weight", [prompt.get("weight", 1.0)])
        for name, value in config.items():
            if name not in CONFIG_PATHS:
                raise ValueError(f"config {name!r}: not a setting ({', '.join(CONFIG_PATHS)})")
            state, _ = state.apply(CONFIG_PATHS[name], [value])
        return cls.of(state)


def recall(
    state: MusicalState, scene: Scene, seconds: float, now: float
) -> tuple[list[tuple[str, Glide]], list[Later]]:
    """How to go from ``state`` to ``scene`` over ``seconds`` from ``now`` (see above).

    Returns:
        The glides, ``(address, glide)``, and the messages to apply at set moments (those at
        ``now``: at once). With ``seconds`` 0, only messages at ``now``.
    """
    glides: list[tuple[str, Glide]] = []
    later: list[Later] = []
    end, half = now + seconds, now + seconds / 2

    def at(when: float, path: str, value: object) -> None:
        later.append(Later(when, path, (value,)))

    for slot, (old, new) in enumerate(zip(state.prompts, scene.prompts, strict=True), start=1):
        text, weight = f"/lyria/prompt/{slot}/text", f"/lyria/prompt/{slot}/weight"
        if old == new:
            continue
        if seconds <= 0:
            at(now, text, new.text)
            at(now, weight, new.weight)
        elif old.text == new.text or not (old.active or new.active):
            at(now, text, new.text)
            glides.append((weight, Glide(old.weight, new.weight, now, seconds)))
        elif not old.active:  # comes in from 0
            at(now, text, new.text)
            at(now, weight, 0.0)
            glides.append((weight, Glide(0.0, new.weight, now, seconds)))
        elif not new.active:  # goes out to 0, then the slot is the scene's
            glides.append((weight, Glide(old.weight, 0.0, now, seconds)))
            at(end, text, new.text)
            at(end, weight, new.weight)
        else:  # one gives way to the other
            glides.append((weight, Glide(old.weight, 0.0, now, seconds / 2)))
            at(half, text, new.text)
            glides.append((weight, Glide(0.0, new.weight, half, seconds / 2)))
    for field in fields(Config):
        old_value, new_value = getattr(state.config, field.name), getattr(scene.config, field.name)
        if old_value == new_value and type(old_value) is type(new_value):
            continue
        path = CONFIG_PATHS[field.name]
        if seconds > 0 and field.name in GLIDING and old_value is not None:
            if new_value is None:
                at(end, path, AUTO)  # (the model takes it back at the end)
            else:
                glides.append((path, Glide(float(old_value), float(new_value), now, seconds)))
        else:
            at(now, path, AUTO if new_value is None else new_value)
    return glides, later
