"""The web console's controls, described from the address table (the single source).

The page (``oscserver/web/console/``) builds every control from :func:`controls`: the prompt
slots (text, a weight slider, a glide time), one control per config field with its range and,
where the model may decide, an "auto" switch, the playback buttons, and oscserver's own
settings (the clock). An address added to the table appears in the console with no change to
the page, as it does in OSCQuery and docs/osc.md. Plain data, JSON-ready.
"""

from __future__ import annotations

from typing import Any

from oscserver.core.addresses import PROMPT_SLOTS, SCENES, TABLE, Address, Arg, Effect, Kind

__all__ = ["controls"]

_KIND = {
    Kind.FLOAT: "float",
    Kind.INT: "int",
    Kind.BOOL: "bool",
    Kind.STRING: "text",
    Kind.ENUM: "enum",
}


def _arg(arg: Arg) -> dict[str, Any]:
    """One argument: its kind, range or choices, and whether the model may decide it."""
    out: dict[str, Any] = {"name": arg.name, "kind": _KIND[arg.kind]}
    if arg.minimum is not None:
        out["min"] = arg.minimum
    if arg.maximum is not None:
        out["max"] = arg.maximum
    if arg.choices:
        out["choices"] = list(arg.choices)
    out["auto"] = arg.nullable
    return out


def _value_control(entry: Address) -> dict[str, Any]:
    """A control that sets one value (a config field, a setting of oscserver's own)."""
    (arg,) = [a for a in entry.args if not a.optional]
    control = _arg(arg)
    control.update(
        path=entry.path,
        label=entry.path.removeprefix("/lyria/").replace("_", " "),
        default=entry.default,
        description=entry.description,
    )
    return control


def controls() -> dict[str, Any]:
    """Every control of the console, by section.

    Returns:
        ``prompts``: the slot count and, with ``{slot}`` in their paths, the text and weight
        addresses (the weight's range, and the range of the glide time it may take);
        ``playback``: the buttons (path, label, description); ``music``: the config fields;
        ``settings``: oscserver's own (the clock); ``scenes``: their count, the store and
        recall addresses (``{scene}`` in them) and the range of the recall's seconds. Each
        value control has ``path``,
        ``label``, ``kind`` (float, int, bool, enum), ``min``/``max`` or ``choices``,
        ``auto`` (the model may decide it: the page sends ``auto``), ``default`` and
        ``description``.
    """
    text = next(e for e in TABLE if e.effect is Effect.PROMPT_TEXT)
    weight = next(e for e in TABLE if e.effect is Effect.PROMPT_WEIGHT)
    value, *rest = weight.args
    glide = next((a for a in rest if a.optional), None)
    return {
        "prompts": {
            "slots": PROMPT_SLOTS,
            "text": {"path": text.path, "description": text.description},
            "weight": {
                "path": weight.path,
                "description": weight.description,
                "default": weight.default,
                **_arg(value),
                "glide": _arg(glide) if glide is not None else None,
            },
        },
        "playback": [
            {"path": e.path, "label": e.path.removeprefix("/lyria/"), "description": e.description}
            for e in TABLE
            if e.effect is Effect.PLAYBACK
        ],
        "music": [_value_control(e) for e in TABLE if e.effect is Effect.CONFIG],
        "settings": [_value_control(e) for e in TABLE if e.effect is Effect.LOCAL],
        "scenes": {
            "count": SCENES,
            **{
                e.target: {"path": e.path, "description": e.description}
                for e in TABLE
                if e.effect is Effect.SCENE
            },
            "seconds": _arg(next(e for e in TABLE if e.target == "recall").args[0]),
        },
    }
