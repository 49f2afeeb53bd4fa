"""oscserver's Link clock in a real Link session with a peer made by the test, inside a private
network namespace (Link is UDP multicast: nothing may leave the machine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import in_private_network

from oscserver.adapters.clock import link

pytestmark = pytest.mark.skipif(not link.available(), reason="no aalink on this platform")


def test_the_link_clock_joins_a_session_follows_its_tempo_and_proposes_one():
    done = in_private_network(
        [sys.executable, str(Path(__file__).with_name("link_session.py"))], seconds=30
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["kept"] == [True] * 5  # joining never changed the rig's tempo
    assert seen["joined"]
    assert seen["tempo"] == pytest.approx(120.0)  # the session's, not the 100 it proposed
    phase = seen["phase_difference"]
    assert min(phase, 4 - phase) < 0.01  # the same beat, within a hundredth (5 ms)
    assert seen["describe"] == "Ableton Link at 120.0 bpm, 1 peer"
    assert seen["rig_followed"] and seen["clock_followed"] and seen["left"]
