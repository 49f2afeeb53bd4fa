"""The stream lately fed to the stretcher, to stretch it again when its output is taken back.

Locked to a clock, the feeder stretches a fraction of a second ahead of the output (its lead,
with the stretcher's own latency behind it). When the clock's tempo jumps, all of that was
stretched for the old tempo and would be heard at it: at 120 to 126 bpm, 0.35 s of it puts the
next beat 17 ms late before any correction can start. The feeder takes back what waits in the
output beyond a safe margin and stretches again the stream it was made from, at the new ratio.

Which stream frame an output frame came from: Rubber Band's real-time mode applies the ratio
given with each block from that block on, so the output is the sum of each block's frames times
its ratio (measured within a millisecond across a change of ratio, engines R2 and R3); the
stretcher lines the output up with the input from its first block (:mod:`oscserver.dsp.stretch`).
Walking back over the blocks fed finds the frame behind any output frame.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

__all__ = ["Fed"]

Samples = npt.NDArray[np.float32]


class Fed:
    """The blocks fed to one stretcher since it started, the latest ``keep`` frames of them.

    Call :meth:`add` with each block as it is fed, :meth:`clear` whenever the stretcher starts
    afresh (its output no longer follows these blocks), and :meth:`take_back` to find the
    stream behind the last output frames; :meth:`tail` then gives what came before it, for the
    stretcher to start from as it started then (:meth:`Stretcher.reset`'s ``lead_in``).

    Args:
        keep: Stream frames remembered (older blocks are forgotten).
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._blocks: deque[tuple[int, Samples, float]] = deque()
        self._frames = 0
        self._output = 0.0

    @property
    def output(self) -> float:
        """Output frames the blocks remembered stand for."""
        return self._output

    def add(self, place: int, audio: Samples, ratio: float) -> None:
        """A block of ``audio`` from stream frame ``place`` was fed at ``ratio``."""
        if not audio.shape[1]:
            return
        self._blocks.append((place, audio, ratio))
        self._frames += audio.shape[1]
        self._output += audio.shape[1] * ratio
        while self._frames - self._blocks[0][1].shape[1] >= self.keep:
            _, old, old_ratio = self._blocks.popleft()
            self._frames -= old.shape[1]
            self._output -= old.shape[1] * old_ratio

    def clear(self) -> None:
        """Forget every block (the stretcher was reset or flushed)."""
        self._blocks.clear()
        self._frames = 0
        self._output = 0.0

    def tail(self, frames: int) -> Samples:
        """The last ``frames`` fed that are remembered (fewer when fewer are), in order."""
        parts = self.last(frames)
        if not parts:
            return np.zeros((2, 0), np.float32)
        return np.concatenate([audio for _, audio in parts], axis=1)

    def last(self, frames: int) -> list[tuple[int, Samples]]:
        """The last ``frames`` fed that are remembered (fewer when fewer are), kept here.

        Returns:
            ``(place, audio)`` parts in stream order, the first cut where ``frames`` begin.
        """
        parts: list[tuple[int, Samples]] = []
        left = frames
        for place, audio, _ in reversed(self._blocks):
            if left <= 0:
                break
            skip = max(0, audio.shape[1] - left)
            parts.append((place + skip, audio[:, skip:]))
            left -= audio.shape[1] - skip
        parts.reverse()
        return parts

    @property
    def frames(self) -> int:
        """Stream frames remembered."""
        return self._frames

    def take_back(self, output: float) -> list[tuple[int, Samples]] | None:
        """The stream behind the last ``output`` output frames, forgotten here.

        Returns:
            ``(place, audio)`` parts in stream order (a block split where the output frame
            falls), or None, keeping everything, when fewer output frames are remembered.
        """
        if output > self._output + 0.5:
            return None
        parts: list[tuple[int, Samples]] = []
        left = output
        while left >= 0.5 and self._blocks:
            place, audio, ratio = self._blocks.pop()
            n = audio.shape[1]
            self._frames -= n
            self._output -= n * ratio
            if n * ratio <= left + 0.5:
                parts.append((place, audio))
                left -= n * ratio
                continue
            back = round(left / ratio)  # this block's last frames; the rest stays fed
            keep = n - back
            self._blocks.append((place, audio[:, :keep], ratio))
            self._frames += keep
            self._output += keep * ratio
            if back:
                parts.append((place + keep, audio[:, keep:]))
            left = 0.0
        parts.reverse()
        return parts
