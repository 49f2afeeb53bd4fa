"""oscserver's music into a second JACK server over the network bridges, as on two machines.

Run: .venv/bin/python bench/bridge.py [--seconds 60]   (`make bridge`; needs zita-njbridge,
and jacktrip for its rows; as root it runs in a private network namespace, which netJACK2's
multicast needs)

Brings up two JACK servers under names of their own on this machine (``jackd -d dummy``), runs
oscserver (its command line, the embedded engine) on the first, carries its ports into the
second with zita-njbridge, netJACK2 or JackTrip over 127.0.0.1 (tests/bridges.py, started as
docs/network.md says), records the music at both ends and finds each half second of what
arrived in what was sent (tests/jack_bridge.py). For each setup it prints the latency from
oscserver's ports to the bridge's on the second server, how well it holds, how alike the music
is and any gap once the bridge has locked.

Baseline, in the same run: the latency each bridge is set to (zita-n2j's ``--buff``;
netJACK2's ``-l`` periods; JackTrip's ``-q`` packets of a period); the ratio of the measured
median to it shows what the bridge adds. A gap after an xrun (the xruns column) is the
machine's, not the bridge's.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))  # the bridges and the JACK recorder the test uses
from bridges import Bridge, JackTripBridge, NetJackBridge, ZitaBridge  # noqa: E402
from jack_bridge import BridgeReport, bridge_run  # noqa: E402

from oscserver.adapters.jackd import PrivateJackd, realtime_allowed  # noqa: E402

RATE = 48000
Make = Callable[[str, str], Bridge]
SETUPS: list[tuple[str, int, int, bool, Make, float, str]] = [
    # (name, first period, second period, real-time, the bridge, its set latency (ms), needs)
    (
        "zita, 256 -> 256, --buff 10",
        256,
        256,
        True,
        lambda a, b: ZitaBridge(a, b, 10),
        10,
        "zita-j2n",
    ),
    (
        "zita, 256 -> 512, --buff 10",
        256,
        512,
        True,
        lambda a, b: ZitaBridge(a, b, 10),
        10,
        "zita-j2n",
    ),
    (
        "zita, 256 -> 512, --buff 20",
        256,
        512,
        True,
        lambda a, b: ZitaBridge(a, b, 20),
        20,
        "zita-j2n",
    ),
    (
        "zita, not real-time, --buff 20",
        256,
        512,
        False,
        lambda a, b: ZitaBridge(a, b, 20),
        20,
        "zita-j2n",
    ),
    (
        "netJACK2, 256, -l 5",
        0,
        256,
        True,
        lambda a, b: NetJackBridge(b, 5),
        5 * 256 / RATE * 1000,
        "netns",
    ),
    (
        "JackTrip, 256 -> 256, -q 4",
        256,
        256,
        True,
        lambda a, b: JackTripBridge(a, b, 4),
        4 * 256 / RATE * 1000,
        "jacktrip",
    ),
]


def run(first: int, second: int, realtime: bool, make: Make, seconds: float) -> BridgeReport:
    servers: list[PrivateJackd] = []
    names = ["", ""]  # (netJACK2 starts the sending server itself: period 0)
    try:
        for i, period in enumerate((first, second)):
            if period:
                name = f"bridge-{uuid.uuid4().hex[:6]}"
                server = PrivateJackd(period=period, server_name=name, realtime=realtime)
                server.start(timeout=20)
                servers.append(server)
                names[i] = name
        return bridge_run(make(names[0], names[1]), seconds, 3.0)
    finally:
        for server in servers:
            server.stop()


def in_namespace(argv: list[str]) -> int:
    """Run this bench again in a private network namespace (multicast routed to lo)."""
    script = "ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec " + shlex.join(argv)
    env = dict(os.environ, OSCSERVER_BENCH_NETNS="1")
    return subprocess.run(["unshare", "-n", "sh", "-c", script], env=env).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per setup (60)")
    args = parser.parse_args()
    isolated = os.environ.get("OSCSERVER_BENCH_NETNS") == "1"
    if not isolated and os.geteuid() == 0 and shutil.which("unshare"):
        return in_namespace([sys.executable, *sys.argv])
    print(f"oscserver into a second JACK server over 127.0.0.1, 48 kHz, {args.seconds:g} s each")
    print(
        f"{'setup':32} {'set':>7} {'median':>8} {'x set':>6} {'p95':>7} {'spread':>7} "
        f"{'likeness':>9} {'gaps':>5} {'resyncs':>8} {'xruns':>6} {'sync s':>7}"
    )
    failed = False
    for name, first, second, realtime, make, set_ms, needs in SETUPS:
        if realtime and not realtime_allowed():
            print(f"{name:32} skipped: real-time scheduling is not allowed for this user")
            continue
        if needs == "netns" and not isolated:
            print(f"{name:32} skipped: needs a private network namespace (run as root)")
            continue
        if needs != "netns" and shutil.which(needs) is None:
            print(f"{name:32} skipped: {needs} is not installed")
            continue
        report = run(first, second, realtime, make, args.seconds)
        lat = sorted(report.latency_ms)
        median, p95 = lat[len(lat) // 2], lat[int(0.95 * (len(lat) - 1))]
        print(
            f"{name:32} {set_ms:5.1f}ms {median:6.1f}ms {median / set_ms:5.2f}x "
            f"{p95:5.1f}ms {lat[-1] - lat[0]:5.1f}ms {min(report.likeness):9.4f} "
            f"{len(report.gaps):5d} {report.resyncs:8d} {report.xruns:6d} "
            f"{report.synced_after:7.2f}"
        )
        if name.startswith("zita, 256 -> 512, --buff 20") and not report.xruns:
            failed = failed or bool(report.gaps or report.resyncs)  # (what the test holds)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
