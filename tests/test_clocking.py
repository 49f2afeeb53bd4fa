"""The app's side of a clock with plain numbers: the internal clock starts at play, the user's
bpm goes to the clock, and a tempo the clock takes from elsewhere goes to the service once it
has held, throttled (each bpm sent costs a context reset)."""

from __future__ import annotations

import pytest

from oscserver.adapters.clock.internal import InternalClock
from oscserver.clocking import SETTLE, THROTTLE, Clocking
from oscserver.feedback import Status


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_clock_says_none_and_never_asks_for_a_tempo():
    c = Clocking(None)
    assert c.name == "none" and c.tempo() == 0.0
    c.playing()
    c.bpm_asked(130)
    assert c.poll(0.0, 120) is None


def test_the_internal_clock_starts_at_play_and_takes_the_users_bpm():
    t = FakeTime()
    clock = InternalClock(120.0, t)
    c = Clocking(clock)
    assert c.tempo() == 0.0  # no beat before play
    c.playing()
    t.now += 1.0
    assert clock.read().beat == pytest.approx(2.0)  # beat 0 at play, 2 beats a second
    c.bpm_asked(90)
    assert c.tempo() == 90.0
    assert c.poll(t.now, 90) is None  # the session already asks for it


def test_a_tempo_from_elsewhere_goes_to_the_service_once_it_has_held_and_not_too_often():
    t = FakeTime()
    clock = InternalClock(120.0, t)
    c = Clocking(clock)
    c.playing()
    clock.propose_tempo(126.0)  # a Link peer moved the session's tempo, say
    assert c.poll(0.0, 120) is None  # just seen
    assert c.poll(SETTLE / 2, 120) is None  # not held long enough: a ramp may be under way
    assert c.poll(SETTLE, 120) == 126
    clock.propose_tempo(130.4)
    c.poll(SETTLE + 0.5, 126)
    assert c.poll(SETTLE + 0.5 + SETTLE, 126) is None  # held, but one was sent just now
    assert c.poll(SETTLE + THROTTLE, 126) == 130
    clock.propose_tempo(250.0)  # beyond the service's range: its nearest
    c.poll(100.0, 130)
    assert c.poll(100.0 + SETTLE, 130) == 200


def test_the_status_line_and_reply_carry_the_clock_and_the_lock():
    s = Status(
        "connected",
        "playing",
        2.0,
        0,
        0,
        0.0,
        3,
        0,
        clock="link",
        clock_tempo=120.0,
        lock="locked",
        lock_error=0.0021,
    )
    assert "link 120.0 locked +2 ms" in s.line()
    assert s.reply()[1][10:] == ["link", 120.0, "locked", 2.1]
    seeking = Status("connected", "playing", 2.0, 0, 0, 0.0, 3, 0, clock="jack", lock="seeking")
    assert "jack seeking" in seeking.line()
