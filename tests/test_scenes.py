"""Scenes on plain inputs: kept and read back as a file keeps them (checked as OSC would be),
and recalled over a test's clock: weights glide, a prompt comes in from 0, goes out to 0, or
gives way to another through 0 at half time; continuous settings glide, the others change at
once, "auto" comes back at the end; with 0 seconds, all at once; a message of the sender's own
ends what was planned for its address."""

from __future__ import annotations

import json

import pytest

from oscserver.core.errors import OscInputError
from oscserver.core.glides import Glides
from oscserver.core.scenes import Scene, recall
from oscserver.core.state import MusicalState

T0 = 100.0


def state_with(*messages: tuple[str, list]) -> MusicalState:
    state = MusicalState.initial()
    for path, args in messages:
        state, _ = state.apply(path, args)
    return state


def run(state: MusicalState, scene: Scene, seconds: float, watch: list[str]):
    """Recall ``scene`` over ``seconds`` on a test clock; every step's values of ``watch``."""
    glides = Glides(step=0.05)
    glides.plan(*recall(state, scene, seconds, T0))
    state, _ = glides.advance(state, T0)  # (what is at once)
    seen, now = [(0.0, *[value(state, path) for path in watch])], T0
    while glides:
        now = glides.next_deadline(now)
        state, _ = glides.advance(state, now)
        seen.append((round(now - T0, 3), *[value(state, path) for path in watch]))
    return state, seen


def value(state: MusicalState, path: str):
    parts = path.split("/")
    if parts[2] == "prompt":
        prompt = state.prompt(int(parts[3]))
        return getattr(prompt, parts[4])
    return getattr(state.config, parts[2])


def test_a_scene_is_kept_as_a_file_keeps_it_and_read_back_checked():
    state = state_with(
        ("/lyria/prompt/1/text", ["deep house"]),
        ("/lyria/prompt/3/text", ["warm strings"]),
        ("/lyria/prompt/3/weight", [0.4]),
        ("/lyria/bpm", [124]),
        ("/lyria/density", [0.3]),
        ("/lyria/mode", ["DIVERSITY"]),
    )
    data = Scene.of(state).to_data()
    assert data["prompts"] == {
        "1": {"text": "deep house", "weight": 1.0},
        "3": {"text": "warm strings", "weight": 0.4},
    }
    assert data["config"]["bpm"] == 124 and data["config"]["brightness"] == "auto"
    assert data["config"]["music_generation_mode"] == "DIVERSITY"
    assert Scene.from_data(json.loads(json.dumps(data))) == Scene.of(state)
    by_hand = Scene.from_data({"prompts": {"2": {"text": "techno"}}, "config": {"bpm": 130}})
    assert by_hand.prompts[1].text == "techno" and by_hand.prompts[1].weight == 1.0
    assert by_hand.config.bpm == 130 and by_hand.config.guidance == 4.0  # (defaults)
    with pytest.raises(OscInputError, match="out of range"):
        Scene.from_data({"config": {"density": 3}})
    with pytest.raises(ValueError, match="slots are 1 to 8"):
        Scene.from_data({"prompts": {"9": {"text": "x"}}})
    with pytest.raises(ValueError, match="not a setting"):
        Scene.from_data({"config": {"loudness": 1}})


def test_a_prompt_that_stays_glides_its_weight_and_settings_glide_or_change_at_once():
    before = state_with(("/lyria/prompt/1/text", ["house"]), ("/lyria/density", [0.2]))
    after = state_with(
        ("/lyria/prompt/1/text", ["house"]),
        ("/lyria/prompt/1/weight", [0.5]),
        ("/lyria/density", [0.8]),
        ("/lyria/bpm", [128]),
        ("/lyria/mute_bass", [True]),
    )
    watch = ["/lyria/prompt/1/weight", "/lyria/density", "/lyria/bpm", "/lyria/mute_bass"]
    state, seen = run(before, Scene.of(after), 2.0, watch)
    assert seen[0] == (0.0, 1.0, 0.2, 128, True)  # (bpm and the mute at once)
    middle = next(s for s in seen if s[0] == pytest.approx(1.0, abs=0.03))
    assert middle[1] == pytest.approx(0.75, abs=0.02) and middle[2] == pytest.approx(0.5, abs=0.02)
    assert seen[-1][1:3] == (0.5, 0.8) and seen[-1][0] == pytest.approx(2.0, abs=0.05)
    assert Scene.of(state) == Scene.of(after)


