"""The real-time process: a JACK client whose process callback only reads the shared ring.

The event loop, OSC parsing and base64/JSON decoding all run in the main interpreter; with the
JACK callback in the same interpreter they delay it through the GIL, and small periods xrun
(docs/performance.md has the measurements). So the callback runs here, in a process of its
own started with ``spawn``, that does nothing else: it attaches the
:class:`~oscserver.adapters.audio.shared.SharedBlock` by name and makes the C playout
(:mod:`~oscserver.adapters.audio.playout_native`) JACK's process callback, so the process thread
never runs Python at all; where the C playout was not built, the same logic in Python
(:class:`~oscserver.adapters.audio.playout.Playout`) runs instead, and ``F.NATIVE`` says which.

Its control thread (this module's loop, not real-time) keeps the client alive: when the JACK
server goes away it reports it, waits for a server to come back, and re-creates the client, its
ports and their connections (the ones it made and the ones others made, remembered every
quarter second), so a restarted jackd needs no restart of oscserver.

Stopping is the parent's decision alone: this process ignores SIGINT and SIGTERM, which a
terminal's Ctrl-C and systemd send to every process of the group, and stops when the parent sets
``STOP`` (or is gone). Teardown deactivates
and closes the JACK client before anything its callback reads (the C playout, the shared block)
is freed: JACK's thread may call the callback until ``jack_deactivate`` returns.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

import jack
import numpy as np
import numpy.typing as npt

from oscserver.adapters.audio import midi_in_queue, midi_queue, playout_native
from oscserver.adapters.audio.playout import Playout
from oscserver.adapters.audio.shared import (
    STATE_FAILED,
    STATE_RUNNING,
    STATE_SERVER_GONE,
    STATE_STARTING,
    STATE_STOPPED,
    F,
    SharedBlock,
)

__all__ = ["run"]

POLL = 0.25  # seconds between checks of the control thread
#: Set to ``python`` to run the Python callback even where the C one is built (to compare).
FORCE_PYTHON = "OSCSERVER_JACK_CALLBACK"
RESTORE_SECONDS = 10.0
MCL_CURRENT, MCL_FUTURE = (
    1,
    2,
)  # <sys/mman.h>  # how long to retry remembered connections after a restart


def _prepare_for_real_time(block: SharedBlock) -> None:
    """Keep this process from making the process callback wait.

    The C callback needs only memory that is mapped and locked. The Python fallback also needs
    the GIL: so every other thread here (this control thread, libjack's
    notification thread, which inherits our scheduling) runs at a low real-time priority where
    allowed, so that no ordinary process can preempt one of them while it holds the GIL; the
    GIL is handed over quickly; and the cyclic garbage collector never runs (the callback makes
    no cycles, and a collection could pause it). The shared ring is touched once and memory
    is locked where allowed, so the callback never waits for a page fault.
    """
    with contextlib.suppress(OSError, AttributeError):  # no rights: stay as we are
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    float(block.samples.sum())  # fault every page of the ring in now, not in the callback
    if sys.platform != "win32":  # CDLL(None), the process's own symbols, is POSIX only
        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mlockall(MCL_CURRENT | MCL_FUTURE)
    sys.setswitchinterval(0.0005)
    gc.collect()
    gc.freeze()
    gc.disable()


class _AttachFailed(Exception):
    """The C callback could not be made the client's process callback."""


def _playout(block: SharedBlock, ramp: int) -> Playout | playout_native.NativePlayout:
    """The C playout where it is built and loads, else the Python one (never fails for C)."""
    if os.environ.get(FORCE_PYTHON) != "python" and playout_native.available():
        try:
            return playout_native.NativePlayout(block, ramp)
        except (playout_native.NativeUnavailable, OSError, MemoryError):
            pass
    return Playout(block, ramp)


def _quiet(_: str) -> None:
    """Libjack's own messages ("Cannot connect to server socket") are not for the user."""


