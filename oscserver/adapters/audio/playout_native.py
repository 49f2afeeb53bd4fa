"""Loads the C playout (``playout_native.c``) and plugs it into a JACK client as its callback.

The C code is :class:`~oscserver.adapters.audio.playout.Playout` without Python, so that the
JACK process thread never takes the GIL (docs/performance.md has the figures). It is built by
``pip install`` as an optional extension; :func:`available` says whether it is there, and the
real-time process falls back to the Python callback when it is not.

JACK-Client has no API for a C process callback, so :meth:`NativePlayout.attach` registers it
with libjack's own ``jack_set_process_callback`` through JACK-Client's cffi handles (``_lib``,
``_ffi`` and the client's and ports' ``_ptr``), stable since JACK-Client 0.4.
"""

from __future__ import annotations

import ctypes
import importlib.util
from typing import Any

import numpy as np

from oscserver.adapters.audio.playout import SHORT_FADE
from oscserver.adapters.audio.ring import Samples
from oscserver.adapters.audio.shared import (
    COST_BIN_US,
    COST_BINS,
    MIDI_IN_SLOTS,
    MIDI_SLOTS,
    F,
    SharedBlock,
)

__all__ = ["NativePlayout", "NativeUnavailable", "available"]

MODULE = "oscserver.adapters.audio._playout_native"
#: What ``osc_playout_layout`` must report: the header fields and constants both sides share.
LAYOUT = (
    F.WRITE,
    F.READ,
    F.DISCARD,
    F.GATE,
    F.OPENED,
    F.PAUSE_MARK,
    F.PREROLL,
    F.UNDERRUNS,
    F.CALLBACKS,
    F.PLAYING,
    F.COST,
    COST_BIN_US,
    COST_BINS,
    SHORT_FADE,
    F.CYCLE_SEQ,
    F.CYCLE_NS,
    F.CYCLE_SINCE,
    F.CYCLE_READ,
    F.CYCLE_FRAMES,
    F.CYCLE_COUNT,
    F.MIDI_WRITE,
    F.MIDI_READ,
    F.MIDI_DISCARD,
    F.MIDI_LATE,
    F.MIDI,
    MIDI_SLOTS,
    F.MIDI_IN_READ,
    F.MIDI_IN_WRITE,
    F.MIDI_IN,
    MIDI_IN_SLOTS,
    F.MIDI_IN_LOST,
)

_lib: ctypes.CDLL | None = None
_why = ""


class NativeUnavailable(RuntimeError):
    """The C playout is not built or does not match this version of the Python side."""


def _load() -> ctypes.CDLL:
    global _lib, _why
    if _lib is not None:
        return _lib
    if _why:
        raise NativeUnavailable(_why)
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.origin:
        _why = "the C playout was not built (no C compiler at install time?)"
        raise NativeUnavailable(_why)
    lib = ctypes.CDLL(spec.origin)
    vp, i64 = ctypes.c_void_p, ctypes.c_int64
    lib.osc_playout_layout.argtypes = [vp]
    lib.osc_playout_layout.restype = None
    lib.osc_playout_new.argtypes = [vp, vp, i64, i64]
    lib.osc_playout_new.restype = vp
    lib.osc_playout_free.argtypes = [vp]
    lib.osc_playout_free.restype = None
    lib.osc_playout_set_ports.argtypes = [vp, vp, vp, vp, vp, vp]
    lib.osc_playout_set_ports.restype = None
    lib.osc_playout_set_midi.argtypes = [vp, vp, vp, vp, vp]
    lib.osc_playout_set_midi.restype = None
    lib.osc_playout_set_midi_in.argtypes = [vp, vp, vp, vp]
    lib.osc_playout_set_midi_in.restype = None
    lib.osc_playout_process.argtypes = [vp, vp, vp, i64]
    lib.osc_playout_process.restype = None
    layout = np.zeros(32, dtype=np.int64)
    lib.osc_playout_layout(layout.ctypes.data)
    if tuple(int(v) for v in layout[: len(LAYOUT)]) != LAYOUT:
        _why = f"the C playout at {spec.origin} is out of date (reinstall oscserver)"
        raise NativeUnavailable(_why)
    _lib = lib
    return lib


