"""mDNS/DNS-SD advertisement, so that tools find oscserver by themselves.

Two services, as OSCQuery clients (TouchDesigner, ossia score, Chataigne, VRChat tools) and
plain OSC browsers look for them (OSCQueryProposal, "Core Functionality"):

- ``_oscjson._tcp``: the OSCQuery HTTP server;
- ``_osc._udp``: the OSC port itself.

Advertised with ``zeroconf`` on the interfaces the servers listen on: only on the loopback
interface when they are bound to 127.0.0.1 (tools on this machine find it, the network does
not hear of a server it cannot reach), on every interface when bound to 0.0.0.0.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from zeroconf import InterfaceChoice, IPVersion, NonUniqueNameException
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

__all__ = ["OSCQUERY_SERVICE", "OSC_SERVICE", "Advertisement"]

log = logging.getLogger(__name__)

OSCQUERY_SERVICE = "_oscjson._tcp.local."
OSC_SERVICE = "_osc._udp.local."


def _addresses(host: str) -> tuple[list[str], list[str] | InterfaceChoice]:
    """The addresses to advertise and the interfaces to use, for a bind address."""
    ip = ipaddress.ip_address(host)
    if not ip.is_unspecified:
        return [host], [host]
    import ifaddr  # zeroconf's own dependency

    found = [
        str(a.ip)
        for adapter in ifaddr.get_adapters()
        for a in adapter.ips
        if isinstance(a.ip, str) and not ipaddress.ip_address(a.ip).is_loopback
    ]
    return found or ["127.0.0.1"], InterfaceChoice.All


class Advertisement:
    """The two services of one oscserver, registered until :meth:`close`.

    Args:
        name: The instance name shown by browsers (made unique by zeroconf if taken).
        host: The address the servers are bound to.
        osc_port: The OSC UDP port.
        oscquery_port: The OSCQuery TCP port.
    """

    def __init__(self, name: str, host: str, osc_port: int, oscquery_port: int) -> None:
        self.name = name
        self.host = host
        self.osc_port = osc_port
        self.oscquery_port = oscquery_port
        self._zeroconf: AsyncZeroconf | None = None
        self._infos: list[AsyncServiceInfo] = []

    async def start(self) -> None:
        """Register both services.

        Raises:
            OSError: mDNS cannot run here (no multicast on the interface...).
        """
        addresses, interfaces = _addresses(self.host)
        self._zeroconf = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        server = socket.gethostname().split(".")[0] + ".local."
        packed = [socket.inet_aton(a) for a in addresses]
        for kind, port in ((OSCQUERY_SERVICE, self.oscquery_port), (OSC_SERVICE, self.osc_port)):
            info = AsyncServiceInfo(
                kind,
                f"{self.name}.{kind}",
                addresses=packed,
                port=port,
                server=server,
                properties={"txtvers": "1"},
            )
            try:
                # The call returns the task that announces it; waiting for it means the
                # announcement has gone out when start() returns.
                await (await self._zeroconf.async_register_service(info, allow_name_change=True))
            except NonUniqueNameException as exc:
                raise OSError(f"mDNS name {self.name!r} is taken: {exc}") from exc
            self._infos.append(info)

    async def close(self) -> None:
        """Withdraw the services (browsers see them go) and stop mDNS."""
        if self._zeroconf is None:
            return
        for info in self._infos:
            try:
                await (await self._zeroconf.async_unregister_service(info))  # the goodbyes
            except Exception as exc:  # shutting down: report, never raise
                log.debug("mDNS unregister failed: %s", exc)
        await self._zeroconf.async_close()
        self._zeroconf = None
        self._infos.clear()
