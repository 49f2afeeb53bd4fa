"""oscserver in the benchmark's own process against the embedded engine run apart, for the
benchmarks that need to look inside it (bench/faults.py, bench/slow_service.py,
bench/soak_resources.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from oscserver.adapters.audio.base import AudioSink
from oscserver.adapters.lyria_ws import engine_url
from oscserver.app import App, Options
from oscserver.core.osc_codec import encode_message
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer


@contextlib.asynccontextmanager
async def oscserver_on(
    engine_options: EngineOptions, sink: AudioSink, **options: Any
) -> AsyncIterator[tuple[App, EngineServer]]:
    """Start an engine with ``engine_options`` and oscserver pointed at it, playing to ``sink``.

    ``options`` are :class:`Options` fields (and ``clock`` and ``open_clock``, the App's
    clock source and clock opener); OSC gets any free port, OSCQuery and rotation are off
    unless given. Everything is stopped on leaving, the sink closed.
    """
    engine = EngineServer(engine_options)
    host, port = await engine.start()
    settings: dict[str, Any] = {"osc_port": 0, "oscquery_port": None, "rotate_after": 0}
    clock = options.pop("clock", None)  # the App's own arguments, not Options fields
    opener = options.pop("open_clock", None)
    app = App(
        Options(engine=engine_url(host, port), **(settings | options)),
        sink,
        clock=clock,
        open_clock=opener,
    )
    try:
        await app.start()
        yield app, engine
    finally:
        await app.stop()
        sink.close()
        await engine.close()


@contextlib.asynccontextmanager
async def playing_off_tempo(
    sink: AudioSink,
    bpm: int = 120,
    faults: tuple[str, ...] = (),
    prompt: str = "minimal techno",
    **options: Any,
) -> AsyncIterator[App]:
    """oscserver playing a model that does not obey, as the lock's tests and bench need it.

    The embedded engine plays ``tempo:1.04`` (asked for ``bpm``, it plays 4 % faster, from a
    random beat phase), ``prompt``; ``/lyria/bpm`` and ``/lyria/play`` are sent over UDP
    and the sink is told the asked bpm (a bridge's bar and the beat tracker's octave use it).
    ``faults``: more of the engine's faults (``late:5:3``...). ``options`` go to
    :func:`oscserver_on` (``clock``, ``open_clock``...).
    """
    engine = EngineOptions(faults=tuple(parse_fault(f) for f in ("tempo:1.04", *faults)))
    async with oscserver_on(engine, sink, prompt=prompt, **options) as (app, _):
        sink.bpm = lambda: app.state.config.bpm  # type: ignore[attr-defined]
        await send(app, "/lyria/bpm", bpm)
        await send(app, "/lyria/play")
        yield app


async def send(app: App, address: str, *args: Any) -> None:
    """Send one OSC message to ``app`` over UDP, as a patch would."""
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=app.osc_address
    )
    udp.sendto(encode_message(address, list(args)))
    udp.close()


async def send_play(app: App) -> None:
    """Send ``/lyria/play`` to ``app`` over UDP, as a patch would."""
    await send(app, "/lyria/play")
