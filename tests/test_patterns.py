"""OSC 1.0 address patterns against the address table, and key names for /lyria/scale."""

from __future__ import annotations

import pytest

from oscserver.core.addresses import SCALES
from oscserver.core.dispatch import ADDRESSES, apply_message
from oscserver.core.errors import BadArguments, OscInputError, UnknownAddress
from oscserver.core.keys import scale_for_key
from oscserver.core.patterns import is_pattern, matching
from oscserver.core.state import MusicalState

WEIGHTS = [f"/lyria/prompt/{n}/weight" for n in range(1, 9)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/lyria/prompt/*/weight", WEIGHTS),
        ("/lyria/prompt/?/weight", WEIGHTS),
        ("/lyria/prompt/[1-3]/weight", WEIGHTS[:3]),
        ("/lyria/prompt/[!1-6]/weight", WEIGHTS[6:]),
        ("/lyria/prompt/[135]/weight", [WEIGHTS[0], WEIGHTS[2], WEIGHTS[4]]),
        ("/lyria/{bpm,density}", ["/lyria/bpm", "/lyria/density"]),
        ("/lyria/mute_*", ["/lyria/mute_bass", "/lyria/mute_drums"]),
        ("/lyria/*/weight", []),  # '*' never matches a '/'
        ("/lyria/prompt/1/*", ["/lyria/prompt/1/text", "/lyria/prompt/1/weight"]),
    ],
)
def test_patterns_match_the_osc_1_0_way(pattern, expected):
    assert is_pattern(pattern)
    assert matching(pattern, ADDRESSES) == expected


@pytest.mark.parametrize("bad", ["/lyria/[a", "/lyria/{a,b", "/lyria/]", "/lyria/[z-a]", "/x/[]"])
def test_malformed_patterns_are_refused_with_the_reason(bad):
    with pytest.raises(BadArguments, match="pattern"):
        matching(bad, ADDRESSES)


def test_a_pattern_silences_every_slot_in_one_update():
    state = MusicalState.initial([("ambient", 1.0), ("techno", 0.5)])
    state, update, refused = apply_message(state, "/lyria/prompt/*/weight", [0])
    assert refused is None
    assert all(p.weight == 0.0 for p in state.prompts)
    assert {1, 2} <= update.prompts


def test_matches_that_refuse_are_reported_and_the_others_apply():
    state = MusicalState.initial()
    # density takes 0.5; bpm refuses it (out of range): one error, density set.
    state, update, refused = apply_message(state, "/lyria/{density,bpm}", [0.5])
    assert state.config.density == 0.5 and update.config == {"density"}
    assert isinstance(refused, OscInputError)
    assert "1 of the 2 matching addresses refused" in str(refused) and "/lyria/bpm" in str(refused)


def test_a_pattern_every_match_refuses_changes_nothing():
    state = MusicalState.initial()
    with pytest.raises(OscInputError, match="2 of the 2"):
        apply_message(state, "/lyria/{bpm,top_k}", ["fast"])
    with pytest.raises(UnknownAddress, match="matches no address"):
        apply_message(state, "/lyria/volume*", [1])


@pytest.mark.parametrize(
    ("name", "scale"),
    [
        ("C", "C_MAJOR_A_MINOR"),
        ("Am", "C_MAJOR_A_MINOR"),
        ("a minor", "C_MAJOR_A_MINOR"),
        ("F#m", "A_MAJOR_G_FLAT_MINOR"),
        ("Gbm", "A_MAJOR_G_FLAT_MINOR"),
        ("Eb", "E_FLAT_MAJOR_C_MINOR"),
        ("D#", "E_FLAT_MAJOR_C_MINOR"),
        ("Cm", "E_FLAT_MAJOR_C_MINOR"),
        ("bb major", "B_FLAT_MAJOR_G_MINOR"),
        ("Bm", "D_MAJOR_B_MINOR"),
        ("C# minor", "E_MAJOR_D_FLAT_MINOR"),
    ],
)
def test_key_names_pick_the_scale_that_holds_the_key(name, scale):
    assert scale_for_key(name) == scale
    state, _ = MusicalState.initial().apply("/lyria/scale", [name])
    assert state.config.scale == scale


def test_every_key_maps_to_a_scale_and_every_scale_is_reached():
    notes = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    majors = {scale_for_key(n) for n in notes}
    minors = {scale_for_key(n + "m") for n in notes}
    assert majors == minors == set(SCALES[1:])


def test_words_that_are_not_keys_are_still_refused():
    with pytest.raises(OscInputError, match="is not one of"):
        MusicalState.initial().apply("/lyria/scale", ["H minor"])
