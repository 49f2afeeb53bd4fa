"""OSC datagrams built byte by byte from the OSC 1.0 spec, independent of python-osc."""

from __future__ import annotations

import struct


def pad(data: bytes) -> bytes:
    """OSC-string: NUL-terminated, padded with NULs to a multiple of 4 bytes."""
    data += b"\x00"
    return data + b"\x00" * (-len(data) % 4)


def message(address: str, tags: str, *payload: bytes) -> bytes:
    return pad(address.encode()) + pad(("," + tags).encode()) + b"".join(payload)


def bundle(timetag: int, *elements: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return pad(b"#bundle") + struct.pack(">Q", timetag) + body


def i32(value: int) -> bytes:
    return struct.pack(">i", value)


def f32(value: float) -> bytes:
    return struct.pack(">f", value)


def string(value: str) -> bytes:
    return pad(value.encode())


def parse_reply(data: bytes) -> tuple[str, list[object]]:
    """Parse a reply with s/i/f/h/d/T/F/N arguments (all oscserver sends)."""
    end = data.index(b"\x00")
    address = data[:end].decode()
    index = (end + 4) & ~3
    tend = data.index(b"\x00", index)
    tags = data[index + 1 : tend].decode()
    index = (tend + 4) & ~3
    args: list[object] = []
    for tag in tags:
        if tag == "s":
            send = data.index(b"\x00", index)
            args.append(data[index:send].decode())
            index = (send + 4) & ~3
        elif tag == "i":
            args.append(struct.unpack(">i", data[index : index + 4])[0])
            index += 4
        elif tag == "f":
            args.append(struct.unpack(">f", data[index : index + 4])[0])
            index += 4
        elif tag == "h":
            args.append(struct.unpack(">q", data[index : index + 8])[0])
            index += 8
        elif tag == "d":
            args.append(struct.unpack(">d", data[index : index + 8])[0])
            index += 8
        elif tag in "TFN":
            args.append({"T": True, "F": False, "N": None}[tag])
        else:
            raise ValueError(f"unexpected tag {tag}")
    return address, args
