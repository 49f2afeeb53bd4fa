"""The JACK sink: two output ports fed from the playout ring by JACK's process callback.

jackclient-python: "The code in the supplied function must be suitable for real-time
execution." The process callback here only fetches the two port buffers and calls
:meth:`Playout.process`, which copies from the preallocated ring: no allocation of sample
memory, no locks, no logging, no I/O. Xruns are counted by JACK's xrun callback.
"""

from __future__ import annotations

import logging

import jack

from oscserver.adapters.audio.base import AudioSink, Playout

__all__ = ["JackSink", "jack_server_running"]

log = logging.getLogger(__name__)

#: JACK port names (the full names are ``<client name>:<port name>``).
PORT_NAMES = ("out_left", "out_right")


def _libjack_message(text: str) -> None:
    """Route libjack's own messages (e.g. "Cannot connect to server socket") to the debug log.

    Without this libjack prints them on stderr, over the status line; what matters to the user
    (no server, server gone) is reported by oscserver itself in plain words.
    """
    log.debug("libjack: %s", text)


jack.set_error_function(_libjack_message)
jack.set_info_function(_libjack_message)


def jack_server_running(server_name: str | None = None) -> bool:
    """Return True when a JACK server answers (never starts one)."""
    try:
        client = jack.Client("oscserver-probe", no_start_server=True, servername=server_name)
    except jack.JackOpenError:
        return False
    client.close()
    return True


class JackSink(AudioSink):
    """Two JACK output ports playing the stream.

    Args:
        client_name: The JACK client name (the part before ``:`` in port names).
        server_name: The JACK server to use; None for the default one.
        buffer_seconds: Ring capacity in seconds.
        preroll_seconds: Pre-roll before playing, and after an underrun.
        stream_rate: The sample rate of the incoming stream (48 kHz from Lyria).

    Raises:
        jack.JackOpenError: No JACK server is reachable.
    """

    def __init__(
        self,
        client_name: str = "oscserver",
        server_name: str | None = None,
        buffer_seconds: float = 20.0,
        preroll_seconds: float = 1.0,
        stream_rate: int = 48000,
    ) -> None:
        self._client = jack.Client(client_name, no_start_server=True, servername=server_name)
        rate = self._client.samplerate
        if rate != stream_rate:
            log.warning(
                "JACK runs at %d Hz but the stream is %d Hz: audio will play at the wrong "
                "pitch until resampling lands (issue #4); run JACK at %d Hz",
                rate,
                stream_rate,
                stream_rate,
            )
        self.playout = Playout(int(buffer_seconds * rate), int(preroll_seconds * rate))
        self._xruns = 0
        self.server_gone = False
        self._left = self._client.outports.register(PORT_NAMES[0])
        self._right = self._client.outports.register(PORT_NAMES[1])
        self._client.set_process_callback(self._process)
        self._client.set_xrun_callback(self._xrun)
        self._client.set_shutdown_callback(self._shutdown)
        self._client.activate()

    def _process(self, frames: int) -> None:
        # Real-time: see the module docstring before changing anything here.
        self.playout.process(self._left.get_array(), self._right.get_array(), frames)

    def _xrun(self, delay: float) -> None:
        self._xruns += 1

    def _shutdown(self, status: jack.Status, reason: str) -> None:
        self.server_gone = True  # read by the status loop, which reports it

    @property
    def sample_rate(self) -> int:
        """JACK's sample rate."""
        return int(self._client.samplerate)

    @property
    def xruns(self) -> int:
        """Xruns JACK reported since the sink started."""
        return self._xruns

    @property
    def port_names(self) -> tuple[str, str]:
        """The full names of the two output ports."""
        return (self._left.name, self._right.name)

    @property
    def description(self) -> str:
        """Where the audio goes."""
        return f"JACK ports {self.port_names[0]} and {self.port_names[1]}"

    def connect(self, destinations: list[str]) -> None:
        """Connect the left and right ports to two destination ports."""
        for source, dest in zip(self.port_names, destinations, strict=False):
            self._client.connect(source, dest)

    def close(self) -> None:
        """Deactivate and close the client (its ports disappear)."""
        if self.server_gone:
            return
        try:
            self._client.deactivate()
            self._client.close()
        except jack.JackError as exc:  # the server may already be gone
            log.debug("closing the JACK client: %s", exc)
