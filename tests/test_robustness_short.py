"""The short versions of the robustness runs (docs/reliability.md has the long ones): the OSC
soak against oscserver as a process, and the coverage-guided fuzz target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import timeout

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from osc_soak import soak  # noqa: E402


def test_a_short_soak_keeps_the_server_up_playing_and_its_state():
    figures = soak(20_000, seed=7, log=False)  # raises if any check fails
    assert figures["status"] == ["connected", "playing"]
    assert figures["refused"] > 10_000  # nearly everything sent was wrong, and counted


def test_the_fuzz_target_runs_clean():
    pytest.importorskip("atheris")
    result = subprocess.run(
        [sys.executable, str(BENCH / "fuzz_osc.py"), "-runs=30000"],
        capture_output=True,
        text=True,
        timeout=timeout(300),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Done 30000 runs" in result.stderr
