"""What must hold of any musical state, whatever input produced it (test helper)."""

from __future__ import annotations

from oscserver.core.addresses import PROMPT_SLOTS, SCALES, TABLE, Effect, Kind
from oscserver.core.state import MusicalState, Playback


def check_state(state: MusicalState) -> None:
    """Raise AssertionError if the state holds a value the address table would refuse."""
    assert len(state.prompts) == PROMPT_SLOTS
    for prompt in state.prompts:
        assert isinstance(prompt.text, str)
        assert isinstance(prompt.weight, float) and -2.0 <= prompt.weight <= 2.0
    assert isinstance(state.playback, Playback)
    for entry in TABLE:
        if entry.effect is Effect.LOCAL:
            assert getattr(state.local, entry.target) in entry.args[0].choices, entry.path
            continue
        if entry.effect is not Effect.CONFIG:
            continue
        value = getattr(state.config, entry.target)
        arg = entry.args[0]
        if value is None:
            assert arg.nullable, entry.path
        elif arg.kind is Kind.ENUM:
            assert value in arg.choices, (entry.path, value)
        elif arg.kind is Kind.BOOL:
            assert isinstance(value, bool), (entry.path, value)
        else:
            assert isinstance(value, int | float) and not isinstance(value, bool), entry.path
            assert arg.minimum is not None and arg.maximum is not None
            assert arg.minimum <= value <= arg.maximum, (entry.path, value)
    assert state.config.scale in SCALES
