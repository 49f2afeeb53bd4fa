"""The WAV recorder: writes the stream to a file, alongside the real output (``--record``).

It records what the service sends while playing, at the stream's rate (48 kHz, 16-bit stereo),
before any gain ramp or resampling. Disk writes happen on a thread of their own, never on the
event loop; the header is completed when the recorder closes.
"""

from __future__ import annotations

import queue
import threading
import wave
from pathlib import Path

import numpy as np

from oscserver.adapters.audio.base import STREAM_RATE
from oscserver.adapters.audio.ring import Samples

__all__ = ["WavRecorder"]


class WavRecorder:
    """Appends every chunk it is given to a WAV file.

    Args:
        path: The file to write (replaced if it exists).

    Raises:
        OSError: The file cannot be created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed by the writer
        self._file.setnchannels(2)
        self._file.setsampwidth(2)
        self._file.setframerate(STREAM_RATE)
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self.frames = 0
        self._thread = threading.Thread(target=self._writer, name="oscserver-wav", daemon=True)
        self._thread.start()

    def write(self, frames: Samples) -> None:
        """Queue a chunk shaped ``(2, n)`` at 48 kHz for writing."""
        pcm = np.clip(np.round(frames.T * 32768.0), -32768, 32767).astype("<i2")
        self.frames += frames.shape[1]
        self._queue.put(pcm.tobytes())

    def _writer(self) -> None:
        while (data := self._queue.get()) is not None:
            self._file.writeframes(data)
        self._file.close()

    def close(self) -> None:
        """Write what is queued and finish the file."""
        self._queue.put(None)
        self._thread.join(10)
