"""OSC 1.0 address patterns against the address table, and key names for /lyria/scale."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oscserver.core.addresses import SCALES
from oscserver.core.dispatch import ADDRESSES, apply_message
from oscserver.core.errors import BadArguments, OscInputError, UnknownAddress
from oscserver.core.keys import scale_for_key
from oscserver.core.patterns import MAX_PATTERN, _compile, is_pattern, matching
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


def _regex_oracle(pattern: str) -> re.Pattern[str]:
    """OSC 1.0 patterns as a backtracking regular expression: right, but exponential."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c in "[{":
            end = pattern.index("]" if c == "[" else "}", i)
            body = pattern[i + 1 : end]
            if c == "{":
                out.append("(?:" + "|".join(re.escape(w) for w in body.split(",")) + ")")
            else:
                neg = body.startswith("!")
                body = body[1:] if neg else body
                parts = [re.escape(ch) if ch != "-" else "-" for ch in body]
                parts[0] = r"\-" if parts[0] == "-" else parts[0]
                parts[-1] = r"\-" if parts[-1] == "-" else parts[-1]
                out.append(("[^/" if neg else "(?!/)[") + "".join(parts) + "]")
            i = end
        else:
            out.append({"?": "[^/]", "*": "[^/]*"}.get(c, re.escape(c)))
        i += 1
    return re.compile("".join(out))


_PIECES = st.sampled_from(
    [
        "/",
        "lyria",
        "prompt",
        "1",
        "w",
        "e",
        "*",
        "?",
        "[1-3]",
        "[!a-m]",
        "[e-]",
        "{bpm,den}",
        "{,r}",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join))
def test_the_matcher_agrees_with_a_regular_expression_on_short_patterns(pattern):
    expected = [a for a in ADDRESSES if _regex_oracle(pattern).fullmatch(a)]
    assert matching(pattern, ADDRESSES) == expected


def _lines_run(pattern: str) -> int:
    """Python lines executed in the matcher to match ``pattern`` against the table."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return trace

    _compile.cache_clear()
    sys.settrace(trace)
    try:
        matching(pattern, ADDRESSES)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize(
    "unit", ["*x", "*", "*?", "{,}", "*{,p,pr}", "*/", "[!/]*", "*e*e*e*e*f", "?*"]
)
def test_a_pattern_costs_work_in_proportion_to_its_length_never_exponential(unit):
    # A backtracking regex took 20 s for /lyria/ + 15 stars + x: one datagram froze the server.
    # Counted in lines run (a clock would measure the machine, not the matcher).
    k = 100 // len(unit)
    short, long = _lines_run("/lyria/" + unit * k), _lines_run("/lyria/" + unit * 2 * k)
    assert long <= 2.5 * short + 5_000


def test_a_pattern_longer_than_the_limit_is_refused():
    matching("/lyria/" + "?" * (MAX_PATTERN - 7), ADDRESSES)  # at the limit: taken
    with pytest.raises(BadArguments, match=f"at most {MAX_PATTERN} characters"):
        matching("/lyria/" + "?" * (MAX_PATTERN - 6), ADDRESSES)


def test_a_slash_is_matched_only_by_a_slash():
    assert matching("/lyria[/]bpm", ["/lyria/bpm"]) == []
    assert matching("/lyria[!a]bpm", ["/lyria/bpm"]) == []
    assert matching("/lyria/bp?", ["/lyria/bpm"]) == ["/lyria/bpm"]
