"""oscserver's music into a second JACK server over zita-njbridge, as on two machines.

Run: .venv/bin/python bench/bridge.py [--seconds 60]   (`make bridge`; needs zita-njbridge)

Brings up two JACK servers under names of their own on this machine (``jackd -d dummy``),
runs oscserver (its command line, the embedded engine) on the first, bridges its ports with
``zita-j2n`` / ``zita-n2j`` over 127.0.0.1 into the second, records the music on both and finds
each half second of what arrived in what was sent (tests/jack_bridge.py). For each setup it
prints the latency from oscserver's ports to the bridge's on the second server, how well it
holds, how alike the music is and any gap once the bridge has locked.

Baseline, in the same run: the latency zita-n2j sets itself (its ``--buff``); the ratio of
the measured median to it shows what the bridge adds on top. The setups: real-time scheduling
(as a rig runs JACK) with the default 10 ms buffer, with two equal periods and with the audio
machine on a longer one, at 10 and 20 ms; then without real-time scheduling (what a loaded
machine does to a bridge). A gap after an xrun (the xruns column) is the machine's, not the
bridge's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))  # the bridge and the JACK recorder the test uses
from jack_bridge import BridgeReport, bridge_run  # noqa: E402

from oscserver.adapters.jackd import PrivateJackd, realtime_allowed  # noqa: E402

SETUPS = [
    # (name, first period, second period, real-time, --buff ms)
    ("real-time, 256 -> 256", 256, 256, True, 10.0),
    ("real-time, 256 -> 512", 256, 512, True, 10.0),
    ("real-time, 256 -> 512", 256, 512, True, 20.0),
    ("not real-time, 256 -> 512", 256, 512, False, 20.0),
]


def run(
    first_period: int, second_period: int, realtime: bool, buffer_ms: float, seconds: float
) -> BridgeReport:
    servers = []
    try:
        for period in (first_period, second_period):
            server = PrivateJackd(
                period=period, server_name=f"bridge-{uuid.uuid4().hex[:6]}", realtime=realtime
            )
            server.start(timeout=20)
            servers.append(server)
        return bridge_run(servers[0].server_name, servers[1].server_name, seconds, 3.0, buffer_ms)
    finally:
        for server in servers:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per setup (60)")
    args = parser.parse_args()
    if shutil.which("zita-j2n") is None:
        print("zita-njbridge is not installed (Debian: apt-get install zita-njbridge)")
        return 1
    print(f"zita-njbridge over 127.0.0.1, 48 kHz, {args.seconds:g} s per setup")
    header = (
        f"{'setup':28} {'--buff':>7} {'median':>8} {'x buff':>7} {'p95':>7} {'spread':>7} "
        f"{'likeness':>9} {'gaps':>5} {'resyncs':>8} {'xruns':>6} {'sync s':>7}"
    )
    print(header)
    failed = False
    for name, first, second, realtime, buffer_ms in SETUPS:
        if realtime and not realtime_allowed():
            print(f"{name:28} skipped: real-time scheduling is not allowed for this user")
            continue
        report = run(first, second, realtime, buffer_ms, args.seconds)
        lat = sorted(report.latency_ms)
        median, p95 = lat[len(lat) // 2], lat[int(0.95 * (len(lat) - 1))]
        print(
            f"{name:28} {buffer_ms:6.0f}  {median:6.1f}ms {median / buffer_ms:6.2f}x "
            f"{p95:5.1f}ms {lat[-1] - lat[0]:5.1f}ms {min(report.likeness):9.4f} "
            f"{len(report.gaps):5d} {report.resyncs:8d} {report.xruns:6d} "
            f"{report.synced_after:7.2f}"
        )
        if realtime and buffer_ms >= 20 and not report.xruns and (report.gaps or report.resyncs):
            failed = True  # (what the test holds the bridge to)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
