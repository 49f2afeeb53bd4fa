"""The JACK sink: two output ports, played by a real-time process fed through shared memory.

This is the event-loop side. It creates the shared block, starts
:mod:`~oscserver.adapters.audio.jack_process` (``spawn``), waits until its client is running,
and then only writes the ring and the gate. It follows the device's rate (resampling with soxr
when JACK does not run at 48 kHz, also after a restart at another rate) and restarts the
real-time process if it ever dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import time

import jack

from oscserver.adapters.audio import jack_process, playout_native
from oscserver.adapters.audio.base import RingSink
from oscserver.adapters.audio.midi_in_queue import MidiInQueue
from oscserver.adapters.audio.midi_queue import MidiQueue
from oscserver.adapters.audio.shared import (
    STATE_FAILED,
    STATE_RUNNING,
    STATE_STARTING,
    F,
    SharedBlock,
)

__all__ = ["PORT_NAMES", "JackSink", "JackUnavailable", "jack_server_running"]

log = logging.getLogger(__name__)

#: Default JACK port names (the full names are ``<client name>:<port name>``).
PORT_NAMES = ("out_left", "out_right")
#: The MIDI clock's port (``--midi-clock``).
MIDI_CLOCK_PORT = "midi_clock"
#: The MIDI in port (``--midi``).
MIDI_IN_PORT = "midi_in"
#: The ring holds this many frames: 20 s at 96 kHz, more at lower rates.
CAPACITY = 20 * 96000


class JackUnavailable(RuntimeError):
    """No JACK server could be reached, or the JACK client could not start."""


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


class JackSink(RingSink):
    """Two JACK output ports playing the stream.

    Args:
        client_name: The JACK client name (the part before ``:`` in port names).
        server_name: The JACK server to use; None for the default one.
        port_names: Names of the left and right ports.
        connect: A port pattern to connect to, e.g. ``system:playback_.*``; None for none.
        preroll_seconds: Wait after audio arrives before playing, and after an underrun.
        ramp_seconds: Gain ramp on play, pause and stop.
        start_timeout: Seconds to wait for the JACK client to run.
        midi_clock: Also a MIDI output port, :data:`MIDI_CLOCK_PORT`, for the MIDI clock
            (events queued in :attr:`midi`).
        midi_in: Also a MIDI input port, :data:`MIDI_IN_PORT` (its events in
            :attr:`midi_in`).

    Raises:
        JackUnavailable: No JACK server answered within ``start_timeout``.
    """

    def __init__(
        self,
        client_name: str = "oscserver",
        server_name: str | None = None,
        port_names: tuple[str, str] = PORT_NAMES,
        connect: str | None = None,
        preroll_seconds: float = 1.0,
        ramp_seconds: float = 0.1,
        start_timeout: float = 10.0,
        midi_clock: bool = False,
        midi_in: bool = False,
    ) -> None:
        super().__init__(SharedBlock(CAPACITY, shared=True), preroll_seconds)
        self.client_name = client_name
        self._args = (
            self.block.name,
            CAPACITY,
            client_name,
            server_name,
            tuple(port_names),
            connect,
            ramp_seconds,
            MIDI_CLOCK_PORT if midi_clock else None,
            MIDI_IN_PORT if midi_in else None,
        )
        #: The MIDI clock port's events (None: no such port).
        self.midi = MidiQueue(self.block.header) if midi_clock else None
        #: The MIDI in port's events, as the callback copied them (None: no such port).
        self.midi_in = MidiInQueue(self.block.header) if midi_in else None
        self._port_names = port_names
        self._process: multiprocessing.process.BaseProcess | None = None
        self._closed = False
        self._start()
        deadline = time.monotonic() + start_timeout
        while self._h[F.STATE] != STATE_RUNNING:
            if self._h[F.STATE] == STATE_FAILED or time.monotonic() > deadline:
                self.close()
                where = f"JACK server {server_name!r}" if server_name else "the JACK server"
                raise JackUnavailable(
                    f"cannot start JACK client {client_name!r} on {where}: is the server "
                    "running, and is no other client using that name?"
                )
            time.sleep(0.02)
        self._rate_known(int(self._h[F.RATE]))
        if self._h[F.NATIVE]:
            log.debug("JACK process callback: C (no Python in the audio thread)")
        elif playout_native.available():
            log.warning("the JACK callback runs in Python (%s=python)", jack_process.FORCE_PYTHON)
        else:
            log.warning(
                "the JACK callback runs in Python because the C playout was not built "
                "(install a C compiler, then reinstall oscserver): small periods may xrun"
            )

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=jack_process.run, args=self._args, name="oscserver-jack", daemon=True
        )
        self._process.start()

    def _poll_rate(self) -> None:
        rate = int(self._h[F.RATE])
        if rate:
            self._rate_known(rate)

    @property
    def sample_rate(self) -> int:
        """JACK's sample rate (it can change when the server restarts)."""
        self._poll_rate()
        return self._rate

    def check(self) -> str | None:
        """Call now and then from the event loop: restarts a dead real-time process.

        Returns:
            A message for the user when something happened, else None.
        """
        if self._closed or self._process is None or self._process.is_alive():
            return None
        code = self._process.exitcode
        self._h[F.STATE] = STATE_STARTING
        self._start()
        return f"the JACK audio process stopped (exit code {code}); restarted it"

    def output_latency(self) -> float:
        """JACK's playback latency of the ports (to the sound card, through what they feed)."""
        rate = self.sample_rate
        return int(self._h[F.LATENCY]) / rate if rate else 0.0

    @property
    def port_names(self) -> tuple[str, str]:
        """The full names of the two output ports."""
        return (
            f"{self.client_name}:{self._port_names[0]}",
            f"{self.client_name}:{self._port_names[1]}",
        )

    @property
    def process_id(self) -> int | None:
        """The real-time audio process's pid (for monitoring its memory), None if not running."""
        return self._process.pid if self._process is not None else None

    @property
    def description(self) -> str:
        """Where the audio goes."""
        return f"JACK ports {self.port_names[0]} and {self.port_names[1]}"

    def close(self) -> None:
        """Stop the real-time process (its ports disappear) and free the shared memory."""
        if self._closed:
            return
        self._closed = True
        self._h[F.STOP] = 1
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._release()
        self.block.close(unlink=True)
