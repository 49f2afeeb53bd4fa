"""The OSC address table: one declaration per address, the single source of truth.

Dispatch (:mod:`oscserver.core.state`), argument validation (:func:`coerce_args`), replies, the
generated reference in ``docs/osc.md`` (:mod:`oscserver.core.reference`) and, later, OSCQuery all
read this table. To add an address, add one :class:`Address` to :data:`TABLE`; nothing else needs
to know its path.

Argument coercion follows what creative tools really send (OSC 1.0 type tags ``i f s``, OSC 1.1
``T F N``, python-osc also decodes ``h d S``):

- a number where a number is expected, int or float alike (TouchDesigner sends only floats, Max
  often ints); floats for integer parameters are rounded to the nearest integer;
- booleans as ``T``/``F``, numbers (0 is false, any other number true) or the words
  true/false, on/off, yes/no;
- enums by name, case-insensitively, or by 0-based index into the documented list (as a Max
  ``umenu`` or Pd radio outputs it);
- prompt text as one string or as several words (Max and Pd send ``deep house`` as two symbols),
  joined with spaces;
- ``auto`` or ``N`` (nil) for parameters that the model can decide for itself, to hand them
  back to it (``auto`` is what replies say, and what Pd, which cannot send ``N``, can send).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from oscserver.core.errors import BadArguments, OutOfRange, UnknownAddress
from oscserver.core.keys import scale_for_key

__all__ = [
    "AUTO",
    "CLOCKS",
    "MODES",
    "OUTBOUND",
    "PROMPT_SLOTS",
    "PULSE_TOPICS",
    "QUERIES",
    "SCALES",
    "SCENES",
    "TABLE",
    "Address",
    "Arg",
    "Effect",
    "Kind",
    "coerce_args",
    "lookup",
]

#: Prompt slots are numbered 1..PROMPT_SLOTS in addresses (``/lyria/prompt/1/text``).
PROMPT_SLOTS = 8
#: Scenes are numbered 1..SCENES (``/lyria/scene/1/store``; MIDI program change 0 is scene 1).
SCENES = 16
#: The numbers an address may carry, by the placeholder standing for them in a table path.
_NUMBERED = {"{slot}": PROMPT_SLOTS, "{scene}": SCENES}

#: Lyria RealTime scales (docs/protocol.md, "Config fields"); each names a major
#: key and its relative minor. The order is the documented index order.
SCALES: tuple[str, ...] = (
    "SCALE_UNSPECIFIED",
    "C_MAJOR_A_MINOR",
    "D_FLAT_MAJOR_B_FLAT_MINOR",
    "D_MAJOR_B_MINOR",
    "E_FLAT_MAJOR_C_MINOR",
    "E_MAJOR_D_FLAT_MINOR",
    "F_MAJOR_D_MINOR",
    "G_FLAT_MAJOR_E_FLAT_MINOR",
    "G_MAJOR_E_MINOR",
    "A_FLAT_MAJOR_F_MINOR",
    "A_MAJOR_G_FLAT_MINOR",
    "B_FLAT_MAJOR_G_MINOR",
    "B_MAJOR_A_FLAT_MINOR",
)

#: Lyria RealTime musicGenerationMode values.
MODES: tuple[str, ...] = ("QUALITY", "DIVERSITY", "VOCALIZATION")
#: What a sender can listen to besides value changes: the music's pulse (``/lyria/listen/...``).
PULSE_TOPICS: tuple[str, ...] = ("beat", "analysis")

#: The clocks oscserver can put the music's beats on (``--clock``, ``/lyria/clock``).
CLOCKS: tuple[str, ...] = ("none", "internal", "link", "jack", "midi")


class Kind(enum.Enum):
    """The value type an argument is coerced to."""

    FLOAT = "f"
    INT = "i"
    BOOL = "T"
    STRING = "s"
    ENUM = "s "  # a string from a fixed list; distinct value from STRING


class Effect(enum.Enum):
    """What a message to an address does to the musical state."""

    CONFIG = "config"  # sets the musicGenerationConfig field named by Address.target
    PROMPT_TEXT = "prompt_text"
    PROMPT_WEIGHT = "prompt_weight"
    PROMPT = "prompt"  # text and weight together
    PLAYBACK = "playback"  # PLAY / PAUSE / STOP / RESET_CONTEXT, named by Address.target
    LOCAL = "local"  # sets oscserver's own setting named by Address.target (not the service's)
    GET = "get"  # replies with the value(s) of the address named by Address.target
    STATUS = "status"  # replies with the connection, playback and audio counters
    LISTEN = "listen"  # subscribes the sender (or a host and port) to value changes
    IGNORE = "ignore"  # ends a subscription
    SENT = "sent"  # a message oscserver sends (the music's pulse): read-only
    SCENE = "scene"  # keeps or recalls a scene (Address.target: store or recall)
    LEARN = "learn"  # maps the next MIDI control moved to an address (MIDI learn)

    @property
    def changes_state(self) -> bool:
        """True for the effects that set a value or command playback."""
        return self in _STATE_EFFECTS


@dataclass(frozen=True)
class Arg:
    """One argument of an address.

    Attributes:
        name: Short name used in error messages and the reference.
        kind: The type the value is coerced to.
        minimum: Inclusive lower bound for numbers, or None.
        maximum: Inclusive upper bound for numbers, or None.
        choices: Allowed names for ``Kind.ENUM``.
        rest: Takes every remaining argument (words of a prompt), joined with spaces.
        optional: May be left out entirely (trigger addresses).
        nullable: ``N`` (nil) is accepted and means "let the model decide".
    """

    name: str
    kind: Kind
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    rest: bool = False
    optional: bool = False
    nullable: bool = False

    def describe(self) -> str:
        """Return a human-readable summary of the accepted values, e.g. ``int 60..200``."""
        if self.kind is Kind.ENUM:
            return "one of " + ", ".join(self.choices)
        text = {
            Kind.FLOAT: "float",
            Kind.INT: "int",
            Kind.BOOL: "bool",
            Kind.STRING: "string",
        }[self.kind]
        if self.minimum is not None and self.maximum is not None:
            text += f" {_num(self.minimum)}..{_num(self.maximum)}"
        if self.nullable:
            text += " or auto"
        return text


@dataclass(frozen=True)
class Address:
    """One OSC address (or, with ``{slot}`` in its path, one per prompt slot).

    Attributes:
        path: The address, with ``{slot}`` standing for a prompt slot number.
        args: The arguments, in order.
        effect: What a message does.
        target: The config field (wire name in snake_case) or playback command it acts on.
        default: The value before any message arrives; None means the model decides.
        description: One sentence for the reference, OSCQuery and error messages.
    """

    path: str
    args: tuple[Arg, ...]
    effect: Effect
    target: str
    default: object
    description: str

    @property
    def per_slot(self) -> bool:
        """True when the path contains a prompt slot number."""
        return "{slot}" in self.path

    def concrete_paths(self) -> Iterator[tuple[str, int | None]]:
        """Yield every concrete path this entry answers, with its number (slot, scene, or None)."""
        for placeholder, count in _NUMBERED.items():
            if placeholder in self.path:
                for n in range(1, count + 1):
                    yield self.path.replace(placeholder, str(n)), n
                return
        yield self.path, None

    @property
    def signature(self) -> str:
        """The OSC type-tag style signature, e.g. ``f`` or ``s f``; empty for triggers."""
        return " ".join(a.kind.value.strip() for a in self.args if not a.optional)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _config(
    name: str,
    arg: Arg,
    default: object,
    description: str,
    path: str | None = None,
) -> Address:
    return Address(
        path=path or f"/lyria/{name}",
        args=(arg,),
        effect=Effect.CONFIG,
        target=name,
        default=default,
        description=description,
    )


def _trigger(name: str, command: str, description: str) -> Address:
    return Address(
        path=f"/lyria/{name}",
        args=(Arg("trigger", Kind.BOOL, optional=True),),
        effect=Effect.PLAYBACK,
        target=command,
        default=None,
        description=description
        + " Sent with no argument or a true/non-zero one; a 0 or F (a button release) is ignored.",
    )


_TEXT = Arg("text", Kind.STRING, rest=True)
_WEIGHT = Arg("weight", Kind.FLOAT, minimum=-2.0, maximum=2.0)

#: Every OSC address oscserver understands. Ranges and defaults are the Lyria RealTime ones
#: (docs/protocol.md, "Config fields").
TABLE: tuple[Address, ...] = (
    Address(
        "/lyria/prompt/{slot}/text",
        (_TEXT,),
        Effect.PROMPT_TEXT,
        "text",
        "",
        "Text of a weighted prompt (genre, instrument, mood...). Empty text disables the slot.",
    ),
    Address(
        "/lyria/prompt/{slot}/weight",
        (_WEIGHT, Arg("seconds", Kind.FLOAT, 0.0, 3600.0, optional=True)),
        Effect.PROMPT_WEIGHT,
        "weight",
        1.0,
        "Weight of a prompt; the service normalises weights to sum to 1, negative weights push "
        "away, 0 leaves the prompt out. With seconds, the weight glides there over that time "
        "through intermediate values (a smooth transition); a later weight for the slot ends "
        "the glide.",
    ),
    Address(
        "/lyria/prompt/{slot}",
        (_TEXT, _WEIGHT),
        Effect.PROMPT,
        "prompt",
        None,
        "Text and weight of a prompt in one message; the last argument is the weight.",
    ),
    _config(
        "bpm",
        Arg("bpm", Kind.INT, 60, 200, nullable=True),
        None,
        "Tempo in beats per minute. Takes effect through a context reset (a hard transition).",
    ),
    _config(
        "density",
        Arg("density", Kind.FLOAT, 0.0, 1.0, nullable=True),
        None,
        "How many notes: 0 sparse, 1 busy.",
    ),
    _config(
        "brightness",
        Arg("brightness", Kind.FLOAT, 0.0, 1.0, nullable=True),
        None,
        "Tonal brightness: higher emphasises high frequencies.",
    ),
    _config(
        "guidance",
        Arg("guidance", Kind.FLOAT, 0.0, 6.0),
        4.0,
        "How closely the model follows the prompts; high values make transitions more abrupt.",
    ),
    _config(
        "temperature",
        Arg("temperature", Kind.FLOAT, 0.0, 3.0),
        1.1,
        "Randomness of the generation.",
    ),
    _config(
        "top_k",
        Arg("top_k", Kind.INT, 1, 1000),
        40,
        "Sampling breadth: how many candidate tokens the model chooses among.",
    ),
    _config(
        "seed",
        Arg("seed", Kind.INT, 0, 2147483647, nullable=True),
        None,
        "Random seed; N lets the service pick one.",
    ),
    _config(
        "scale",
        Arg("scale", Kind.ENUM, choices=SCALES),
        "SCALE_UNSPECIFIED",
        "Musical scale (a major key and its relative minor). Takes effect through a context reset.",
    ),
    _config("mute_bass", Arg("on", Kind.BOOL), False, "Mute the bass."),
    _config("mute_drums", Arg("on", Kind.BOOL), False, "Mute the drums."),
    _config(
        "only_bass_and_drums",
        Arg("on", Kind.BOOL),
        False,
        "Play only bass and drums.",
    ),
    _config(
        "music_generation_mode",
        Arg("mode", Kind.ENUM, choices=MODES),
        "QUALITY",
        "Generation mode: QUALITY, DIVERSITY or VOCALIZATION.",
        path="/lyria/mode",
    ),
    Address(
        "/lyria/clock",
        (Arg("clock", Kind.ENUM, choices=CLOCKS),),
        Effect.LOCAL,
        "clock",
        "none",
        "The clock the music's beats are put on (docs/sync.md): none, internal (a steady beat "
        "at /lyria/bpm from play), link (the Ableton Link session on this network), jack "
        "(JACK transport's timebase master) or midi (the MIDI clock on --midi's port). Needs "
        "--continuity stretch and beat tracking; a "
        "clock that cannot be opened is refused and the one before kept.",
    ),
    _trigger("play", "PLAY", "Start or resume playback."),
    _trigger("pause", "PAUSE", "Pause; PLAY resumes where the music was."),
    _trigger("stop", "STOP", "Stop and reset the context; prompts and config are kept."),
    _trigger(
        "reset",
        "RESET_CONTEXT",
        "Reset the context without stopping: a hard transition that applies bpm and scale.",
    ),
    Address(
        "/lyria/scene/{scene}/store",
        (Arg("trigger", Kind.BOOL, optional=True),),
        Effect.SCENE,
        "store",
        None,
        "Keeps the prompts and the config as scene N (1 to 16; in the --scenes file, if one is "
        "given, so it survives restarts). A 0 or F (a button release) is ignored.",
    ),
    Address(
        "/lyria/scene/{scene}/recall",
        (Arg("seconds", Kind.FLOAT, 0.0, 3600.0, optional=True),),
        Effect.SCENE,
        "recall",
        None,
        "Goes to scene N over seconds (left out or 0: at once): weights, guidance, "
        "temperature, density and brightness glide; a prompt coming in or going out fades "
        "through weight; the rest changes at the start (bpm and scale through a context "
        "reset).",
    ),
    Address(
        "/lyria/learn",
        (Arg("address", Kind.STRING),),
        Effect.LEARN,
        "learn",
        None,
        "MIDI learn (with --midi): the next control change moved is mapped to the address "
        "given (one that takes a number, a switch or a choice, e.g. /lyria/density), over its "
        "range, and kept in the --midi-map file. Replies /lyria/learned <address> <channel> "
        "<control number> when done.",
    ),
)

_STATE_EFFECTS = frozenset(
    {
        Effect.CONFIG,
        Effect.PROMPT_TEXT,
        Effect.PROMPT_WEIGHT,
        Effect.PROMPT,
        Effect.PLAYBACK,
        Effect.LOCAL,
    }
)
#: The word for "the model decides", in replies and as an argument (``N`` works too).
AUTO = "auto"
_AUTO_NOTE = "1/0 for on/off, auto when the model decides"
_POKE = Arg("trigger", Kind.BOOL, optional=True)  # Pd's bang, TouchDesigner's pulse value
_HOST = (
    Arg("host", Kind.STRING, optional=True),
    Arg("port", Kind.INT, 1, 65535, optional=True),
)


def _getter(entry: Address) -> Address:
    shown = entry.path.replace("{slot}", "N")
    return Address(
        path="/lyria/get" + entry.path.removeprefix("/lyria"),
        args=(_POKE,),
        effect=Effect.GET,
        target=entry.path,
        default=None,
        description=f"Replies with the current value at {shown} itself ({_AUTO_NOTE}).",
    )


#: The addresses that ask rather than set: a getter per value, status and subscriptions.
QUERIES: tuple[Address, ...] = (
    *(_getter(e) for e in TABLE if e.effect not in (Effect.PLAYBACK, Effect.SCENE, Effect.LEARN)),
    Address(
        "/lyria/get",
        (_POKE,),
        Effect.GET,
        "*",
        None,
        "Replies with every value, one message per address, as the getters do.",
    ),
    Address(
        "/lyria/status",
        (_POKE,),
        Effect.STATUS,
        "status",
        None,
        "Replies /lyria/status <connection> <playback> <buffered seconds> <underruns> <xruns> "
        "<OSC messages received> <OSC messages refused> <stretch ratio> <seconds bridged> "
        "<seconds from the last change to hearing it, 0 until measured> <clock: none, internal, "
        "link or jack> <clock bpm> <lock: seeking, locked, beyond the stretch; empty without a "
        "clock> <ms the music's beats are late against the clock's>.",
    ),
    Address(
        "/lyria/get/tempo",
        (_POKE,),
        Effect.STATUS,
        "tempo",
        None,
        "Replies /lyria/tempo <bpm> <steady>: the music's tempo as measured from the stream "
        "(not the bpm asked for, which the service only approximates; 0 until measured, with "
        "--continuity stretch) and 1 when its beats fit a steady pulse.",
    ),
    Address(
        "/lyria/listen",
        _HOST,
        Effect.LISTEN,
        "listen",
        None,
        "Subscribes the sender (or host and port) to every value change, sent at the value's "
        "own address as it happens (at most every 20 ms per address), after a snapshot of all. "
        "A number works as a toggle: 1 subscribes the sender, 0 ends it.",
    ),
    Address(
        "/lyria/ignore",
        _HOST,
        Effect.IGNORE,
        "ignore",
        None,
        "Ends the subscription of the sender (or of host and port).",
    ),
    Address(
        "/lyria/listen/beat",
        _HOST,
        Effect.LISTEN,
        "beat",
        None,
        "Subscribes the sender (or host and port) to /lyria/beat on every beat of the music, "
        "sent as the beat is heard (or --osc-lookahead seconds before, in a timetagged "
        "bundle). A number works as a toggle: 1 subscribes the sender, 0 ends it.",
    ),
    Address(
        "/lyria/listen/analysis",
        _HOST,
        Effect.LISTEN,
        "analysis",
        None,
        "Subscribes the sender (or host and port) to /lyria/level and /lyria/bands at "
        "--analysis-rate and /lyria/onset on each onset, each sent as its sound is heard (or "
        "--osc-lookahead seconds before, in a timetagged bundle). A number works as a toggle.",
    ),
    Address(
        "/lyria/ignore/beat",
        _HOST,
        Effect.IGNORE,
        "beat",
        None,
        "Ends the sender's (or host and port's) /lyria/beat messages.",
    ),
    Address(
        "/lyria/ignore/analysis",
        _HOST,
        Effect.IGNORE,
        "analysis",
        None,
        "Ends the sender's (or host and port's) level, bands and onset messages.",
    ),
)

_BAND = "0..1: -60 dB or less to 0 dB against a full-scale sine"

#: The addresses oscserver sends to listeners (``/lyria/listen/beat``, ``.../analysis``):
#: in the table for OSCQuery (read-only) and the reference; a message sent to one is refused.
OUTBOUND: tuple[Address, ...] = (
    Address(
        "/lyria/beat",
        (Arg("bar", Kind.INT), Arg("beat", Kind.INT, 1), Arg("bpm", Kind.FLOAT, 0.0)),
        Effect.SENT,
        "beat",
        None,
        "Sent on every beat as it is heard: the bar (counting from 1), the beat in the bar "
        "(from 1) and the tempo. Locked to a clock (--clock), the clock's bars and beats; "
        "otherwise the music's own, counted from the first beat heard until its bar lines "
        "are found.",
    ),
    Address(
        "/lyria/onset",
        (Arg("strength", Kind.FLOAT, 0.0, 1.0),),
        Effect.SENT,
        "analysis",
        None,
        "Sent as a note or hit begins: its strength against the strongest onset of the last "
        "3 s (1: as strong as any lately).",
    ),
    Address(
        "/lyria/level",
        (Arg("rms", Kind.FLOAT, 0.0, 1.0), Arg("peak", Kind.FLOAT, 0.0, 1.0)),
        Effect.SENT,
        "analysis",
        None,
        "Sent --analysis-rate times a second: the loudness of the next period as it is heard, "
        "root mean square and peak on the samples' scale (1: full scale).",
    ),
    Address(
        "/lyria/bands",
        tuple(Arg(f"band{k}", Kind.FLOAT, 0.0, 1.0) for k in range(1, 9)),
        Effect.SENT,
        "analysis",
        None,
        "Sent with /lyria/level: 8 bands from 40 Hz to 16 kHz, log-spaced (edges 40, 85, "
        f"179, 378, 800, 1692, 3578, 7566, 16000 Hz), each {_BAND}.",
    ),
)
TABLE = TABLE + QUERIES + OUTBOUND

_INDEX: dict[str, tuple[Address, int | None]] = {
    path: (entry, slot) for entry in TABLE for path, slot in entry.concrete_paths()
}


def lookup(path: str) -> tuple[Address, int | None]:
    """Find the table entry for a concrete OSC address.

    Args:
        path: The address of an incoming message, e.g. ``/lyria/prompt/3/weight``.

    Returns:
        The entry and the prompt slot (None for addresses without a slot).

    Raises:
        UnknownAddress: No entry answers this path. The message suggests the closest family.
    """
    try:
        return _INDEX[path]
    except KeyError:
        pass
    if path.startswith("/lyria/prompt/"):
        raise UnknownAddress(
            f"{path}: unknown address; prompts are /lyria/prompt/N/text, /lyria/prompt/N/weight "
            f"and /lyria/prompt/N with N in 1..{PROMPT_SLOTS}"
        )
    raise UnknownAddress(f"{path}: unknown address (see docs/osc.md for the list)")


def coerce_args(entry: Address, path: str, args: Sequence[object]) -> tuple[object, ...]:
    """Validate and convert the arguments of one message for an address.

    Args:
        entry: The table entry the message was matched to.
        path: The concrete address, used in error messages.
        args: The decoded OSC arguments (python-osc values: int, float, str, bool, None, bytes).

    Returns:
        One coerced value per declared argument (None for an omitted optional argument).

    Raises:
        BadArguments: Wrong number or type of arguments.
        OutOfRange: A value outside the declared range or choices.
    """
    specs = entry.args
    if specs and specs[0].rest:
        fixed = len(specs) - 1
        if len(args) < 1 + fixed:
            raise BadArguments(f"{path}: expected {_expect(entry)}, got {_show(args)}")
        split = len(args) - fixed
        head, tail = args[:split], args[split:]
        text = _coerce_text(specs[0], path, head)
        return (text, *(_coerce(s, path, v) for s, v in zip(specs[1:], tail, strict=True)))
    required = sum(1 for s in specs if not s.optional)
    if not required <= len(args) <= len(specs):
        raise BadArguments(f"{path}: expected {_expect(entry)}, got {_show(args)}")
    values = [_coerce(s, path, v) for s, v in zip(specs, args, strict=False)]
    values += [None] * (len(specs) - len(values))
    return tuple(values)


def _expect(entry: Address) -> str:
    if not entry.args or all(a.optional for a in entry.args):
        return "no argument or one true/false"
    parts = [("words" if a.rest else a.name) + f" ({a.describe()})" for a in entry.args]
    return " then ".join(parts)


def _show(args: Sequence[object]) -> str:
    if not args:
        return "no arguments"
    return " ".join(_repr(a) for a in args)


def _repr(value: object) -> str:
    if isinstance(value, bytes):
        return f"blob[{len(value)}]"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _coerce_text(spec: Arg, path: str, values: Sequence[object]) -> str:
    words: list[str] = []
    for value in values:
        if isinstance(value, str):
            words.append(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            words.append(_num(value) if math.isfinite(value) else str(value))
        else:
            raise BadArguments(f"{path}: {spec.name} must be words, got {_repr(value)}")
    return " ".join(w.strip() for w in words if w.strip())


def _coerce(spec: Arg, path: str, value: object) -> object:
    if spec.nullable and isinstance(value, str) and value.strip().lower() == AUTO:
        value = None  # the word replies use for "the model decides" (Pd cannot send N)
    if value is None:
        if spec.nullable:
            return None
        raise BadArguments(f"{path}: {spec.name} must be {spec.describe()}, got N (nil)")
    if spec.kind is Kind.BOOL:
        return _coerce_bool(spec, path, value)
    if spec.kind is Kind.ENUM:
        return _coerce_enum(spec, path, value)
    if spec.kind is Kind.STRING:
        return _coerce_text(spec, path, [value])
    # A number: int and float are interchangeable; bool (T/F) is not a number here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadArguments(f"{path}: {spec.name} must be {spec.describe()}, got {_repr(value)}")
    if not math.isfinite(value):
        raise OutOfRange(f"{path}: {spec.name} must be a finite number, got {value}")
    number: float | int = round(value) if spec.kind is Kind.INT else float(value)
    low, high = spec.minimum, spec.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise OutOfRange(
            f"{path}: {_num(float(value))} is out of range {_num(low or 0)}..{_num(high or 0)}"
        )
    return number


_TRUE_WORDS = {"true", "on", "yes", "t", "1"}
_FALSE_WORDS = {"false", "off", "no", "f", "0"}


def _coerce_bool(spec: Arg, path: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise BadArguments(
        f"{path}: {spec.name} must be true/false (T/F, 1/0, on/off), got {_repr(value)}"
    )


def _coerce_enum(spec: Arg, path: str, value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        index = round(value)
        if value != index:
            raise BadArguments(
                f"{path}: an index must be a whole number 0..{len(spec.choices) - 1}, "
                f"got {_repr(value)}"
            )
        if 0 <= index < len(spec.choices):
            return spec.choices[index]
        raise OutOfRange(f"{path}: index {_repr(value)} is out of range 0..{len(spec.choices) - 1}")
    if isinstance(value, str):
        name = value.strip().upper().replace(" ", "_").replace("-", "_")
        for choice in spec.choices:  # any case: the table spells each as it is sent on
            if name == choice.upper():
                return choice
        if spec.choices == SCALES:  # a key name: C, Am, F#m, Bb major...
            scale = scale_for_key(value, SCALES)
            if scale is not None:
                return scale
    raise OutOfRange(f"{path}: {_repr(value)} is not {spec.describe()}")
