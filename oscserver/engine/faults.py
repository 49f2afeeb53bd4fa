"""Fault modes of the embedded engine: the service's failures, on demand, for tests and rehearsal.

Each :class:`Fault` is plain data; :func:`parse_fault` reads the ``--fault`` syntax. Times count
from the session's setupComplete. Close codes and reasons follow what the service sends
(docs/protocol.md, "How the service behaves").

========================  ==================================================================
``close:S:CODE[:REASON]``  close the session after S seconds with CODE (and REASON)
``cap[:S]``                the service's session cap: close 1011 after S seconds (600)
``bad-key``                reject the API key: close 1007 right after setup
``refused``                refuse the session: close 1008 right after setup
``invalid[:S]``            an invalid request: close 1007 "Request contains an invalid
                           argument." after S seconds (0), as Google's Live APIs close
``quota[:S]``              quota exhausted: close 1011 "resource exhausted" after S seconds
``busy``                   try again later: close 1013 right after setup
``stall:S``                stop sending audio after S seconds; the connection stays open
``slow:S:FACTOR``          after S seconds, generate at FACTOR of real time (e.g. 0.4, or 1.2:
                           faster than real time)
``wander:S[:MEAN[:LOW:HIGH[:PERIOD]]]``
                           after S seconds, the pace the service was measured at: a new
                           seeded rate each PERIOD seconds (60), between LOW and HIGH (0.77,
                           1.03), averaging MEAN (0.98) over every ten periods
``drip:S[:BPS]``           after S seconds, trickle each frame in small fragments at BPS bytes
                           a second (2000; the audio needs about 256,000)
``reset[:S]``              drop the TCP connection after S seconds, no close frame (1006)
``huge[:S]``               send one 17 MiB frame after S seconds (over the client's limit)
``late:N:S``               every Nth chunk comes S seconds late
``tempo:FACTOR``           a model that does not obey: it plays at the asked bpm times FACTOR
                           (0.5 to 2), and each context starts at a random point of a bar, so
                           its beats' phase is arbitrary (``tempo:1``: only the phase)
``malformed:KIND[:S]``     one bad frame after S seconds; KIND: json (not JSON), type (unknown
                           message), mime (unsupported mimeType), odd (odd byte count)
========================  ==================================================================
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["BAD_KEY_REASON", "Fault", "parse_fault", "wander_rates"]

BAD_KEY_REASON = "API key not valid. Please pass a valid API key."
QUOTA_REASON = "Resource has been exhausted (e.g. check quota)."
CAP_REASON = "Session duration limit reached."
BUSY_REASON = "The service is currently unavailable. Try again later."
REFUSED_REASON = "Request refused by policy."
INVALID_REASON = "Request contains an invalid argument."
MALFORMED_KINDS = ("json", "type", "mime", "odd")
#: Bytes a second of a dripping connection, by default.
DRIP_RATE = 2000.0
#: The service's pace as measured (docs/protocol.md): its mean, and its range over a minute.
WANDER = (0.98, 0.77, 1.03)
#: How many periods of ``wander`` share the mean exactly.
WANDER_BLOCK = 10


@dataclass(frozen=True)
class Fault:
    """One fault.

    Attributes:
        kind: ``close``, ``reset``, ``huge``, ``stall``, ``slow``, ``wander``, ``drip``,
            ``late``, ``tempo`` or ``malformed``.
        after: Seconds after setupComplete (all but ``late``).
        code: Close code (``close``).
        reason: Close reason (``close``).
        every: Every Nth chunk (``late``).
        delay: Seconds late (``late``).
        frame: The kind of bad frame (``malformed``).
        factor: Share of real time (``slow``; the mean for ``wander``), bytes a second
            (``drip``), the tempo played against the tempo asked (``tempo``).
        low: The slowest pace of ``wander``.
        high: The fastest pace of ``wander``.
        period: Seconds between two paces of ``wander``.
    """

    kind: str
    after: float = 0.0
    code: int = 1011
    reason: str = ""
    every: int = 0
    delay: float = 0.0
    frame: str = "json"
    factor: float = 1.0
    low: float = WANDER[1]
    high: float = WANDER[2]
    period: float = 60.0


def wander_rates(seed: int, mean: float, low: float, high: float) -> Iterator[float]:
    """Paces between ``low`` and ``high``, seeded, whose mean over each ten is ``mean``.

    >>> rates = wander_rates(1, 0.98, 0.77, 1.03)
    >>> block = [next(rates) for _ in range(10)]
    >>> round(sum(block) / 10, 9), min(block) >= 0.77, max(block) <= 1.03
    (0.98, True, True)
    """
    rng = random.Random(seed)
    while True:
        block = [rng.uniform(low, high) for _ in range(WANDER_BLOCK)]
        for _ in range(200):  # shift toward the mean; clipping slows it, repeating converges
            shift = mean - sum(block) / WANDER_BLOCK
            if abs(shift) < 1e-12:
                break
            block = [min(high, max(low, rate + shift)) for rate in block]
        yield from block


def _seconds(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{what} must not be negative")
    return value


def parse_fault(text: str) -> Fault:
    """Read one ``--fault`` value (see the module docstring).

    Raises:
        ValueError: The text is not a known fault; the message shows the syntax.
    """
    name, *args = text.strip().split(":")
    try:
        if name == "close" and len(args) >= 2:
            return Fault("close", _seconds(args[0], "close time"), int(args[1]), ":".join(args[2:]))
        if name == "cap" and len(args) <= 1:
            after = _seconds(args[0], "cap") if args else 600.0
            return Fault("close", after, 1011, CAP_REASON)
        if name == "bad-key" and not args:
            return Fault("close", 0.0, 1007, BAD_KEY_REASON)
        if name == "refused" and not args:
            return Fault("close", 0.0, 1008, REFUSED_REASON)
        if name == "invalid" and len(args) <= 1:
            after = _seconds(args[0], "invalid") if args else 0.0
            return Fault("close", after, 1007, INVALID_REASON)
        if name == "quota" and len(args) <= 1:
            return Fault("close", _seconds(args[0], "quota") if args else 0.0, 1011, QUOTA_REASON)
        if name == "busy" and not args:
            return Fault("close", 0.0, 1013, BUSY_REASON)
        if name == "huge" and len(args) <= 1:
            return Fault("huge", _seconds(args[0], "huge time") if args else 0.0)
        if name == "reset" and len(args) <= 1:
            return Fault("reset", _seconds(args[0], "reset time") if args else 0.0)
        if name == "stall" and len(args) == 1:
            return Fault("stall", _seconds(args[0], "stall time"))
        if name == "slow" and len(args) == 2:
            factor = float(args[1])
            if not 0 < factor <= 10:
                raise ValueError("the factor must be above 0 and at most 10")
            return Fault("slow", _seconds(args[0], "slow time"), factor=factor)
        if name == "wander" and len(args) in (1, 2, 4, 5):
            mean, low, high = WANDER
            if len(args) >= 2:
                mean = float(args[1])
            if len(args) >= 4:
                low, high = float(args[2]), float(args[3])
            period = _seconds(args[4], "period") if len(args) == 5 else 60.0
            if not 0 < low <= mean <= high <= 10:
                raise ValueError("the paces must be 0 < LOW <= MEAN <= HIGH <= 10")
            if period <= 0:
                raise ValueError("the period must be above 0")
            after = _seconds(args[0], "wander time")
            return Fault("wander", after, factor=mean, low=low, high=high, period=period)
        if name == "drip" and 1 <= len(args) <= 2:
            rate = float(args[1]) if len(args) == 2 else DRIP_RATE
            if rate < 1:
                raise ValueError("the drip rate must be at least 1 byte a second")
            return Fault("drip", _seconds(args[0], "drip time"), factor=rate)
        if name == "tempo" and len(args) == 1:
            factor = float(args[0])
            if not 0.5 <= factor <= 2:
                raise ValueError("the factor must be from 0.5 to 2")
            return Fault("tempo", factor=factor)
        if name == "late" and len(args) == 2 and int(args[0]) >= 1:
            return Fault("late", every=int(args[0]), delay=_seconds(args[1], "lateness"))
        if name == "malformed" and 1 <= len(args) <= 2 and args[0] in MALFORMED_KINDS:
            after = _seconds(args[1], "malformed time") if len(args) == 2 else 0.0
            return Fault("malformed", after, frame=args[0])
    except ValueError as exc:
        raise ValueError(f"bad fault {text!r}: {exc}") from None
    raise ValueError(
        f"bad fault {text!r}: use close:S:CODE[:REASON], cap[:S], bad-key, refused, invalid[:S], "
        "quota[:S], busy, reset[:S], huge[:S], stall:S, slow:S:FACTOR, "
        "wander:S[:MEAN[:LOW:HIGH[:PERIOD]]], drip:S[:BPS], late:N:S, tempo:FACTOR or "
        f"malformed:{'|'.join(MALFORMED_KINDS)}[:S]"
    )
