"""mDNS: a zeroconf browser in this test finds oscserver's OSCQuery and OSC services, with the
right ports, and sees them go when oscserver stops."""

from __future__ import annotations

import asyncio
import socket

import pytest
from conftest import timeout
from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.mdns import OSC_SERVICE, OSCQUERY_SERVICE
from oscserver.app import App, Options


async def test_a_zeroconf_browser_finds_both_services_and_sees_them_go(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    browser_zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    events: list[tuple[str, str, ServiceStateChange]] = []

    def on_change(zeroconf, service_type: str, name: str, state_change: ServiceStateChange):
        events.append((service_type, name, state_change))

    browser = AsyncServiceBrowser(
        browser_zc.zeroconf, [OSCQUERY_SERVICE, OSC_SERVICE], handlers=[on_change]
    )
    app = App(Options(osc_port=0, oscquery_port=0, advertise=True), NullSink(preroll_seconds=0.2))
    try:
        await app.start()  # announcing goes on in the background
        name = f"oscserver on {socket.gethostname().split('.')[0]}"

        def seen(kind: str, change: ServiceStateChange) -> bool:
            return any(t == kind and n.startswith(name) and c is change for t, n, c in events)

        deadline = asyncio.get_running_loop().time() + timeout(15)
        while not (
            seen(OSCQUERY_SERVICE, ServiceStateChange.Added)
            and seen(OSC_SERVICE, ServiceStateChange.Added)
        ):
            assert asyncio.get_running_loop().time() < deadline, events
            await asyncio.sleep(0.05)
        for kind, port in (
            (OSCQUERY_SERVICE, app.oscquery.address[1]),
            (OSC_SERVICE, app.osc_address[1]),
        ):
            full = next(n for t, n, _ in events if t == kind and n.startswith(name))
            info = AsyncServiceInfo(kind, full)
            assert await info.async_request(browser_zc.zeroconf, 3000)
            assert info.port == port
            assert "127.0.0.1" in info.parsed_addresses()
        await app.stop()
        app.sink.close()
        deadline = asyncio.get_running_loop().time() + timeout(15)
        while not seen(OSCQUERY_SERVICE, ServiceStateChange.Removed):
            assert asyncio.get_running_loop().time() < deadline, events
            await asyncio.sleep(0.05)
    finally:
        await browser.async_cancel()
        await browser_zc.async_close()
        if app.advertisement is not None and app.advertisement._zeroconf is not None:
            await app.stop()  # the test failed half-way
            app.sink.close()


@pytest.mark.parametrize("host", ["127.0.0.1"])
def test_the_advertised_address_is_the_bound_one(host):
    from oscserver.adapters.mdns import _addresses

    addresses, interfaces = _addresses(host)
    assert addresses == [host] and interfaces == [host]
