"""Every failure of the service, one after the other: what the sender is told, and what is heard.

Run: .venv/bin/python bench/faults.py [--only reset:4,stall:4] [--stall-timeout 3]

For each fault the embedded engine reproduces (docs/engine.md), the engine inflicts it on its
first session only, 4 s in; oscserver (in this process, audio to the null output paced in real
time, the pre-roll at its 0.5 s default for the embedded engine) plays through it, and an OSC
client that sent ``/lyria/play`` collects every ``/lyria/error`` and ``/lyria/warning``. Printed
per fault: the first thing the sender was told, the reconnects, how long after that message the
audio came back (the first chunk of the new session), the underruns the listener heard, and
whether it was playing at the end.

Time is compressed by 15 / ``--stall-timeout`` (5 by default): the watchdog's timeout is 3 s
instead of 15, and the engine's chunks, its lead and the lateness of late chunks shrink with
it (0.4 s chunks instead of the service's 2 s), so that each fault plays out in seconds with
the same proportions as in a real session.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
from dataclasses import dataclass

from in_process import oscserver_on

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.app import App
from oscserver.core.osc_codec import decode_packet, encode_message
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions

#: The faults, as ``--fault`` values, and what each stands for.
FAULTS = {
    "reset:4": "TCP connection dropped, no close frame (1006)",
    "cap:4": "session cap: close 1011",
    "close:4:1013": "service busy: close 1013",
    "stall:4": "silent stall, connection open",
    "drip:4": "slow drip: frames trickle at 2,000 B/s",
    "slow:4:0.35": "generation at 35 % of real time",
    "slow:4:0.65": "generation at 65 % of real time",
    "huge:4": "one 17 MiB frame",
    "malformed:json:4": "a frame that is not JSON",
    "malformed:type:4": "an unknown message type",
    "malformed:mime:4": "audio with an unsupported mimeType",
    "malformed:odd:4": "audio that is not whole frames",
    "late:3:0.5": "every third chunk late by 1.25 chunks",
    "bad-key": "API key rejected: close 1007",
}


@dataclass
class Outcome:
    """What one fault did."""

    fault: str
    told: str
    reconnects: int
    back_after: float | None  # seconds from the first message to audio from a new session
    underruns: int
    playing: bool


class _Listener(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.heard: list[tuple[float, str, str]] = []  # (loop time, address, text)

    def datagram_received(self, data: bytes, addr: object) -> None:
        for message in decode_packet(data):
            if message.address in ("/lyria/error", "/lyria/warning") and message.args:
                now = asyncio.get_running_loop().time()
                self.heard.append((now, message.address, str(message.args[0])))


async def run_fault(spec: str, stall_timeout: float = 3.0, settle: float = 5.0) -> Outcome:
    """Inflict one fault on a playing oscserver; returns what happened."""
    scale = stall_timeout / 15.0  # oscserver's default timeout is 15 s
    engine_options = EngineOptions(
        chunk_seconds=2.0 * scale,
        lead_seconds=1.0 * scale,
        faults=(parse_fault(spec),),
        faulty_sessions=1,
    )
    sink = NullSink(preroll_seconds=0.5)
    async with oscserver_on(engine_options, sink, stall_timeout=stall_timeout) as (app, _):
        loop = asyncio.get_running_loop()
        transport, listener = await loop.create_datagram_endpoint(
            _Listener, remote_addr=app.osc_address, family=socket.AF_INET
        )
        try:
            transport.sendto(encode_message("/lyria/play"))
            back_at = await _watch(app, stall_timeout, settle)
        finally:
            transport.close()
        first = listener.heard[0] if listener.heard else None
        stats = sink.stats()
        return Outcome(
            fault=spec,
            told=first[2] if first else "",
            reconnects=max(0, (app.link.connections if app.link else 1) - 1),
            back_after=back_at - first[0] if back_at is not None and first else None,
            underruns=stats.underruns,
            playing=stats.playing,
        )


async def _watch(app: App, stall_timeout: float, settle: float) -> float | None:
    """Wait until audio comes from a new session (and ``settle`` more seconds), or for long
    enough that it would have; returns the loop time it came, or None."""
    loop = asyncio.get_running_loop()
    # Long enough for the slowest verdict: a warning a window after the first audio, a new
    # session a window after that.
    end = loop.time() + 4.0 + 6 * stall_timeout + 8.0
    back_at: float | None = None
    chunks_at_reconnect: int | None = None
    while loop.time() < end:
        await asyncio.sleep(0.05)
        link = app.link
        if link is None or link.status.startswith("stopped"):
            break
        if link.connections >= 2 and link.status == "connected":
            if chunks_at_reconnect is None:
                chunks_at_reconnect = app.session.chunks_received
            elif back_at is None and app.session.chunks_received > chunks_at_reconnect:
                back_at = loop.time()
                end = min(end, loop.time() + settle)  # then listen a little longer
    return back_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated faults (default: all)")
    parser.add_argument("--stall-timeout", type=float, default=3.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # what the sender is told is in the table
    specs = args.only.split(",") if args.only else list(FAULTS)
    print(f"{'fault':<18} {'recon':>5} {'back s':>6} {'underruns':>9} {'end':>8}  told")
    for spec in specs:
        o = asyncio.run(run_fault(spec, args.stall_timeout))
        back = f"{o.back_after:.1f}" if o.back_after is not None else "-"
        end = "playing" if o.playing else "silent"
        told = o.told if len(o.told) <= 90 else o.told[:87] + "..."
        print(
            f"{o.fault:<18} {o.reconnects:>5} {back:>6} {o.underruns:>9} {end:>8}  {told}",
            flush=True,
        )


if __name__ == "__main__":
    main()
