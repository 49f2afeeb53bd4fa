"""The audio watch (oscserver/core/flow.py) with plain inputs: chunks at given times, verdicts
at given times."""

from __future__ import annotations

from oscserver.core.flow import AudioWatch


def chunks(start: float, end: float, every: float, seconds: float) -> list[tuple[float, float]]:
    """A chunk of ``seconds`` of audio every ``every`` seconds in [start, end)."""
    count = round((end - start) / every)
    return [(start + i * every, seconds) for i in range(count) if start + i * every < end]


def run(watch: AudioWatch, audio: list[tuple[float, float]], start: float, end: float) -> list[str]:
    """Play the chunks in time order to a watchdog that checks every half second; returns the
    kinds of the verdicts it got."""
    pending = sorted(audio)
    got, t = [], start
    while t <= end:
        while pending and pending[0][0] <= t:
            watch.audio(*pending.pop(0))
        verdict = watch.check(t)
        if verdict is not None:
            got.append(verdict.kind)
            if verdict.reconnect:
                watch.restart(t)
        t += 0.5
    return got


def until(watch: AudioWatch, audio: list[tuple[float, float]], end: float) -> None:
    """Hand over the chunks up to ``end`` without checking."""
    for t, seconds in sorted(audio):
        if t <= end:
            watch.audio(t, seconds)


def test_real_time_and_the_services_ordinary_variation_say_nothing():
    watch = AudioWatch(timeout=15.0)
    watch.observe(0.0, playing=True)
    # First audio 10.9 s after PLAY (the slowest the service was seen), then 2 s chunks at
    # 0.9 of real time, one 8 s late.
    audio = chunks(10.9, 200.0, 2.2, 2.0)
    audio[20] = (audio[20][0] + 8.0, 2.0)
    assert run(watch, audio, 0.0, 200.0) == []


def test_silence_while_playing_is_a_stall_and_asks_for_a_reconnect():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    until(watch, chunks(0.0, 20.0, 2.0, 2.0), 30.0)  # the last at 18 s
    assert watch.check(28.0) is None
    verdict = watch.check(28.5)
    assert verdict is not None and verdict.kind == "stalled" and verdict.reconnect
    assert verdict.text == "no audio from the service for 10 s while playing"


def test_a_starved_stream_asks_for_a_reconnect_with_the_figures():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    until(watch, chunks(0.0, 60.0, 2.0, 0.8), 31.0)  # 40 % of real time, never quiet for 10 s
    verdict = watch.check(31.0)
    assert verdict is not None and verdict.reconnect
    assert verdict.text == "the service sent 12.0 s of audio in the last 30 s (40 % of real time)"


def test_a_slow_dip_is_reported_once_until_the_stream_recovers():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    # Dips to 65 % for 40 s, twice, with real time in between: a warning each, no reconnect.
    dip, fast = chunks(0.0, 40.0, 2.0, 1.3), chunks(40.0, 120.0, 2.0, 2.0)
    again, fast_again = chunks(120.0, 160.0, 2.0, 1.3), chunks(160.0, 240.0, 2.0, 2.0)
    assert run(watch, dip + fast + again + fast_again, 0.0, 240.0) == ["slow", "slow"]
    # A dip that does not recover to 90 % is not reported twice.
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    mid = chunks(40.0, 120.0, 2.0, 1.7)  # 85 %: above the warning, below recovery
    assert run(watch, dip + mid + chunks(120.0, 150.0, 2.0, 1.3), 0.0, 150.0) == ["slow"]


def test_the_warning_gives_the_figures():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    until(watch, chunks(0.0, 40.0, 2.0, 1.3), 40.0)
    verdict = watch.check(40.0)
    assert verdict is not None and not verdict.reconnect
    assert verdict.text == (  # 14 chunks of 1.3 s in (10, 40]
        "the service sent 18.2 s of audio in the last 30 s (61 % of real time): "
        "the music will have gaps"
    )


def test_slow_for_a_whole_window_after_the_warning_asks_for_a_new_session():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    slow = chunks(0.0, 200.0, 2.0, 1.3)
    t, kinds = 0.0, []
    pending = list(slow)
    while t <= 200.0 and "starved" not in kinds:
        while pending and pending[0][0] <= t:
            watch.audio(*pending.pop(0))
        verdict = watch.check(t)
        if verdict is not None:
            kinds.append(verdict.kind)
            last, when = verdict, t
        t += 0.5
    assert kinds == ["slow", "starved"]
    assert when == 60.0  # warned at 30 s (one window), still slow one window later
    assert last.reconnect and last.text.endswith("(65 % of real time), slow for 60 s")


def test_paused_is_never_a_stall_and_playing_again_starts_a_new_window():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    assert run(watch, chunks(0.0, 20.0, 2.0, 2.0), 0.0, 19.0) == []
    watch.observe(20.0, playing=False)
    assert run(watch, [], 20.0, 100.0) == []  # paused: nothing arrives, nothing is wrong
    watch.observe(100.0, playing=True)
    # The first audio 3 s after PLAY, then 40 %: measured from that first audio, afresh.
    audio = chunks(103.0, 200.0, 2.0, 0.8)
    assert run(watch, audio, 100.0, 132.5) == []
    assert run(watch, audio[15:], 133.0, 133.0) == ["starved"]


def test_after_a_reconnect_the_new_session_is_measured_on_its_own():
    watch = AudioWatch(timeout=10.0)
    watch.observe(0.0, playing=True)
    new_session = chunks(33.0, 100.0, 2.0, 2.0)  # 3 s to connect, then real time
    assert run(watch, chunks(0.0, 30.0, 2.0, 0.4) + new_session, 0.0, 100.0) == ["starved"]


def test_off_when_the_timeout_is_zero():
    watch = AudioWatch(timeout=0.0)
    watch.observe(0.0, playing=True)
    assert run(watch, [], 0.0, 100.0) == []


def test_memory_stays_bounded_with_the_watch_on_or_off():
    for timeout in (10.0, 0.0):
        watch = AudioWatch(timeout=timeout)
        watch.observe(0.0, playing=True)
        for t in range(0, 86_400, 2):  # a day of chunks, never checked
            watch.audio(float(t), 2.0)
        assert len(watch._chunks) <= 15  # a 30 s window of 2 s chunks, or nothing when off
