"""MIDI in on plain values: messages parsed as the MIDI 1.0 specification says; a mapping's
controls (range, curve, switches, choices), keys and program changes made into oscserver's
messages, checked by the address table; the default (Prompt DJ MIDI's); learn; the file's
data read back, and refused where a person got it wrong; the MIDI clock followed to its
tempo (120 bpm with a millisecond of jitter: 120 +- 0.5) and beats, Start, Continue, Stop."""

from __future__ import annotations

import random

import pytest

from oscserver.core.errors import OscInputError
from oscserver.core.midi_clock_in import TICKS_PER_BEAT, MidiClockFollower
from oscserver.core.midi_in import START, ControlChange, Note, ProgramChange, Realtime, parse
from oscserver.core.midi_map import Control, Key, Learn, MidiMapping
from oscserver.core.state import MusicalState


def test_messages_are_read_as_the_specification_says():
    assert parse(bytes([0xB0, 1, 127])) == ControlChange(1, 1, 127)
    assert parse(bytes([0x9F, 36, 90])) == Note(16, 36, 90, on=True)
    assert parse(bytes([0x90, 36, 0])) == Note(1, 36, 0, on=False)  # (velocity 0: off)
    assert parse(bytes([0x85, 36, 64])) == Note(6, 36, 64, on=False)
    assert parse(bytes([0xC1, 5])) == ProgramChange(2, 5)
    assert parse(bytes([0xFA])) == Realtime(START)
    for ignored in (b"", bytes([0xE0, 0, 64]), bytes([0xB0, 1]), bytes([0xB0, 0x90, 1])):
        assert parse(ignored) is None  # (pitch bend, short, a status byte as data)


def apply(messages) -> MusicalState:
    state = MusicalState.initial()
    for address, args in messages:
        state, _ = state.apply(address, args)  # (what the table refuses would raise here)
    return state


def test_controls_spread_their_travel_over_a_range_through_a_curve():
    density = Control(74, "/lyria/density")  # (the address's own range: 0 to 1)
    assert density.message(0) == ("/lyria/density", [0.0])
    assert density.message(127) == ("/lyria/density", [1.0])
    assert density.message(64) == ("/lyria/density", [round(64 / 127, 4)])
    fine = Control(74, "/lyria/temperature", low=0.5, high=2.0, curve=2.0)
    assert fine.message(64) == ("/lyria/temperature", [round(0.5 + 1.5 * (64 / 127) ** 2, 4)])
    assert Control(1, "/lyria/bpm").message(127) == ("/lyria/bpm", [200])
    assert Control(1, "/lyria/mute_bass").message(63)[1] == [False]
    assert Control(1, "/lyria/mute_bass").message(64)[1] == [True]
    assert Control(1, "/lyria/mode").message(127)[1] == ["VOCALIZATION"]
    assert Control(1, "/lyria/mode").message(0)[1] == ["QUALITY"]
    state = apply([density.message(100), Control(1, "/lyria/bpm").message(0)])
    assert state.config.density == round(100 / 127, 4) and state.config.bpm == 60


def test_the_default_is_prompt_dj_midis_and_keys_and_programs_do_what_they_say():
    mapping = MidiMapping.default()
    assert mapping.messages(ControlChange(5, 3, 127)) == [("/lyria/prompt/3/weight", [2.0])]
    assert mapping.messages(ControlChange(1, 9, 127)) == []  # (CC 9: not mapped)
    assert mapping.messages(ProgramChange(1, 0)) == [("/lyria/scene/1/recall", [0.0])]
    assert mapping.messages(ProgramChange(1, 16)) == []  # (scenes are 1 to 16)
    keys = MidiMapping(
        keys=(
            Key(36, "prompt", 2, weight=0.8),
            Key(37, "scene", 4, channel=10, seconds=8.0),
            Key(38, "play"),
        ),
        programs=False,
    )
    assert keys.messages(Note(1, 36, 100, on=True)) == [("/lyria/prompt/2/weight", [0.8])]
    assert keys.messages(Note(1, 36, 0, on=False)) == [("/lyria/prompt/2/weight", [0.0])]
    assert keys.messages(Note(10, 37, 100, on=True)) == [("/lyria/scene/4/recall", [8.0])]
    assert keys.messages(Note(9, 37, 100, on=True)) == []  # (another channel)
    assert keys.messages(Note(1, 38, 1, on=True)) == [("/lyria/play", [])]
    assert keys.messages(Note(1, 38, 0, on=False)) == []
    assert keys.messages(ProgramChange(1, 0)) == []
    assert apply(keys.messages(Note(1, 36, 100, on=True))).prompt(2).weight == 0.8


