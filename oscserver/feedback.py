"""What the senders hear back: answers, the status, changes pushed, errors and warnings.

Answers to queries, ``/lyria/status``, changes pushed to listeners, and the server's errors,
warnings and filtered prompts. The rules (which address answers what, how listeners' updates
are coalesced) are in :mod:`oscserver.core.replies`; this module sends them over the UDP
endpoint, on the loop.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oscserver.adapters.coalesced import Coalesced
from oscserver.adapters.osc_udp import Addr, OscUdpEndpoint
from oscserver.adapters.pulse_sender import PulseSender
from oscserver.core.addresses import PULSE_TOPICS, Effect
from oscserver.core.errors import NotAvailable
from oscserver.core.replies import Mirror, answer, portable, snapshot
from oscserver.core.state import MusicalState, Query

__all__ = ["FILTERED_ADDRESS", "STATUS_ADDRESS", "WARNING_ADDRESS", "Feedback", "Status"]

log = logging.getLogger("oscserver")

#: Where ``/lyria/status`` is answered and status changes are pushed to subscribers.
STATUS_ADDRESS = "/lyria/status"
#: Where ``/lyria/get/tempo`` is answered.
TEMPO_ADDRESS = "/lyria/tempo"
#: Where a refused prompt is reported: ``/lyria/filtered <slot> <text> <reason>``.
FILTERED_ADDRESS = "/lyria/filtered"
#: Where warnings (the service's, a slow stream) are reported: ``/lyria/warning <text>``.
WARNING_ADDRESS = "/lyria/warning"


@dataclass(frozen=True)
class Status:
    """What the server is doing, for the status line and ``/lyria/status``.

    Attributes:
        link: The connection to the music service (``connected``, ``reconnecting in ...``).
        playback: ``playing``, ``paused`` or ``stopped`` as the user asked.
        buffer_seconds: Audio waiting in the output buffer.
        underruns: Times the output ran dry while playing.
        xruns: JACK xruns.
        peak: Output peak over the last 100 ms (1.0 is full scale).
        osc_messages: OSC messages received.
        osc_refused: OSC messages and datagrams refused.
        output: The audio output's state (``running``, ``JACK server gone``...).
        stretch: The time ratio the stream is played at (1.0: as it comes; 1.04: 4 % slower,
            to refill the buffer).
        bridged: Seconds the last bar was looped while the stream was late, in all.
        heard: Seconds from the last control change (a prompt, a weight, a config value) to
            when the first audio reflecting it is heard; 0 until one has been measured.
        tempo: The music's tempo as measured from the stream (bpm; 0 until measured).
        steady: The beats found fit a steady pulse.
        clock: The clock the beats are locked to: ``none``, ``internal``, ``link`` or ``jack``.
        clock_tempo: Its tempo (bpm; 0 without a clock or a beat).
        lock: ``seeking``, ``locked`` or ``beyond the stretch`` (empty without a clock).
        lock_error: Seconds the music's next beat is late against the clock's (negative: early).
    """

    link: str
    playback: str
    buffer_seconds: float
    underruns: int
    xruns: int
    peak: float
    osc_messages: int
    osc_refused: int
    output: str = "running"
    stretch: float = 1.0
    bridged: float = 0.0
    heard: float = 0.0
    tempo: float = 0.0
    steady: bool = False
    clock: str = "none"
    clock_tempo: float = 0.0
    lock: str = ""
    lock_error: float = 0.0

    def line(self, width: int | None = None) -> str:
        """One line, e.g. ``connected | playing | buffer 2.1 s | underruns 0 | ...``.

        Args:
            width: The most characters the line may take (a terminal's width, so that it never
                wraps). The least important fields go first (OSC counts, xruns, stretch and
                bridge, underruns, peak, buffer), then the connection text is shortened;
                playback always stays.
        """
        level = "-inf" if self.peak <= 1e-6 else f"{20 * math.log10(self.peak):.1f}"
        # (field, importance: the lowest goes first when the line is too long)
        fields = [
            (f"audio: {self.output}" if self.output != "running" else "", 9),
            (self.link, 8),
            (self.playback, 10),
            (f"buffer {self.buffer_seconds:.1f} s", 6),
            (f"underruns {self.underruns}", 4),
            (f"stretch x{self.stretch:.3f}" if self.stretch != 1.0 else "", 3),
            (f"bridged {self.bridged:.1f} s" if self.bridged else "", 3),
            (f"change heard in {self.heard:.1f} s" if self.heard else "", 3),
            (f"tempo {self.tempo:.1f}" if self.tempo else "", 3),
            (self._clock_field(), 7),
            (f"xruns {self.xruns}", 2),
            (f"peak {level} dBFS", 5),
            (f"osc {self.osc_messages} msgs, {self.osc_refused} refused", 1),
        ]
        fields = [f for f in fields if f[0]]
        text = " | ".join(f for f, _ in fields)
        if width is None or len(text) <= width:
            return text
        for floor in (1, 2, 3, 4, 5, 6):  # drop the least important until the line fits
            fields = [f for f in fields if f[1] > floor]
            text = " | ".join(f for f, _ in fields)
            if len(text) <= width:
                return text
        # Still too long: shorten the connection's text (a long reconnect reason).
        over = len(text) - width
        fields = [
            (f if importance != 8 else _shorten(f, max(8, len(f) - over)), importance)
            for f, importance in fields
        ]
        return " | ".join(f for f, _ in fields)[:width]

    def _clock_field(self) -> str:
        """E.g. ``link 120.0 locked +2 ms`` (empty without a clock)."""
        if self.clock == "none":
            return ""
        text = f"{self.clock} {self.clock_tempo:.1f}" if self.clock_tempo else self.clock
        if self.lock == "locked":
            return f"{text} locked {self.lock_error * 1e3:+.0f} ms"
        return f"{text} {self.lock}"

    def reply(self) -> tuple[str, list[Any]]:
        """The ``/lyria/status`` message (see docs/osc.md for its arguments)."""
        return STATUS_ADDRESS, [
            self.link,
            self.playback,
            round(self.buffer_seconds, 3),
            self.underruns,
            self.xruns,
            self.osc_messages,
            self.osc_refused,
            round(self.stretch, 4),
            round(self.bridged, 3),
            round(self.heard, 3),
            self.clock,
            round(float(self.clock_tempo), 2),
            self.lock,
            round(self.lock_error * 1e3, 1),
        ]

    def tempo_reply(self) -> tuple[str, list[Any]]:
        """The answer to ``/lyria/get/tempo``.

        The measured bpm (0 until measured) and 1 when the beats fit a steady pulse.
        """
        return TEMPO_ADDRESS, [round(self.tempo, 2), int(self.steady)]


def _shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending with ``...`` when cut (ASCII: any console)."""
    return text if len(text) <= width else text[: width - 3] + "..."


