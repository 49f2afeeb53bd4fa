"""Xruns and underruns of the whole server under an OSC flood, at several JACK periods.

Run: .venv/bin/python bench/xruns.py [--seconds 15] [--rate 10000] [--periods 64,128,256,1024]
     [--modes c,python,inprocess] [--realtime]

For each period it starts a private ``jackd -d dummy`` (48 kHz), runs oscserver in this process
against the embedded engine (the event loop, OSC decoding, base64/JSON, the engine's rendering
all in this interpreter, as in production), plays, and floods its OSC port from another process
with prompt-weight messages at ``--rate`` per second. It prints, per period and mode:
xruns, underruns, and the callback's p99 cost.

Mode ``floor`` runs the same load (oscserver with a null output, the flood) with JACK's own C
example client, ``jack_simple_client``, as the only client, and counts jackd's reports of
late cycles: the xruns this machine gives any client, the floor for the others.

Modes: ``c`` is oscserver's design (the JACK callback is C code, ``playout_native.c``, in a
real-time process of its own, fed through shared memory); ``python`` is the same process with
the Python callback (``OSCSERVER_JACK_CALLBACK=python``); ``inprocess`` is the first baseline
(the Python callback in a JACK client inside the busy interpreter). All are measured in the same
run for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import time
import uuid
from collections import Counter

import jack

from oscserver.adapters.audio.base import RingSink
from oscserver.adapters.audio.jack_process import FORCE_PYTHON
from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.playout import Playout
from oscserver.adapters.audio.shared import STATE_RUNNING, F, SharedBlock
from oscserver.adapters.jackd import PrivateJackd
from oscserver.app import App, Options
from oscserver.core.osc_codec import encode_message


class InProcessJackSink(RingSink):
    """The baseline: the same playout in a JACK client inside this interpreter."""

    def __init__(self, server: str) -> None:
        super().__init__(SharedBlock(20 * 48000), preroll_seconds=0.5)
        self.client = jack.Client("inprocess", no_start_server=True, servername=server)
        self._rate_known(self.client.samplerate)
        self.playout = Playout(self.block, 4800)
        left = self.client.outports.register("out_left")
        right = self.client.outports.register("out_right")
        h = self._h

        def process(frames: int) -> None:
            self.playout.process(left.get_array(), right.get_array(), frames)

        def xrun(delay: float) -> None:
            h[F.XRUNS] += 1

        self.client.set_process_callback(process)
        self.client.set_xrun_callback(xrun)

        self.client.activate()
        h[F.RATE] = self.client.samplerate
        h[F.BLOCKSIZE] = self.client.blocksize
        h[F.STATE] = STATE_RUNNING

    description = "in-process JACK client"

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def flood(port: int, rate: int, seconds: float) -> None:
    """Send prompt-weight messages to 127.0.0.1:port at ``rate`` per second."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    datagrams = [
        encode_message("/lyria/prompt/1/weight", [0.5 + (i % 100) / 200]) for i in range(100)
    ]
    burst = max(1, rate // 1000)  # send in 1 ms bursts
    start = time.perf_counter()
    sent = 0
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * rate)
        while sent < due:
            for _ in range(burst):
                sock.sendto(datagrams[sent % 100], ("127.0.0.1", port))
                sent += 1
        time.sleep(0.001)
    sock.close()


def jackd_reasons(log: str) -> Counter[str]:
    """jackd's own account of late cycles: a client not finished, or its driver late."""
    return Counter(
        "late client" if "was not finished" in line else "driver late"
        for line in log.splitlines()
        if "was not finished" in line or "JackTimedDriver" in line
    )


async def measure(
    period: int, mode: str, seconds: float, rate: int, realtime: bool
) -> dict[str, object]:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    jackd = PrivateJackd(48000, period, name, realtime=realtime)
    jackd.start()
    try:
        floor: subprocess.Popen[bytes] | None = None
        if mode in ("c", "python"):
            os.environ[FORCE_PYTHON] = mode
            sink: RingSink = JackSink("bench", name, preroll_seconds=0.5)
            if sink.stats().native_callback != (mode == "c"):
                raise SystemExit(f"could not run the {mode} callback")
        elif mode == "floor":
            # The same load with JACK's own C example client as the only client: the xruns
            # this machine gives any client.
            sink = NullSink(preroll_seconds=0.5)
            env = dict(os.environ, JACK_DEFAULT_SERVER=name)
            floor = subprocess.Popen(
                ["jack_simple_client"], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            await asyncio.sleep(1.0)
        else:
            sink = InProcessJackSink(name)
        app = App(Options(osc_port=0), sink)
        await app.start()
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=app.osc_address
        )
        udp.sendto(encode_message("/lyria/play"))
        deadline = loop.time() + 10
        while not sink.stats().playing and loop.time() < deadline:
            await asyncio.sleep(0.05)
        before = sink.stats()
        reasons_before = jackd_reasons(jackd.log_text())
        sender = multiprocessing.get_context("spawn").Process(
            target=flood, args=(app.osc_address[1], rate, seconds)
        )
        sender.start()
        while sender.is_alive():
            await asyncio.sleep(0.2)
        after = sink.stats()
        p999, worst = sink.block.cost_percentile(99.9), sink.block.cost_max()
        messages = app.udp.stats.messages
        reasons = jackd_reasons(jackd.log_text()) - reasons_before
        udp.close()
        await app.stop()
        sink.close()
        if floor is not None:
            floor.terminate()
            floor.wait()
    finally:
        jackd.stop()
    xruns = after.xruns - before.xruns if mode != "floor" else sum(reasons.values())
    return {
        "period": period,
        "mode": mode,
        "xruns": xruns,
        "underruns": after.underruns - before.underruns,
        "p99_ms": after.cost_p99_ms,
        "p999_ms": p999,
        "max_ms": worst,
        "messages": messages,
        "reasons": dict(reasons),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=int, default=10000, help="OSC messages per second")
    parser.add_argument("--periods", default="64,128,256,1024")
    parser.add_argument("--modes", default="c,python,inprocess")
    parser.add_argument("--realtime", action="store_true", help="run jackd with -R")
    parser.add_argument("--why", action="store_true", help="print jackd's reasons for xruns")
    args = parser.parse_args()
    print(
        f"{args.seconds:.0f} s per run, OSC flood {args.rate}/s, jackd -d dummy 48 kHz "
        f"({'real-time' if args.realtime else 'no real-time'})"
    )
    print(f"{'period':>6} {'mode':>10} {'xruns':>6} {'xruns/min':>9} {'underruns':>9} "
          f"{'p99 ms':>7} {'p99.9 ms':>8} {'max ms':>7} {'OSC msgs':>9}")  # fmt: skip
    for period in (int(p) for p in args.periods.split(",")):
        for mode in args.modes.split(","):
            r = asyncio.run(measure(period, mode, args.seconds, args.rate, args.realtime))
            per_minute = r["xruns"] / args.seconds * 60
            print(
                f"{period:>6} {mode:>10} {r['xruns']:>6} {per_minute:>9.1f} {r['underruns']:>9} "
                f"{r['p99_ms']:>7.2f} {r['p999_ms']:>8.2f} {r['max_ms']:>7.2f} {r['messages']:>9}",
                flush=True,
            )
            if args.why and r["reasons"]:
                print(f"{'':>18}jackd says: {r['reasons']}")


if __name__ == "__main__":
    main()
