"""Property-based fuzzing of the way in: any bytes, any mutation of a valid datagram, any
message to any address. Decoding refuses with MalformedPacket or decodes; applying refuses with
an OscInputError and changes nothing, or yields a state the address table allows."""

from __future__ import annotations

import os
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import check_state
from oscbytes import bundle

from oscserver.core.dispatch import ADDRESSES, apply_message
from oscserver.core.errors import MalformedPacket, OscInputError
from oscserver.core.osc_codec import decode_packet, encode_message
from oscserver.core.state import MusicalState

SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "600")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

args = st.lists(
    st.one_of(
        st.integers(-(2**31), 2**31 - 1),
        st.floats(width=32, allow_nan=True, allow_infinity=True),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
        ),  # NULs: mutations
        st.booleans(),
        st.none(),
        st.binary(min_size=1, max_size=8),
    ),
    max_size=4,
)
addresses = st.one_of(
    st.sampled_from(ADDRESSES),
    st.sampled_from(["/lyria/prompt/*/weight", "/lyria/{bpm,density}", "/lyria/[a-z]*", "/x"]),
    st.text(alphabet="/lyria?*[]{},!-0123456789", min_size=1, max_size=24).map(lambda s: "/" + s),
)
messages = st.builds(lambda a, v: encode_message(a, v), addresses, args)


def apply_all(data: bytes, state: MusicalState) -> MusicalState:
    try:
        decoded = decode_packet(data)
    except MalformedPacket:
        return state
    for message in decoded:
        before = state
        try:
            state, _, _ = apply_message(state, message.address, message.args)
        except OscInputError:
            assert state is before  # refused: nothing changed
        check_state(state)
    return state


@SETTINGS
@given(st.binary(max_size=96))
def test_any_bytes_are_decoded_or_refused(data):
    apply_all(data, MusicalState.initial([("x", 1.0)]))


@SETTINGS
@given(messages, st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
       st.integers(0, 120))  # fmt: skip
def test_mutated_datagrams_never_break_decoding_or_state(data, flips, cut):
    mutated = bytearray(data)
    for index, value in flips:
        if index < len(mutated):
            mutated[index] = value
    apply_all(bytes(mutated[: max(1, len(mutated) - cut % 8)]), MusicalState.initial())


@SETTINGS
@given(st.lists(messages, min_size=1, max_size=6), st.integers(0, 2**64 - 1))
def test_bundles_of_anything_keep_the_state_valid(elements, timetag):
    apply_all(bundle(timetag, *elements), MusicalState.initial([("a", 0.5), ("b", -1.0)]))


@SETTINGS
@given(st.sampled_from(ADDRESSES), args)
def test_every_address_refuses_or_accepts_cleanly(address, values):
    state = MusicalState.initial([("techno", 1.0)])
    apply_all(encode_message(address, values), state)


def test_a_truncated_int_is_refused_not_guessed():
    data = encode_message("/lyria/bpm", [120])[:-2]
    try:
        decode_packet(data)
    except MalformedPacket:
        return
    raise AssertionError("decoded a truncated int")


def test_packed_header_sizes_are_what_the_strategies_assume():
    assert len(struct.pack(">i", 1)) == 4
