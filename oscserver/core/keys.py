"""Key names as musicians write them (``C``, ``Am``, ``F#m``, ``Bb major``) to Lyria scales.

Each Lyria RealTime scale names a major key and its relative minor (``E_FLAT_MAJOR_C_MINOR``),
so a key name picks exactly one scale; sharps and flats are enharmonic (``F#m`` and ``Gbm`` are
the same scale). Names are case-insensitive: the note letter, an optional accidental (``#``,
``b``, ``sharp``, ``flat``), then an optional quality (``m``, ``min``, ``minor``; major when
absent or ``maj``/``major``).

>>> scale_for_key("Am"), scale_for_key("F#m"), scale_for_key("Bb major")
('C_MAJOR_A_MINOR', 'A_MAJOR_G_FLAT_MINOR', 'B_FLAT_MAJOR_G_MINOR')
"""

from __future__ import annotations

import re

__all__ = ["scale_for_key"]

_NOTES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_SPELLING = {
    "C": 0, "D_FLAT": 1, "D": 2, "E_FLAT": 3, "E": 4, "F": 5, "G_FLAT": 6, "G": 7,
    "A_FLAT": 8, "A": 9, "B_FLAT": 10, "B": 11,
}  # fmt: skip
_KEY = re.compile(
    r"^(?P<note>[a-g])\s*(?P<accidental>#|♯|b|♭|sharp|flat)?\s*"
    r"(?P<quality>m|min|minor|maj|major)?$"
)
_SCALE = re.compile(r"^(?P<major>[A-G](?:_FLAT)?)_MAJOR_(?P<minor>[A-G](?:_FLAT)?)_MINOR$")


def _tables(scales: tuple[str, ...]) -> tuple[dict[int, str], dict[int, str]]:
    major: dict[int, str] = {}
    minor: dict[int, str] = {}
    for scale in scales:
        found = _SCALE.match(scale)
        if found:
            major[_SPELLING[found["major"]]] = scale
            minor[_SPELLING[found["minor"]]] = scale
    return major, minor


def scale_for_key(name: str, scales: tuple[str, ...] | None = None) -> str | None:
    """The Lyria scale for a key name, or None if ``name`` is not a key name.

    Args:
        name: E.g. ``C``, ``am``, ``F#m``, ``Eb``, ``g minor``, ``D flat major``.
        scales: The scale names to choose from (the address table's by default).
    """
    found = _KEY.match(name.strip().lower().replace("_", " "))
    if not found:
        return None
    if scales is None:
        from oscserver.core.addresses import SCALES

        scales = SCALES
    pitch = _NOTES[found["note"]]
    accidental = found["accidental"] or ""
    if accidental in ("#", "♯", "sharp"):
        pitch += 1
    elif accidental in ("b", "♭", "flat"):
        pitch -= 1
    major, minor = _tables(scales)
    is_minor = found["quality"] in ("m", "min", "minor")
    return (minor if is_minor else major).get(pitch % 12)
