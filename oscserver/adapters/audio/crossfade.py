"""An equal-power crossfade from one stream to another, for session rotation.

Both streams arrive in chunks at about real time (each from its own Lyria session). The
outgoing stream sets the pace: each of its frames is mixed with the incoming stream's frame at
the same position and goes out as soon as both are there (give or take 20 ms of look-ahead);
once the fade is complete only the incoming stream remains, and what it has buffered ahead
goes out at once.

The gains follow ``cos`` and ``sin`` of a quarter turn, which keeps the power of two unrelated
streams constant. Two Lyria sessions that play in step (the same pattern, beats aligned: it
happens, since chunks start on the beat at some tempos) would add up by as much as 3 dB, and
their transients could add into steps neither stream has. So the mix is measured in 10 ms
blocks and scaled where needed, with a look-ahead so that the scale glides and never steps:

- power: each block gets the power the equal-power fade of unrelated streams would give it;
- steps: no sample-to-sample step larger than the larger of the two streams' own steps in
  that block (the crossfade never adds a click).

Plain numpy, no clock and no I/O: the caller pushes what arrives and writes what :meth:`pull`
returns to the audio output.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["BLOCK", "Crossfader", "skip_ahead"]

Samples = npt.NDArray[np.float32]
#: Frames of one measuring block (10 ms at 48 kHz).
BLOCK = 480
_EMPTY = np.zeros((2, 0), dtype=np.float32)


class Crossfader:
    """Mixes an outgoing stream into an incoming one.

    Args:
        frames: Length of the fade, in frames (at least 1).
    """

    def __init__(self, frames: int) -> None:
        self.frames = max(1, frames)
        self._old = _EMPTY
        self._new = _EMPTY
        self.position = 0  # frames of the fade done
        self.started = False
        self._old_ended = False
        self._knot = 1.0  # the correction gain at ``position``
        #: The most frames the pull that ends the fade may return, the fade's last frames
        #: included (None: no limit); the caller sets it from the output's latency.
        self.rest_limit: int | None = None
        #: Frames of the incoming stream skipped to keep the latency (see :meth:`_rest`).
        self.skipped = 0

    @property
    def done(self) -> bool:
        """True once the outgoing stream is fully faded out."""
        return self.position >= self.frames

    @property
    def incoming_frames(self) -> int:
        """Frames of the incoming stream waiting to be mixed."""
        return int(self._new.shape[1])

    def push_old(self, samples: Samples) -> None:
        """Add audio of the outgoing stream, shaped ``(2, n)``; ignored once the fade is done."""
        if not self.done and samples.shape[1]:
            self._old = np.concatenate([self._old, samples], axis=1)

    def push_new(self, samples: Samples) -> None:
        """Add audio of the incoming stream, shaped ``(2, n)``."""
        if samples.shape[1]:
            self._new = np.concatenate([self._new, samples], axis=1)

    def start(self) -> None:
        """Begin the fade: until now :meth:`pull` passes the outgoing stream through."""
        self.started = True

    def old_ended(self) -> None:
        """The outgoing stream stopped early: finish the fade-in on the incoming stream alone."""
        self._old_ended = True

    def take_old(self) -> Samples:
        """Give up the fade: return the outgoing stream's waiting audio, unmixed."""
        out, self._old, self._new = self._old, _EMPTY, _EMPTY
        self.position = self.frames
        return out

    def pull(self) -> Samples:
        """Return the audio that is ready, shaped ``(2, n)`` (n may be 0)."""
        if not self.started:
            out, self._old = self._old, _EMPTY
            return out
        parts: list[Samples] = []
        if not self.done:
            if self._old_ended and self._old.shape[1] < self.frames:
                pad = np.zeros((2, self.frames - self._old.shape[1]), np.float32)
                self._old = np.concatenate([self._old, pad], axis=1)  # silence from here on
            parts.append(self._mix_ready())
            if self.done:  # what remains of the outgoing stream is not heard
                self._old = _EMPTY
        if self.done and self._new.shape[1]:
            parts.append(self._rest(sum(p.shape[1] for p in parts)))
            self._new = _EMPTY
        parts = [p for p in parts if p.shape[1]]
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def _rest(self, already: int) -> Samples:
        """The incoming stream's audio waiting when the fade ends, limited.

        This pull gives no more than ``rest_limit`` frames in all; ``already`` of them are the
        fade's end.

        The incoming session started with a lead; poured out whole, it would add that lead to
        the output's latency at every rotation. What is over the limit is skipped from the
        start of the rest (music of the new session nobody has heard yet), with a 10 ms
        equal-power splice so that the skip makes no step.
        """
        rest = self._new
        if self.rest_limit is None:
            return rest
        limit = max(BLOCK, self.rest_limit - already)  # the splice needs one block after it
        if rest.shape[1] <= limit + BLOCK:
            return rest
        skip = rest.shape[1] - limit
        self.skipped += skip
        return skip_ahead(rest, skip)

    def _mix_ready(self) -> Samples:
        """Mix the whole blocks that can go out now (one block of look-ahead is kept)."""
        left = self.frames - self.position
        available = min(self._old.shape[1], self._new.shape[1], left)
        if available == left:
            emit, measure = left, left  # the fade ends here: no look-ahead needed
        else:
            measure = available // BLOCK * BLOCK
            emit = max(0, measure - BLOCK)
        if emit == 0:
            return _EMPTY
        old, new = self._old[:, :measure], self._new[:, :measure]
        x = (np.arange(self.position, self.position + measure) + 0.5) / self.frames
        a, b = np.cos((np.pi / 2) * x), np.sin((np.pi / 2) * x)
        mixed = old * a + new * b
        limits = _block_gains(old * a, new * b, mixed, old, new)
        # Gain knots at block edges: at most the limit of either block they border, so that
        # the line between two knots stays under the block's limit; 1 at the fade's end, where
        # only the incoming stream is left, at full gain.
        knots = np.minimum(np.r_[self._knot, limits], np.r_[limits, np.inf])
        blocks = -(-emit // BLOCK)
        if emit == left:
            knots[blocks] = 1.0
        gain = np.concatenate(
            [
                np.linspace(knots[i], knots[i + 1], min(BLOCK, emit - i * BLOCK), endpoint=False)
                for i in range(blocks)
            ]
        )
        self._knot = float(knots[blocks])
        out: Samples = (mixed[:, :emit] * gain).astype(np.float32)
        self._old, self._new = self._old[:, emit:], self._new[:, emit:]
        self.position += emit
        return out


def _block_gains(
    old_part: np.ndarray, new_part: np.ndarray, mixed: np.ndarray, old: Samples, new: Samples
) -> np.ndarray:
    """The largest gain each block of ``mixed`` may have (see the module docstring)."""
    n = mixed.shape[1]
    edges = np.arange(0, n, BLOCK)

    def per_block(values: np.ndarray, reduce: np.ufunc) -> np.ndarray:
        return np.asarray(reduce.reduceat(values, edges))

    wanted = per_block((old_part**2 + new_part**2).sum(axis=0), np.add)
    actual = per_block((mixed**2).sum(axis=0), np.add)
    power = np.where(actual > 1e-12, np.sqrt(wanted / np.maximum(actual, 1e-12)), 1.0)

    def steps(x: np.ndarray) -> np.ndarray:
        d = np.abs(np.diff(x, axis=1)).max(axis=0)
        return per_block(np.r_[d, 0.0], np.maximum)

    own = np.maximum(steps(old), steps(new))
    made = steps(mixed)
    step = np.where(made > own, own / np.maximum(made, 1e-12), np.inf)
    return np.clip(np.minimum(power, step), 0.5, 1.5)


def skip_ahead(frames: Samples, skip: int) -> Samples:
    """``frames`` with ``skip`` frames left out after its first block, spliced without a step.

    The first 10 ms follow on from what was played before; they are crossfaded (equal power)
    into the frames ``skip`` further on, and the rest follows from there. Returns ``frames``
    unchanged when it is too short to skip that much.
    """
    if skip <= 0 or frames.shape[1] < skip + BLOCK:
        return frames
    angle = (np.pi / 2) * (np.arange(BLOCK) + 0.5) / BLOCK
    splice = frames[:, :BLOCK] * np.cos(angle) + frames[:, skip : skip + BLOCK] * np.sin(angle)
    out: Samples = np.concatenate([splice.astype(np.float32), frames[:, skip + BLOCK :]], axis=1)
    return out
