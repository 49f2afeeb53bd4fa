"""What to do when the service closes the connection: explain it, retry or stop, and when.

Plain functions, no I/O and no clock: the WebSocket adapter asks :func:`describe_close` about
each close and takes its delays from :func:`backoff`.

Close codes (docs/protocol.md, "How the service behaves"): 1007 is a rejected API key when
its reason is about the key ("API key not valid..."), else a request the service found invalid
("Request contains an invalid argument.": Google's Live APIs use 1007 for both); 1008 a refused
session (retrying cannot help); 1011 ends a session at the ~600 s cap or on an
internal error, and also carries quota exhaustion ("resource exhausted"), which needs a much
longer wait; 1013 means try again later; 1006 is a connection that dropped without a close
frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["QUOTA_BACKOFF", "RETRY_BACKOFF", "Backoff", "CloseVerdict", "backoff", "describe_close"]


@dataclass(frozen=True)
class Backoff:
    """A capped exponential backoff: ``initial``, times ``factor`` each time, at most ``cap``."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0


#: After a drop, a cap or a busy service: retry soon.
RETRY_BACKOFF = Backoff(0.5, 2.0, 30.0)
#: After quota exhaustion: quotas refill per minute, so wait that long, and longer after that.
QUOTA_BACKOFF = Backoff(60.0, 2.0, 600.0)


@dataclass(frozen=True)
class CloseVerdict:
    """The meaning of one close.

    Attributes:
        message: For the user, lowercase, naming the close code; never contains secrets if the
            caller redacted the reason.
        retry: True when reconnecting can help.
        schedule: The backoff to use for the retries (meaningless when ``retry`` is False).
    """

    message: str
    retry: bool
    schedule: Backoff = RETRY_BACKOFF


#: A close reason that is about the API key ("API key not valid", "API_KEY_INVALID").
_ABOUT_KEY = re.compile(r"api[ _]?key|\bkey\b", re.I)


def describe_close(code: int | None, reason: str, key_sent: bool = True) -> CloseVerdict:
    """Explain a WebSocket close by the service and say whether and how to retry.

    Args:
        code: The close code (None or 1006 when the connection dropped without a close frame).
        reason: The close reason; the caller must have redacted secrets from it.
        key_sent: Whether an API key went with the request (none goes to a ``ws://`` engine).
    """
    lowered = reason.lower()
    said = f"close {code or 1006}" + (f": {reason}" if reason else "")
    if code == 1007 and _ABOUT_KEY.search(reason):
        if not key_sent:
            return CloseVerdict(
                f"the engine wants an API key, and none is sent to it ({said})", False
            )
        return CloseVerdict(
            f"the service rejected the API key ({said}); check GEMINI_API_KEY", False
        )
    if code == 1007:
        # Not the key: a request it found invalid. A new session gets the current state, which
        # the user may have corrected meanwhile; the audio already buffered plays on.
        return CloseVerdict(f"the service refused a request as invalid ({said}); retrying", True)
    if code == 1008:
        return CloseVerdict(f"the service refused the session ({said or 'no reason'})", False)
    if code == 1011 and ("quota" in lowered or "exhausted" in lowered):
        return CloseVerdict(
            f"the API quota is exhausted ({said}); retrying in a minute or more",
            True,
            QUOTA_BACKOFF,
        )
    if code == 1011:
        return CloseVerdict(
            f"the service ended the session ({said}; e.g. the 600 s cap); retrying", True
        )
    if code == 1013:
        return CloseVerdict(f"the service is busy ({said}, try again later); retrying", True)
    if code == 1009:
        return CloseVerdict(
            f"the service sent a frame larger than oscserver accepts ({said}); retrying", True
        )
    if code == 1000:
        return CloseVerdict(f"the service closed the session normally ({said})", True)
    return CloseVerdict(f"the connection dropped ({said}); retrying", True)


def backoff(
    schedule: Backoff = RETRY_BACKOFF, rand: Callable[[], float] | None = None
) -> Iterator[float]:
    """Yield reconnect delays in seconds.

    Args:
        schedule: Initial delay, growth factor and cap.
        rand: A source of uniform numbers in [0, 1) (e.g. ``random.random``). With it each
            delay is drawn from [delay/2, delay] ("equal jitter"), so that many oscservers
            dropped at once by the service do not all come back in the same instant. Without
            it the delays are exact.

    >>> from itertools import islice
    >>> list(islice(backoff(Backoff(0.5, 2.0, 4.0)), 6))
    [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    """
    delay = schedule.initial
    while True:
        yield delay / 2 + rand() * delay / 2 if rand is not None else delay
        delay = min(schedule.cap, delay * schedule.factor)
