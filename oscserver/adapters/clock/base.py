"""The one small interface every clock source offers."""

from __future__ import annotations

import abc

from oscserver.core.lock import ClockReading

__all__ = ["ClockSource", "ClockUnavailable"]


class ClockUnavailable(RuntimeError):
    """The clock cannot be used here (its library is missing, or its server is not running)."""


class ClockSource(abc.ABC):
    """A timeline of beats shared with the rig.

    Call :meth:`read` whenever the time of the next beat is needed (it is cheap), from one
    thread at a time; :meth:`close` when done.
    """

    #: ``internal``, ``link`` or ``jack``.
    name: str

    @abc.abstractmethod
    def read(self) -> ClockReading | None:
        """The clock now, its time on :func:`time.monotonic`; None while it has no beat."""

    @abc.abstractmethod
    def propose_tempo(self, bpm: float) -> None:
        """Ask for a new tempo (the user changed ``/lyria/bpm``).

        A clock led by someone else (a JACK timebase master) may keep its own.
        """

    @abc.abstractmethod
    def describe(self) -> str:
        """One line for the status: the source, its tempo and who shares it."""

    def play(self) -> None:  # noqa: B027 (most sources run on their own)
        """The music starts: a clock that waits for it (the internal one) starts too."""

    def tend(self) -> None:  # noqa: B027 (most sources have nothing to keep up)
        """Call now and then (every half second) from the event loop, for upkeep."""

    def close(self) -> None:  # noqa: B027 (most sources have nothing to leave)
        """Leave the clock (a Link session, a JACK client)."""
