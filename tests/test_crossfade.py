"""The equal-power crossfade used by session rotation, with plain arrays."""

from __future__ import annotations

import numpy as np

from oscserver.adapters.audio.crossfade import BLOCK, Crossfader

RATE = 48000


def sine(freq: float, n: int, start: int = 0, phase: float = 0.0) -> np.ndarray:
    t = (np.arange(start, start + n) / RATE).astype(np.float64)
    x = (0.5 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)
    return np.vstack([x, x])


def test_before_the_fade_the_outgoing_stream_passes_through_unchanged():
    xf = Crossfader(RATE)
    a = sine(220, 1000)
    xf.push_old(a)
    xf.push_new(sine(330, 5000))
    assert np.array_equal(xf.pull(), a)
    assert xf.pull().shape == (2, 0)
    assert xf.incoming_frames == 5000


def test_the_fade_follows_cos_and_sin_and_keeps_the_pace_of_the_outgoing_stream():
    fade = 2 * RATE
    xf = Crossfader(fade)
    rng = np.random.default_rng(0)
    new = rng.normal(0, 0.2, (2, 3 * RATE)).astype(np.float32)
    xf.push_new(new[:, : RATE + 100])  # the new session is ahead by its first chunk
    xf.start()
    old = rng.normal(0, 0.2, (2, 3 * RATE)).astype(np.float32)
    out = []
    for k in range(4):  # the old session's chunks of 0.5 s come one by one
        chunk = old[:, k * RATE // 2 : (k + 1) * RATE // 2]
        xf.push_old(chunk)
        if k == 1:
            xf.push_new(new[:, RATE + 100 :])
        got = xf.pull()
        if k < 3:  # out as soon as the old chunk is in, but for 10 to 20 ms of look-ahead
            done = sum(o.shape[1] for o in out) + got.shape[1]
            assert (k + 1) * chunk.shape[1] - 2 * BLOCK <= done <= (k + 1) * chunk.shape[1]
        out.append(got)
    assert xf.done
    everything = np.concatenate(out, axis=1)
    mixed = everything[:, :fade]
    angle = (np.pi / 2) * (np.arange(fade) + 0.5) / fade
    expected = old[:, :fade] * np.cos(angle) + new[:, :fade] * np.sin(angle)
    # The streams are unrelated: the correlation correction stays within a few percent.
    assert np.corrcoef(mixed[0], expected[0])[0, 1] > 0.999
    ratio = np.sqrt(np.mean(mixed**2) / np.mean(expected**2))
    assert 0.97 < ratio < 1.03
    # Equal power: two unrelated streams of the same level keep the level through the fade.
    power = [float(np.mean(w**2)) for w in np.array_split(mixed[0], 8)]
    assert max(power) / min(power) < 1.25
    # With the fade's last frame, the rest of the incoming stream comes out at once, unchanged.
    assert np.array_equal(everything[:, fade:], new[:, fade:])
    assert xf.pull().shape == (2, 0)
    xf.push_old(old[:, :100])  # late audio of the old session is not heard
    xf.push_new(new[:, :10])
    assert np.array_equal(xf.pull(), new[:, :10])


def test_streams_that_move_together_keep_their_level_through_the_fade():
    # Two sessions playing the same thing in step: equal power alone would add 3 dB mid-fade.
    fade = 2 * RATE
    xf = Crossfader(fade)
    rng = np.random.default_rng(1)
    music = rng.normal(0, 0.2, (2, 3 * RATE)).astype(np.float32)
    xf.push_new(music[:, :RATE])
    xf.start()
    out = []
    for k in range(4):
        xf.push_old(music[:, k * RATE // 2 : (k + 1) * RATE // 2])
        if k == 1:
            xf.push_new(music[:, RATE:])
        out.append(xf.pull())
    mixed = np.concatenate(out, axis=1)[:, :fade]
    window = RATE // 20
    level = [
        np.sqrt(np.mean(mixed[0, i : i + window] ** 2) / np.mean(music[0, i : i + window] ** 2))
        for i in range(0, fade - window, window)
    ]
    assert min(level) > 0.85 and max(level) < 1.15, (min(level), max(level))
    gains = mixed[0] / music[0, :fade]
    assert np.abs(np.diff(gains)).max() < 1e-3  # the correction glides, never steps


def test_the_fade_between_two_tones_has_no_jump_larger_than_the_tones():
    xf = Crossfader(RATE // 2)
    xf.push_new(sine(330, RATE, phase=1.0))
    a = sine(220, RATE // 4)
    xf.push_old(a)
    before = xf.pull()
    xf.start()
    xf.push_old(sine(220, RATE, start=RATE // 4))
    during = xf.pull()
    out = np.concatenate([before, during, xf.pull()], axis=1)
    steps = np.abs(np.diff(out[0]))
    largest_in_tones = max(
        np.abs(np.diff(sine(220, RATE)[0])).max(), np.abs(np.diff(sine(330, RATE)[0])).max()
    )
    # Two tones at full power each can add up to sqrt(2) of either mid-fade (equal power is
    # for unrelated signals); what must never appear is a step beyond that, at either end.
    assert steps.max() <= np.sqrt(2) * largest_in_tones * 1.01
    edges = [before.shape[1] - 1, before.shape[1] + xf.frames - 1]  # fade start and end
    for edge in edges:
        assert steps[edge] <= 1.01 * max(
            steps[edge - 5 : edge].max(), steps[edge + 1 : edge + 6].max()
        )


def test_an_outgoing_stream_that_ends_early_leaves_the_incoming_one_fading_in():
    fade = 10 * BLOCK
    xf = Crossfader(fade)
    rng = np.random.default_rng(2)
    new = rng.normal(0, 0.2, (2, 3 * fade)).astype(np.float32)
    xf.push_new(new)
    xf.start()
    xf.push_old(rng.normal(0, 0.2, (2, 3 * BLOCK)).astype(np.float32))
    first = xf.pull()
    assert first.shape[1] == 2 * BLOCK  # one block of look-ahead is held back
    xf.old_ended()
    rest = xf.pull()
    assert xf.done and first.shape[1] + rest.shape[1] == 3 * fade
    out = np.concatenate([first, rest], axis=1)
    angle = (np.pi / 2) * (np.arange(fade) + 0.5) / fade
    settled = slice(5 * BLOCK, fade)  # once the old stream's last block is past
    assert np.allclose(out[:, settled], (new[:, :fade] * np.sin(angle))[:, settled], atol=1e-6)
    assert np.array_equal(out[:, fade:], new[:, fade:])


def test_the_rest_is_limited_with_a_splice_that_makes_no_step():
    fade = 4 * BLOCK
    xf = Crossfader(fade)
    tone = sine(330, 3 * RATE)
    xf.push_new(tone)
    xf.start()
    xf.rest_limit = RATE // 2  # this pull may give half a second in all, not 3 s
    xf.push_old(sine(220, fade))
    out = xf.pull()
    assert xf.done
    assert out.shape[1] == RATE // 2  # the fade's end and the rest, together
    assert xf.skipped == 3 * RATE - RATE // 2
    steps = np.abs(np.diff(out[0]))
    assert steps.max() <= np.sqrt(2) * np.abs(np.diff(tone[0])).max() * 1.01
    # After the splice the incoming stream goes on from where it was skipped to, unchanged.
    assert np.array_equal(out[:, -RATE // 4 :], tone[:, -RATE // 4 :])


def test_skip_ahead_splices_out_the_head_start_without_a_step():
    from oscserver.adapters.audio.crossfade import skip_ahead

    tone = sine(330, RATE)
    out = skip_ahead(tone, RATE // 4)
    assert out.shape[1] == RATE - RATE // 4
    assert np.abs(np.diff(out[0])).max() <= np.sqrt(2) * np.abs(np.diff(tone[0])).max() * 1.01
    assert np.array_equal(out[:, BLOCK:], tone[:, RATE // 4 + BLOCK :])
    assert skip_ahead(tone[:, :100], 50) is not None and skip_ahead(tone, 0) is tone
