"""The playout controller: how fast to play the stream so that the buffer holds its target.

The service delivers at about real time, not exactly: 0.97 to 0.99 of it over a session, 0.77
to 1.03 over a minute (docs/protocol.md, "How the service behaves"), and the output's clock
drifts against it too. Rather than let the buffer run dry (a gap) or grow (every control heard
later), the stream is time-stretched by a few percent, keeping its pitch: played slower when
the buffer is below its target, faster when above. This module only decides; a stretcher
carries the decision out. The split is WebRTC NetEq's (``decision_logic.cc`` decides,
``accelerate.cc`` and ``preemptive_expand.cc`` act), and so is the care not to change the rate
abruptly: NetEq limits time-scaling to about 100 ms per second.

Plain numbers in and out, no clock: the caller passes ``now`` and the buffer level.

The level measured is the *floor* of the buffer over the last :attr:`Settings.window` seconds:
audio arrives in chunks (about 2 s each), so the level is a sawtooth, and what keeps the music
from running dry is the lowest point before the next chunk, not the peak after one. Until a
whole window has been seen after :meth:`PlayoutController.reset`, the floor is not known and
the ratio stays 1.

The service's pace is measured where it shows: the caller reports each chunk's arrival
(:meth:`PlayoutController.arrived`), and the slope of the audio received against time over
the last :attr:`Settings.pace_window` seconds (least squares, so one late chunk and the burst
behind it barely move it) is the pace; at 0.96 of real time, a ratio of 1/0.96 keeps the level
still. That is the feed-forward part. On top of it, the control is proportional-integral on the
floor's distance beyond a dead band around the target: the proportional part answers a sudden
change, the integral part what the pace does not explain (the output's clock drifting against
real time), and while the floor is inside the dead band the integral leaks back toward 0. With
a service at real time, the ratio is exactly 1. The integral is clamped to the limit (no
wind-up), and the ratio moves by at most ``slew`` per second.

Ratios are time ratios, as in Rubber Band (``setTimeRatio``): output duration over input
duration. Above 1 the music plays slower and the buffer fills; below 1, faster, and it drains.

>>> c = PlayoutController(Settings(target=2.0, window=1.0))
>>> c.update(now=0.0, buffered=2.1), c.update(now=1.0, buffered=2.1)  # in the band: exactly 1
(1.0, 1.0)
>>> c.update(now=2.0, buffered=0.5)  # far below: slower, by at most the slew per second
1.005
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["PlayoutController", "Settings"]


@dataclass(frozen=True)
class Settings:
    """How the controller behaves.

    Attributes:
        target: Seconds of audio the buffer should hold at its lowest (the pre-roll).
        max_stretch: The most the ratio may differ from 1 (0.06: from 0.94 to 1.06).
        dead_band: Seconds either side of the target where no correction is made.
        gain: Ratio per second of floor beyond the dead band (the proportional part).
        learn: Ratio per second, per second of floor beyond the dead band (the integral part,
            which learns the service's pace). With ``gain`` it sets how the level settles:
            ``s**2 + gain*s + learn``, damping 0.67 and about two minutes at the defaults.
        leak: Seconds in which the learnt pace decays back to 1 while the floor is inside the
            dead band.
        slew: The most the ratio may change in one second, so that nothing wobbles
            (0.005/s: from 1 to 1.06 in 12 s).
        window: Seconds over which the buffer's floor is taken (two chunks of the service).
        pace_window: Seconds of arrivals over which the service's pace is measured (the pace is
            known once half of it has been seen); 0: not measured, the integral learns it.
    """

    target: float = 2.0
    max_stretch: float = 0.06
    dead_band: float = 0.25
    gain: float = 0.06
    learn: float = 0.002
    leak: float = 120.0
    slew: float = 0.005
    window: float = 4.0
    pace_window: float = 30.0

    def __post_init__(self) -> None:
        if not (self.target > 0 and 0 <= self.max_stretch < 0.5):
            raise ValueError("target must be above 0 and max_stretch within 0..0.5")
        if not (self.dead_band >= 0 and self.gain >= 0 and self.learn >= 0):
            raise ValueError("dead_band, gain and learn must not be negative")
        if not (self.leak > 0 and self.slew > 0 and self.window > 0 and self.pace_window >= 0):
            raise ValueError("leak, slew and window must be above 0, pace_window not below")


class PlayoutController:
    """Decides the time ratio for the next block from the buffer level. No clock, no audio.

    Call :meth:`update` whenever the level is known (at least every block the feeder writes),
    with a ``now`` that never goes back. Call :meth:`reset` when the stream starts afresh (a
    new session, a pause), so that no old level is kept.

    Args:
        settings: Target and limits.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._levels: deque[tuple[float, float]] = deque()
        self._since: float | None = None
        self._last: float | None = None
        self._ratio = 1.0
        self._pace = 0.0  # the integral part: what the measured pace leaves, as ratio - 1
        self._arrivals: deque[tuple[float, float]] = deque()  # (time, seconds received so far)
        self._received = 0.0

    @property
    def ratio(self) -> float:
        """The time ratio decided last (1.0 before any update)."""
        return self._ratio

    def floor(self) -> float | None:
        """The lowest level over the window, once a whole window has been seen, else None."""
        if self._since is None or self._last is None:
            return None
        if self._last - self._since < self.settings.window:
            return None
        return min(level for _, level in self._levels)

    def reset(self) -> None:
        """Forget the levels seen and what was learnt of the pace; play at exactly 1 again."""
        self._levels.clear()
        self._since = self._last = None
        self._ratio, self._pace = 1.0, 0.0
        self._arrivals.clear()
        self._received = 0.0

    def forget_pace(self) -> None:
        """Forget the arrivals measured (a new session: its head start is not its pace)."""
        self._arrivals.clear()
        self._received = 0.0

    def arrived(self, now: float, seconds: float) -> None:
        """Audio came from the service: ``seconds`` of it, at ``now`` (the caller's clock)."""
        self._received += seconds
        arrivals = self._arrivals
        arrivals.append((now, self._received))
        while arrivals and arrivals[0][0] < now - self.settings.pace_window:
            arrivals.popleft()

    def pace(self) -> float | None:
        """The service's pace (seconds of audio per second), once half a window is seen.

        The least-squares slope of the audio received against the time it arrived.
        """
        arrivals = self._arrivals
        window = self.settings.pace_window
        if not window or len(arrivals) < 4 or arrivals[-1][0] - arrivals[0][0] < window / 2:
            return None
        n = len(arrivals)
        mean_t = sum(t for t, _ in arrivals) / n
        mean_r = sum(r for _, r in arrivals) / n
        spread = sum((t - mean_t) ** 2 for t, _ in arrivals)
        if spread <= 0:
            return None
        slope = sum((t - mean_t) * (r - mean_r) for t, r in arrivals) / spread
        return slope if slope > 0 else None

    def update(self, now: float, buffered: float) -> float:
        """Take the current buffer level and return the ratio for the next block.

        Args:
            now: The caller's clock, in seconds.
            buffered: Seconds of audio waiting to be played.

        Returns:
            The time ratio, within ``1 ± max_stretch``, changed by at most ``slew`` per second
            since the last update; exactly 1.0 when nothing needs correcting.
        """
        s = self.settings
        dt = now - self._last if self._last is not None else 0.0
        if self._since is None:
            self._since = now
        self._last = now
        levels = self._levels
        levels.append((now, buffered))
        while levels[0][0] < now - s.window:
            levels.popleft()
        floor = self.floor()
        wanted = 1.0
        if floor is not None:
            error = s.target - floor
            beyond = math.copysign(max(0.0, abs(error) - s.dead_band), error)
            if beyond:
                self._pace += s.learn * beyond * dt
            else:
                self._pace *= math.exp(-dt / s.leak)
                if abs(self._pace) < 1e-4:
                    self._pace = 0.0
            self._pace = min(s.max_stretch, max(-s.max_stretch, self._pace))  # no wind-up
            pace = self.pace()
            # A pace within half a percent of real time is taken as real time: its estimate
            # wobbles by that much, and at exactly 1 nothing is stretched at all.
            feed = 1.0 / pace - 1.0 if pace is not None and abs(pace - 1.0) > 0.005 else 0.0
            push = feed + s.gain * beyond + self._pace
            wanted = 1.0 + min(s.max_stretch, max(-s.max_stretch, push))
        step = s.slew * dt
        if abs(wanted - self._ratio) <= step:
            self._ratio = wanted  # arrives exactly, 1.0 included
        else:
            self._ratio += math.copysign(step, wanted - self._ratio)
        return self._ratio
