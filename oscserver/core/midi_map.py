"""What MIDI does: control changes, notes and program changes turned into oscserver's messages.

A mapping is plain data, kept in a file a person can edit (``oscserver/adapters`` reads and
writes it), and every message it makes goes through the address table like one over OSC:

- a **control** (CC ``number``, on ``channel`` or any) sets any address that takes a number,
  a switch or a choice: its 0-127 spread over ``low``..``high`` (the address's own range when
  left out) through a ``curve`` (an exponent: 1 straight, 2 finer at the low end, 0.5 finer at
  the high end); a switch is on from 64, a choice takes its share of the travel;
- a **key** (a note, on ``channel`` or any) holds a prompt slot at a weight while pressed (0 when
  released), plays, pauses, or recalls a scene over some seconds;
- a **program change** P recalls scene P + 1 (program 0 is scene 1), when ``programs`` is on.

The default is Google's Prompt DJ MIDI's: CC 1 to 8 set the weights of prompts 1 to 8, 0 to 2;
program changes recall scenes. :class:`Learn` maps the next control moved to an address
(``/lyria/learn /lyria/density``).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field, fields, replace
from typing import Any

from oscserver.core.addresses import PROMPT_SLOTS, SCENES, Arg, Effect, Kind, lookup
from oscserver.core.errors import OscInputError
from oscserver.core.midi_in import ControlChange, MidiMessage, Note, ProgramChange

__all__ = ["Control", "Key", "Learn", "MidiMapping"]

Message = tuple[str, list[Any]]
#: What a key can do.
KEY_ACTIONS = ("prompt", "play", "pause", "scene")


def _settable(address: str) -> Arg:
    """The argument a control sets at ``address``.

    Raises:
        OscInputError: Not an address, or not one a control can set (a text, a query).
    """
    entry, _ = lookup(address)
    args = [a for a in entry.args if not a.optional]
    if entry.effect not in (Effect.CONFIG, Effect.LOCAL, Effect.PROMPT_WEIGHT) or len(args) != 1:
        raise OscInputError(f"{address}: a control sets a number, a switch or a choice; not this")
    return args[0]


@dataclass(frozen=True)
class Control:
    """A control change mapped to an address (see the module's docstring)."""

    number: int
    address: str
    channel: int | None = None
    low: float | None = None
    high: float | None = None
    curve: float = 1.0

    def message(self, value: int) -> Message:
        """The message for the control at ``value`` (0-127)."""
        arg = _settable(self.address)
        x = (max(0, min(127, value)) / 127) ** self.curve
        if arg.kind is Kind.BOOL:
            return self.address, [value >= 64]
        if arg.kind is Kind.ENUM:
            choices = arg.choices
            return self.address, [choices[min(len(choices) - 1, int(x * len(choices)))]]
        low = self.low if self.low is not None else float(arg.minimum or 0.0)
        high = self.high if self.high is not None else float(arg.maximum or 1.0)
        number = low + (high - low) * x
        if arg.kind is Kind.INT:
            return self.address, [round(number)]
        return self.address, [round(number, 4)]


@dataclass(frozen=True)
class Key:
    """A note mapped to an action.

    ``prompt``: slot ``number`` at ``weight`` while held; ``play``; ``pause``; ``scene``:
    recall scene ``number`` over ``seconds``.
    """

    note: int
    action: str
    number: int = 0
    channel: int | None = None
    weight: float = 1.0
    seconds: float = 0.0

    def messages(self, on: bool) -> list[Message]:
        """What pressing (``on``) or releasing the key does."""
        if self.action == "prompt":
            return [(f"/lyria/prompt/{self.number}/weight", [self.weight if on else 0.0])]
        if not on:
            return []
        if self.action == "scene":
            return [(f"/lyria/scene/{self.number}/recall", [self.seconds])]
        return [(f"/lyria/{self.action}", [])]


@dataclass(frozen=True)
class MidiMapping:
    """Every control and key, and whether program changes recall scenes."""

    controls: tuple[Control, ...] = ()
    keys: tuple[Key, ...] = ()
    programs: bool = True
    program_seconds: float = 0.0

    @classmethod
    def default(cls) -> MidiMapping:
        """Prompt DJ MIDI's: CC 1-8 to the weights of prompts 1-8 (0 to 2), programs to scenes."""
        controls = tuple(
            Control(n, f"/lyria/prompt/{n}/weight", low=0.0, high=2.0)
            for n in range(1, PROMPT_SLOTS + 1)
        )
        return cls(controls=controls)

    def messages(self, message: MidiMessage) -> list[Message]:
        """What one MIDI message does (nothing: an empty list)."""
        if isinstance(message, ControlChange):
            return [
                c.message(message.value)
                for c in self.controls
                if c.number == message.number and c.channel in (None, message.channel)
            ]
        if isinstance(message, Note):
            return [
                m
                for k in self.keys
                if k.note == message.note and k.channel in (None, message.channel)
                for m in k.messages(message.on)
            ]
        if isinstance(message, ProgramChange) and self.programs and message.program < SCENES:
            return [(f"/lyria/scene/{message.program + 1}/recall", [self.program_seconds])]
        return []

    def learned(self, control: Control) -> MidiMapping:
        """This mapping with ``control`` in place of any that the same CC on its channel set.

        (A control on any channel goes, for every channel: the knob learned must not also move
        what it moved before.)
        """

        def overlaps(c: Control) -> bool:
            channels = (c.channel, control.channel)
            return c.number == control.number and (None in channels or c.channel == control.channel)

        kept = tuple(c for c in self.controls if not overlaps(c))
        return replace(self, controls=(*kept, control))

    def to_data(self) -> dict[str, Any]:
        """The mapping as its file keeps it (what is left at its default is left out)."""

        def plain(rule: Control | Key, defaults: Control | Key) -> dict[str, Any]:
            return {
                k: v
                for k, v in vars(rule).items()
                if v is not None
                and (k in ("number", "address", "note", "action") or v != getattr(defaults, k))
            }

        return {
            "programs": self.programs,
            "program_seconds": self.program_seconds,
            "controls": [plain(c, Control(0, "")) for c in self.controls],
            "keys": [plain(k, Key(0, "")) for k in self.keys],
        }

    @classmethod
    def from_data(cls, data: MappingType[str, Any]) -> MidiMapping:
        """Read a mapping as :meth:`to_data` writes it (or as a person wrote it).

        Raises:
            OscInputError: An address a control cannot set (the message names it).
            ValueError: Anything else out of place (the message says what).
        """
        controls, keys = [], []
        for item in data.get("controls", []):
            control = Control(**_fields(item, Control, ("number", "address")))
            _midi_number("CC", control.number)
            _channel(control.channel)
            arg = _settable(control.address)
            for bound in (control.low, control.high):
                if bound is not None and arg.kind in (Kind.INT, Kind.FLOAT):
                    lo, hi = arg.minimum, arg.maximum
                    if (lo is not None and bound < lo) or (hi is not None and bound > hi):
                        raise ValueError(f"{control.address}: {bound} is outside {lo}..{hi}")
            if control.curve <= 0:
                raise ValueError(f"CC {control.number}: the curve must be above 0")
            controls.append(control)
        for item in data.get("keys", []):
            key = Key(**_fields(item, Key, ("note", "action")))
            _midi_number("note", key.note)
            _channel(key.channel)
            if key.action not in KEY_ACTIONS:
                raise ValueError(f"note {key.note}: the action is one of {', '.join(KEY_ACTIONS)}")
            top = {"prompt": PROMPT_SLOTS, "scene": SCENES}.get(key.action)
            if top is not None and not 1 <= key.number <= top:
                raise ValueError(f"note {key.note}: {key.action} {key.number} is not 1 to {top}")
            keys.append(key)
        return cls(
            tuple(controls),
            tuple(keys),
            bool(data.get("programs", True)),
            float(data.get("program_seconds", 0.0)),
        )


@dataclass
class Learn:
    """MIDI learn: the next control moved is mapped to the address waiting (one at a time)."""

    address: str | None = None
    _arg: Arg | None = field(default=None, repr=False)

    def start(self, address: str) -> None:
        """Wait for a control for ``address``.

        Raises:
            OscInputError: Not an address a control can set.
        """
        self._arg = _settable(address)
        self.address = address

    def moved(self, message: ControlChange) -> Control | None:
        """The control learned from ``message``, if an address was waiting (it waits no more)."""
        if self.address is None:
            return None
        control = Control(message.number, self.address, channel=message.channel)
        self.address = self._arg = None
        return control


def _fields(item: object, kind: type, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(item, MappingType):
        raise ValueError(f"each of the {kind.__name__.lower()}s is a table")
    allowed = {f.name for f in fields(kind)}
    unknown = set(item) - allowed
    if unknown:
        raise ValueError(f"{kind.__name__.lower()}: unknown {', '.join(sorted(unknown))}")
    missing = [r for r in required if r not in item]
    if missing:
        raise ValueError(f"{kind.__name__.lower()}: give its {' and '.join(missing)}")
    return dict(item)


def _midi_number(what: str, number: object) -> None:
    if not (isinstance(number, int) and 0 <= number <= 127):
        raise ValueError(f"{what} {number!r}: MIDI numbers are 0 to 127")


def _channel(channel: object) -> None:
    if channel is not None and not (isinstance(channel, int) and 1 <= channel <= 16):
        raise ValueError(f"channel {channel!r}: channels are 1 to 16")
