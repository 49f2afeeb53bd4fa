"""OSC decoding of datagrams built byte by byte here, independently of python-osc."""

from __future__ import annotations

import contextlib
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oscbytes import bundle, message, pad
from pythonosc import osc_message, osc_message_builder

from oscserver.core.errors import MalformedPacket
from oscserver.core.osc_codec import Incoming, decode_packet, encode_message


def test_message_with_every_common_type():
    data = message(
        "/lyria/prompt/1",
        "sifTFNdh",
        pad(b"deep"),
        struct.pack(">i", 7),
        struct.pack(">f", 0.5),
        struct.pack(">d", 0.25),
        struct.pack(">q", 2**40),
    )
    assert decode_packet(data) == [
        Incoming("/lyria/prompt/1", ("deep", 7, 0.5, True, False, None, 0.25, 2**40))
    ]


def test_nested_bundles_flatten_in_order_with_their_timetags():
    inner = bundle(1, message("/lyria/bpm", "i", struct.pack(">i", 90)))  # 1 = immediately
    future = (3_900_000_000 << 32) | (1 << 31)  # NTP seconds + 0.5 s
    outer = bundle(future, message("/lyria/play", ""), inner)
    got = decode_packet(outer)
    assert [m.address for m in got] == ["/lyria/play", "/lyria/bpm"]
    assert got[0].timetag == pytest.approx(3_900_000_000 - 2_208_988_800 + 0.5)
    # An "immediately" bundle inside a timed one happens at its container's time (OSC 1.0: a
    # contained bundle is never earlier than its container).
    assert got[1].timetag == got[0].timetag
    assert got[1].args == (90,)
    later = bundle(future + (1 << 32), message("/lyria/stop", ""))
    got = decode_packet(bundle(1, message("/lyria/play", ""), later))
    assert got[0].timetag is None and got[1].timetag == pytest.approx(
        3_900_000_001 - 2_208_988_800 + 0.5
    )


def test_the_types_python_osc_dropped_and_the_rest_of_osc_1_1():
    data = message(
        "/x",
        "Sc[if]ItrmIb",
        pad(b"Am"),
        struct.pack(">I", ord("A")),
        struct.pack(">i", 1),
        struct.pack(">f", 2.0),
        struct.pack(">Q", (3_900_000_000 << 32)),
        struct.pack(">I", 0xFF0000FF),
        bytes([0, 0x90, 60, 100]),
        struct.pack(">i", 3) + b"abc\x00",
    )
    assert decode_packet(data)[0].args == (
        "Am",
        "A",
        [1, 2.0],
        True,
        pytest.approx(3_900_000_000 - 2_208_988_800),
        0xFF0000FF,
        (0, 0x90, 60, 100),
        True,
        b"abc",
    )


def test_a_message_without_type_tags_has_no_arguments():
    assert decode_packet(pad(b"/lyria/play")) == [Incoming("/lyria/play", ())]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (message("/x", "q"), "unsupported OSC type tag 'q'"),
        (message("/x", "[i", struct.pack(">i", 1)), "'\\[' without '\\]'"),
        (message("/x", "s", b"abcd"), "string argument not ended"),
        (message("/x", "b", struct.pack(">i", 99)), "blob size"),
        (message("/x", "d", b"\x00" * 4), "argument 'd' truncated"),
        (b"/\xff\xfe\x00\x00", "not UTF-8"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(data, reason):
    with pytest.raises(MalformedPacket, match=reason):
        decode_packet(data)


def test_bundles_nested_too_deep_are_refused():
    data = message("/lyria/play", "")
    for _ in range(12):
        data = bundle(1, data)
    with pytest.raises(MalformedPacket, match="nested more than"):
        decode_packet(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty datagram"),
        (b"hello world!", "is not OSC"),
        (b"/lyria/bpm\x00\x00,i\x00\x00", "malformed OSC datagram of 16 bytes"),
        (pad(b"#bundle") + b"\x00\x00", "malformed OSC datagram"),
        (bundle(1, b"xabc"), "bundle element 1 is neither a message nor a bundle"),
        (pad(b"#bundle") + b"\x00" * 8 + b"\x00\x00\x00\x10/a\x00\x00", "runs past the end"),
        (pad(b"#bundle") + b"\x00" * 8 + b"\x00\x00\x00\x03/a\x00", "not a multiple of 4"),
    ],
)
def test_malformed_datagrams_raise_one_documented_error(data, reason):
    with pytest.raises(MalformedPacket, match=reason):
        decode_packet(data)