def available() -> bool:
    """Return True when the C playout can be used."""
    try:
        _load()
    except (NativeUnavailable, OSError):
        return False
    return True


def address(cdata: Any) -> int:
    """The address held by a cffi pointer from JACK-Client."""
    import jack

    return int(jack._ffi.cast("uintptr_t", cdata))


class NativePlayout:
    """The C playout over a shared block: same behaviour and output as ``Playout``.

    Args:
        block: The shared header and ring; it must outlive this object.
        ramp: Frames of the play/pause gain ramp.

    Raises:
        NativeUnavailable: The C playout is not built or out of date.
    """

    def __init__(self, block: SharedBlock, ramp: int) -> None:
        self._lib = _load()
        self._block = block  # keeps the memory the C side points into alive
        #: Frames of the gain ramp it was made with.
        self.ramp = ramp
        self._ptr = self._lib.osc_playout_new(
            block.header.ctypes.data, block.samples.ctypes.data, block.capacity, max(1, ramp)
        )
        if not self._ptr:
            raise MemoryError("osc_playout_new")

    def process(self, left: Samples, right: Samples, frames: int) -> None:
        """Fill one period into contiguous float32 buffers of at least ``frames`` frames."""
        if left.dtype != np.float32 or right.dtype != np.float32:
            raise TypeError("buffers must be float32")
        if not (left.flags.c_contiguous and right.flags.c_contiguous):
            raise ValueError("buffers must be contiguous")
        if min(len(left), len(right)) < frames:
            raise ValueError("buffers are shorter than frames")
        self._lib.osc_playout_process(self._ptr, left.ctypes.data, right.ctypes.data, frames)

    def attach(
        self, client: Any, left: Any, right: Any, midi: Any = None, midi_in: Any = None
    ) -> None:
        """Make the C code the process callback of a JACK-Client client, before ``activate()``.

        Args:
            client: A ``jack.Client`` that is not active yet.
            left: Its left ``jack.OwnPort``.
            right: Its right ``jack.OwnPort``.
            midi: Its MIDI clock's ``jack.OwnMidiPort``, or None.
            midi_in: Its MIDI in ``jack.OwnMidiPort``, or None.

        Raises:
            jack.JackError: libjack refused the callback.
        """
        import jack

        ffi, lib = jack._ffi, jack._lib
        # libjack as JACK-Client loaded it (libjack64 on Windows, Homebrew's path on macOS...):
        # the same library and function JACK-Client's own calls use, never a second search.
        getter = address(lib.jack_port_get_buffer)
        since = address(lib.jack_frames_since_cycle_start)
        self._lib.osc_playout_set_ports(
            self._ptr,
            address(left._ptr),
            address(right._ptr),
            getter,
            address(client._ptr),
            since,
        )
        self._lib.osc_playout_set_midi(
            self._ptr,
            address(midi._ptr) if midi is not None else None,
            address(lib.jack_midi_clear_buffer),
            address(lib.jack_midi_event_write),
            address(lib.jack_last_frame_time),
        )
        self._lib.osc_playout_set_midi_in(
            self._ptr,
            address(midi_in._ptr) if midi_in is not None else None,
            address(lib.jack_midi_get_event_count),
            address(lib.jack_midi_event_get),
        )
        callback = ctypes.cast(self._lib.osc_playout_jack_process, ctypes.c_void_p).value
        err = lib.jack_set_process_callback(
            client._ptr,
            ffi.cast("JackProcessCallback", callback),
            ffi.cast("void *", self._ptr),
        )
        if err:
            raise jack.JackError(f"jack_set_process_callback failed ({err})")

    def close(self) -> None:
        """Free the C state. Only after every client it was attached to is closed."""
        if self._ptr:
            self._lib.osc_playout_free(self._ptr)
            self._ptr = None
