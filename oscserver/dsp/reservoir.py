"""The stream waiting to be stretched: unstretched audio, its place in the stream, and cuts.

To follow a clock, the stretch must be decided just before the audio is heard, not when it
arrives two seconds earlier: the continuity feeder keeps what waits here, as it came, and
stretches a little at a time as the output needs it (:mod:`oscserver.adapters.audio.stretching`).
Cuts are made here too, where the audio is still the stream's own, so that a beat of the stream
is exactly a beat (no stretch to allow for):

- :meth:`Reservoir.snap` puts a new chunk after the waiting audio cut back by whole beats (a
  control change heard sooner, a burst caught up), crossfaded across the cut;
- :meth:`Reservoir.skip` drops audio from the front, crossfaded (the lock's phase cut);
- :meth:`Reservoir.put_back` returns taken audio to the front, to be taken again (the lock
  stretches it again when the clock's tempo jumps: :mod:`oscserver.dsp.retake`);
- :meth:`Reservoir.repeat` puts audio already heard before the front, crossfaded, to be heard
  again (the lock's move of the stream's bars by whole beats, the other way from a skip).

Every frame knows its place in the stream (frames since the stream began, the count the beat
tracker uses), so the lock can ask where the next beat is; a part that follows a cut starts at
a place of its own. A part may carry a mark (e.g. a callback to say when it is heard), given
back when the part's first frame is taken; a mark whose part is cut moves to the cut.

Crossfades match their gains to the two sides, as every join of :mod:`oscserver.dsp.bridge`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from oscserver.dsp.bridge import FADE, crossfade

__all__ = ["Reservoir"]

Samples = npt.NDArray[np.float32]


@dataclass
class _Part:
    place: int  # the stream frame of its first frame
    audio: Samples
    marks: list[Any]


class Reservoir:
    """Stream audio waiting, in parts that are each continuous in the stream.

    Args:
        channels: Channels of the audio.
        fade: Frames of a cut's crossfade.
    """

    def __init__(self, channels: int = 2, fade: int = FADE) -> None:
        self.channels = channels
        self.fade = fade
        self._parts: deque[_Part] = deque()
        self._frames = 0
        self._next = 0  # the stream frame after the last appended

    @property
    def frames(self) -> int:
        """Frames waiting."""
        return self._frames

    @property
    def place(self) -> int:
        """The stream frame of the next frame to be taken (or appended, when empty)."""
        return self._parts[0].place if self._parts else self._next

    @property
    def end(self) -> int:
        """The stream frame the next frames appended will have."""
        return self._next

    def clear(self) -> list[Any]:
        """Drop everything (the stream's count goes on). Returns the marks dropped."""
        marks = [m for part in self._parts for m in part.marks]
        self._parts.clear()
        self._frames = 0
        return marks

    def pass_over(self, frames: int) -> None:
        """The stream's next ``frames`` went by without waiting here; nothing may be waiting.

        Raises:
            ValueError: Frames are waiting (they would come before the ones passed over).
        """
        if self._frames:
            raise ValueError("frames are waiting: they cannot be passed over")
        self._next += frames

    def append(self, audio: Samples, mark: Any = None) -> None:
        """Add the stream's next frames (``(channels, n)``), with a mark on the first."""
        self._add(_Part(self._next, audio, [] if mark is None else [mark]))

    def take(self, frames: int) -> tuple[Samples, int, list[Any]]:
        """Take up to ``frames`` from the front, never across a cut.

        Returns:
            The audio (possibly fewer frames, or none), the stream frame of its first frame,
            and the marks of the parts it starts.
        """
        if not self._parts:
            return np.zeros((self.channels, 0), np.float32), self._next, []
        part = self._parts[0]
        got = part.audio[:, :frames]
        place, marks = part.place, part.marks
        if got.shape[1] == part.audio.shape[1]:
            self._parts.popleft()
        else:
            self._parts[0] = _Part(place + got.shape[1], part.audio[:, got.shape[1] :], [])
        self._frames -= got.shape[1]
        return got, place, marks

    def put_back(self, parts: list[tuple[int, Samples]]) -> None:
        """Return audio taken, ``(place, audio)`` parts in stream order, to the front.

        The next :meth:`take` gives them again, in order, each at its own place; parts that
        follow each other in the stream are joined. The caller must put back only what was
        taken last, so that the stream's order is kept.
        """
        joined: list[_Part] = []
        for place, audio in parts:
            if not audio.shape[1]:
                continue
            last = joined[-1] if joined else None
            if last is not None and last.place + last.audio.shape[1] == place:
                last.audio = np.concatenate([last.audio, audio], axis=1)
            else:
                joined.append(_Part(place, audio, []))
        for part in reversed(joined):
            self._parts.appendleft(part)
            self._frames += part.audio.shape[1]

    def skip(self, frames: int) -> int:
        """Drop up to ``frames`` from the front, the audio after the cut crossfaded in.

        The frames that would have played first fade out while those after the cut fade in.
        Returns the frames dropped (fewer when too little waits to crossfade). Marks of the
        audio dropped move to the cut.
        """
        frames = min(frames, self._frames - self.fade)
        if frames <= 0:
            return 0
        head = self._join()[:, : self.fade]
        moved: list[Any] = []
        left = frames
        while left:
            part = self._parts.popleft()
            moved += part.marks
            n = min(left, part.audio.shape[1])
            left -= n
            if n < part.audio.shape[1]:
                self._parts.appendleft(_Part(part.place + n, part.audio[:, n:], []))
        self._fade_in_front(head, moved)
        self._frames -= frames
        return frames

    def repeat(self, parts: list[tuple[int, Samples]]) -> int:
        """Play audio taken before again: ``(place, audio)`` parts, in stream order, go first.

        The frames that would have come next fade out while the first of these fade in (as
        across a :meth:`skip`); the last of them runs on into the front as the stream did. The
        caller must give audio that ends where the front begins for the join to be seamless.

        Returns:
            Frames added (0, and nothing done, when either side has fewer than a crossfade).
        """
        frames = int(sum(audio.shape[1] for _, audio in parts))
        if frames < self.fade or self._frames < self.fade:
            return 0
        head = self._join()[:, : self.fade]
        self.put_back(parts)
        self._fade_in_front(head, [])
        return frames

    def _fade_in_front(self, head: Samples, marks: list[Any]) -> None:
        """Fade the front in over ``head`` (the audio that fades out), and give it ``marks``."""
        while self._parts[0].audio.shape[1] < self.fade:  # a cut right after: join across it
            first = self._parts.popleft()
            second = self._parts.popleft()
            audio = np.concatenate([first.audio, second.audio], axis=1)
            self._parts.appendleft(_Part(first.place, audio, first.marks + second.marks))
        front = self._parts[0]
        audio = np.array(front.audio, dtype=np.float32)
        audio[:, : self.fade] = crossfade(head, audio[:, : self.fade])
        self._parts[0] = _Part(front.place, audio, marks + front.marks)

    def snap(self, audio: Samples, keep: int, beat: int, mark: Any = None) -> int:
        """Add a chunk sooner: the audio waiting beyond ``keep`` frames is cut by whole beats.

        As many whole ``beat``-frame beats are dropped from the end of what waits as leave at
        least ``keep`` frames before the cut; the chunk follows the cut, its first frames
        crossfaded with the audio it replaces (so the beat keeps its place). With less than a
        beat beyond ``keep``, the chunk is appended as :meth:`append` would.

        Returns:
            Frames dropped.
        """
        waiting = self._frames
        beats = max(0, (waiting - max(0, keep)) // beat) if beat > 0 else 0
        dropped = beats * beat
        if dropped < self.fade or audio.shape[1] < self.fade:
            self.append(audio, mark)
            return 0
        cut = waiting - dropped
        old = self._join()
        marks = [m for part in self._parts for m in part.marks]
        # Parts before the cut keep their places; one that the cut splits ends at it.
        kept: list[_Part] = []
        at = 0
        for part in self._parts:
            n = part.audio.shape[1]
            if at >= cut:
                break
            kept.append(_Part(part.place, part.audio[:, : cut - at], part.marks))
            at += n
        moved = [m for m in marks if not any(m in p.marks for p in kept)]
        new = np.array(audio, dtype=np.float32)
        new[:, : self.fade] = crossfade(old[:, cut : cut + self.fade], new[:, : self.fade])
        self._parts = deque(kept)
        self._frames = cut
        own = [] if mark is None else [mark]
        self._add(_Part(self._next, new, moved + own))
        return dropped

    def _add(self, part: _Part) -> None:
        if part.audio.shape[1] or part.marks:
            self._parts.append(part)
            self._frames += part.audio.shape[1]
        self._next = part.place + part.audio.shape[1]

    def _join(self) -> Samples:
        """Everything waiting as one array."""
        if len(self._parts) == 1:
            return self._parts[0].audio
        return np.concatenate([p.audio for p in self._parts], axis=1)
