"""The session's story from oscserver's log: a logging handler that tells the console's timeline.

Every warning and error logged under ``oscserver`` goes into the story
(:mod:`oscserver.core.story`), as a ``warning`` or an ``error``, or as the kind the line is
marked with (``extra=mark("reconnect")``, a filtered prompt). (What the story tells at info
level, a connect, a rotation, the app tells it itself: an info line is not even made when the
log is set to warnings only.) The text is the log line's, with the key redacted once more (the
log has none; the page must never). Logging calls this from any thread: the story is changed
under the handler's lock, and ``told`` must be safe to call from any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from oscserver.core.secrets import redact
from oscserver.core.story import Entry, Story

__all__ = ["StoryLog", "mark"]


def mark(kind: str) -> dict[str, str]:
    """The ``extra`` of a log line that tells the story: ``extra=mark("rotation")``."""
    return {"story": kind}


class StoryLog(logging.Handler):
    """Adds log records to ``story``, and hands each new entry to ``told``.

    Args:
        story: The story told.
        told: Called with every new entry, from the thread that logged it.
        secret: The API key, redacted from every text (None: no key).
    """

    def __init__(
        self, story: Story, told: Callable[[Entry], None], secret: str | None = None
    ) -> None:
        super().__init__(logging.WARNING)
        self.story = story
        self._told = told
        self._secret = secret

    def emit(self, record: logging.LogRecord) -> None:
        """Tell the record if it belongs to the story (see the module's docstring)."""
        kind = getattr(record, "story", None)
        if not isinstance(kind, str):
            kind = "error" if record.levelno >= logging.ERROR else "warning"
        try:
            text = redact(record.getMessage(), self._secret)
            entry = self.story.add(record.created, kind, text)
            self._told(entry)
        except Exception:  # a log handler must never raise into the code that logged
            self.handleError(record)
