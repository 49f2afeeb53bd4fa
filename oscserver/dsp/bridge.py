"""The musical bridge: when the stream runs dry, loop its last bar until new audio comes.

Stretching (:mod:`oscserver.dsp.stretch`) covers a service a few percent slow; it cannot cover
a chunk many seconds late. Then, rather than fade to silence, the music that just played goes
on: its last bar (or beat) is looped, cut on the beat grid so the groove keeps its phase, with
a crossfade wherever two pieces of audio meet (:func:`crossfade`), until the stream is back.

Two small objects, numpy in and out:

- :class:`Splicer` holds back the last few milliseconds of everything that passes, so that
  whatever comes next (the bridge, or the stream after it) can be crossfaded into it instead
  of butting against it. It costs that much latency (:data:`FADE`, 20 ms).
- :class:`Looper` keeps the recent music and, on demand, continues it by looping its last
  ``loop`` frames. The loop's own seam (its end back to its start) is crossfaded once, with
  the audio that preceded its start, so every repeat joins without a step.

Equal-power crossfades (sin/cos gains, whose squares sum to 1) keep the loudness of two
uncorrelated signals through the join; linear ones would dip by 3 dB in the middle. But the
joins here are mostly of the music with itself, cut on its beats (a loop's seam, a bar played
again, beats dropped): two kicks in step crossfaded with equal power come out 3 dB louder, a
click a listener hears. So every join measures how alike its two sides are and matches its
gains to them (:func:`crossfade`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["FADE", "Looper", "Splicer", "crossfade", "equal_power"]

Samples = npt.NDArray[np.float32]

#: Frames of every crossfade at 48 kHz: 20 ms, short enough to keep a kick's attack.
FADE = 960


def equal_power(frames: int) -> tuple[Samples, Samples]:
    """Gains ``(fade_out, fade_in)`` over ``frames``: cos and sin of a quarter turn.

    >>> out, in_ = equal_power(4)
    >>> bool(np.allclose(out**2 + in_**2, 1.0))
    True
    """
    phase = (np.arange(frames, dtype=np.float64) + 0.5) / frames * (np.pi / 2)
    return np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32)


def crossfade(leaving: Samples, coming: Samples) -> Samples:
    """``leaving`` faded out while ``coming`` fades in, frame for frame, its power kept.

    Signal-matched power-complementary crossfading (M. Fink, M. Holters, U. Zölzer, DAFx-16):
    with ``r`` the correlation of the two sides over the fade, gains ``g_out``, ``g_in`` with
    ``g_out² + g_in² + 2·r·g_out·g_in = 1`` keep the power of the mix. Here the equal-power
    pair ``(c, s)`` is scaled by ``1 / sqrt(1 + 2·r·c·s)``: for unrelated sides (``r = 0``) an
    equal-power fade, for identical ones (``r = 1``) gains that sum to 1, so the mix is that
    very signal. ``r`` is kept to [0, 1]: sides in opposite phase get an equal-power fade (a
    dip where they cancel, never a boost).

    Args:
        leaving: The audio fading out, shaped ``(channels, n)``.
        coming: The audio fading in, the same shape.

    Returns:
        The mix, a new float32 array of that shape.
    """
    frames = leaving.shape[1]
    out, in_ = equal_power(frames)
    a = leaving.astype(np.float64)
    b = coming.astype(np.float64)
    energy = float(np.sum(a * a) * np.sum(b * b))
    r = float(np.sum(a * b)) / np.sqrt(energy) if energy > 0.0 else 0.0
    scale = 1.0 / np.sqrt(1.0 + 2.0 * min(max(r, 0.0), 1.0) * out * in_)
    mixed: Samples = (a * (out * scale) + b * (in_ * scale)).astype(np.float32)
    return mixed


class Splicer:
    """Passes audio on, always holding back its last ``fade`` frames for the next join.

    Args:
        channels: Channels of the audio.
        fade: Frames held back, and the length of a crossfade.
    """

    def __init__(self, channels: int = 2, fade: int = FADE) -> None:
        self.fade = fade
        self._held = np.zeros((channels, 0), dtype=np.float32)

    @property
    def held(self) -> int:
        """Frames held back now."""
        return int(self._held.shape[1])

    def follow(self, frames: Samples) -> Samples:
        """``frames`` continue what came before: pass on all but the last ``fade`` frames."""
        joined = np.concatenate([self._held, frames], axis=1)
        cut = max(0, joined.shape[1] - self.fade)
        self._held = joined[:, cut:]
        return joined[:, :cut]

    def cut_to(self, frames: Samples) -> Samples:
        """``frames`` are other audio: crossfade the held frames into their head, then pass on.

        The held frames fade out while the first ``fade`` frames of ``frames`` fade in.
        """
        n = min(self.held, frames.shape[1])
        if n == 0:
            return self.follow(frames)
        head = crossfade(self._held[:, :n], frames[:, :n])
        self._held = self._held[:, :0]
        return self.follow(np.concatenate([head, frames[:, n:]], axis=1))

    def flush(self) -> Samples:
        """Give out what is held (the stream ends or pauses)."""
        held, self._held = self._held, self._held[:, :0]
        return held


class Looper:
    """Remembers the recent music; continues it by looping its last ``loop`` frames.

    Args:
        capacity: Frames remembered (enough for the longest loop and its seam).
        channels: Channels of the audio.
        fade: Frames of the crossfade at the loop's seam.
    """

    def __init__(self, capacity: int, channels: int = 2, fade: int = FADE) -> None:
        self.capacity = capacity
        self.fade = fade
        self._history = np.zeros((channels, 0), dtype=np.float32)
        self._body: Samples | None = None
        self._position = 0

    @property
    def looping(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._body is not None

    def remember(self, frames: Samples, replacing: int = 0) -> None:
        """Keep what was played next, exactly as it is heard.

        The caller must give everything heard, the loop's own output included, and say where
        the output was cut: the history must run on as the listener heard it, or a later loop
        that spans a jump would repeat it, a click at every turn.

        Args:
            frames: The audio that follows what was remembered.
            replacing: The output dropped this many frames remembered last, never heard, and
                crossfaded ``frames`` in from the first of them (a snap): they are dropped here
                the same way.
        """
        if replacing > 0:
            replaced = self._history[:, -replacing:]
            self._history = self._history[:, : self._history.shape[1] - replaced.shape[1]]
            n = min(self.fade, replaced.shape[1], frames.shape[1])
            if n:
                frames = np.concatenate(
                    [crossfade(replaced[:, :n], frames[:, :n]), frames[:, n:]], axis=1
                )
        joined = np.concatenate([self._history, frames], axis=1)
        self._history = joined[:, -self.capacity :]

    def forget(self, frames: int) -> None:
        """The last ``frames`` remembered were taken back before they were heard: drop them."""
        if frames > 0:
            self._history = self._history[:, : max(0, self._history.shape[1] - frames)]

    def start(self, loop: int) -> bool:
        """Begin looping the last ``loop`` frames remembered.

        Returns:
            False when not enough music is remembered for that loop and its seam.
        """
        history = self._history
        if loop <= self.fade or history.shape[1] < loop + self.fade:
            return False
        body = history[:, -loop:].copy()
        before = history[:, -loop - self.fade : -loop]  # what led into the loop's first frame
        # The seam: the loop's end turns into what preceded its start, so the jump back is a
        # continuation of the music, not a step.
        body[:, -self.fade :] = crossfade(body[:, -self.fade :], before)
        self._body, self._position = body, 0
        return True

    def next(self, frames: int) -> Samples:
        """The next ``frames`` of the loop (call :meth:`start` first)."""
        body = self._body
        assert body is not None, "start() first"
        idx = (self._position + np.arange(frames)) % body.shape[1]
        self._position = int((self._position + frames) % body.shape[1])
        return body[:, idx]

    def stop(self) -> None:
        """End the loop; the music remembered stays."""
        self._body = None
