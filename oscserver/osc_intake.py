"""OSC in: the datagrams read together, coalesced; bundles held until their timetag; refusals.

The UDP adapter hands over batches of decoded datagrams (``osc_udp.Batch``); this module
decides what is applied together and when, and hands each group of messages to the app's
``apply``. It also keeps the recent senders (they hear errors no message of theirs
caused) and counts and answers refusals.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence

from oscserver.adapters.osc_udp import ERROR_ADDRESS, Addr, Batch
from oscserver.adapters.ratelog import RateLimitedLog
from oscserver.core.addresses import TABLE, Effect, coerce_args
from oscserver.core.errors import OscInputError
from oscserver.core.osc_codec import Incoming, OscArg

__all__ = ["MAX_SCHEDULE", "RECENT_SENDERS", "OscIntake"]

#: The furthest in the future a bundle may be scheduled, in seconds (a wrong clock, else).
MAX_SCHEDULE = 3600.0
#: How many recent senders hear errors that no single message caused (e.g. a dropped connection).
RECENT_SENDERS = 8
#: Addresses whose messages may be coalesced within a batch: one value, set in place.
_PLAIN = {
    path: entry
    for entry in TABLE
    if entry.effect in (Effect.CONFIG, Effect.LOCAL, Effect.PROMPT_TEXT, Effect.PROMPT_WEIGHT)
    for path, _ in entry.concrete_paths()
}


class OscIntake:
    """Turns batches of datagrams into groups of messages applied together.

    Args:
        apply: Applies messages together (one update to the service); it must answer the
            refusals of single messages itself (through :meth:`refuse`).
        send: Sends one OSC message to an address (the UDP endpoint's ``send``).
        reply_address: Where replies to a sender go.
        log_budget: The per-sender log budget refusals are logged through.
    """

    def __init__(
        self,
        apply: Callable[[list[Incoming], Addr], None],
        send: Callable[[Addr, str, Sequence[OscArg]], None],
        reply_address: Callable[[Addr], Addr],
        log_budget: RateLimitedLog,
    ) -> None:
        self._apply = apply
        self._send = send
        self._reply_address = reply_address
        self._log = log_budget
        #: OSC messages refused (wrong address, type, range; timetag too far).
        self.refused = 0
        self._senders: collections.OrderedDict[Addr, None] = collections.OrderedDict()
        self._scheduled: set[asyncio.TimerHandle] = set()

    @property
    def senders(self) -> list[Addr]:
        """The most recent senders, oldest first."""
        return list(self._senders)

    @property
    def scheduled(self) -> int:
        """Bundles waiting for their timetag."""
        now = asyncio.get_running_loop().time()
        return sum(1 for h in self._scheduled if not h.cancelled() and h.when() > now)

    def close(self) -> None:
        """Drop the bundles still waiting for their time."""
        for handle in self._scheduled:
            handle.cancel()
        self._scheduled.clear()

    def refuse(self, sender: Addr, error: OscInputError) -> None:
        """Count a refusal, log it (within the sender's budget) and answer ``/lyria/error``."""
        self.refused += 1
        self._log.warning(sender[0], "from %s:%d: %s", sender[0], sender[1], error)
        self._send(self._reply_address(sender), ERROR_ADDRESS, [str(error)])

    def on_batch(self, batch: Batch) -> None:
        """Apply the datagrams read together, in order.

        A run of plain value messages (one per datagram, no timetag, a config value, a prompt
        text or weight) is validated message by message, every refusal answered, and then
        applied as one update with the latest value per address: the state ends exactly as
        if each had been applied in turn, and the service would only have seen the latest
        anyway (the throttle). Anything else (commands, queries, bundles, patterns, glides)
        closes the run and is applied on its own, so the order of effects is kept.
        """
        run: dict[str, tuple[Incoming, Addr]] = {}
        for messages, sender in batch:
            if len(messages) == 1 and messages[0].timetag is None:
                message = messages[0]
                entry = _PLAIN.get(message.address)
                if entry is not None and len(message.args) == 1:
                    try:
                        coerce_args(entry, message.address, message.args)
                    except OscInputError as exc:
                        self._remember(sender)
                        self.refuse(sender, exc)
                        continue
                    run.pop(message.address, None)  # re-inserted last: order of change
                    run[message.address] = (message, sender)
                    continue
            if run:
                self._apply_run(run)
                run = {}
            self.on_datagram(messages, sender)
        if run:
            self._apply_run(run)

    def _apply_run(self, run: dict[str, tuple[Incoming, Addr]]) -> None:
        senders = list(dict.fromkeys(sender for _, sender in run.values()))
        for sender in senders:
            self._remember(sender)
        self._apply([message for message, _ in run.values()], senders[-1])

    def on_datagram(self, messages: list[Incoming], sender: Addr) -> None:
        """Apply one datagram: its messages due now together, later ones at their time.

        OSC 1.0 bundles carry a timetag: "immediately", or a time at which their messages take
        effect; a past time means at once. Future ones are scheduled on the event loop (never
        slept on), and the messages sharing a time take effect together, as one update to the
        service.
        """
        self._remember(sender)
        now: list[Incoming] = []
        later: dict[float, list[Incoming]] = {}
        wall = time.time()
        for message in messages:
            if message.timetag is None or message.timetag <= wall:
                now.append(message)
            elif message.timetag - wall > MAX_SCHEDULE:
                self.refuse(
                    sender,
                    OscInputError(
                        f"{message.address}: timetag {message.timetag - wall:.0f} s in the future "
                        f"(at most {MAX_SCHEDULE:.0f} s; is the sender's clock right?)"
                    ),
                )
            else:
                later.setdefault(message.timetag, []).append(message)
        loop = asyncio.get_running_loop()
        for timetag, group in later.items():
            when = loop.time() + (timetag - wall)
            handle = loop.call_at(when, self._apply_scheduled, group, sender)
            self._scheduled.add(handle)
        if now:
            self._apply(now, sender)

    def _apply_scheduled(self, messages: list[Incoming], sender: Addr) -> None:
        now = asyncio.get_running_loop().time()
        self._scheduled = {h for h in self._scheduled if h.when() > now}  # those still to come
        self._apply(messages, sender)

    def _remember(self, sender: Addr) -> None:
        self._senders[sender] = None
        self._senders.move_to_end(sender)
        while len(self._senders) > RECENT_SENDERS:
            self._senders.popitem(last=False)
