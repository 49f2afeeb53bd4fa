"""Value changes coalesced and delivered when due, on the running event loop.

The latest value per address, at most once per interval (:class:`oscserver.core.replies.
Coalescer`): the one timer that the OSCQuery listeners, the web console's pages and the
``/lyria/listen`` subscribers each need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from oscserver.core.replies import Coalescer

__all__ = ["Coalesced"]

Reply = tuple[str, list[Any]]


class Coalesced:
    """Hands ``deliver`` the latest value per address, at most once per interval.

    Args:
        coalescer: Keeps what waits and says when it is due (a :class:`Mirror` too).
        deliver: Called on the loop with the changes due (never with none).
    """

    def __init__(self, coalescer: Coalescer, deliver: Callable[[list[Reply]], None]) -> None:
        self.coalescer = coalescer
        self._deliver = deliver
        self._handle: asyncio.TimerHandle | None = None

    def changed(self, replies: list[Reply]) -> None:
        """Record changes; they are delivered when due (call on the event loop)."""
        self.coalescer.changed(replies)
        deadline = self.coalescer.next_deadline()
        if deadline is not None and self._handle is None:
            loop = asyncio.get_running_loop()
            self._handle = loop.call_at(max(deadline, loop.time()), self._flush)

    def cancel(self) -> None:
        """Deliver nothing more of what waits."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _flush(self) -> None:
        self._handle = None
        replies = self.coalescer.flush(asyncio.get_running_loop().time())
        if replies:
            self._deliver(replies)
        self.changed([])  # (anything that came meanwhile and is not due yet)
