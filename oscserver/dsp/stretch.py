"""Pitch-preserving time stretching of the stream, block by block, its state kept between calls.

The Rubber Band Library (Breakfast Quay; GPL-2.0-or-later) in its real-time mode, through the
pylibrb bindings: audio is fed with ``process()``, read back with ``available()`` and
``retrieve()``, and the time ratio may change between calls (Rubber Band's documentation,
"Real-time mode"). Two engines: R3 ("finer", the default: the better sound for complex mixes)
and R2 ("faster": a fraction of the CPU); both keep a tone's pitch within a cent at ±6 %
(bench/stretch.py; docs/performance.md has the figures).

The output lines up with the input as Rubber Band's documentation for real-time mode asks
(``getPreferredStartPad``, ``getStartDelay``, since version 3): before the first frames, the
preferred pad of silence is fed, and the start delay's first output frames are dropped.
(Dropping the delay without the pad cut the stream's first 2048 frames and put all the rest
43 ms early.) :attr:`Stretcher.held` says how much input is inside it at any time (the caller
counts it as buffered).

Ratios are time ratios: output duration over input duration (1.06: 6 % slower, longer).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ENGINES", "StretchUnavailable", "Stretcher", "available"]

#: Rubber Band's engines by the names its documentation uses.
ENGINES = ("finer", "faster")

Samples = npt.NDArray[np.float32]

try:
    import pylibrb
except ImportError:  # no wheel for this platform (e.g. Linux on ARM)
    pylibrb = None  # type: ignore[assignment]


class StretchUnavailable(RuntimeError):
    """The stretcher's library is not installed here."""


def available() -> bool:
    """Return True when time stretching can be used on this platform."""
    return pylibrb is not None


class Stretcher:
    """A stereo (or n-channel) stream stretched by a ratio that may change at every call.

    Args:
        sample_rate: The stream's rate.
        channels: Channels of the arrays passed to :meth:`process`.
        block: The most frames handed to Rubber Band at once (its max process size).
        engine: ``finer`` (R3) or ``faster`` (R2).

    Raises:
        StretchUnavailable: pylibrb is not installed on this platform.
        ValueError: An unknown engine.
    """

    def __init__(
        self, sample_rate: int = 48000, channels: int = 2, block: int = 1024, engine: str = "finer"
    ) -> None:
        if pylibrb is None:
            raise StretchUnavailable("time stretching needs pylibrb, which has no wheel here")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
        self.sample_rate = sample_rate
        self.channels = channels
        self.block = block
        self.engine = engine
        option = pylibrb.Option
        which = option.ENGINE_FINER if engine == "finer" else option.ENGINE_FASTER
        self._rb = pylibrb.RubberBandStretcher(
            sample_rate=sample_rate,
            channels=channels,
            options=option.PROCESS_REALTIME | which,
        )
        self._rb.set_max_process_size(block)
        self._out = 0.0  # output frames expected from them (the sum of frames x ratio)
        self._given = 0  # output frames given back
        self._skip = 0  # output frames still to drop (the start delay)
        self._started = False  # the start pad has been fed
        self._lead_in: Samples | None = None  # fed as the start pad instead of silence

    @property
    def ratio(self) -> float:
        """The time ratio in use."""
        return float(self._rb.time_ratio)

    @property
    def given(self) -> int:
        """Output frames given back since the stretcher started (its first block's first is 0)."""
        return self._given

    @property
    def held(self) -> float:
        """Input frames inside the stretcher, not yet out (to count as buffered audio)."""
        return max(0.0, (self._out - self._given) / self.ratio)

    def process(self, frames: Samples, ratio: float) -> Samples:
        """Stretch a block of the stream by ``ratio`` and return what is ready.

        The output lags the input by Rubber Band's own latency (a few thousand frames at the
        start); everything fed comes out in later calls. The ratio applies from this call on.

        Args:
            frames: Float32 audio shaped ``(channels, n)``.
            ratio: The time ratio, e.g. 1.04 to play 4 % slower.

        Returns:
            The stretched frames ready now, shaped ``(channels, m)`` (m may be 0).
        """
        if frames.ndim != 2 or frames.shape[0] != self.channels:
            raise ValueError(f"frames must be shaped ({self.channels}, n), not {frames.shape}")
        if ratio <= 0:
            raise ValueError("the time ratio must be above 0")
        rb = self._rb
        if ratio != rb.time_ratio:
            rb.time_ratio = ratio
        pieces = []
        if not self._started:  # (at the first ratio: the pad and delay depend on it)
            self._started = True
            pad = rb.get_preferred_start_pad()
            self._skip = rb.get_start_delay()
            padding = np.zeros((self.channels, pad), np.float32)
            if self._lead_in is not None:  # the stream before: stretched, its output dropped
                padding = np.concatenate([padding, self._lead_in], axis=1)
                self._skip += round(self._lead_in.shape[1] * ratio)
                self._lead_in = None
            for start in range(0, padding.shape[1], self.block):
                rb.process(np.ascontiguousarray(padding[:, start : start + self.block]))
        for start in range(0, frames.shape[1], self.block):
            part = np.ascontiguousarray(frames[:, start : start + self.block], dtype=np.float32)
            rb.process(part)
            self._out += part.shape[1] * ratio
            ready = rb.available()
            if ready > 0:
                pieces.append(rb.retrieve(ready))
        if not pieces:
            return np.zeros((self.channels, 0), dtype=np.float32)
        out = np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]
        if self._skip:
            cut = min(self._skip, out.shape[1])
            self._skip -= cut
            out = out[:, cut:]
        self._given += out.shape[1]
        return out

    def flush(self) -> Samples:
        """Give out everything fed that is not out yet, then start afresh (as :meth:`reset`).

        Rubber Band is told the input has ended (``process(..., final=True)``); it then gives
        the rest of the stretched audio and some padding, which is cut off: exactly the frames
        :attr:`held` stood for come out. R3 tapers the last of them (its last analysis window,
        about 2048 frames) toward silence: flush audio that will be cut, or faded, there.
        """
        rb = self._rb
        wanted = round(self.held * self.ratio)
        rb.process(np.zeros((self.channels, 0), dtype=np.float32), final=True)
        pieces = []
        while (ready := rb.available()) > 0:
            pieces.append(rb.retrieve(ready))
        out = np.concatenate(pieces, axis=1) if pieces else np.zeros((self.channels, 0), np.float32)
        if self._skip:
            out = out[:, min(self._skip, out.shape[1]) :]
        self.reset()
        return np.ascontiguousarray(out[:, :wanted], dtype=np.float32)

    def reset(self, lead_in: Samples | None = None) -> None:
        """Forget everything fed (after a pause or a jump in the stream).

        Args:
            lead_in: The stream just before the next block, when it continues (audio being
                stretched again): its last frames stand in for the start pad's silence, so the
                output begins at full level, as it was the first time, instead of fading in
                over Rubber Band's window.
        """
        self._rb.reset()
        self._given = 0
        self._out = 0.0
        self._skip = 0
        self._started = False
        self._lead_in = lead_in
