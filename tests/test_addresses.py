"""The address table: every address accepts what tools send and refuses the rest clearly."""

from __future__ import annotations

import dataclasses

import pytest

from oscserver.core.addresses import (
    MODES,
    PROMPT_SLOTS,
    SCALES,
    TABLE,
    Address,
    Effect,
    Kind,
    coerce_args,
    lookup,
)
from oscserver.core.errors import BadArguments, OutOfRange, UnknownAddress
from oscserver.core.state import Config, Local

REQUIRED = {
    "/lyria/prompt/{slot}/text",
    "/lyria/prompt/{slot}/weight",
    "/lyria/prompt/{slot}",
    "/lyria/bpm",
    "/lyria/density",
    "/lyria/brightness",
    "/lyria/guidance",
    "/lyria/temperature",
    "/lyria/top_k",
    "/lyria/seed",
    "/lyria/scale",
    "/lyria/mute_bass",
    "/lyria/mute_drums",
    "/lyria/only_bass_and_drums",
    "/lyria/mode",
    "/lyria/play",
    "/lyria/pause",
    "/lyria/stop",
    "/lyria/reset",
    "/lyria/clock",
}


def test_table_covers_every_required_address_once():
    paths = [e.path for e in TABLE if e.effect.changes_state]
    assert set(paths) == REQUIRED
    every = [e.path for e in TABLE]
    assert len(every) == len(set(every))
    assert PROMPT_SLOTS >= 8


def test_every_value_has_a_getter_and_the_queries_exist():
    getters = {e.target: e.path for e in TABLE if e.effect is Effect.GET}
    for entry in TABLE:
        if entry.effect.changes_state and entry.effect is not Effect.PLAYBACK:
            assert getters[entry.path] == "/lyria/get" + entry.path.removeprefix("/lyria")
    assert getters["*"] == "/lyria/get"
    assert {"/lyria/status", "/lyria/listen", "/lyria/ignore"} <= {e.path for e in TABLE}


def test_prompt_slots_1_to_8_resolve_and_9_does_not():
    for slot in range(1, PROMPT_SLOTS + 1):
        entry, found = lookup(f"/lyria/prompt/{slot}/weight")
        assert found == slot and entry.effect is Effect.PROMPT_WEIGHT
    with pytest.raises(UnknownAddress, match=r"N in 1\.\.8"):
        lookup(f"/lyria/prompt/{PROMPT_SLOTS + 1}/weight")
    with pytest.raises(UnknownAddress, match="/lyria/prompt/0/text"):
        lookup("/lyria/prompt/0/text")


def test_unknown_address_names_itself():
    with pytest.raises(UnknownAddress, match=r"^/lyria/tempo: unknown address"):
        lookup("/lyria/tempo")


def test_config_defaults_equal_table_defaults():
    defaults = Config()
    for entry in TABLE:
        if entry.effect is Effect.CONFIG:
            assert getattr(defaults, entry.target) == entry.default, entry.path


def test_local_defaults_equal_table_defaults():
    defaults = Local()
    for entry in TABLE:
        if entry.effect is Effect.LOCAL:
            assert getattr(defaults, entry.target) == entry.default, entry.path


def _path(entry: Address) -> str:
    return entry.path.replace("{slot}", "3").replace("{scene}", "3")


def _valid(entry: Address) -> list[object]:
    out: list[object] = []
    for arg in entry.args:
        if arg.optional and arg.kind is Kind.BOOL:  # a trigger's argument
            continue
        if arg.kind is Kind.STRING:
            out.append("deep house")
        elif arg.kind is Kind.ENUM:
            out.append(arg.choices[1])
        elif arg.kind is Kind.BOOL:
            out.append(True)
        else:
            assert arg.minimum is not None and arg.maximum is not None
            out.append((arg.minimum + arg.maximum) / 2)
    return out


#: What a sender can send (the table also holds what oscserver sends: OUTBOUND).
INCOMING = [e for e in TABLE if e.effect is not Effect.SENT]


@pytest.mark.parametrize("entry", INCOMING, ids=lambda e: e.path)
def test_every_address_accepts_a_valid_message(entry: Address):
    values = coerce_args(entry, _path(entry), _valid(entry))
    assert len(values) == len(entry.args)


NUMERIC = [e for e in INCOMING if e.args and e.args[-1].kind in (Kind.INT, Kind.FLOAT)]


@pytest.mark.parametrize("entry", NUMERIC, ids=lambda e: e.path)
def test_numbers_out_of_range_are_refused_with_the_range(entry: Address):
    arg = entry.args[-1]
    assert arg.maximum is not None and arg.minimum is not None
    args = _valid(entry)
    args[-1] = arg.maximum + 1
    with pytest.raises(OutOfRange, match=r"out of range"):
        coerce_args(entry, _path(entry), args)
    args[-1] = arg.minimum - 1
    with pytest.raises(OutOfRange):
        coerce_args(entry, _path(entry), args)
    args[-1] = float("nan")
    with pytest.raises(OutOfRange, match="finite"):
        coerce_args(entry, _path(entry), args)


