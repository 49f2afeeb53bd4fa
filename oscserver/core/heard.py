"""Which chunk of the stream first reflects a change: the start of the change-to-heard latency.

A control change (a prompt, a weight, a config field) is sent to the service at once, but the
service goes on generating from what it had, and everything already buffered plays first. To
say how late a change is heard, and to skip the stale audio (``--snap``), oscserver must know
which chunk is the first generated after the change.

The Lyria protocol says it: each audio chunk may carry ``sourceMetadata`` with the
``clientContent`` and ``musicGenerationConfig`` it was generated from (docs/protocol.md). The
first chunk whose metadata equals what was sent with a change reflects that change (and every
change sent before it). A service that sends no metadata is taken at its word that a change
applies within about a chunk: the first chunk that arrives after the change reflects it.

Plain values in and out, no clock: the caller passes ``now``.

>>> from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
>>> tracker = ChangeTracker()
>>> tracker.sent(0.0, ((WeightedPrompt("ambient", 1.0),), MusicGenerationConfig()))  # start
>>> tracker.sent(10.0, ((WeightedPrompt("techno", 1.0),), MusicGenerationConfig()))
>>> meta = {"clientContent": {"weightedPrompts": [{"text": "techno", "weight": 1.0}]},
...         "musicGenerationConfig": MusicGenerationConfig().to_body()}
>>> tracker.chunk(10.5, {"clientContent": {"weightedPrompts": [{"text": "ambient"}]}})
>>> tracker.chunk(11.0, meta)  # the first chunk from it: the change was made at 10.0
10.0
>>> tracker.chunk(13.0, meta) is None  # later chunks reflect nothing new
True
"""

from __future__ import annotations

from collections import deque
from typing import Any

from oscserver.core.errors import ProtocolError
from oscserver.core.lyria import ClientContent, MusicGenerationConfig, WeightedPrompt

__all__ = ["ChangeTracker", "Content"]

#: What the service was told: the active prompts and the whole config.
Content = tuple[tuple[WeightedPrompt, ...], MusicGenerationConfig]


class ChangeTracker:
    """Matches the chunks that arrive to the changes sent, by the chunks' ``sourceMetadata``.

    Call :meth:`sent` each time the session tells the service new prompts or a new config,
    :meth:`chunk` for each audio chunk that will be heard, and :meth:`reset` when the stream
    starts afresh (a pause, a stop, a new session), so that no change waits across it.

    Args:
        expire: Seconds after which a change no chunk has matched is forgotten (a service whose
            metadata never matches what was sent must not keep changes forever).
    """

    def __init__(self, expire: float = 30.0) -> None:
        self.expire = expire
        self._pending: deque[tuple[float, Content]] = deque()
        self._told: Content | None = None

    @property
    def pending(self) -> int:
        """Changes sent that no chunk has reflected yet."""
        return len(self._pending)

    def reset(self) -> None:
        """Forget the changes waiting (what was told last is kept, to compare with)."""
        self._pending.clear()

    def sent(self, now: float, content: Content) -> None:
        """The session told the service ``content`` at ``now`` (nothing if it is unchanged)."""
        if content == self._told:
            return
        first = self._told is None
        self._told = content
        if not first:  # the first content is the session's start, not a change
            self._pending.append((now, content))

    def chunk(self, now: float, metadata: dict[str, Any] | None) -> float | None:
        """A chunk arrived at ``now``; returns when the change it first reflects was made.

        Args:
            now: The caller's clock, in seconds (the same clock as :meth:`sent`).
            metadata: The chunk's ``sourceMetadata``, or None when the service sent none.

        Returns:
            The time of the earliest change this chunk is the first to reflect, or None when
            it reflects nothing new.
        """
        pending = self._pending
        while pending and now - pending[0][0] > self.expire:
            pending.popleft()
        if not pending:
            return None
        if metadata is None:  # no way to tell: take the service at its word
            made = pending[0][0]
            pending.clear()
            return made
        matched = None
        for index, (_, content) in enumerate(pending):
            if _reflects(metadata, content):
                matched = index
        if matched is None:
            return None
        made = pending[0][0]
        for _ in range(matched + 1):  # this change, and every one before it, is now heard
            pending.popleft()
        return made


def _reflects(metadata: dict[str, Any], content: Content) -> bool:
    """Whether a chunk's ``sourceMetadata`` is ``content`` (the parts it gives)."""
    prompts, config = content
    given = False
    try:
        if "clientContent" in metadata:
            given = True
            if ClientContent.from_body(metadata["clientContent"]).weighted_prompts != prompts:
                return False
        if "musicGenerationConfig" in metadata:
            given = True
            if MusicGenerationConfig.from_body(metadata["musicGenerationConfig"]) != config:
                return False
    except ProtocolError:  # metadata this client cannot read: it matches nothing
        return False
    return given
