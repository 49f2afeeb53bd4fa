"""MIDI in for the app (``--midi``): the mapping, MIDI learn, and the MIDI clock fed.

The audio callback copies the MIDI in port's events into the shared block, each at its JACK
frame (:mod:`oscserver.adapters.audio.midi_in_queue`); :class:`MidiControl` reads them every
:data:`MIDI_POLL` seconds on the event loop. A real-time message goes to the MIDI clock, when it
is the rig's clock (``--clock midi``); a control moved while ``/lyria/learn`` waits is learned
(and the mapping's file written); everything else is made into oscserver's messages by the
mapping (:mod:`oscserver.core.midi_map`) and applied through the intake, as OSC from a sender
:data:`MIDI_SENDER` would be: checked, coalesced, and its refusals logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from oscserver.adapters.audio.midi_in_queue import MidiInQueue
from oscserver.adapters.clock.base import ClockSource
from oscserver.adapters.clock.midi import MidiClockSource
from oscserver.adapters.data_file import DataFile, DataFileError
from oscserver.adapters.osc_udp import Addr
from oscserver.core.errors import NotAvailable, OscInputError
from oscserver.core.midi_in import ControlChange, Realtime, parse
from oscserver.core.midi_map import Control, Learn, MidiMapping
from oscserver.core.osc_codec import Incoming
from oscserver.feedback import Feedback
from oscserver.osc_intake import OscIntake

__all__ = ["MIDI_POLL", "MIDI_SENDER", "MidiControl"]

log = logging.getLogger("oscserver")

#: Seconds between two looks at the MIDI in port's events.
MIDI_POLL = 0.005
#: The sender of what MIDI plays (its refusals are logged, and told in the story).
MIDI_SENDER: Addr = ("midi", 0)


class MidiControl:
    """The mapping, MIDI learn and the reading of the MIDI in port.

    Args:
        path: The mapping's file (``--midi-map``; None: the default mapping, and what is
            learned kept until oscserver stops).
        intake: Applies what MIDI plays, as OSC from a sender.
        feedback: Answers the sender of ``/lyria/learn``.
        clock: The rig's clock now (fed when it is the MIDI clock).
        moment: When a JACK frame was, in monotonic seconds.
    """

    def __init__(
        self,
        path: str | None,
        intake: OscIntake,
        feedback: Feedback,
        clock: Callable[[], ClockSource | None],
        moment: Callable[[int], float],
    ) -> None:
        self.mapping = MidiMapping.default()
        self.file = DataFile(path) if path else None
        self.learn = Learn()
        self._intake = intake
        self._feedback = feedback
        self._clock = clock
        self._moment = moment
        self._learner: Addr | None = None
        self._queue: MidiInQueue | None = None

    def load(self) -> None:
        """Read the mapping's file (the default mapping while it does not exist).

        Raises:
            DataFileError: The file cannot be read, or holds a mistake (named).
        """
        if self.file is None:
            return
        data = self.file.read()
        if data is None:
            return
        try:
            self.mapping = MidiMapping.from_data(data)
        except (OscInputError, ValueError) as exc:
            raise DataFileError(f"{self.file.path}: {exc}") from None
        log.info(
            "MIDI mapping from %s: %d control(s), %d key(s)",
            self.file.path,
            len(self.mapping.controls),
            len(self.mapping.keys),
        )

    def start(self, queue: MidiInQueue) -> asyncio.Task[None]:
        """Read ``queue`` from now on; returns the reading task (the caller cancels it)."""
        self._queue = queue
        return asyncio.create_task(self._read(queue), name="midi-in")

    async def _read(self, queue: MidiInQueue) -> None:
        while True:
            for frame, data in queue.take():
                try:
                    self._heard(data, frame)
                except Exception:  # a bug must not stop MIDI (nor the music)
                    log.exception("a MIDI message could not be handled")
            await asyncio.sleep(MIDI_POLL)

    def _heard(self, data: bytes, frame: int) -> None:
        """One MIDI message that came in at JACK frame ``frame``."""
        message = parse(data)
        if message is None:
            return
        if isinstance(message, Realtime):
            source = self._clock()
            if isinstance(source, MidiClockSource):
                source.heard(message.status, self._moment(frame))
            return
        if isinstance(message, ControlChange):
            control = self.learn.moved(message)
            if control is not None:
                self._learned(control)
                return
        messages = self.mapping.messages(message)
        if messages:
            incoming = [Incoming(address, tuple(args)) for address, args in messages]
            self._intake.on_datagram(incoming, MIDI_SENDER)

    def learn_for(self, address: str, sender: Addr) -> None:
        """``/lyria/learn <address>``: map the next control moved to ``address``.

        Raises:
            OscInputError: No MIDI in port, or not an address a control can set.
        """
        if self._queue is None:
            raise NotAvailable("/lyria/learn: MIDI learn needs --midi (a JACK MIDI input port)")
        self.learn.start(address)
        self._learner = sender
        log.info("MIDI learn: move a control to map it to %s", address)

    def _learned(self, control: Control) -> None:
        self.mapping = self.mapping.learned(control)
        channel = control.channel or 0
        log.info(
            "MIDI learn: CC %d on channel %d now sets %s", control.number, channel, control.address
        )
        learner, self._learner = self._learner, None
        if self.file is not None:
            try:
                self.file.write(self.mapping.to_data())
            except OSError as exc:
                error = NotAvailable(
                    f"/lyria/learn: learned until oscserver stops, but {self.file.path} cannot "
                    f"be written ({exc.strerror})"
                )
                self._intake.refuse(learner or MIDI_SENDER, error)
        if learner is not None:
            self._feedback.tell(
                "/lyria/learned", [control.address, channel, control.number], learner
            )
