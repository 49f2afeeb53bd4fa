"""The PortAudio sink (sounddevice): for machines without JACK, e.g. macOS and Windows.

PortAudio's callback runs on its own thread in this process and runs the same
:class:`~oscserver.adapters.audio.playout.Playout` as the JACK process. It shares the
interpreter with the event loop, so prefer JACK where small periods matter
(docs/performance.md).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import sounddevice as sd

from oscserver.adapters.audio.base import STREAM_RATE, RingSink
from oscserver.adapters.audio.playout import Playout
from oscserver.adapters.audio.shared import STATE_RUNNING, F, SharedBlock

__all__ = ["SounddeviceSink", "default_output_device"]

log = logging.getLogger(__name__)


def default_output_device() -> str | None:
    """The name of PortAudio's default output device, or None when there is none."""
    try:
        info = sd.query_devices(kind="output")
    except (sd.PortAudioError, ValueError):
        return None
    return str(info["name"]) if info and info.get("max_output_channels", 0) >= 2 else None


class SounddeviceSink(RingSink):
    """Plays through a PortAudio output device.

    Args:
        device: Device name or index (None: the default output).
        preroll_seconds: Wait after audio arrives before playing, and after an underrun.
        ramp_seconds: Gain ramp on play, pause and stop.
        buffer_seconds: Ring capacity.

    Raises:
        sounddevice.PortAudioError: The device cannot be opened.
    """

    def __init__(
        self,
        device: str | int | None = None,
        preroll_seconds: float = 1.0,
        ramp_seconds: float = 0.1,
        buffer_seconds: float = 20.0,
    ) -> None:
        info = sd.query_devices(device, kind="output")
        try:  # play at the stream's rate when the device can; else resample
            sd.check_output_settings(device, channels=2, samplerate=STREAM_RATE)
            rate = STREAM_RATE
        except sd.PortAudioError:
            rate = int(info["default_samplerate"])
        super().__init__(SharedBlock(round(buffer_seconds * rate)), preroll_seconds)
        self._rate_known(rate)
        self._name = str(info["name"])
        self._playout = Playout(self.block, round(ramp_seconds * rate))
        self._stream = sd.OutputStream(
            samplerate=rate,
            channels=2,
            dtype="float32",
            device=device,
            callback=self._callback,
            latency="low",
        )
        self._h[F.RATE] = rate
        self._stream.start()
        self._h[F.STATE] = STATE_RUNNING

    def _callback(self, outdata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        # Real-time: only the playout (see playout.py).
        if status.output_underflow:
            self._h[F.XRUNS] += 1
        self._playout.process(outdata[:, 0], outdata[:, 1], frames)

    @property
    def description(self) -> str:
        """Where the audio goes."""
        return f"audio device {self._name!r} (PortAudio, {self.sample_rate} Hz)"

    def close(self) -> None:
        """Stop the stream."""
        self._stream.stop()
        self._stream.close()