class Feedback:
    """Sends what the senders hear back.

    Args:
        udp: The endpoint replies leave from (the one OSC arrives on).
        reply_host: Send to this host instead of the sender's (None: the sender's).
        reply_port: Send to this port instead of the sender's (None: the sender's).
        state: The current musical state.
        status: The current status.
        senders: The recent senders, who hear what no message of theirs caused.
    """

    def __init__(
        self,
        udp: OscUdpEndpoint,
        reply_host: str | None,
        reply_port: int | None,
        state: Callable[[], MusicalState],
        status: Callable[[], Status],
        senders: Callable[[], list[Addr]],
    ) -> None:
        self._udp = udp
        self._reply_host, self._reply_port = reply_host, reply_port
        self._state, self._status, self._senders = state, status, senders
        #: The listeners (``/lyria/listen``) and the changes waiting for them.
        self.mirror = Mirror()
        #: Sends the music's pulse to its listeners (``/lyria/listen/beat``...), if any.
        self.pulse: PulseSender | None = None
        self._changes = Coalesced(self.mirror, self._send_changes)

    def reply_address(self, sender: Addr) -> Addr:
        """Where replies to ``sender`` go: the sender, or the configured reply host/port.

        A sender not on the network (a web console's page) always hears its own.
        """
        if sender[0] in self._udp.routes:
            return sender
        return (self._reply_host or sender[0], self._reply_port or sender[1])

    def _send(self, addr: Addr, address: str, args: list[Any]) -> None:
        """Send one reply in types every patching tool reads (i f s: see ``portable``)."""
        self._udp.send(addr, address, portable(args))

    def tell(self, address: str, args: list[Any], reply_to: Addr | None = None) -> None:
        """Send to the sender of the message that caused it, else to every recent sender."""
        senders = [reply_to] if reply_to is not None else self._senders()
        for addr in dict.fromkeys(self.reply_address(s) for s in senders):
            self._send(addr, address, args)

    def answer(self, query: Query, sender: Addr) -> None:
        """Answer a getter, ``/lyria/status``, ``/lyria/listen`` or ``/lyria/ignore``."""
        target = self.reply_address(sender)
        if query.effect is Effect.GET:
            for address, args in answer(self._state(), query):
                self._send(target, address, args)
        elif query.effect is Effect.STATUS:
            status = self._status()
            self._send(
                target, *(status.tempo_reply() if query.target == "tempo" else status.reply())
            )
        else:
            host, port = query.args
            who = (str(host) if host else sender[0], port if isinstance(port, int) else target[1])
            if query.target in PULSE_TOPICS:
                self._pulse_listen(query, who)
            elif query.effect is Effect.LISTEN:
                dropped = self.mirror.listen(who)
                log.info("%s:%d listens to value changes", *who)
                if dropped is not None:
                    log.warning("too many listeners: %s:%d no longer gets changes", *dropped)
                for address, args in [*snapshot(self._state()), self._status().reply()]:
                    self._send(who, address, args)
            elif self.mirror.ignore(who):
                log.info("%s:%d no longer listens", *who)

    def _pulse_listen(self, query: Query, who: Addr) -> None:
        """``/lyria/listen/beat`` and the like: the pulse's sender keeps its listeners."""
        topic = query.target
        if self.pulse is None:
            raise NotAvailable(
                f"/lyria/listen/{topic}: this output has no pulse (it needs an audio output that "
                "plays: JACK, a sound card or null)"
            )
        if query.effect is Effect.LISTEN:
            self.pulse.listen(topic, who)
            log.info("%s:%d listens to the music's %s", *who, topic)
        elif self.pulse.ignore(topic, who):
            log.info("%s:%d no longer listens to the music's %s", *who, topic)

    def changed(self, replies: list[tuple[str, list[Any]]]) -> None:
        """Queue changes for the listeners and make sure they go out (coalesced)."""
        if self.mirror.subscribers:
            self._changes.changed(replies)

    def _send_changes(self, replies: list[tuple[str, list[Any]]]) -> None:
        for addr in self.mirror.subscribers:
            for address, args in replies:
                self._send(addr, address, args)

    def close(self) -> None:
        """Stop pushing changes."""
        self._changes.cancel()