def run(
    block_name: str,
    capacity: int,
    client_name: str,
    server_name: str | None,
    port_names: Sequence[str],
    connect: str | None,
    ramp_seconds: float,
    midi_port: str | None = None,
    midi_in_port: str | None = None,
) -> None:
    """Serve audio until the parent sets ``STOP``. The entry point of the real-time process.

    Args:
        block_name: The shared block to attach.
        capacity: Its capacity in frames.
        client_name: JACK client name.
        server_name: JACK server name (None: the default server).
        port_names: Names of the left and right output ports.
        connect: Port pattern to connect the outputs to (e.g. ``system:playback_.*``), or None.
        ramp_seconds: Length of the play/pause gain ramp.
        midi_port: Name of a MIDI output port for the MIDI clock (None: none): the callback
            copies the events queued in the block into it (midi_queue.py).
        midi_in_port: Name of a MIDI input port (None: none): the callback copies its events
            into the block (midi_in_queue.py).
    """
    # The parent decides when audio stops (after it has faded out and closed the session): the
    # Ctrl-C a terminal sends to the whole process group must not end this process first.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    jack.set_error_function(_quiet)
    jack.set_info_function(_quiet)
    parent = os.getppid()
    block = SharedBlock(capacity, name=block_name)
    _prepare_for_real_time(block)
    h = block.header
    remembered: dict[str, set[str]] = {}
    playout: Playout | playout_native.NativePlayout | None = None
    h[F.STATE] = STATE_STARTING
    try:
        while not h[F.STOP] and os.getppid() == parent:
            try:
                client = jack.Client(
                    client_name, use_exact_name=True, no_start_server=True, servername=server_name
                )
            except jack.JackOpenError:
                time.sleep(POLL)
                continue
            if playout is None:
                playout = _playout(block, round(ramp_seconds * client.samplerate))
                h[F.NATIVE] = int(isinstance(playout, playout_native.NativePlayout))
            try:
                _serve(
                    client,
                    playout,
                    h,
                    port_names,
                    connect,
                    remembered,
                    parent,
                    (midi_port, midi_in_port),
                )
            except _AttachFailed as exc:
                # The C callback could not be plugged into this libjack: play with the Python
                # callback rather than not at all (the client is closed; the loop opens anew).
                sys.stderr.write(f"oscserver: the C JACK callback failed ({exc}); using Python\n")
                assert isinstance(playout, playout_native.NativePlayout)
                playout.close()
                playout = Playout(block, playout.ramp)
                h[F.NATIVE] = 0
    except Exception:
        h[F.STATE] = STATE_FAILED
        raise
    finally:
        if h[F.STATE] != STATE_FAILED:
            h[F.STATE] = STATE_STOPPED
        if isinstance(playout, playout_native.NativePlayout):
            playout.close()  # _serve closed every client it attached it to
        del h, playout
        block.close()


