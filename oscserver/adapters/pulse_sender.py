"""Sends the pulse's messages on time, from a thread of its own, to those who listen.

The messages (:mod:`oscserver.core.pulse`) come with the time their sound is heard; this
thread sleeps until each is due and sends it over UDP to every listener of its topic, as a
plain message at that moment, or, with a lookahead, that much earlier in a bundle timetagged
with the moment (OSC 1.0, "Temporal semantics"), for receivers that schedule time tags
(SuperCollider, liblo, Max with the CNMAT externals). A thread, not the event loop: a loop
busy with a burst of control messages would make the beats late.

Time tags are on the wall clock (:func:`time.time`), as OSC's NTP time is: the moment heard,
known on the monotonic clock, is moved onto it when the bundle is made.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from oscserver.core.osc_codec import encode_bundle, encode_message
from oscserver.core.pulse import Schedule, Timed

__all__ = ["PulseSender"]

log = logging.getLogger(__name__)

Addr = tuple[str, int]
#: Takes one OSC packet (an OSCQuery WebSocket's sender).
Stream = Callable[[bytes], None]


class PulseSender:
    """Sends timed messages to the listeners of their topics.

    Call :meth:`start` once, :meth:`add` from any thread as messages are made, :meth:`clear`
    when the music pauses, :meth:`listen` and :meth:`ignore` as listeners come and go, and
    :meth:`close` at the end.

    Args:
        lookahead: Seconds before the sound each message is sent (0: at the sound, plain
            messages; above 0: bundles timetagged with the sound's moment).
        clock: The monotonic clock the messages' times are on.
        wall: The clock time tags are on (seconds since the Unix epoch).
        sock: The UDP socket to send from, closed by :meth:`close` (the server's OSC port,
            duplicated: :meth:`OscUdpEndpoint.duplicate`); None: one of its own on ``host``.
        host: The address a socket of its own is bound to.
    """

    def __init__(
        self,
        lookahead: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sock: socket.socket | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.lookahead = lookahead
        self._clock = clock
        self._wall = wall
        self._schedule = Schedule(lookahead)
        self._listeners: dict[str, tuple[Addr, ...]] = {}
        # Streams by topic: (address, key, send) each, replaced whole (read without the lock).
        self._streams: dict[str, tuple[tuple[str, object, Stream], ...]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, 0))
        self._socket = sock
        self._thread = threading.Thread(target=self._run, name="oscserver-pulse", daemon=True)
        self.sent = 0
        self.failed = 0

    @property
    def dropped(self) -> int:
        """Messages dropped because their sound had passed when they came due."""
        return self._schedule.dropped

    def start(self) -> None:
        """Start the sending thread."""
        self._thread.start()

    def listeners(self, topic: str) -> tuple[Addr, ...]:
        """Who listens to ``topic`` now."""
        return self._listeners.get(topic, ())

    def listen(self, topic: str, addr: Addr) -> None:
        """``addr`` gets ``topic``'s messages from now on."""
        with self._lock:
            now = self._listeners.get(topic, ())
            if addr not in now:
                self._listeners = {**self._listeners, topic: (*now, addr)}

    def ignore(self, topic: str, addr: Addr) -> bool:
        """``addr`` no longer gets ``topic``; False if it did not."""
        with self._lock:
            now = self._listeners.get(topic, ())
            if addr not in now:
                return False
            self._listeners = {**self._listeners, topic: tuple(a for a in now if a != addr)}
            return True

    def stream(self, topic: str, address: str, key: object, send: Stream) -> None:
        """``send`` gets every packet of ``address`` (of ``topic``) from now on.

        Called on the sending thread; ``key`` names the receiver for :meth:`unstream` (an
        OSCQuery WebSocket). With a lookahead, the messages heard together come in a bundle.
        """
        with self._lock:
            now = self._streams.get(topic, ())
            if not any(a == address and k == key for a, k, _ in now):
                self._streams = {**self._streams, topic: (*now, (address, key, send))}

    def unstream(self, key: object, address: str | None = None) -> None:
        """``key`` no longer gets ``address`` (None: anything)."""
        with self._lock:
            self._streams = {
                topic: tuple(s for s in streams if not (s[1] == key and address in (None, s[0])))
                for topic, streams in self._streams.items()
            }

    def wanted(self, topic: str) -> bool:
        """Whether anyone listens to ``topic`` (so that nobody's messages are not made)."""
        return bool(self._listeners.get(topic)) or bool(self._streams.get(topic))

    def add(self, messages: list[Timed]) -> None:
        """Queue messages to be sent when due."""
        if not messages:
            return
        with self._lock:
            before = self._schedule.next_due()
            self._schedule.add(messages)
            after = self._schedule.next_due()
            if before is None or (after is not None and after < before):
                self._wake.set()  # (the thread sleeps until the earliest it knew of)

    def clear(self) -> None:
        """Drop everything waiting: the music paused, none of it will be heard."""
        with self._lock:
            self._schedule.clear()

    def shift(self, seconds: float) -> None:
        """What waits is heard ``seconds`` later (or earlier) than it was placed: move it."""
        with self._lock:
            self._schedule.shift(seconds)
            self._wake.set()

    def forget_from(self, heard_at: float) -> None:
        """Drop what waits for sound heard at or after ``heard_at`` (it was cut)."""
        with self._lock:
            self._schedule.drop_from(heard_at)

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._stop = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        self._socket.close()

    def _stream(
        self,
        streams: tuple[tuple[str, object, Stream], ...],
        made: list[tuple[str, bytes]],
        timetag: float,
    ) -> None:
        """Each stream's packets of the addresses it asked for (bundled with a lookahead)."""
        chosen: dict[object, tuple[Stream, list[bytes]]] = {}
        for address, key, send in streams:
            for made_address, packet in made:
                if made_address == address:
                    chosen.setdefault(key, (send, []))[1].append(packet)
        for send, packets in chosen.values():
            if self.lookahead > 0:
                packets = [encode_bundle(timetag, packets)]
            for packet in packets:
                try:
                    send(packet)
                except Exception:  # a receiver's failure is never the music's
                    log.exception("a pulse stream failed")

    def _run(self) -> None:
        while not self._stop:
            with self._lock:
                due_at = self._schedule.next_due()
            wait = None if due_at is None else due_at - self._clock()
            if wait is None or wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            with self._lock:
                due = self._schedule.due(self._clock())
            if due:
                self._send(due)

    def _send(self, due: list[Timed]) -> None:
        listeners, streams = self._listeners, self._streams
        # Messages heard at the same moment for the same listeners go together.
        groups: dict[tuple[float, str], list[tuple[str, bytes]]] = {}
        for message in due:
            try:
                packet = encode_message(message.address, list(message.args))
            except ValueError:
                log.exception("a pulse message could not be encoded: %s", message.address)
                continue
            groups.setdefault((message.heard_at, message.topic), []).append(
                (message.address, packet)
            )
        offset = self._wall() - self._clock() if self.lookahead > 0 else 0.0
        for (heard_at, topic), made in groups.items():
            packets = [packet for _, packet in made]
            if self.lookahead > 0:
                packets = [encode_bundle(heard_at + offset, packets)]
            self._stream(streams.get(topic, ()), made, heard_at + offset)
            for addr in listeners.get(topic, ()):
                for packet in packets:
                    try:
                        self._socket.sendto(packet, addr)
                        self.sent += 1
                    except OSError as error:  # a listener gone: its port closed, no route
                        self.failed += 1
                        log.debug("pulse to %s:%d failed: %s", *addr, error)