def test_prompts_come_in_from_zero_go_out_to_zero_and_give_way_through_zero():
    before = state_with(
        ("/lyria/prompt/1/text", ["house"]),  # gives way to "strings"
        ("/lyria/prompt/2/text", ["piano"]),  # goes out
        ("/lyria/prompt/3/weight", [0.7]),  # (no text: silent) "choir" comes in
        ("/lyria/brightness", [0.6]),  # handed back to the model at the end
    )
    after = state_with(
        ("/lyria/prompt/1/text", ["strings"]),
        ("/lyria/prompt/1/weight", [0.8]),
        ("/lyria/prompt/2/text", [""]),
        ("/lyria/prompt/3/text", ["choir"]),
        ("/lyria/prompt/3/weight", [0.7]),
    )
    watch = [f"/lyria/prompt/{n}/{what}" for n in (1, 2, 3) for what in ("text", "weight")]
    state, seen = run(before, Scene.of(after), 4.0, [*watch, "/lyria/brightness"])
    times = (0.0, 1.0, 1.9, 2.1, 3.0)
    at = {t: min(seen, key=lambda s, t=t: abs(s[0] - t))[1:] for t in times}
    assert at[0.0] == ("house", 1.0, "piano", 1.0, "choir", 0.0, 0.6)
    assert at[1.0][:2] == ("house", 0.5) and at[1.0][3] == pytest.approx(0.75, abs=0.02)
    # The old one out by half time, the new text from there, coming in from 0.
    assert at[1.9][0] == "house" and at[1.9][1] == pytest.approx(0.05, abs=0.01)
    assert at[2.1][0] == "strings" and at[2.1][1] == pytest.approx(0.04, abs=0.01)
    assert at[3.0][1] == pytest.approx(0.4, abs=0.02)
    assert at[3.0][5] == pytest.approx(0.525, abs=0.02) and at[3.0][6] == 0.6
    assert seen[-1][1:] == ("strings", 0.8, "", 1.0, "choir", 0.7, None)
    assert Scene.of(state) == Scene.of(after)
    weights = [s[4] for s in seen]  # (the slot going out: down to 0 only then its scene's)
    assert min(weights[:-1]) == 0.0 and weights == [*sorted(weights[:-1], reverse=True), 1.0]


def test_with_no_seconds_everything_changes_at_once():
    before = state_with(("/lyria/prompt/1/text", ["house"]))
    after = state_with(("/lyria/prompt/1/text", ["dub"]), ("/lyria/density", [0.9]))
    glides, later = recall(before, Scene.of(after), 0.0, T0)
    assert glides == [] and all(m.when == T0 for m in later)
    g = Glides()
    g.plan(glides, later)
    state, update = g.advance(before, T0)
    assert Scene.of(state) == Scene.of(after) and not g
    assert dict(update.values) == {"/lyria/prompt/1/text": "dub", "/lyria/density": 0.9}


def test_a_message_of_the_senders_own_ends_what_was_planned_for_its_address():
    before = state_with(("/lyria/prompt/1/text", ["house"]), ("/lyria/density", [0.0]))
    after = state_with(("/lyria/prompt/1/weight", [0.0]), ("/lyria/density", [1.0]))
    glides = Glides()
    glides.plan(*recall(before, Scene.of(after), 2.0, T0))
    state, _ = glides.advance(before, T0 + 1.0)
    state, update = state.apply("/lyria/density", [0.1])  # (a fader moved meanwhile)
    glides.request(update, state, T0 + 1.0)
    state, _ = glides.advance(state, T0 + 2.0)
    assert state.config.density == 0.1  # (the fader's)
    assert state.prompt(1).weight == 0.0  # (the rest of the recall went on)
