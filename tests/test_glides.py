"""Weight glides (``/lyria/prompt/N/weight <target> <seconds>``) on a clock the test owns, and
what the session then sends: intermediate weights at most once per window, the target last."""

from __future__ import annotations

import itertools
import json

from oscserver.core.glides import Glides
from oscserver.core.lyria import SetupComplete
from oscserver.core.session import Session
from oscserver.core.state import MusicalState


def test_a_weight_with_seconds_asks_for_a_glide_and_changes_nothing_yet():
    state = MusicalState.initial([("ambient", 0.2)])
    after, update = state.apply("/lyria/prompt/1/weight", [1.0, 4])
    assert after.prompt(1).weight == 0.2
    assert update.glides == ((1, 1.0, 4.0),) and bool(update)
    _, plain = state.apply("/lyria/prompt/1/weight", [0.7])
    assert plain.glides == ((1, 0.7, 0.0),) and plain.prompts == {1}


def test_a_glide_moves_linearly_in_steps_and_ends_on_the_target():
    state = MusicalState.initial([("ambient", 0.0)])
    state, update = state.apply("/lyria/prompt/1/weight", [2.0, 1.0])
    glides = Glides(step=0.05)
    glides.request(update, state, now=100.0)
    seen = []
    t = 100.0
    while glides:
        t = glides.next_deadline(t)
        state, changed = glides.advance(state, t)
        seen.append(state.prompt(1).weight)
        assert changed.glides == ()  # a step does not end its own glide
    assert len(seen) in (20, 21)  # 20 steps of 50 ms, give or take float rounding
    assert seen[-1] == 2.0
    assert all(b >= a for a, b in itertools.pairwise(seen)) and len(set(seen)) >= 20
    assert abs(seen[9] - 1.0) < 1e-9  # halfway at half time
    assert glides.next_deadline(t) is None


def test_a_plain_weight_ends_the_glide_and_wins():
    state = MusicalState.initial([("ambient", 0.0)])
    glides = Glides()
    state, update = state.apply("/lyria/prompt/1/weight", [1.0, 10.0])
    glides.request(update, state, now=0.0)
    state, _ = glides.advance(state, 1.0)
    assert state.prompt(1).weight == 0.1
    state, update = state.apply("/lyria/prompt/1/weight", [0.5])
    glides.request(update, state, now=1.1)
    assert not glides
    state, changed = glides.advance(state, 2.0)
    assert state.prompt(1).weight == 0.5 and not changed


def test_gliding_two_prompts_crossfades_them_on_the_wire_within_the_throttle():
    """A prompt crossfade over 2 s: the service hears intermediate weights, at most one
    update per 200 ms window, and exactly the targets at the end."""
    state = MusicalState.initial([("ambient", 1.0), ("techno", 0.0)])
    session = Session(state)
    session.connection_made()
    session.message_received(SetupComplete())
    session.messages_to_send()
    glides = Glides(step=0.05)
    for path, target in (("/lyria/prompt/1/weight", 0.0), ("/lyria/prompt/2/weight", 1.0)):
        state, update = state.apply(path, [target, 2.0])
        glides.request(update, state, now=0.0)
    wire: list[tuple[float, list[tuple[str, float]]]] = []
    t = 0.0
    while glides or session.next_deadline() is not None:
        deadlines = [d for d in (glides.next_deadline(t), session.next_deadline()) if d]
        t = min(deadlines)
        if glides:
            state, update = glides.advance(state, t)
            if update:
                session.state_changed(state, update, now=t)
        session.poll(t)
        for message in session.messages_to_send():
            body = json.loads(message.to_json())
            if "clientContent" in body:
                prompts = body["clientContent"]["weightedPrompts"]
                wire.append((t, [(p["text"], p["weight"]) for p in prompts]))
    times = [w[0] for w in wire]
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(times))
    assert 6 <= len(wire) <= 12  # ~2 s / 200 ms, not one per 50 ms step
    assert wire[-1][1] == [("techno", 1.0)]  # ambient reached 0: left out
    middle = dict(wire[len(wire) // 2][1])
    assert 0.2 < middle["ambient"] < 0.8 and 0.2 < middle["techno"] < 0.8
