"""oscserver as JACK transport's timebase master, when nobody else is (``--jack-timebase``).

A timebase master tells every JACK client where the transport is in bars and beats, and at what
tempo: Ardour, Hydrogen or a drum machine set to follow JACK transport then play in oscserver's
tempo, and ``/lyria/bpm`` moves them all. JACK calls the master's callback in its process
thread, so the callback is C (``timebase_native.c``): it computes the position from a tempo
map that keeps the beats continuous across tempo changes. It is asked for conditionally
(``jack_set_timebase_callback``), so a DAW that is the master already stays the master, and
:meth:`Timebase.tend` asks again once it has gone.

JACK-Client has no API for a C timebase callback; as for the C playout
(:mod:`oscserver.adapters.audio.playout_native`), libjack's own function is called through
JACK-Client's cffi handles, and the position's field offsets are read from its definition.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import logging
from typing import Any

import numpy as np

__all__ = ["FIELDS", "Timebase", "TimebaseUnavailable", "available"]

log = logging.getLogger(__name__)

MODULE = "oscserver.adapters.clock._timebase_native"
#: ``jack_position_t``'s fields the C code reads and writes, in its ``O_*`` order.
FIELDS = (
    "frame",
    "frame_rate",
    "valid",
    "bar",
    "beat",
    "tick",
    "bar_start_tick",
    "beats_per_bar",
    "beat_type",
    "ticks_per_beat",
    "beats_per_minute",
)

_lib: ctypes.CDLL | None = None


class TimebaseUnavailable(RuntimeError):
    """The C timebase is not built here, or JACK refused it."""


def _load() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.origin:
        raise TimebaseUnavailable("the C timebase was not built (no C compiler at install time?)")
    lib = ctypes.CDLL(spec.origin)
    vp = ctypes.c_void_p
    lib.osc_timebase_new.argtypes = [vp, ctypes.c_int32, ctypes.c_double]
    lib.osc_timebase_new.restype = vp
    lib.osc_timebase_free.argtypes = [vp]
    lib.osc_timebase_free.restype = None
    lib.osc_timebase_set_bpm.argtypes = [vp, ctypes.c_double]
    lib.osc_timebase_set_bpm.restype = None
    lib.osc_timebase_calls.argtypes = [vp]
    lib.osc_timebase_calls.restype = ctypes.c_int64
    lib.osc_timebase_position.argtypes = [vp, ctypes.c_int, vp]
    lib.osc_timebase_position.restype = None
    _lib = lib
    return lib


def available() -> bool:
    """Return True when the C timebase can be used."""
    try:
        _load()
    except (TimebaseUnavailable, OSError):
        return False
    return True


def _address(cdata: Any) -> int:
    import jack

    return int(jack._ffi.cast("uintptr_t", cdata))


class Timebase:
    """The C timebase state for one JACK client, and its registration.

    Args:
        client: An active ``jack.Client`` (the clock's own); it must outlive this object.
        bpm: The tempo to start at.

    Raises:
        TimebaseUnavailable: The C timebase is not built here.
    """

    def __init__(self, client: Any, bpm: float) -> None:
        import jack

        self._lib = _load()
        self._jack = jack
        self._client = client
        ffi = jack._ffi
        offsets = np.array([ffi.offsetof("jack_position_t", f) for f in FIELDS], np.int32)
        self._ptr = self._lib.osc_timebase_new(
            offsets.ctypes.data, int(jack._lib.JackPositionBBT), bpm
        )
        if not self._ptr:
            raise MemoryError("osc_timebase_new")
        #: True while JACK calls this timebase (as far as :meth:`tend` last saw).
        self.master = False
        self._calls = 0

    def set_bpm(self, bpm: float) -> None:
        """The tempo from JACK's next cycle on, the beats continuous."""
        self._lib.osc_timebase_set_bpm(self._ptr, bpm)

    @property
    def calls(self) -> int:
        """Times JACK has called the timebase callback."""
        return int(self._lib.osc_timebase_calls(self._ptr))

    def take(self) -> bool:
        """Ask to be the timebase master unless another client is; returns :attr:`master`."""
        lib, ffi = self._jack._lib, self._jack._ffi
        callback = ctypes.cast(self._lib.osc_timebase_jack, ctypes.c_void_p).value
        err = lib.jack_set_timebase_callback(
            self._client._ptr,
            1,  # conditional: never from another master
            ffi.cast("JackTimebaseCallback", callback),
            ffi.cast("void *", self._ptr),
        )
        if err and err not in (errno.EBUSY, -1):
            raise TimebaseUnavailable(f"jack_set_timebase_callback failed ({err})")
        self.master = not err
        self._calls = self.calls
        return self.master

    def tend(self, rolling: bool) -> bool:
        """Call now and then (every half second); returns :attr:`master`.

        Notices a master that took over, and takes the timebase again once nobody holds it.

        Args:
            rolling: Whether the transport rolls now (JACK calls a master only while it rolls,
                or when it is moved).
        """
        calls = self.calls
        if self.master and rolling and calls == self._calls:
            self.master = False
            log.info("another JACK timebase master took over: following its tempo")
        self._calls = calls
        if not self.master and self.take():
            log.info("oscserver is JACK transport's timebase master (nobody else was)")
        return self.master

    def release(self) -> None:
        """Give up the timebase (JACK may still be in the callback: :meth:`free` only later)."""
        if self.master and self._ptr is not None:
            self._jack._lib.jack_release_timebase(self._client._ptr)
        self.master = False

    def free(self) -> None:
        """Free the C state: only once the client is deactivated or closed."""
        if self._ptr is not None:
            self._lib.osc_timebase_free(self._ptr)
            self._ptr = None