def test_learn_maps_the_next_control_moved_in_place_of_the_one_there():
    learn = Learn()
    assert learn.moved(ControlChange(1, 20, 64)) is None  # (nothing waiting)
    with pytest.raises(OscInputError, match="a control sets a number"):
        learn.start("/lyria/prompt/1/text")
    learn.start("/lyria/density")
    control = learn.moved(ControlChange(2, 3, 10))
    assert control == Control(3, "/lyria/density", channel=2)
    assert learn.address is None and learn.moved(ControlChange(2, 3, 10)) is None
    mapping = MidiMapping.default().learned(Control(3, "/lyria/density", channel=None))
    assert mapping.messages(ControlChange(1, 3, 127)) == [("/lyria/density", [1.0])]
    assert len(mapping.controls) == 8  # (CC 3 now sets the density, not prompt 3's weight)
    on_two = MidiMapping.default().learned(Control(3, "/lyria/density", channel=2))
    assert on_two.messages(ControlChange(2, 3, 127)) == [("/lyria/density", [1.0])]
    assert on_two.messages(ControlChange(1, 3, 127)) == []  # (the default's CC 3 went)
    kept = on_two.learned(Control(3, "/lyria/brightness", channel=5))
    assert kept.messages(ControlChange(2, 3, 0)) == [("/lyria/density", [0.0])]


def test_a_mapping_is_read_back_from_its_data_and_a_mistake_is_named():
    mapping = MidiMapping(
        controls=(Control(7, "/lyria/brightness", channel=3, low=0.2, high=0.9, curve=0.5),),
        keys=(Key(40, "scene", 2, seconds=4.0),),
        programs=False,
        program_seconds=2.0,
    )
    data = mapping.to_data()
    assert data["controls"] == [
        {
            "number": 7,
            "address": "/lyria/brightness",
            "channel": 3,
            "low": 0.2,
            "high": 0.9,
            "curve": 0.5,
        }
    ]
    assert data["keys"] == [{"note": 40, "action": "scene", "number": 2, "seconds": 4.0}]
    assert MidiMapping.from_data(data) == mapping
    for bad, words in (
        ({"controls": [{"number": 7, "address": "/lyria/nowhere"}]}, "unknown address"),
        ({"controls": [{"number": 7, "address": "/lyria/prompt/1/text"}]}, "a control sets"),
        ({"controls": [{"number": 200, "address": "/lyria/density"}]}, "0 to 127"),
        ({"controls": [{"number": 7, "address": "/lyria/density", "high": 5}]}, "outside"),
        ({"controls": [{"number": 7, "address": "/lyria/density", "knob": 1}]}, "unknown knob"),
        ({"keys": [{"note": 1, "action": "explode"}]}, "one of prompt, play"),
        ({"keys": [{"note": 1, "action": "prompt", "number": 9}]}, "not 1 to 8"),
        ({"keys": [{"note": 1, "action": "play", "channel": 17}]}, "1 to 16"),
    ):
        with pytest.raises((ValueError, OscInputError), match=words):
            MidiMapping.from_data(bad)


def test_a_midi_clock_is_followed_to_its_tempo_and_beats():
    follower = MidiClockFollower()
    rng = random.Random(1)
    per_tick = 60.0 / 120.0 / TICKS_PER_BEAT
    follower.tick(0.0)  # (before Start: not followed)
    assert follower.reading() is None
    follower.start()
    for n in range(4 * TICKS_PER_BEAT):  # four beats, each tick a millisecond off at most
        follower.tick(10.0 + n * per_tick + rng.uniform(-0.001, 0.001))
    reading = follower.reading()
    assert reading is not None and reading.tempo == pytest.approx(120.0, abs=0.5)
    assert reading.beat == pytest.approx((4 * TICKS_PER_BEAT - 1) / TICKS_PER_BEAT)
    assert reading.time_at(4.0) == pytest.approx(10.0 + 4 * 0.5, abs=0.001)  # (the next beat)
    for n in range(4 * TICKS_PER_BEAT, 7 * TICKS_PER_BEAT):  # to 126 bpm
        follower.tick(10.0 + 2.0 + (n - 4 * TICKS_PER_BEAT) * 60.0 / 126.0 / TICKS_PER_BEAT)
    assert follower.reading().tempo == pytest.approx(126.0, abs=0.5)  # (within two beats)
    follower.stop()
    follower.tick(20.0)
    assert follower.reading() is None
    follower.resume()
    for n in range(TICKS_PER_BEAT):
        follower.tick(30.0 + n * per_tick)
    assert follower.reading().beat == pytest.approx(8.0 - 1 / TICKS_PER_BEAT)  # (went on)
