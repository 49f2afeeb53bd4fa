r"""OSC packets to plain values and back.

Decoding is done here, to the OSC 1.0 specification ("OSC Packets", "OSC Bundles", "OSC
Type Tag String") plus the 1.0 optional and 1.1 types tools send: i f s b, and h t d S c r m
T F N I and arrays. python-osc's parser (used before) silently drops S, c and I arguments,
which shifts the rest and turns a Max symbol into "no argument", and it is the slowest part of
a message's way in. Replies are encoded here too, to the same rules, so that what the
server sends always decodes (python-osc's builder re-parses what it built and raised on
strings it could not read back).

A bundle is flattened into its messages in order (nested bundles are allowed); each keeps the
timetag of the innermost bundle holding it, never earlier than its container's.

>>> encode_message("/lyria/bpm", [124])
b'/lyria/bpm\x00\x00,i\x00\x00\x00\x00\x00|'
>>> decode_packet(encode_message("/lyria/bpm", [124]))
[Incoming(address='/lyria/bpm', args=(124,), timetag=None)]
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oscserver.core.errors import MalformedPacket

__all__ = ["MAX_DATAGRAM", "Incoming", "OscArg", "decode_packet", "encode_bundle", "encode_message"]

#: A value :func:`encode_message` can send.
OscArg = str | bytes | bool | int | float | None

#: The largest UDP payload (IPv4: 65535 - 8 - 20).
MAX_DATAGRAM = 65507
BUNDLE = b"#bundle\x00"
#: Seconds from the NTP epoch (1900) to the Unix epoch (1970).
NTP_TO_UNIX = 2208988800
#: Deeper nesting of bundles is refused (no tool nests more than a few levels).
MAX_NESTING = 8


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
    if data.startswith(b"/"):
        return [_message(data, 0, len(data), None)]
    if data.startswith(BUNDLE):
        out: list[Incoming] = []
        _bundle(data, 0, len(data), None, out, 1)
        return out
    raise MalformedPacket(
        f"datagram of {len(data)} bytes is not OSC (a message starts with '/', a bundle with "
        "'#bundle')"
    )


def _bundle(
    data: bytes, start: int, end: int, outer: float | None, out: list[Incoming], depth: int
) -> None:
    """Flatten one bundle into ``out``.

    OSC 1.0 spec, "OSC Bundles": ``#bundle``, an 8-byte timetag, then elements, each an int32
    size (a multiple of 4) and that many bytes of a message or a bundle.
    """
    if depth > MAX_NESTING:
        raise MalformedPacket(f"bundles nested more than {MAX_NESTING} deep")
    if end - start < 16:
        raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: bundle too short")
    timetag = _timetag(_U64.unpack_from(data, start + 8)[0])
    # A contained bundle may not be earlier than its container (OSC 1.0): "immediately" or an
    # earlier time inside a timed bundle means the container's time.
    if outer is not None and (timetag is None or timetag < outer):
        timetag = outer
    index, number = start + 16, 0
    while index < end:
        number += 1
        if index + 4 > end:
            raise MalformedPacket(f"bundle element {number} has a truncated size")
        size = _I32.unpack_from(data, index)[0]
        index += 4
        if size <= 0 or size % 4:
            raise MalformedPacket(f"bundle element {number} size {size} is not a multiple of 4")
        if index + size > end:
            raise MalformedPacket(f"bundle element {number} runs past the end of the datagram")
        if data.startswith(b"/", index):
            out.append(_message(data, index, index + size, timetag))
        elif data.startswith(BUNDLE, index):
            _bundle(data, index, index + size, timetag, out, depth + 1)
        else:
            raise MalformedPacket(f"bundle element {number} is neither a message nor a bundle")
        index += size


def _timetag(value: int) -> float | None:
    """An NTP timetag as Unix seconds; None for "immediately" (OSC 1.0: the value 1)."""
    if value == 1:
        return None
    return (value >> 32) - NTP_TO_UNIX + (value & 0xFFFFFFFF) / 2**32


def _string(data: bytes, index: int, end: int, what: str) -> tuple[str, int]:
    """An OSC-string (NUL-terminated, padded to 4 bytes) at ``index``; returns it and the next."""
    nul = data.find(b"\x00", index, end)
    if nul < 0:
        raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: {what} not ended")
    try:
        text = data[index:nul].decode()
    except UnicodeDecodeError:
        raise MalformedPacket(f"malformed OSC datagram: {what} is not UTF-8") from None
    return text, (nul + 4) & ~3


def _message(data: bytes, start: int, end: int, timetag: float | None) -> Incoming:
    """One message: address, type tag string, arguments (OSC 1.0 and the 1.1 extras)."""
    address, index = _string(data, start, end, "address")
    if index > end:
        raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: address padding")
    if index >= end or data[index] != 0x2C:  # ',': old senders may leave the tags out
        return Incoming(address, (), timetag)
    tags, index = _string(data, index, end, "type tags")
    stack: list[list[object]] = [[]]
    for tag in tags[1:]:
        size = _FIXED.get(tag)
        if size is not None:
            if index + size > end:
                raise MalformedPacket(
                    f"malformed OSC datagram of {len(data)} bytes: argument {tag!r} truncated"
                )
            stack[-1].append(_READ[tag](data, index))
            index += size
        elif tag in _CONSTANT:
            stack[-1].append(_CONSTANT[tag])
        elif tag in "sS":
            text, index = _string(data, index, end, "string argument")
            stack[-1].append(text)
        elif tag == "b":
            if index + 4 > end:
                raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: blob size")
            size = _I32.unpack_from(data, index)[0]
            if size < 0 or index + 4 + size > end:
                raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: blob size")
            stack[-1].append(data[index + 4 : index + 4 + size])
            index = (index + 4 + size + 3) & ~3
        elif tag == "[":
            stack.append([])
        elif tag == "]" and len(stack) > 1:
            array = stack.pop()
            stack[-1].append(array)
        else:
            raise MalformedPacket(f"unsupported OSC type tag {tag!r} in {address[:40]}")
        if index > end:
            raise MalformedPacket(f"malformed OSC datagram of {len(data)} bytes: past the end")
    if len(stack) > 1:
        raise MalformedPacket(f"'[' without ']' in the type tags of {address[:40]}")
    return Incoming(address, tuple(stack[0]), timetag)


_I32 = struct.Struct(">i")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_F32 = struct.Struct(">f")
_FIXED = {"i": 4, "f": 4, "h": 8, "d": 8, "t": 8, "c": 4, "r": 4, "m": 4}
_READ: dict[str, Callable[[bytes, int], object]] = {
    "i": lambda d, i: _I32.unpack_from(d, i)[0],
    "f": lambda d, i: struct.unpack_from(">f", d, i)[0],
    "h": lambda d, i: struct.unpack_from(">q", d, i)[0],
    "d": lambda d, i: struct.unpack_from(">d", d, i)[0],
    "t": lambda d, i: _timetag(_U64.unpack_from(d, i)[0]),
    "c": lambda d, i: chr(struct.unpack_from(">I", d, i)[0] & 0x10FFFF),
    "r": lambda d, i: struct.unpack_from(">I", d, i)[0],  # RGBA as one integer
    "m": lambda d, i: tuple(d[i : i + 4]),  # MIDI: port, status, data1, data2
}
#: Arguments without data. "I" is OSC 1.0's Infinitum, used as a bang (OSC 1.1 "Impulse").
_CONSTANT: dict[str, object] = {"T": True, "F": False, "N": None, "I": True}


def encode_message(address: str, args: Sequence[OscArg] = ()) -> bytes:
    """Build one OSC message; types are inferred.

    str is ``s``, bytes ``b``, bool ``T``/``F``, None ``N``, int ``i`` (``h`` beyond 32 bits),
    float ``f`` (OSC 1.0, "OSC Type Tag String").

    Raises:
        ValueError: The address does not start with '/', a string holds a NUL (OSC-strings end
            at the first NUL) or a lone surrogate (not UTF-8), an int needs more than 64 bits,
            or a value has no OSC type. Callers that send replies count the error and go on.
    """
    if not address.startswith("/"):
        raise ValueError(f"an OSC address starts with '/', not {address[:40]!r}")
    tags = [","]
    body: list[bytes] = []
    for arg in args:
        if arg is True or arg is False:
            tags.append("T" if arg else "F")
        elif arg is None:
            tags.append("N")
        elif isinstance(arg, int):
            if -(2**31) <= arg < 2**31:
                tags.append("i")
                body.append(_I32.pack(arg))
            elif -(2**63) <= arg < 2**63:
                tags.append("h")
                body.append(_I64.pack(arg))
            else:
                raise ValueError(f"int {arg} does not fit in 64 bits")
        elif isinstance(arg, float):
            tags.append("f")
            body.append(_f32(arg))
        elif isinstance(arg, str):
            tags.append("s")
            body.append(_padded(arg, "string argument"))
        elif isinstance(arg, bytes | bytearray):
            tags.append("b")
            body.append(_I32.pack(len(arg)) + bytes(arg) + b"\x00" * (-len(arg) % 4))
        else:
            raise ValueError(f"{type(arg).__name__} has no OSC type")
    return b"".join([_padded(address, "address"), _padded("".join(tags), "tags"), *body])


def encode_bundle(timetag: float, messages: Sequence[bytes]) -> bytes:
    """Build one OSC bundle of encoded messages, to take effect at ``timetag``.

    OSC 1.0 spec, "OSC Bundles" and "Temporal semantics": ``#bundle``, an NTP timetag (seconds
    since 1900 in the high 32 bits, the fraction in the low 32), then each element's int32
    size and bytes.

    Args:
        timetag: When the contents take effect, in seconds since the Unix epoch
            (:func:`time.time`'s clock: the receiver's, give or take its sync).
        messages: The elements, each a whole message from :func:`encode_message`.

    >>> packet = encode_bundle(1700000000.25, [encode_message("/lyria/beat", [1, 1, 120.0])])
    >>> decode_packet(packet)[0].timetag
    1700000000.25
    """
    seconds = timetag + NTP_TO_UNIX
    whole = math.floor(seconds)
    fraction = min(round((seconds - whole) * 2**32), 2**32 - 1)
    parts = [b"#bundle\x00", _U64.pack((whole << 32) | fraction)]
    for message in messages:
        parts += [_I32.pack(len(message)), message]
    return b"".join(parts)


def _padded(text: str, what: str) -> bytes:
    """An OSC-string: UTF-8, NUL-terminated, padded with NULs to a multiple of 4 bytes."""
    if "\x00" in text:
        raise ValueError(f"an OSC {what} cannot hold a NUL character")
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        raise ValueError(f"an OSC {what} must be valid Unicode (no lone surrogates)") from None
    return raw + b"\x00" * (4 - len(raw) % 4)


def _f32(value: float) -> bytes:
    """A 32-bit float; one too large for 32 bits becomes an infinity of its sign (IEEE 754)."""
    try:
        return _F32.pack(value)
    except OverflowError:
        return _F32.pack(float("inf") if value > 0 else float("-inf"))