@pytest.mark.parametrize("entry", NUMERIC, ids=lambda e: e.path)
def test_numbers_refuse_words_and_booleans(entry: Address):
    args = _valid(entry)
    for bad in ("loud", True, b"\x00\x01"):
        args[-1] = bad
        with pytest.raises(BadArguments, match=rf"^{_path(entry)}: {entry.args[-1].name} must be"):
            coerce_args(entry, _path(entry), args)


@pytest.mark.parametrize("entry", INCOMING, ids=lambda e: e.path)
def test_wrong_argument_count_is_refused(entry: Address):
    too_many = [*_valid(entry), 1, 2] if not entry.args[0].rest else []
    with pytest.raises(BadArguments, match="expected"):
        coerce_args(entry, _path(entry), too_many)


def test_ints_and_floats_are_interchangeable():
    bpm, _ = lookup("/lyria/bpm")
    assert coerce_args(bpm, "/lyria/bpm", [124.4]) == (124,)
    assert coerce_args(bpm, "/lyria/bpm", [124]) == (124,)
    weight, _ = lookup("/lyria/prompt/1/weight")
    assert coerce_args(weight, "/lyria/prompt/1/weight", [1]) == (1.0, None)
    assert isinstance(coerce_args(weight, "/lyria/prompt/1/weight", [1])[0], float)
    assert coerce_args(weight, "/lyria/prompt/1/weight", [1, 4]) == (1.0, 4.0)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        ("on", True),
        ("OFF", False),
        ("T", True),
        ("f", False),
    ],
)
def test_booleans_accept_t_f_and_numbers(sent: object, expected: bool):
    entry, _ = lookup("/lyria/mute_bass")
    assert coerce_args(entry, "/lyria/mute_bass", [sent]) == (expected,)


def test_bad_boolean_is_refused():
    entry, _ = lookup("/lyria/mute_drums")
    with pytest.raises(BadArguments, match="must be true/false"):
        coerce_args(entry, "/lyria/mute_drums", ["maybe"])


def test_enums_by_name_any_case_or_index():
    entry, _ = lookup("/lyria/scale")
    assert coerce_args(entry, "/lyria/scale", ["d major b minor"]) == ("D_MAJOR_B_MINOR",)
    assert coerce_args(entry, "/lyria/scale", [3]) == (SCALES[3],)
    assert coerce_args(entry, "/lyria/scale", [3.0]) == (SCALES[3],)
    with pytest.raises(OutOfRange, match="is not one of"):
        coerce_args(entry, "/lyria/scale", ["H_MAJOR"])
    with pytest.raises(OutOfRange, match=r"0\.\.12"):
        coerce_args(entry, "/lyria/scale", [13])
    with pytest.raises(BadArguments) as info:
        coerce_args(entry, "/lyria/scale", [2.5])
    assert str(info.value) == ("/lyria/scale: an index must be a whole number 0..12, got 2.5")
    mode, _ = lookup("/lyria/mode")
    assert coerce_args(mode, "/lyria/mode", ["diversity"]) == ("DIVERSITY",)
    assert MODES[0] == "QUALITY"


def test_prompt_text_joins_words_and_numbers():
    entry, slot = lookup("/lyria/prompt/2/text")
    assert slot == 2
    assert coerce_args(entry, "/lyria/prompt/2/text", ["deep", "house", 90]) == ("deep house 90",)
    both, _ = lookup("/lyria/prompt/2")
    assert coerce_args(both, "/lyria/prompt/2", ["acid", "techno", 0.5]) == ("acid techno", 0.5)
    with pytest.raises(BadArguments, match="expected"):
        coerce_args(both, "/lyria/prompt/2", [0.5])


def test_nil_hands_back_to_the_model_only_where_allowed():
    bpm, _ = lookup("/lyria/bpm")
    assert coerce_args(bpm, "/lyria/bpm", [None]) == (None,)
    assert coerce_args(bpm, "/lyria/bpm", ["auto"]) == (None,)  # what replies say; Pd can send it
    assert coerce_args(bpm, "/lyria/bpm", [" AUTO "]) == (None,)
    guidance, _ = lookup("/lyria/guidance")
    with pytest.raises(BadArguments, match="got N"):
        coerce_args(guidance, "/lyria/guidance", [None])
    with pytest.raises(BadArguments, match=r"guidance must be float 0\.\.6, got 'auto'"):
        coerce_args(guidance, "/lyria/guidance", ["auto"])


def test_triggers_take_no_argument_or_a_boolean():
    play, _ = lookup("/lyria/play")
    assert coerce_args(play, "/lyria/play", []) == (None,)
    assert coerce_args(play, "/lyria/play", [1]) == (True,)
    assert coerce_args(play, "/lyria/play", [0.0]) == (False,)


def test_entries_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TABLE[0].path = "/x"  # type: ignore[misc]
