"""MIDI in, read as plain values: the messages a controller or a DAW sends, and what they mean.

Only what oscserver acts on is read (the MIDI 1.0 Detailed Specification, "Channel Voice
Messages" and "System Real Time Messages"): control change, note on and off (a note on with
velocity 0 is a note off, as the specification allows for running status), program change,
and the real-time clock (24 ticks a quarter note, Start, Continue, Stop). Anything else is
None: ignored, never an error (a controller sends much that is not for us).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CLOCK_TICK",
    "CONTINUE",
    "START",
    "STOP",
    "ControlChange",
    "MidiMessage",
    "Note",
    "ProgramChange",
    "Realtime",
    "parse",
]

#: System real-time status bytes (MIDI 1.0, "System Real Time Messages").
CLOCK_TICK, START, CONTINUE, STOP = 0xF8, 0xFA, 0xFB, 0xFC


@dataclass(frozen=True)
class ControlChange:
    """A knob or fader: ``number`` 0-127 on ``channel`` 1-16 moved to ``value`` 0-127."""

    channel: int
    number: int
    value: int


@dataclass(frozen=True)
class Note:
    """A key or pad: ``on`` (pressed, with its ``velocity``) or released."""

    channel: int
    note: int
    velocity: int
    on: bool


@dataclass(frozen=True)
class ProgramChange:
    """A program (0-127) chosen on ``channel``."""

    channel: int
    program: int


@dataclass(frozen=True)
class Realtime:
    """A clock tick, Start, Continue or Stop (its status byte)."""

    status: int


MidiMessage = ControlChange | Note | ProgramChange | Realtime


def parse(data: bytes) -> MidiMessage | None:
    """One MIDI message (as JACK hands it: status byte first) in plain values, or None.

    >>> parse(bytes([0xB2, 7, 100]))
    ControlChange(channel=3, number=7, value=100)
    >>> parse(bytes([0x90, 60, 0]))
    Note(channel=1, note=60, velocity=0, on=False)
    """
    if not data:
        return None
    status = data[0]
    if status in (CLOCK_TICK, START, CONTINUE, STOP):
        return Realtime(status)
    kind, channel = status & 0xF0, (status & 0x0F) + 1
    body = data[1:]
    if any(b > 0x7F for b in body):
        return None  # (a status byte where data should be: not a message we read)
    if kind == 0xB0 and len(body) >= 2:
        return ControlChange(channel, body[0], body[1])
    if kind in (0x80, 0x90) and len(body) >= 2:
        return Note(channel, body[0], body[1], on=kind == 0x90 and body[1] > 0)
    if kind == 0xC0 and len(body) >= 1:
        return ProgramChange(channel, body[0])
    return None
