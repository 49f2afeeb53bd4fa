"""Streaming sample-rate conversion with soxr, continuous across chunk boundaries.

One :class:`Resampler` lives as long as the output's rate does; each chunk goes through the same
``soxr.ResampleStream``, so its filter state carries over the joins and the result matches a
one-shot conversion of the whole stream (tests/test_resample.py). Like that conversion, the
output is in time with the input (soxr holds back what its filter has not finished), so input
frame ``i`` is output frame ``i * out_rate / in_rate``: :meth:`Resampler.output_frame` places
what travels with the audio (the stream's beats).
"""

from __future__ import annotations

import numpy as np
import soxr

from oscserver.adapters.audio.ring import Samples

__all__ = ["Resampler"]


class Resampler:
    """Converts ``(2, n)`` float32 audio from one rate to another; a no-op at equal rates.

    Args:
        in_rate: The stream's rate.
        out_rate: The output's rate.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 2, dtype="float32", quality="HQ")
        )
        self._taken = 0  # input frames converted
        self._given = 0  # output frames given back

    def output_frame(self, at: float) -> float:
        """Where input frame ``at`` (from the next chunk's first) lands, from the next output's."""
        if self._stream is None:
            return at
        return (self._taken + at) * self.out_rate / self.in_rate - self._given

    def process(self, frames: Samples, last: bool = False) -> Samples:
        """Convert the next chunk; ``last`` flushes the filter's delay at the end of a stream."""
        if self._stream is None:
            return frames
        out = self._stream.resample_chunk(np.ascontiguousarray(frames.T), last=last)
        converted: Samples = np.ascontiguousarray(out.T, dtype=np.float32)
        self._taken += frames.shape[1]
        self._given += converted.shape[1]
        return converted