def _serve(
    client: jack.Client,
    playout: Playout | playout_native.NativePlayout,
    header: npt.NDArray[np.int64],
    port_names: Sequence[str],
    connect: str | None,
    remembered: dict[str, set[str]],
    parent: int,
    midi_ports: tuple[str | None, str | None] = (None, None),
) -> None:
    """Run one JACK client until the server goes or the parent says stop; always closes it.

    ``midi_ports``: the names of the MIDI clock's output port and of the MIDI in port (None:
    none).

    Whatever happens (the server gone, an exception), the client is deactivated and closed
    before this returns, so JACK's thread no longer calls into ``playout``.
    """
    gone = threading.Event()
    try:
        left = client.outports.register(port_names[0])
        right = client.outports.register(port_names[1])
        midi_port, midi_in_port = midi_ports
        midi = client.midi_outports.register(midi_port) if midi_port else None
        midi_in = client.midi_inports.register(midi_in_port) if midi_in_port else None

        def xrun(delay: float) -> None:
            header[F.XRUNS] += 1

        def blocksize(frames: int) -> None:
            header[F.BLOCKSIZE] = frames

        def samplerate(rate: int) -> None:
            header[F.RATE] = rate

        if isinstance(playout, playout_native.NativePlayout):
            try:
                playout.attach(client, left, right, midi, midi_in)
            except Exception as exc:  # anything: JackError, a cffi or ctypes error on this platform
                raise _AttachFailed(str(exc) or type(exc).__name__) from exc
        else:
            python_playout = playout
            said: list[int] = []  # JACK's frame time last cycle, and widened (none yet)

            def process(frames: int) -> None:
                # The Python fallback. Real-time: only the copy from the ring (see playout.py).
                since = client.frames_since_cycle_start
                now = client.last_frame_time
                # The cycles counted in JACK's frame time, widened (as the C callback does).
                widened = said[1] + ((now - said[0]) & 0xFFFFFFFF) if said else now
                said[:] = [now, widened]
                python_playout.count = widened  # (what process() adds is replaced next cycle)
                if midi is not None:  # (before the cycle is counted, as the C callback)
                    midi.clear_buffer()
                    for offset, message in midi_queue.due(header, python_playout.count, frames):
                        midi.write_midi_event(offset, message)
                if midi_in is not None:
                    events = midi_in.incoming_midi_events()
                    midi_in_queue.copy_in(header, python_playout.count, events)
                python_playout.process(left.get_array(), right.get_array(), frames, since)

            client.set_process_callback(process)
        client.set_xrun_callback(xrun)
        client.set_shutdown_callback(lambda status, reason: gone.set())
        client.set_blocksize_callback(blocksize)
        client.set_samplerate_callback(samplerate)
        client.activate()
        header[F.RATE] = client.samplerate
        header[F.BLOCKSIZE] = client.blocksize
        _connect(client, (left, right), connect, remembered)
        header[F.STATE] = STATE_RUNNING
        # After a restart, keep trying the remembered connections for a while, as the clients at
        # the other end (system ports, a DAW) come back; then follow what the user does.
        restore_until = time.monotonic() + RESTORE_SECONDS if remembered else 0.0
        latency = _playback_latency()
        while not gone.is_set() and not header[F.STOP]:
            time.sleep(POLL)
            if os.getppid() != parent:  # oscserver died without stopping us: do not linger
                header[F.STOP] = 1
                break
            header[F.HEARTBEAT] += 1
            if gone.is_set():
                break
            if latency is not None:
                # How long what the ports play takes to be heard: JACK's playback latency of
                # the ports (the graph's, up to the sound card), as the latency API defines it.
                header[F.LATENCY] = max(latency(left), latency(right))
            with contextlib.suppress(jack.JackError):
                if time.monotonic() < restore_until:
                    _connect(client, (left, right), None, remembered)
                else:
                    for port in (left, right):
                        names = {p.name for p in client.get_all_connections(port)}
                        remembered[port.shortname] = names
        if gone.is_set():
            header[F.STATE] = STATE_SERVER_GONE
            header[F.RESTARTS] += 1
    finally:
        if not gone.is_set():
            with contextlib.suppress(jack.JackError):
                client.deactivate()  # returns once the callback has run for the last time
        with contextlib.suppress(jack.JackError):
            client.close()


class _Range(ctypes.Structure):
    _fields_ = [("min", ctypes.c_uint32), ("max", ctypes.c_uint32)]  # jack_latency_range_t


#: ``JackPlaybackLatency`` of ``jack_latency_callback_mode_t`` (jack/types.h).
_PLAYBACK = 1


def _playback_latency() -> Callable[[jack.OwnPort], int] | None:
    """Reads a port's playback latency (the most frames), or None where libjack cannot.

    Through libjack's ``jack_port_get_latency_range`` (JACK's latency API; JACK-Client 0.5 does
    not wrap it), called from this control thread, never from the real-time callback.
    """
    name = ctypes.util.find_library("jack") or ctypes.util.find_library("jack64")
    if not name:
        return None
    try:
        get = ctypes.CDLL(name).jack_port_get_latency_range
    except (OSError, AttributeError):
        return None
    get.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Range)]
    get.restype = None

    def read(port: jack.OwnPort) -> int:
        found = _Range()
        get(playout_native.address(port._ptr), _PLAYBACK, ctypes.byref(found))
        return int(found.max)

    return read


def _connect(
    client: jack.Client,
    ports: tuple[jack.OwnPort, jack.OwnPort],
    pattern: str | None,
    remembered: dict[str, set[str]],
) -> None:
    """Connect to the pattern's first two inputs and restore remembered connections."""
    wanted: list[tuple[jack.OwnPort, str]] = []
    if pattern:
        targets = client.get_ports(pattern, is_audio=True, is_input=True)
        wanted += [(port, target.name) for port, target in zip(ports, targets, strict=False)]
    for port in ports:
        wanted += [(port, name) for name in sorted(remembered.get(port.shortname, ()))]
    for port, name in wanted:
        # Already connected, or that client is not back yet: both are fine.
        with contextlib.suppress(jack.JackError):
            client.connect(port, name)
