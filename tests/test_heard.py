"""The change tracker: which chunk first reflects a change, from the chunks' sourceMetadata."""

from __future__ import annotations

from typing import Any

from oscserver.core.heard import ChangeTracker, Content
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt


def content(*prompts: tuple[str, float], **config: Any) -> Content:
    return tuple(WeightedPrompt(t, w) for t, w in prompts), MusicGenerationConfig(**config)


def metadata(c: Content) -> dict[str, Any]:
    """What the service (and the embedded engine) puts on a chunk generated from ``c``."""
    prompts, config = c
    return {
        "clientContent": {
            "weightedPrompts": [{"text": p.text, "weight": p.weight} for p in prompts]
        },
        "musicGenerationConfig": config.to_body(),
    }


START = content(("ambient", 1.0))


def started() -> ChangeTracker:
    tracker = ChangeTracker()
    tracker.sent(0.0, START)
    return tracker


def test_the_session_start_is_not_a_change():
    tracker = started()
    assert tracker.pending == 0
    assert tracker.chunk(1.0, metadata(START)) is None


def test_the_first_chunk_generated_from_a_change_reflects_it():
    tracker = started()
    change = content(("ambient", 1.0), density=0.9)
    tracker.sent(5.0, change)
    assert tracker.chunk(5.5, metadata(START)) is None  # generated before the change
    assert tracker.chunk(7.0, metadata(change)) == 5.0
    assert tracker.pending == 0
    assert tracker.chunk(9.0, metadata(change)) is None


def test_an_unchanged_content_is_no_change():
    tracker = started()
    tracker.sent(5.0, content(("ambient", 1.0)))
    assert tracker.pending == 0


def test_a_glide_is_heard_from_the_chunk_that_reflects_its_latest_step():
    tracker = started()
    steps = [content(("ambient", 1.0), ("techno", w)) for w in (0.25, 0.5, 0.75)]
    for i, step in enumerate(steps):
        tracker.sent(5.0 + 0.2 * i, step)
    # The service generated from the second step: it and the first are heard, the third waits.
    assert tracker.chunk(6.0, metadata(steps[1])) == 5.0
    assert tracker.pending == 1
    assert tracker.chunk(8.0, metadata(steps[2])) == 5.4
    assert tracker.pending == 0


def test_metadata_with_only_the_prompts_is_compared_on_the_prompts():
    tracker = started()
    change = content(("techno", 1.0))
    tracker.sent(5.0, change)
    assert tracker.chunk(6.0, {"clientContent": metadata(START)["clientContent"]}) is None
    assert tracker.chunk(7.0, {"clientContent": metadata(change)["clientContent"]}) == 5.0


def test_metadata_that_says_nothing_or_cannot_be_read_matches_nothing():
    tracker = started()
    tracker.sent(5.0, content(("techno", 1.0)))
    for odd in ({}, {"clientContent": 3}, {"musicGenerationConfig": {"density": "loud"}}):
        assert tracker.chunk(6.0, odd) is None
    assert tracker.pending == 1


def test_without_metadata_the_first_chunk_after_a_change_reflects_it():
    tracker = started()
    tracker.sent(5.0, content(("techno", 1.0)))
    tracker.sent(5.3, content(("techno", 0.5)))
    assert tracker.chunk(6.0, None) == 5.0
    assert tracker.chunk(8.0, None) is None


def test_changes_no_chunk_matches_are_forgotten():
    tracker = ChangeTracker(expire=10.0)
    tracker.sent(0.0, START)
    tracker.sent(5.0, content(("techno", 1.0)))
    assert tracker.chunk(16.0, None) is None  # 11 s later: too old to be this change
    assert tracker.pending == 0


def test_reset_forgets_the_changes_waiting_but_not_what_was_told():
    tracker = started()
    tracker.sent(5.0, content(("techno", 1.0)))
    tracker.reset()
    assert tracker.pending == 0
    tracker.sent(6.0, content(("techno", 1.0)))  # what was told already: not a change
    assert tracker.pending == 0
