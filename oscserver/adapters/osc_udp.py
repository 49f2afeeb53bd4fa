"""The OSC UDP endpoint: datagrams in and out on the asyncio loop, decoded by the core codec.

Senders outside the allowlist are dropped unanswered; oversized and malformed datagrams are
counted, answered with ``/lyria/error`` and logged within a budget per sender.

It does no dispatch of its own: every datagram is decoded with
:func:`oscserver.core.osc_codec.decode_packet` and handed, whole, to the handler, so that all
messages of one bundle can take effect together. The socket is read with ``add_reader``: every
time it is readable, everything it holds (up to 512 datagrams) is read and handed over as one
batch, which lets the app coalesce a sensor flood instead of paying for each message. A
refused datagram never reaches the handler and never stops the server.

:meth:`OscUdpEndpoint.join` also takes what is sent to an IPv4 multicast group (RFC 1112), so
that one sender drives several servers; replies still go to the sender, from the OSC port.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oscserver.adapters.ratelog import RateLimitedLog
from oscserver.core.errors import MalformedPacket
from oscserver.core.osc_codec import Incoming, OscArg, decode_packet, encode_message

__all__ = ["ERROR_ADDRESS", "OscUdpEndpoint", "UdpStats", "allowed", "multicast_group"]

log = logging.getLogger(__name__)

#: Where errors are replied to the sender.
ERROR_ADDRESS = "/lyria/error"

Addr = tuple[str, int]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Receive buffer asked of the kernel (it may grant less): room for bursts from sensors.
RECEIVE_BUFFER = 4 * 1024 * 1024
#: Datagrams above this many bytes are refused by default (OSC from tools is far smaller).
DEFAULT_MAX_DATAGRAM = 16384
Batch = list[tuple[list[Incoming], Addr]]
Handler = Callable[[Batch], None]
#: Most datagrams read from the socket before they are handed over together.
MAX_BATCH = 512
#: Linux's IP_MULTICAST_ALL (<linux/in.h>; Python's socket module lacks it): 0 makes a socket
#: take only the groups it joined itself, not every group some socket on the machine joined.
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


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
    """The fallback for event loops without ``add_reader`` (Windows' proactor loop)."""

    def __init__(self, endpoint: OscUdpEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        self.endpoint._deliver([self.endpoint._decode(data, (addr[0], addr[1]))])

    def error_received(self, exc: Exception) -> None:
        # E.g. ICMP port unreachable after replying to a sender that has gone: not fatal.
        self.endpoint.stats.send_errors += 1
        log.debug("UDP error: %s", exc)


def allowed(host: object, networks: Sequence[IPNetwork]) -> bool:
    """Whether ``host`` (an IP address, an IPv6 scope allowed) is in ``networks`` (empty: all).

    Used for OSC over UDP and for the web console, so that ``--allow`` means the same for both.
    """
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return any(ip in net for net in networks if ip.version == net.version)


def multicast_group(text: str) -> str:
    """``text`` as an IPv4 multicast group; raises ValueError naming the range otherwise."""
    try:
        group = ipaddress.IPv4Address(text.strip())
    except ValueError:
        group = None
    if group is None or not group.is_multicast:
        raise ValueError(
            f"{text!r} is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255; "
            "239.x.x.x is for a site's own use)"
        )
    return str(group)


def _interface(host: str) -> str:
    """The IPv4 address of the interface the OSC host is on, for IP_ADD_MEMBERSHIP."""
    if host in ("", "0.0.0.0"):
        return "0.0.0.0"  # INADDR_ANY: the interface the kernel routes the group to
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        infos = []
    if not infos:
        raise OSError(
            f"multicast groups are joined on the interface of --osc-host, which must be IPv4 "
            f"(0.0.0.0 for the network's, 127.0.0.1 for this machine's), not {host}"
        )
    return str(infos[0][4][0])


class OscUdpEndpoint:
    """A bound UDP socket that receives OSC and sends replies.

    Args:
        handler: Called with the datagrams read together, each as its decoded messages and
            its sender's address, in arrival order. It must not raise: it owns the reporting
            of refused messages.
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
        self._sock: socket.socket | None = None
        self._host = "127.0.0.1"
        #: The sockets read with ``add_reader`` (the OSC socket, the groups joined apart).
        self._readers: list[socket.socket] = []
        #: Those read through a transport instead (loops without ``add_reader``).
        self._transports: list[asyncio.DatagramTransport] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self.stats = UdpStats()
        #: Senders not on the network, by the name standing for their host: replies to them go
        #: to the callable, ``(addr, address, args)`` (the web console's pages).
        self.routes: dict[str, Callable[[Addr, str, list[OscArg]], None]] = {}
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
            family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                sock.setblocking(False)
                sock.bind((host, port))
            except OSError:
                sock.close()
                raise
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot listen for OSC on {host}:{port}: {exc.strerror}"
            ) from exc
        self._sock = sock
        self._host = host
        self._loop = loop
        self._transport = await self._listen(sock)
        sockname = sock.getsockname()
        return str(sockname[0]), int(sockname[1])

    async def join(self, group: str, port: int) -> str:
        """Also receive the OSC sent to multicast ``group`` on UDP ``port``; call after start.

        The group is joined on the interface of the OSC host (``0.0.0.0``: the one the kernel
        routes the group to; ``127.0.0.1``: loopback, this machine's senders only). When the
        OSC socket already listens on ``port`` on every address, the group is joined on it;
        else on a socket of its own, bound to the group with SO_REUSEADDR, so that several
        servers on one machine hear the same group. Replies go to the sender from the OSC port.

        Returns:
            The interface's address the group was joined on.

        Raises:
            ValueError: ``group`` is not an IPv4 multicast group.
            OSError: The group cannot be joined there; the message says why.
        """
        group = multicast_group(group)
        main = self._sock
        if main is None:
            raise RuntimeError("join() before start()")
        interface = _interface(self._host)
        membership = socket.inet_aton(group) + socket.inet_aton(interface)
        shared = main.family == socket.AF_INET and interface == "0.0.0.0"
        shared = shared and main.getsockname()[1] == port
        try:
            if shared:
                main.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
                if sys.platform.startswith("linux"):
                    main.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
                return interface
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if hasattr(socket, "SO_REUSEPORT") and sys.platform == "darwin":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # (BSD's rule)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
                sock.setblocking(False)
                sock.bind((group, port))  # only datagrams sent to the group, not the port's
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            except OSError:
                sock.close()
                raise
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot join multicast group {group} on port {port} ({interface}): {exc.strerror}",
            ) from exc
        await self._listen(sock)
        return interface

    async def _listen(self, sock: socket.socket) -> asyncio.DatagramTransport | None:
        """Hand what ``sock`` receives to the handler.

        Returns:
            The transport that reads it where the loop has no ``add_reader`` (send through
            it then), else None.
        """
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(sock.fileno(), self._readable, sock)
            self._readers.append(sock)
            return None
        except NotImplementedError:  # no add_reader: one datagram per callback instead
            transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
            self._transports.append(transport)
            return transport

    def send(self, addr: Addr, address: str, args: Sequence[OscArg] = ()) -> None:
        """Send one OSC message to ``addr``; failures are counted, never raised.

        A sender that is not on the network (a web console's page: its host is a name in
        :attr:`routes`) gets it through its route instead.
        """
        route = self.routes.get(addr[0])
        if route is not None:
            route(addr, address, list(args))
            return
        try:
            data = encode_message(address, args)
            if self._transport is not None:
                if not self._transport.is_closing():
                    self._transport.sendto(data, addr)
            elif self._sock is not None:
                self._sock.sendto(data, addr)
        except (OSError, ValueError) as exc:
            # A full buffer, a bad address, a gone host, a value OSC cannot carry.
            self.stats.send_errors += 1
            log.debug("cannot send %s to %s: %s", address, addr, exc)

    def duplicate(self) -> socket.socket | None:
        """A second handle on the bound socket, for another thread to send from (the pulse).

        What it sends comes from the OSC port, as replies do: a patch whose socket is
        connected to oscserver (Pd's ``[netsend -u]``, a connected UDP socket) takes only
        datagrams from there. The caller closes it. None before :meth:`start`.
        """
        sock = self._sock
        return None if sock is None else socket.socket(fileno=os.dup(sock.fileno()))

    def close(self) -> None:
        """Close the sockets."""
        for sock in self._readers:
            if self._loop is not None and sock.fileno() >= 0:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        for transport in self._transports:
            transport.close()  # (closes its socket)
        self._readers.clear()
        self._transports.clear()
        self._sock = None
        self._transport = None

    def _readable(self, sock: socket.socket) -> None:
        """Read what ``sock`` holds (up to MAX_BATCH datagrams) and hand it over at once."""
        if sock.fileno() < 0:
            return
        batch: Batch = []
        for _ in range(MAX_BATCH):
            try:
                data, addr = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. ECONNREFUSED left by an earlier reply: not fatal
                self.stats.send_errors += 1
                log.debug("UDP error: %s", exc)
                continue
            item = self._decode(data, (addr[0], addr[1]))
            if item is not None:
                batch.append(item)
        self._deliver(batch)

    def _allowed(self, host: str) -> bool:
        return allowed(host, self.allow)

    def _decode(self, data: bytes, addr: Addr) -> tuple[list[Incoming], Addr] | None:
        """Check and decode one datagram; refusals are counted and answered here."""
        self.stats.datagrams += 1
        if self.allow and not self._allowed(addr[0]):
            # Not answered: a sender outside the allowlist learns nothing.
            self.stats.strangers += 1
            self._log.warning(addr[0], "from %s:%d: not in --allow, dropped", addr[0], addr[1])
            return None
        if len(data) > self.max_datagram:
            self.stats.oversized += 1
            text = f"datagram of {len(data)} bytes is over the limit of {self.max_datagram}"
            self._log.warning(addr[0], "from %s:%d: %s", addr[0], addr[1], text)
            self.send(self.reply_to(addr), ERROR_ADDRESS, [text])
            return None
        try:
            messages = decode_packet(data)
        except MalformedPacket as exc:
            self.stats.malformed += 1
            self._log.warning(addr[0], "from %s:%d: %s", addr[0], addr[1], exc)
            self.send(self.reply_to(addr), ERROR_ADDRESS, [str(exc)])
            return None
        self.stats.messages += len(messages)
        return messages, addr

    def _deliver(self, batch: Sequence[tuple[list[Incoming], Addr] | None]) -> None:
        items = [item for item in batch if item is not None]
        if not items:
            return
        try:
            self._handler(items)
        except Exception:  # a bug in a handler must not take the socket down
            log.exception("internal error handling %d OSC datagrams", len(items))
            for addr in {addr for _, addr in items}:
                self.send(self.reply_to(addr), ERROR_ADDRESS, ["internal error; see the log"])