def test_every_truncation_of_a_valid_message_is_refused_or_decoded_never_crashes():
    data = message("/lyria/prompt/1", "sf", pad(b"techno"), struct.pack(">f", 1.0))
    for cut in range(len(data)):
        with contextlib.suppress(MalformedPacket):
            decode_packet(data[:cut])


def test_encode_matches_the_spec_layout():
    assert encode_message("/lyria/error", ["x"]) == message("/lyria/error", "s", pad(b"x"))
    assert encode_message("/a", [1, 2.0]) == message(
        "/a", "if", struct.pack(">i", 1), struct.pack(">f", 2.0)
    )


def test_encode_every_type_it_infers():
    assert encode_message("/r", [True, False, None, b"\x01\x02\x03", 2**40, "é"]) == message(
        "/r",
        "TFNbhs",
        struct.pack(">i", 3) + b"\x01\x02\x03\x00",
        struct.pack(">q", 2**40),
        pad("é".encode()),
    )
    # Too large for a 32-bit float: an infinity of the same sign, as IEEE 754 rounds.
    assert encode_message("/r", [1e39, -1e39]) == message(
        "/r", "ff", struct.pack(">f", float("inf")), struct.pack(">f", float("-inf"))
    )


@pytest.mark.parametrize(
    ("address", "args", "reason"),
    [
        ("/a", ["nul\x00inside"], "NUL"),
        ("/a\x00b", [], "NUL"),
        ("a", [], "starts with '/'"),
        ("/a", [2**64], "64 bits"),
        ("/a", [object()], "no OSC type"),
        ("/a", ["\ud800"], "surrogate"),
    ],
)
def test_encode_refuses_what_osc_cannot_carry(address, args, reason):
    with pytest.raises(ValueError, match=reason):
        encode_message(address, args)


osc_values = st.lists(
    st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.floats(width=32, allow_nan=False),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=12,
        ),
        st.binary(max_size=9),
        st.booleans(),
        st.none(),
    ),
    max_size=5,
)
osc_addresses = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16
).map(lambda s: "/" + s)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")), deadline=None)
@given(osc_addresses, osc_values)
def test_encode_agrees_with_python_osc_and_decodes_back(address, values):
    data = encode_message(address, values)
    assert decode_packet(data) == [Incoming(address, tuple(values))]
    builder = osc_message_builder.OscMessageBuilder(address=address)
    for value in values:
        builder.add_arg(value)
    try:
        reference = bytes(builder.build().dgram)
    except (osc_message_builder.BuildError, osc_message.ParseError, UnicodeDecodeError):
        return  # python-osc cannot read back what it built (why it is no longer used here)
    assert data == reference


def test_a_bundle_reads_back_in_python_osc_with_its_timetag_and_messages():
    """The wire form checked by another implementation (python-osc's parser)."""
    from pythonosc.osc_bundle import OscBundle

    from oscserver.core.osc_codec import encode_bundle

    when = 1_790_000_000.123456
    packet = encode_bundle(
        when, [encode_message("/lyria/beat", [3, 1, 126.0]), encode_message("/lyria/onset", [0.5])]
    )
    bundle = OscBundle(packet)
    assert abs(bundle.timestamp - when) < 1e-6
    contents = list(bundle)
    assert [m.address for m in contents] == ["/lyria/beat", "/lyria/onset"]
    assert contents[0].params == [3, 1, 126.0]
    ours = decode_packet(packet)
    assert [m.timetag for m in ours] == [pytest.approx(when, abs=1e-6)] * 2
