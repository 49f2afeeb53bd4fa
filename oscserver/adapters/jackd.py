"""Starting a private JACK server (``jackd -d dummy``) when none is running.

``make run`` must work on a machine without a sound card or a running JACK server. Then
oscserver starts ``jackd --no-realtime -d dummy`` under the default server name, so that any
JACK client (a recorder, a DAW, ``jack_connect``) can still reach its ports, and stops it on exit.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time

__all__ = ["PrivateJackd"]

log = logging.getLogger(__name__)


class PrivateJackd:
    """A ``jackd`` child process with the dummy backend.

    Args:
        rate: Sample rate (48 kHz, Lyria's rate).
        period: Frames per period.
        server_name: The server name; None for the default server.
        realtime: Run with real-time scheduling (needs the rights to; benchmarks use it).
    """

    def __init__(
        self,
        rate: int = 48000,
        period: int = 256,
        server_name: str | None = None,
        realtime: bool = False,
    ):
        self.rate = rate
        self.period = period
        self.server_name = server_name
        self.realtime = realtime
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def start(self, timeout: float = 10.0) -> None:
        """Start jackd and wait until it accepts clients.

        Raises:
            RuntimeError: jackd is not installed, exited, or did not answer in time.
        """
        exe = shutil.which("jackd")
        if exe is None:
            raise RuntimeError("jackd is not installed (Debian/Ubuntu: apt-get install jackd2)")
        cmd = [exe, "--realtime" if self.realtime else "--no-realtime"]
        if self.server_name:
            cmd += ["-n", self.server_name]
        cmd += ["-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        # jackd's messages go to a file: an undrained pipe would block it once full. A session
        # of its own keeps a terminal's Ctrl-C from stopping it before its clients: stop() does.
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        from oscserver.adapters.audio.jack_sink import jack_server_running  # loads libjack

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")
                raise RuntimeError(f"jackd exited at start: {err.strip()[-300:]}")
            if jack_server_running(self.server_name):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jackd did not start within {timeout:.0f} s")

    def log_text(self) -> str:
        """Everything jackd printed so far (before :meth:`stop`)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Stop jackd (SIGTERM, then SIGKILL after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._log.close()
