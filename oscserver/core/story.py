"""The session's story: what happened, newest first, for the web console's timeline.

Connects, rotations, reconnects and their reasons, filtered prompts, the service's warnings and
every error: the things an installation's keeper wants to read after a week nobody watched.
Kept bounded (the oldest go), each entry numbered so that a reader that has seen up to one
asks only for what came after. Plain data: the app's log handler adds to it
(:mod:`oscserver.adapters.story_log`), the console server reads it. Anything that logs may add
to it, from any thread: a lock keeps each addition and each reading whole.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

__all__ = ["KINDS", "LIMIT", "Entry", "Story"]

#: Entries kept.
LIMIT = 200
#: What an entry can be, as the console shows it.
KINDS = ("connect", "rotation", "reconnect", "filtered", "warning", "error", "info")


@dataclass(frozen=True)
class Entry:
    """One thing that happened.

    Attributes:
        number: Counts from 1 since the story began; later entries have higher numbers.
        at: When, in seconds since the epoch (``time.time()``: the page shows it as local
            time).
        kind: One of :data:`KINDS`.
        text: What happened, as the log says it (no secrets: the log has none).
    """

    number: int
    at: float
    kind: str
    text: str

    def as_json(self) -> dict[str, object]:
        """The entry as the console's JSON has it."""
        return {"n": self.number, "at": self.at, "kind": self.kind, "text": self.text}


class Story:
    """The last :data:`LIMIT` entries.

    Args:
        limit: Entries kept.
    """

    def __init__(self, limit: int = LIMIT) -> None:
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._count = 0
        self._lock = threading.Lock()

    def add(self, at: float, kind: str, text: str) -> Entry:
        """Tell what happened at ``at``; an unknown ``kind`` is told as ``info``."""
        with self._lock:
            self._count += 1
            entry = Entry(self._count, at, kind if kind in KINDS else "info", text)
            self._entries.append(entry)
        return entry

    def newest_first(self, after: int = 0) -> list[Entry]:
        """The entries kept, newest first; only those numbered above ``after`` when given."""
        with self._lock:
            return [e for e in reversed(self._entries) if e.number > after]
