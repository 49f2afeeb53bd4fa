"""The musical state: what each message changes, and that a refused one changes nothing."""

from __future__ import annotations

import pytest

from oscserver.core.errors import BadArguments, OscInputError, OutOfRange, UnknownAddress
from oscserver.core.state import Local, MusicalState, Playback, Prompt, Update

CONFIG_MESSAGES = [
    ("/lyria/bpm", [124.0], "bpm", 124),
    ("/lyria/density", [0.25], "density", 0.25),
    ("/lyria/brightness", [1], "brightness", 1.0),
    ("/lyria/guidance", [5.5], "guidance", 5.5),
    ("/lyria/temperature", [2], "temperature", 2.0),
    ("/lyria/top_k", [100.2], "top_k", 100),
    ("/lyria/seed", [42], "seed", 42),
    ("/lyria/scale", ["f major d minor"], "scale", "F_MAJOR_D_MINOR"),
    ("/lyria/mute_bass", [True], "mute_bass", True),
    ("/lyria/mute_drums", [1], "mute_drums", True),
    ("/lyria/only_bass_and_drums", ["on"], "only_bass_and_drums", True),
    ("/lyria/mode", ["vocalization"], "music_generation_mode", "VOCALIZATION"),
]


@pytest.mark.parametrize(("path", "args", "field", "value"), CONFIG_MESSAGES)
def test_config_messages_set_their_field_and_report_it(path, args, field, value):
    state = MusicalState.initial()
    new, update = state.apply(path, args)
    assert getattr(new.config, field) == value
    assert update.config == {field}
    assert update.values == ((path, value),)
    assert getattr(state.config, field) != value  # the old state is untouched


def test_same_value_again_reports_no_change():
    state, _ = MusicalState.initial().apply("/lyria/bpm", [120])
    again, update = state.apply("/lyria/bpm", [120.0])
    assert again is state
    assert not update


def test_prompt_text_weight_and_both():
    state = MusicalState.initial()
    state, u1 = state.apply("/lyria/prompt/2/text", ["deep", "house"])
    assert state.prompt(2) == Prompt("deep house", 1.0)
    assert u1.prompts == {2} and u1.values == (("/lyria/prompt/2/text", "deep house"),)
    state, u2 = state.apply("/lyria/prompt/2/weight", [0.7])
    assert state.prompt(2).weight == 0.7
    assert u2.values == (("/lyria/prompt/2/weight", 0.7),)
    state, _ = state.apply("/lyria/prompt/5", ["acid", -0.5])
    assert state.prompt(5) == Prompt("acid", -0.5)
    assert [p.text for p in state.active_prompts] == ["deep house", "acid"]


def test_weight_zero_or_empty_text_makes_a_prompt_inactive():
    state = MusicalState.initial([("techno", 1.0)])
    assert state.active_prompts
    zero, _ = state.apply("/lyria/prompt/1/weight", [0])
    assert zero.active_prompts == ()
    empty, _ = state.apply("/lyria/prompt/1/text", [""])
    assert empty.active_prompts == ()


@pytest.mark.parametrize(
    ("command", "playback"),
    [
        ("/lyria/play", Playback.PLAYING),
        ("/lyria/pause", Playback.PAUSED),
        ("/lyria/stop", Playback.STOPPED),
    ],
)
def test_playback_commands(command, playback):
    state, _ = MusicalState.initial().apply("/lyria/play", [])
    new, update = state.apply(command, [])
    assert new.playback is playback
    assert update.commands == (command.rsplit("/", 1)[1].upper(),)


def test_reset_keeps_playing_and_a_button_release_does_nothing():
    state, _ = MusicalState.initial().apply("/lyria/play", [])
    new, update = state.apply("/lyria/reset", [])
    assert new.playback is Playback.PLAYING and update.commands == ("RESET_CONTEXT",)
    same, nothing = state.apply("/lyria/stop", [0])
    assert same is state and not nothing


REFUSED = [
    ("/lyria/bpm", [300], OutOfRange, "/lyria/bpm: 300 is out of range 60..200"),
    (
        "/lyria/bpm",
        ["fast"],
        BadArguments,
        "/lyria/bpm: bpm must be int 60..200 or auto, got 'fast'",
    ),
    ("/lyria/density", [], BadArguments, "/lyria/density: expected density"),
    ("/lyria/scale", ["H"], OutOfRange, "/lyria/scale: 'H' is not one of"),
    ("/lyria/prompt/1/weight", [3.0], OutOfRange, "out of range -2..2"),
    ("/lyria/prompt/9/text", ["x"], UnknownAddress, "N in 1..8"),
    ("/lyria/volume", [1], UnknownAddress, "/lyria/volume: unknown address"),
    ("/lyria/mute_bass", ["perhaps"], BadArguments, "must be true/false"),
]


@pytest.mark.parametrize(("path", "args", "error", "message"), REFUSED)
def test_refused_messages_raise_a_clear_error_and_change_nothing(path, args, error, message):
    state = MusicalState.initial([("techno", 1.0)])
    before = state
    with pytest.raises(error) as info:
        state.apply(path, args)
    assert isinstance(info.value, OscInputError)
    assert message in str(info.value)
    assert state == before == MusicalState.initial([("techno", 1.0)])


def test_update_merge_keeps_order():
    a = Update(config=frozenset({"bpm"}), commands=("PLAY",), values=(("/lyria/bpm", 90),))
    b = Update(prompts=frozenset({1}), commands=("RESET_CONTEXT",))
    merged = a.merge(b)
    assert merged.config == {"bpm"} and merged.prompts == {1}
    assert merged.commands == ("PLAY", "RESET_CONTEXT")
    assert merged.values == (("/lyria/bpm", 90),)


def test_the_clock_is_oscservers_own_setting_not_the_services():
    state = MusicalState.initial()
    assert state.local.clock == "none"
    state, update = state.apply("/lyria/clock", ["LINK"])
    assert state.local.clock == "link" and update.local == {"clock"}
    assert update.values == (("/lyria/clock", "link"),) and not update.config
    assert state.apply("/lyria/clock", ["link"])[1] == Update()  # unchanged: nothing to do
    assert state.apply("/lyria/clock", [1])[0].local.clock == "internal"  # a menu's index
    with pytest.raises(OscInputError, match="none, internal, link, jack, midi"):
        state.apply("/lyria/clock", ["mtc"])
    assert MusicalState.initial(local=Local(clock="jack")).local.clock == "jack"
