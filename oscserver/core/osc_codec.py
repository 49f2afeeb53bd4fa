r"""OSC packets to plain values and back, with python-osc's pure parser and builder.

Only python-osc's codec is used, not its server or dispatcher (which sleeps on bundle timetags
and drops malformed packets silently). A bundle is flattened into its messages in order (OSC 1.0
spec: "OSC Bundles": nested bundles are allowed); each keeps the timetag of the innermost bundle
holding it.

>>> encode_message("/lyria/bpm", [124])
b'/lyria/bpm\x00\x00,i\x00\x00\x00\x00\x00|'
>>> decode_packet(encode_message("/lyria/bpm", [124]))
[Incoming(address='/lyria/bpm', args=(124,), timetag=None)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pythonosc import osc_bundle, osc_message, osc_message_builder
from pythonosc.parsing import osc_types

from oscserver.core.errors import MalformedPacket

__all__ = ["MAX_DATAGRAM", "Incoming", "OscArg", "decode_packet", "encode_message"]

#: A value :func:`encode_message` can send.
OscArg = str | bytes | bool | int | float | None

#: The largest UDP payload (IPv4: 65535 - 8 - 20).
MAX_DATAGRAM = 65507


@dataclass(frozen=True)
class Incoming:
    """One decoded OSC message.

    Attributes:
        address: The OSC address (may contain pattern characters).
        args: Decoded arguments (int, float, str, bytes, bool, None, ...).
        timetag: Seconds since the Unix epoch from the enclosing bundle, or None for a plain
            message or a bundle timetagged "immediately".
    """

    address: str
    args: tuple[object, ...]
    timetag: float | None = None


def decode_packet(data: bytes) -> list[Incoming]:
    """Decode one datagram into its messages.

    Raises:
        MalformedPacket: Not an OSC message or bundle, or truncated/corrupt. The message says
            what is wrong without quoting the payload.
    """
    if not data:
        raise MalformedPacket("empty datagram")
    try:
        if osc_bundle.OscBundle.dgram_is_bundle(data):
            _check_bundle(data)
            return _flatten(osc_bundle.OscBundle(data))
        if osc_message.OscMessage.dgram_is_message(data):
            return [_incoming(osc_message.OscMessage(data), None)]
    except MalformedPacket:
        raise
    except Exception as exc:  # python-osc raises ParseError, but also IndexError & co.
        raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: {_why(exc)}") from None
    raise MalformedPacket(
        f"datagram of {len(data)} bytes is not OSC (a message starts with '/', a bundle with "
        "'#bundle')"
    )


def _check_bundle(data: bytes) -> None:
    """Check a bundle's element framing, which python-osc skips over with only a log line.

    OSC 1.0 spec, "OSC Bundles": after ``#bundle`` and the 8-byte timetag come elements, each an
    int32 size (a multiple of 4) and that many bytes of a message or a bundle.
    """
    index, number = 16, 0
    while index < len(data):
        number += 1
        if index + 4 > len(data):
            raise MalformedPacket(f"bundle element {number} has a truncated size")
        size = int.from_bytes(data[index : index + 4], "big", signed=True)
        index += 4
        if size <= 0 or size % 4:
            raise MalformedPacket(f"bundle element {number} size {size} is not a multiple of 4")
        if index + size > len(data):
            raise MalformedPacket(f"bundle element {number} runs past the end of the datagram")
        element = data[index : index + size]
        if osc_bundle.OscBundle.dgram_is_bundle(element):
            _check_bundle(element)
        elif not element.startswith(b"/"):
            raise MalformedPacket(f"bundle element {number} is neither a message nor a bundle")
        index += size


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:120]


def _flatten(bundle: osc_bundle.OscBundle) -> list[Incoming]:
    timetag = None if bundle.timestamp == osc_types.IMMEDIATELY else float(bundle.timestamp)
    out: list[Incoming] = []
    for content in bundle:
        if isinstance(content, osc_bundle.OscBundle):
            out.extend(_flatten(content))
        else:
            out.append(_incoming(content, timetag))
    return out


def _incoming(message: osc_message.OscMessage, timetag: float | None) -> Incoming:
    address = message.address
    if not address.startswith("/"):
        raise MalformedPacket(f"OSC address must start with '/', got {address[:40]!r}")
    return Incoming(address, tuple(message.params), timetag)


def encode_message(address: str, args: Sequence[OscArg] = ()) -> bytes:
    """Build one OSC message; types are inferred (str s, int i, float f, bool T/F, None N)."""
    builder = osc_message_builder.OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg)
    return bytes(builder.build().dgram)
