"""What the server says back: values for ``/lyria/get/...``, and the stream for subscribers.

Values go out at the address that sets them, so a reply can be routed straight back into the
control that sent it (``/lyria/get/bpm`` answers ``/lyria/bpm 124``). Over UDP they use only the
OSC 1.0 types ``i f s`` (:func:`portable`): Pd vanilla's ``[oscparse]`` refuses ``T``, ``F`` and
``N`` ("unknown tag"), and Max's ``[udpreceive]`` and TouchDesigner read these three alike. So a
boolean is 1 or 0 and "the model decides" is the word ``auto``, which the setters take back.
:class:`Mirror` keeps the subscribers of ``/lyria/listen`` and coalesces what they are sent: the
latest value per address, at most once per interval, so a 10 kHz sensor feed does not become a
10 kHz reply stream to every subscriber.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from oscserver.core.addresses import AUTO, TABLE, Address, Effect
from oscserver.core.state import MusicalState, Query

__all__ = ["Coalescer", "Mirror", "answer", "portable", "snapshot", "value_args"]

Addr = tuple[str, int]
Reply = tuple[str, list[Any]]

_VALUES: tuple[Address, ...] = tuple(
    e for e in TABLE if e.effect.changes_state and e.effect is not Effect.PLAYBACK
)
_BY_PATH = {e.path: e for e in _VALUES}


def portable(args: Iterable[Any]) -> list[Any]:
    """Arguments in the OSC 1.0 types every patching tool reads: ``i``, ``f`` and ``s``.

    >>> portable([True, False, None, 0.5, "QUALITY"])
    [1, 0, 'auto', 0.5, 'QUALITY']
    """
    out: list[Any] = []
    for arg in args:
        if arg is None:
            out.append(AUTO)
        elif isinstance(arg, bool):
            out.append(int(arg))
        else:
            out.append(arg)
    return out


def value_args(state: MusicalState, entry: Address, slot: int | None) -> list[Any]:
    """The arguments that express an entry's current value (what a setter would send).

    Booleans are ``bool`` and "the model decides" is ``None`` here (OSCQuery's JSON wants
    them so); replies over UDP pass them through :func:`portable`.
    """
    if entry.effect is Effect.CONFIG:
        return [getattr(state.config, entry.target)]
    if entry.effect is Effect.LOCAL:
        return [getattr(state.local, entry.target)]
    assert slot is not None
    prompt = state.prompt(slot)
    if entry.effect is Effect.PROMPT_TEXT:
        return [prompt.text]
    if entry.effect is Effect.PROMPT_WEIGHT:
        return [prompt.weight]
    return [prompt.text, prompt.weight]


def snapshot(state: MusicalState) -> list[Reply]:
    """Every value, one reply per concrete address, in table order.

    The text-and-weight pairs (``/lyria/prompt/N``) are left out: text and weight come apart.
    """
    out: list[Reply] = []
    for entry in _VALUES:
        if entry.effect is Effect.PROMPT:
            continue
        for path, slot in entry.concrete_paths():
            out.append((path, value_args(state, entry, slot)))
    return out


def answer(state: MusicalState, query: Query) -> list[Reply]:
    """The replies to a GET query."""
    assert query.effect is Effect.GET
    if query.target == "*":
        return snapshot(state)
    entry = _BY_PATH[query.target]
    path = entry.path.format(slot=query.slot) if entry.per_slot else entry.path
    return [(path, value_args(state, entry, query.slot))]


class Coalescer:
    """The latest value per address, given out at most once per interval. No clock.

    Args:
        interval: Seconds between two batches (changes in between are coalesced).
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self._pending: dict[str, list[Any]] = {}
        self._last = -math.inf

    def changed(self, replies: Iterable[Reply]) -> None:
        """Record changes (the latest per address wins)."""
        for address, args in replies:
            self._pending.pop(address, None)  # re-inserted last: the order of change
            self._pending[address] = args

    def next_deadline(self) -> float | None:
        """When :meth:`flush` has something to give; None if nothing is waiting."""
        return self._last + self.interval if self._pending else None

    def flush(self, now: float) -> list[Reply]:
        """The coalesced changes due now (empty if not yet due)."""
        if not self._pending or now < self._last + self.interval:
            return []
        self._last = now
        out, self._pending = list(self._pending.items()), {}
        return out


class Mirror(Coalescer):
    """Subscribers and the changes waiting to be sent to them. No clock, no sockets.

    Args:
        interval: Seconds between two sends to subscribers (changes in between are coalesced).
        limit: Most subscribers at once (the oldest is dropped for a new one).
    """

    def __init__(self, interval: float = 0.02, limit: int = 16) -> None:
        super().__init__(interval)
        self.limit = limit
        self._subscribers: OrderedDict[Addr, None] = OrderedDict()

    @property
    def subscribers(self) -> list[Addr]:
        """Who is subscribed, oldest first."""
        return list(self._subscribers)

    def listen(self, addr: Addr) -> Addr | None:
        """Subscribe ``addr``; returns the subscriber dropped to make room, if any."""
        self._subscribers[addr] = None
        self._subscribers.move_to_end(addr)
        if len(self._subscribers) > self.limit:
            return self._subscribers.popitem(last=False)[0]
        return None

    def ignore(self, addr: Addr) -> bool:
        """Unsubscribe ``addr``; returns False if it was not subscribed."""
        if addr not in self._subscribers:
            return False
        del self._subscribers[addr]
        if not self._subscribers:
            self._pending.clear()
        return True

    def changed(self, replies: Iterable[Reply]) -> None:
        """Record changes for subscribers (nothing is kept while nobody listens)."""
        if self._subscribers:
            super().changed(replies)
