"""Starting a private JACK server (``jackd -d dummy``) when none is running.

``make run`` must work on a machine without a sound card or a running JACK server. Then
oscserver starts ``jackd -d dummy`` under the default server name, so that any JACK client (a
recorder, a DAW, ``jack_connect``) can still reach its ports, and stops it on exit. It runs with
real-time scheduling (``jackd -R``) when the user may have it: as root, or with an rtprio limit
(``/etc/security/limits.d/audio.conf``, the ``audio`` group that Debian's jackd2 sets up); else,
or when ``-R`` fails, with ``--no-realtime``. :attr:`PrivateJackd.realtime` says which.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PrivateJackd", "clear_stale_registry", "realtime_allowed"]

log = logging.getLogger(__name__)


#: JACK 2 keeps its servers in a registry in shared memory (common/shm.c): 8 places, and a
#: jackd that is killed (not stopped) keeps its place until the registry is removed.
REGISTRY = "jack-shm-registry"
FULL = "Too many servers already active"
SHM = Path("/dev/shm")
PROC = Path("/proc")


def jack_servers_running(proc: Path = PROC) -> bool:
    """Whether any JACK 2 server process (``jackd``, ``jackdbus``) runs on this machine."""
    for comm in proc.glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in ("jackd", "jackdbus"):
                return True
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return False


def clear_stale_registry(shm: Path = SHM, proc: Path = PROC) -> bool:
    """Remove JACK's server registry when no JACK server runs; whether it was removed.

    With no server running, every place in the registry is one a killed jackd never gave
    back; the next server makes a fresh one. With a server running, it is left alone.
    """
    registry = shm / REGISTRY
    if not registry.exists() or jack_servers_running(proc):
        return False
    registry.unlink(missing_ok=True)
    return True


def realtime_allowed(euid: int | None = None, rtprio: int | None = None) -> bool:
    """Whether this user may run real-time threads (SCHED_FIFO), as ``jackd -R`` asks.

    Args:
        euid: The effective user id (default: this process's).
        rtprio: The soft RLIMIT_RTPRIO (default: this process's; 0 where there is none).
    """
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else -1
    if rtprio is None:
        limit = getattr(resource, "RLIMIT_RTPRIO", None)
        rtprio = resource.getrlimit(limit)[0] if limit is not None else 0
    return euid == 0 or rtprio == resource.RLIM_INFINITY or rtprio > 0


class PrivateJackd:
    """A ``jackd`` child process with the dummy backend.

    Args:
        rate: Sample rate (48 kHz, Lyria's rate).
        period: Frames per period.
        server_name: The server name; None for the default server.
        realtime: Run with real-time scheduling (True), without (False), or with it when the
            user may (None: :func:`realtime_allowed`; if ``-R`` fails, without).
    """

    def __init__(
        self,
        rate: int = 48000,
        period: int = 256,
        server_name: str | None = None,
        realtime: bool | None = None,
    ):
        self.rate = rate
        self.period = period
        self.server_name = server_name
        self._asked = realtime
        #: Whether the running server has real-time scheduling (known after :meth:`start`).
        self.realtime = bool(realtime)
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
        self.realtime = realtime_allowed() if self._asked is None else self._asked
        try:
            self._start_clearing(exe, timeout)
        except RuntimeError as exc:
            if self._asked is not None or not self.realtime or FULL in self.log_text():
                raise
            log.debug("jackd -R did not start (%s); trying --no-realtime", exc)
            self.realtime = False
            self._start_clearing(exe, timeout)

    def _start_clearing(self, exe: str, timeout: float) -> None:
        """Start jackd; where JACK's registry is full of killed servers only, clear it first.

        Raises:
            RuntimeError: As :meth:`_start`; or the registry is full and a server runs.
        """
        try:
            self._start(exe, timeout)
        except RuntimeError:
            if FULL not in self.log_text():
                raise
            if not clear_stale_registry():
                raise RuntimeError(
                    "JACK's server registry is full (8 places; a jackd that was killed keeps "
                    "its place): stop a JACK server, or, with none running, remove "
                    f"{SHM / REGISTRY}"
                ) from None
            log.warning("JACK's server registry held only servers that were killed; cleared it")
            self._start(exe, timeout)

    def _start(self, exe: str, timeout: float) -> None:
        cmd = [exe, "--realtime" if self.realtime else "--no-realtime"]
        if self.server_name:
            cmd += ["-n", self.server_name]
        cmd += ["-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        self._log.seek(0)
        self._log.truncate()
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
                self._proc = None
                raise RuntimeError(f"jackd exited at start: {err.strip()[-300:]}")
            if jack_server_running(self.server_name):
                return
            time.sleep(0.1)
        self._kill()
        raise RuntimeError(f"jackd did not start within {timeout:.0f} s")

    @property
    def description(self) -> str:
        """How it runs, for the user: ``jackd -d dummy, 48 kHz, real-time scheduling``."""
        how = (
            "real-time scheduling"
            if self.realtime
            else "without real-time scheduling: run as root or give your user an rtprio "
            "limit for it (docs/audio.md)"
        )
        return f"jackd -d dummy, {self.rate / 1000:g} kHz, {how}"

    def log_text(self) -> str:
        """Everything jackd printed so far (before :meth:`stop`)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _kill(self) -> None:
        """Stop the jackd process (SIGTERM, then SIGKILL after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Stop jackd (SIGTERM, then SIGKILL after 5 s)."""
        self._kill()
        self._log.close()
