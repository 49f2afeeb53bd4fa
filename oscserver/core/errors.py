"""The exception tree of oscserver.

::

    OscServerError
     ├── OscInputError          a message from an OSC sender was refused (nothing changed)
     │    ├── MalformedPacket   the datagram is not valid OSC
     │    ├── UnknownAddress    no entry in the address table matches the address
     │    ├── BadArguments      wrong number or type of arguments
     │    └── OutOfRange        a value outside the range the address table declares
     └── ProtocolError          a Lyria message could not be decoded or is not valid

Messages are short, lowercase, name the address and say what is allowed, e.g.
``"/lyria/bpm: 300 is out of range 60..200"``. They never contain secrets: protocol errors
quote at most the message type, not payloads.
"""

from __future__ import annotations

__all__ = [
    "BadArguments",
    "MalformedPacket",
    "NotAvailable",
    "OscInputError",
    "OscServerError",
    "OutOfRange",
    "ProtocolError",
    "UnknownAddress",
]


class OscServerError(Exception):
    """Base class of every error oscserver raises on purpose."""


class OscInputError(OscServerError):
    """An OSC message was refused; the state is unchanged.

    The string form is the complete message sent back to the sender on ``/lyria/error``.
    """


class MalformedPacket(OscInputError):
    """The datagram could not be decoded as an OSC message or bundle."""


class UnknownAddress(OscInputError):
    """No address in the table matches."""


class BadArguments(OscInputError):
    """The message has the wrong number or type of arguments."""


class OutOfRange(OscInputError):
    """A value lies outside the declared range or set of choices."""


class NotAvailable(OscInputError):
    """A valid request this server cannot carry out here (e.g. a clock with nothing to follow)."""


class ProtocolError(OscServerError):
    """A Lyria RealTime message is malformed or not valid for the protocol."""
