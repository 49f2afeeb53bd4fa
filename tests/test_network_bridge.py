"""oscserver's music into another JACK server over zita-njbridge (docs/network.md).

Two JACK servers on this machine stand for two machines: oscserver (the real command line)
plays on the first, ``zita-j2n`` sends its ports over 127.0.0.1 to ``zita-n2j`` on the second,
where a recorder listens as a DAW on the audio machine would. The music must arrive whole:
no gap once the bridge has locked, the same music, at a latency that holds. ``make bridge``
runs it for a minute and prints the figures (bench/bridge.py).
"""

from __future__ import annotations

import shutil

import pytest
from bridges import BUFFER_MS, ZitaBridge
from jack_bridge import BridgeReport, bridge_run

from oscserver.adapters.jackd import realtime_allowed

pytestmark = [
    pytest.mark.skipif(
        shutil.which("zita-j2n") is None, reason="zita-njbridge is not installed (make test does)"
    ),
    pytest.mark.skipif(
        not realtime_allowed(),
        reason="a bridge needs JACK with real-time scheduling, as a rig runs it (root, or an "
        "rtprio limit: docs/audio.md); without it, see make bridge",
    ),
]

SECONDS = 15.0
ATTEMPTS = 3


def test_the_music_crosses_a_zita_bridge_into_another_jack_server_whole(private_jackd, capsys):
    # The audio machine runs a longer period than oscserver's, as a rack tuned for safety may;
    # both with real-time scheduling, as a rig runs JACK.
    first = private_jackd(period=256, realtime=True)
    second = private_jackd(period=512, realtime=True)
    # An xrun on either server (the shared machine late for a cycle) loses audio before the
    # bridge, or throws zita-n2j out of sync: a run with an xrun and a gap is measured again.
    for _ in range(ATTEMPTS):
        bridge = ZitaBridge(first.server_name, second.server_name, BUFFER_MS)
        report: BridgeReport = bridge_run(bridge, SECONDS)
        with capsys.disabled():  # the figures, in make test's output too
            print(f"\nzita-njbridge, periods 256 -> 512 at 48 kHz, --buff {BUFFER_MS}: ", end="")
            print(report.summary())
        if not (report.xruns and (report.gaps or report.resyncs)):
            break
    else:
        pytest.fail(f"JACK reported xruns in all {ATTEMPTS} runs: the machine is too loaded")

    windows = int(SECONDS / 0.5)
    assert len(report.latency_ms) >= windows * 0.7, report.summary()  # (the rest excused)
    assert report.gaps == [], report.summary()
    assert report.resyncs == 0, report.summary()
    # The same music, resampled: each tenth of a second correlates with what was sent at 0.97
    # to 0.995 here; a jump of 1 ms in it gives 0.45, a 2 ms dropout 0.95 (and is a gap).
    assert min(report.likeness) > 0.95, report.summary()
    # zita-n2j holds a set latency (zita-njbridge(1), "Latency issues"): from oscserver's ports
    # to the bridge's on the other server, its --buff and a little (0.1 ms here; the network's
    # delay on a real one). It holds: no drift, no steps.
    latency = sorted(report.latency_ms)
    assert latency[0] > BUFFER_MS - 1, report.summary()
    assert latency[-1] < BUFFER_MS + 5, report.summary()
    assert latency[-1] - latency[0] < 2, report.summary()
