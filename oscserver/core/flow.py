"""Is the service keeping up? A watch over the audio arriving while the session plays.

Plain code, no clock: the caller passes the time. The service generates at about real time
(docs/protocol.md, "How the service behaves": 0.97 to 0.99 of it on average, 0.77 to 1.03
over a minute, a chunk once 17 s late), so the jitter buffer absorbs ordinary variation. Two
failures it cannot absorb:

- a **stall**: no audio at all for ``timeout`` seconds while playing, the connection open;
- a **starved** stream: audio arrives, but far slower than it plays (a congested link, a frame
  trickling in a few bytes at a time, an overloaded service) — the output keeps running dry.

Both are only cured by a new session, so the caller reconnects. A stream that is merely **slow**
(below :data:`SLOW` of real time over the window) is reported once, and reported again only after
it has recovered (:data:`RECOVERED`); if it stays slow for another whole window, it counts as
starved: the music has had gaps for twice the window, and a new session is worth a try.

>>> watch = AudioWatch(timeout=10.0)
>>> watch.observe(0.0, playing=True)
>>> for t in range(1, 33, 2):
...     watch.audio(float(t), 0.5)  # half a second of audio every 2 s: 25 % of real time
>>> watch.check(31.0).text
'the service sent 7.5 s of audio in the last 30 s (25 % of real time)'
>>> watch.check(31.0).reconnect
True
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["RECOVERED", "SLOW", "STARVED", "AudioWatch", "FlowVerdict"]

#: Below this share of real time over the window the stream is reported as slow.
SLOW = 0.75
#: Below this share over the window the session is starved: reconnect.
STARVED = 0.5
#: A slow stream is reported again only after it came back above this share.
RECOVERED = 0.9
#: The window over which the flow is measured, in units of the stall timeout.
WINDOW_PER_TIMEOUT = 3.0


@dataclass(frozen=True)
class FlowVerdict:
    """What the watch found.

    Attributes:
        kind: ``stalled`` or ``starved`` (the caller must reconnect), or ``slow`` (tell the user).
        text: The explanation for the user, lowercase.
    """

    kind: str
    text: str

    @property
    def reconnect(self) -> bool:
        """True when only a new session can help."""
        return self.kind in ("stalled", "starved")


class AudioWatch:
    """Watches one session's audio against real time.

    Args:
        timeout: Seconds without any audio while playing that make a stall; the flow window is
            :data:`WINDOW_PER_TIMEOUT` times this. 0 turns the watch off.

    The caller must call :meth:`observe` now and then (each check is fine) with whether the
    session is playing and connected, :meth:`audio` for each chunk received, and :meth:`check`
    to get a verdict.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._since: float | None = None  # when playing began (None: not playing)
        self._first: float | None = None  # the first audio since then: the flow's origin
        self._last_audio: float | None = None
        self._chunks: deque[tuple[float, float]] = deque()  # (time, seconds of audio)
        self._told_slow = False
        self._slow_since: float | None = None  # since when the flow has been below SLOW

    @property
    def window(self) -> float:
        """The span over which the flow is measured, in seconds."""
        return self.timeout * WINDOW_PER_TIMEOUT

    def observe(self, now: float, playing: bool) -> None:
        """Note whether the session is playing; a pause or a drop restarts every measure."""
        if not playing:
            self._since = self._first = self._slow_since = None
            self._chunks.clear()
        elif self._since is None:
            self._since = now

    def audio(self, now: float, seconds: float) -> None:
        """Note a chunk of ``seconds`` of audio received at ``now``."""
        self._last_audio = now
        if self._since is not None and self.timeout > 0:
            self._chunks.append((now, seconds))
            if self._first is None:
                self._first = now
            self._forget(now)

    def restart(self, now: float) -> None:
        """Start measuring afresh (after a reconnect): the new session gets its own window."""
        self._chunks.clear()
        self._since = now if self._since is not None else None
        self._first = self._last_audio = self._slow_since = None

    def _forget(self, now: float) -> None:
        """Drop the chunks older than the window (memory stays bounded however long it runs)."""
        while self._chunks and self._chunks[0][0] <= now - self.window:
            self._chunks.popleft()

    def check(self, now: float) -> FlowVerdict | None:
        """A verdict on the audio up to ``now``, or None when all is well (or too early to say)."""
        if self.timeout <= 0 or self._since is None:
            return None
        quiet_since = max(self._since, self._last_audio if self._last_audio is not None else -1.0)
        if now - quiet_since > self.timeout:
            return FlowVerdict(
                "stalled", f"no audio from the service for {self.timeout:g} s while playing"
            )
        window = self.window
        self._forget(now)
        # Measured from the first audio: the wait for it is the stall check's business.
        if self._first is None or now - self._first < window:
            return None
        received = sum(seconds for _, seconds in self._chunks)
        share = received / window
        text = (
            f"the service sent {received:.1f} s of audio in the last {window:g} s "
            f"({share * 100:.0f} % of real time)"
        )
        if share < STARVED:
            return FlowVerdict("starved", text)
        if share >= SLOW:
            self._slow_since = None
            if share >= RECOVERED:
                self._told_slow = False
            return None
        if self._slow_since is None:
            self._slow_since = now
        elif now - self._slow_since >= window:
            # Slow through a whole window after the warning: not a passing dip. A new session
            # is worth its short gap.
            return FlowVerdict(
                "starved", f"{text}, slow for {now - self._slow_since + window:.0f} s"
            )
        if not self._told_slow:
            self._told_slow = True
            return FlowVerdict("slow", text + ": the music will have gaps")
        return None
