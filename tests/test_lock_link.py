"""The lock to an Ableton Link session, on a real JACK server, inside a private network
namespace (Link is UDP multicast; nothing leaves the machine): a peer made by the test holds
the session at 120 bpm, then moves it to 126; oscserver plays the engine's model that runs 4 %
fast from a random beat phase, and the kicks recorded from its JACK ports must fall on the
session's beats, follow its tempo change by stretching, and stay on them when the service's
new context (its answer to the new bpm) comes in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import in_private_network

from oscserver.adapters.clock import link
from oscserver.dsp import beats, stretch

pytestmark = [
    pytest.mark.jack,
    pytest.mark.skipif(
        not (link.available() and stretch.available() and beats.available()),
        reason="no aalink, pylibrb or aubio here",
    ),
]

BEFORE = 12.0
AFTER = 10.0


def figures(errors: np.ndarray) -> str:
    ms = np.abs(errors) * 1e3
    return f"median {np.median(ms):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f}"


def test_the_kicks_fall_on_the_link_sessions_beats_and_follow_its_tempo():
    script = Path(__file__).with_name("link_lock_session.py")
    done = in_private_network([sys.executable, str(script), str(BEFORE), str(AFTER)], seconds=90)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    times, errors = np.array(seen["times"]), np.array(seen["errors"])
    changed = seen["changed"]
    first = times[0]
    # At 120 bpm: from 8 beats after the first kick heard, on the session's beats.
    steady = errors[(times >= first + 8 * 0.5) & (times < changed)]
    # At 126: the stretch follows at once, before the service's new context (the bpm sent for
    # the clock, a second after the change) can be heard: the audio stretched ahead for 120 is
    # stretched again for 126, and from one beat after the change the kicks are as close to
    # the beats as the steady lock keeps 95 % of them.
    followed = errors[(times >= changed + 60 / 126) & (times < changed + 2.5)]
    # Then the service's new context: it waits, the last bar looping on the beats, until its
    # own beats are found, and comes in on them.
    after = errors[times >= changed + 60 / 126]
    print("at 120:", figures(steady), "| following the change to 126:", figures(followed))
    print("errors after the change (ms):", np.round(errors[times >= changed] * 1e3, 1))
    assert len(steady) >= 12 and len(followed) >= 3
    assert np.median(np.abs(steady)) <= 0.010
    assert np.percentile(np.abs(steady), 95) <= 0.015
    assert np.all(np.abs(followed) <= 0.015)
    assert seen["new_stream"] and len(after) >= 16
    assert np.median(np.abs(after)) <= 0.010
    assert np.percentile(np.abs(after), 95) <= 0.015
    assert seen["retakes"] == 1
    assert seen["clock"] == "link" and seen["clock_tempo"] == pytest.approx(126.0, abs=0.01)
    assert seen["bpm_asked"] == 126  # the service was asked for the clock's tempo
