"""The musical state: prompts, generation config and playback, as immutable values.

:meth:`MusicalState.apply` takes one OSC message as plain values and returns the new state and
an :class:`Update` saying what changed. A refused message raises an
:class:`~oscserver.core.errors.OscInputError` and, since the state is immutable, changes nothing.

>>> state = MusicalState.initial()
>>> state, update = state.apply("/lyria/bpm", [124.0])
>>> state.config.bpm, sorted(update.config)
(124, ['bpm'])
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oscserver.core.addresses import PROMPT_SLOTS, Effect, coerce_args, lookup
from oscserver.core.errors import NotAvailable

__all__ = ["Config", "Local", "MusicalState", "Playback", "Prompt", "Query", "Update"]


class Playback(enum.Enum):
    """What the user asked playback to be."""

    STOPPED = "stopped"
    PLAYING = "playing"
    PAUSED = "paused"


@dataclass(frozen=True)
class Prompt:
    """One prompt slot."""

    text: str = ""
    weight: float = 1.0

    @property
    def active(self) -> bool:
        """True when the prompt is sent to the service: it has text and a non-zero weight."""
        return bool(self.text) and self.weight != 0.0


@dataclass(frozen=True)
class Config:
    """The musicGenerationConfig, field for field (snake_case names); None: the model decides.

    The defaults equal the address table's (a test checks it).
    """

    temperature: float = 1.1
    top_k: int = 40
    seed: int | None = None
    guidance: float = 4.0
    bpm: int | None = None
    density: float | None = None
    brightness: float | None = None
    scale: str = "SCALE_UNSPECIFIED"
    mute_bass: bool = False
    mute_drums: bool = False
    only_bass_and_drums: bool = False
    music_generation_mode: str = "QUALITY"


@dataclass(frozen=True)
class Local:
    """oscserver's own settings that OSC can change; never sent to the service.

    The defaults equal the address table's (a test checks it).
    """

    clock: str = "none"


#: Config fields that only take effect after RESET_CONTEXT (docs/protocol.md).
RESET_FIELDS = frozenset({"bpm", "scale"})


@dataclass(frozen=True)
class Query:
    """A message that asks: its effect, the address it is about, and its arguments.

    Attributes:
        effect: ``Effect.GET``, ``STATUS``, ``LISTEN`` or ``IGNORE``.
        target: For GET, the address whose value is asked (a table path with ``{slot}``, or
            ``*`` for all); else the effect's name.
        slot: The prompt slot for a per-slot getter, else None.
        args: The coerced arguments (host and port for LISTEN/IGNORE, None when left out).
    """

    effect: Effect
    target: str
    slot: int | None = None
    args: tuple[object, ...] = ()


@dataclass(frozen=True)
class Update:
    """What one or more messages changed.

    Attributes:
        config: Names of config fields whose value changed.
        local: Names of oscserver's own settings (:class:`Local`) whose value changed.
        prompts: Slots (1-based) whose text or weight changed.
        commands: Playback commands requested, in order (``PLAY``, ``PAUSE``, ``STOP``,
            ``RESET_CONTEXT``).
        values: ``(address, value)`` for every address whose value changed, in order, for
            replies and subscribers.
        queries: What was asked rather than set (``/lyria/get/...``, ``/lyria/status``,
            ``/lyria/listen``, ``/lyria/ignore``), in order, for the caller to answer.
        glides: ``(slot, target, seconds)`` for every weight message, in order: seconds > 0
            asks for a glide to the target (the weight itself is not changed yet: the caller
            owns the clock, see :mod:`~oscserver.core.glides`); 0 sets the weight at once and
            ends any glide on that slot.
        scenes: ``(store or recall, scene, seconds)`` for every scene message, in order, for
            the caller (who keeps the scenes and owns the clock) to carry out.
    """

    config: frozenset[str] = frozenset()
    local: frozenset[str] = frozenset()
    prompts: frozenset[int] = frozenset()
    commands: tuple[str, ...] = ()
    values: tuple[tuple[str, object], ...] = ()
    glides: tuple[tuple[int, float, float], ...] = ()
    queries: tuple[Query, ...] = ()
    scenes: tuple[tuple[str, int, float], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes or self.queries or self.scenes)

    @property
    def changes(self) -> bool:
        """True when the state changed or playback was commanded (not only queries)."""
        return bool(self.config or self.local or self.prompts or self.commands or self.glides)

    def merge(self, later: Update) -> Update:
        """Combine with an update that happened after this one (e.g. within one bundle)."""
        return Update(
            config=self.config | later.config,
            local=self.local | later.local,
            prompts=self.prompts | later.prompts,
            commands=self.commands + later.commands,
            values=self.values + later.values,
            glides=self.glides + later.glides,
            queries=self.queries + later.queries,
            scenes=self.scenes + later.scenes,
        )


_PLAYBACK_AFTER = {
    "PLAY": Playback.PLAYING,
    "PAUSE": Playback.PAUSED,
    "STOP": Playback.STOPPED,
}


@dataclass(frozen=True)
class MusicalState:
    """Everything the user has set. Immutable: every change makes a new state."""

    prompts: tuple[Prompt, ...]
    config: Config
    playback: Playback = Playback.STOPPED
    local: Local = Local()

    @classmethod
    def initial(
        cls, prompts: Sequence[tuple[str, float]] = (), local: Local | None = None
    ) -> MusicalState:
        """The state before any message arrives.

        Args:
            prompts: Optional ``(text, weight)`` for slots 1, 2, ... (at most PROMPT_SLOTS).
            local: oscserver's own settings as the command line chose them (default: the
                table's defaults).
        """
        slots = [Prompt(text, weight) for text, weight in prompts][:PROMPT_SLOTS]
        slots += [Prompt()] * (PROMPT_SLOTS - len(slots))
        return cls(prompts=tuple(slots), config=Config(), local=local or Local())

    @property
    def active_prompts(self) -> tuple[Prompt, ...]:
        """The prompts to send: text set and weight not 0, in slot order."""
        return tuple(p for p in self.prompts if p.active)

    def prompt(self, slot: int) -> Prompt:
        """Return the prompt in a 1-based slot."""
        return self.prompts[slot - 1]

    def apply(self, path: str, args: Sequence[object]) -> tuple[MusicalState, Update]:
        """Validate one OSC message and apply it.

        Args:
            path: The concrete OSC address.
            args: The decoded arguments.

        Returns:
            The new state and what changed. A message that sets a value to what it already is
            returns an empty update.

        Raises:
            OscInputError: The address is unknown or the arguments are refused; ``self`` is
                unchanged (it is immutable) and the caller keeps using it.
        """
        entry, slot = lookup(path)
        if entry.effect is Effect.SENT:
            raise NotAvailable(
                f"{path}: oscserver sends this address (to /lyria/listen/{entry.target}); it "
                "cannot be set"
            )
        if entry.effect is Effect.LISTEN and _is_switch(args):
            # A toggle (Pd's [tgl], a TouchDesigner toggle): 1 listens, 0 stops listening.
            effect = Effect.LISTEN if args[0] else Effect.IGNORE
            target = effect.value if entry.target == "listen" else entry.target
            query = Query(effect, target, None, (None, None))
            return self, Update(queries=(query,))
        values = coerce_args(entry, path, args)
        if entry.effect is Effect.SCENE:
            assert slot is not None  # (scene entries are all numbered)
            if entry.target == "store":
                return self, Update() if values[0] is False else Update(
                    scenes=(("store", slot, 0.0),)
                )
            seconds = _as_float(values[0]) if values[0] is not None else 0.0
            return self, Update(scenes=(("recall", slot, seconds),))
        if not entry.effect.changes_state:
            return self, Update(queries=(Query(entry.effect, entry.target, slot, values),))
        if entry.effect is Effect.PLAYBACK:
            if values[0] is False:  # a button release: nothing to do
                return self, Update()
            command = entry.target
            playback = _PLAYBACK_AFTER.get(command, self.playback)
            return dataclasses.replace(self, playback=playback), Update(commands=(command,))
        if entry.effect is Effect.LOCAL:
            if getattr(self.local, entry.target) == values[0]:
                return self, Update()
            setting: dict[str, Any] = {entry.target: values[0]}  # the table typed the value
            local = dataclasses.replace(self.local, **setting)
            update = Update(local=frozenset({entry.target}), values=((path, values[0]),))
            return dataclasses.replace(self, local=local), update
        if entry.effect is Effect.CONFIG:
            old = getattr(self.config, entry.target)
            if old == values[0] and type(old) is type(values[0]):
                return self, Update()
            changes: dict[str, Any] = {entry.target: values[0]}  # the table typed the value
            config = dataclasses.replace(self.config, **changes)
            update = Update(config=frozenset({entry.target}), values=((path, values[0]),))
            return dataclasses.replace(self, config=config), update
        assert slot is not None  # prompt entries are all per slot
        current = self.prompt(slot)
        glide: tuple[tuple[int, float, float], ...] = ()
        if entry.effect is Effect.PROMPT_TEXT:
            new = dataclasses.replace(current, text=str(values[0]))
        elif entry.effect is Effect.PROMPT_WEIGHT:
            seconds = _as_float(values[1]) if values[1] is not None else 0.0
            glide = ((slot, _as_float(values[0]), seconds),)
            if seconds > 0:  # the glide is the caller's: nothing changes yet
                return self, Update(glides=glide)
            new = dataclasses.replace(current, weight=_as_float(values[0]))
        else:
            new = Prompt(text=str(values[0]), weight=_as_float(values[1]))
            glide = ((slot, new.weight, 0.0),)
        if new == current:
            return self, Update(glides=glide)
        prompts = tuple(new if i == slot - 1 else p for i, p in enumerate(self.prompts))
        base = f"/lyria/prompt/{slot}"
        changed: list[tuple[str, object]] = []
        if new.text != current.text:
            changed.append((base + "/text", new.text))
        if new.weight != current.weight:
            changed.append((base + "/weight", new.weight))
        update = Update(prompts=frozenset({slot}), values=tuple(changed), glides=glide)
        return dataclasses.replace(self, prompts=prompts), update


def _as_float(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def _is_switch(args: Sequence[object]) -> bool:
    """One number or boolean: a toggle's on (non-zero) or off (0), not a host name."""
    return len(args) == 1 and isinstance(args[0], int | float)
