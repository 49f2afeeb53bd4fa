"""The OSC UDP endpoint: datagrams in and out on the asyncio loop, decoded by the core codec.

Senders outside the allowlist are dropped unanswered; oversized and malformed datagrams are
counted, answered with ``/lyria/error`` and logged within a budget per sender.

It does no dispatch of its own: every datagram is decoded with
:func:`oscserver.core.osc_codec.decode_packet` and handed, whole, to the handler, so that all
messages of one bundle can take effect together. A malformed datagram is counted, logged and
answered with ``/lyria/error`` to its sender; it never reaches the handler and never stops the
server.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oscserver.adapters.ratelog import RateLimitedLog
from oscserver.core.errors import MalformedPacket
from oscserver.core.osc_codec import Incoming, OscArg, decode_packet, encode_message

__all__ = ["ERROR_ADDRESS", "OscUdpEndpoint", "UdpStats"]

log = logging.getLogger(__name__)

#: Where errors are replied to the sender.
ERROR_ADDRESS = "/lyria/error"

Addr = tuple[str, int]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Datagrams above this many bytes are refused by default (OSC from tools is far smaller).
DEFAULT_MAX_DATAGRAM = 16384
Handler = Callable[[list[Incoming], Addr], None]


@dataclass
class UdpStats:
    """Counters since the endpoint started."""

    datagrams: int = 0
    messages: int = 0
    malformed: int = 0
    oversized: int = 0
    strangers: int = 0  # datagrams from senders outside the allowlist, dropped
    send_errors: int = 0


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: OscUdpEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        self.endpoint._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        # E.g. ICMP port unreachable after replying to a sender that has gone: not fatal.
        self.endpoint.stats.send_errors += 1
        log.debug("UDP error: %s", exc)


class OscUdpEndpoint:
    """A bound UDP socket that receives OSC and sends replies.

    Args:
        handler: Called with the decoded messages of each valid datagram and the sender's
            address. It must not raise: it owns the reporting of refused messages.
        allow: Accept datagrams only from these networks (empty: from anyone).
        max_datagram: Refuse larger datagrams.
        ratelog: The log budget for warnings (shared with the handler's, per sender).

    Call :meth:`start` before use and :meth:`close` at the end.
    """

    def __init__(
        self,
        handler: Handler,
        allow: Sequence[IPNetwork] = (),
        max_datagram: int = DEFAULT_MAX_DATAGRAM,
        ratelog: RateLimitedLog | None = None,
    ) -> None:
        self._handler = handler
        self._transport: asyncio.DatagramTransport | None = None
        self.stats = UdpStats()
        self.allow = tuple(allow)
        self.max_datagram = max_datagram
        self._log = ratelog or RateLimitedLog(log)
        #: Where replies to a sender go (the app may redirect them to a fixed host or port).
        self.reply_to: Callable[[Addr], Addr] = lambda sender: sender

    async def start(self, host: str = "127.0.0.1", port: int = 9000) -> Addr:
        """Bind the socket and start receiving; returns the bound ``(host, port)``.

        Raises:
            OSError: The address is in use or cannot be bound; the message says which.
        """
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(host, port)
            )
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot listen for OSC on {host}:{port}: {exc.strerror}"
            ) from exc
        self._transport = transport
        sockname = transport.get_extra_info("sockname")
        return str(sockname[0]), int(sockname[1])

    def send(self, addr: Addr, address: str, args: Sequence[OscArg] = ()) -> None:
        """Send one OSC message to ``addr``; failures are counted, never raised."""
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._transport.sendto(encode_message(address, args), addr)
        except (OSError, ValueError) as exc:
            self.stats.send_errors += 1
            log.debug("cannot send %s to %s: %s", address, addr, exc)

    def close(self) -> None:
        """Close the socket."""
        if self._transport is not None:
            self._transport.close()

    def _allowed(self, host: str) -> bool:
        if not self.allow:
            return True
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        return any(ip in net for net in self.allow if ip.version == net.version)

    def _received(self, data: bytes, addr: Addr) -> None:
        self.stats.datagrams += 1
        if not self._allowed(addr[0]):
            # Not answered: a sender outside the allowlist learns nothing.
            self.stats.strangers += 1
            self._log.warning(addr[0], "from %s:%d: not in --allow, dropped", addr[0], addr[1])
            return
        if len(data) > self.max_datagram:
            self.stats.oversized += 1
            text = f"datagram of {len(data)} bytes is over the limit of {self.max_datagram}"
            self._log.warning(addr[0], "from %s:%d: %s", addr[0], addr[1], text)
            self.send(self.reply_to(addr), ERROR_ADDRESS, [text])
            return
        try:
            messages = decode_packet(data)
        except MalformedPacket as exc:
            self.stats.malformed += 1
            self._log.warning(addr[0], "from %s:%d: %s", addr[0], addr[1], exc)
            self.send(self.reply_to(addr), ERROR_ADDRESS, [str(exc)])
            return
        self.stats.messages += len(messages)
        try:
            self._handler(messages, addr)
        except Exception:  # a bug in a handler must not take the socket down
            log.exception("internal error handling OSC from %s:%d", addr[0], addr[1])
            self.send(self.reply_to(addr), ERROR_ADDRESS, ["internal error; see the oscserver log"])
