"""The short versions of the robustness runs (docs/reliability.md has the long ones): the OSC
soak against oscserver as a process, and the coverage-guided fuzz target."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import timeout

from oscserver.dsp import stretch

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from osc_soak import soak  # noqa: E402


def test_a_short_soak_keeps_the_server_up_playing_and_its_state():
    figures = soak(20_000, seed=7, log=False)  # raises if any check fails
    assert figures.status == ["connected", "playing"]
    assert figures.refused > 10_000  # nearly everything sent was wrong, and counted


def test_the_fuzz_target_runs_clean_and_leaves_nothing_where_it_ran(tmp_path):
    pytest.importorskip("atheris")
    # -timeout: an input that takes seconds (a pattern that backtracks) is a finding, reported
    # with the input, not a run that hangs until the test's own timeout.
    result = subprocess.run(
        [sys.executable, str(BENCH / "fuzz_osc.py"), "-runs=30000", f"-timeout={timeout(10):.0f}"],
        capture_output=True,
        text=True,
        timeout=timeout(300),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Done 30000 runs" in result.stderr
    # What libFuzzer finds (crash-*, and slow-unit-* on a loaded machine) goes to build/fuzz/
    # in the checkout, never to the directory it was started in.
    assert list(tmp_path.iterdir()) == []
    assert (BENCH.parent / "build" / "fuzz").is_dir()


@pytest.mark.parametrize("name", ["build/fuzz/slow-unit-0", "slow-unit-0", "crash-0", "leak-0"])
def test_fuzzing_artefacts_are_ignored_by_git(name):
    repo = BENCH.parent
    assert subprocess.run(["git", "check-ignore", "-q", name], cwd=repo).returncode == 0


@pytest.mark.parametrize("fault", ["reset:2", "stall:2", "malformed:json:2"])
async def test_the_fault_tour_in_short(fault):
    from faults import run_fault

    outcome = await run_fault(fault, stall_timeout=1.5, settle=2.0)
    assert outcome.told  # the sender heard what happened
    assert outcome.playing
    if fault.startswith("malformed"):
        assert outcome.reconnects == 0 and "bad frame from the service" in outcome.told
    else:
        assert outcome.reconnects == 1 and outcome.back_after is not None


@pytest.mark.skipif(not stretch.available(), reason="no pylibrb on this platform")
async def test_a_short_compressed_soak_grows_nothing_and_keeps_the_latency():
    """make soak-hour in short: rotations every 8 s through the continuity feeder."""
    from soak_resources import soak as resource_soak

    figures = await resource_soak(minutes=0.75, cap=18.0, rate=200.0, sample=3.0, settle=15.0)
    growth = figures.growth
    assert figures.rotations >= 3 and figures.underruns == 0
    assert growth["fds"] <= 0.05 and growth["tasks"] <= 0.05
    assert growth["rss"] <= 0.10  # a short run: allocator noise is a larger share
    # Rotations do not pile up latency: each chunk waits the target +- 0.5 s to be heard.
    assert len(figures.latencies) >= 8, figures.latencies
    assert figures.latency_outside() == []


@pytest.mark.parametrize(
    ("script", "args", "figure"),
    [
        ("osc_ingest.py", ["--messages", "3000"], "oscserver / python-osc: "),
        ("control_latency.py", ["--count", "10", "--gap", "0.25"], "oscserver / baseline: p50 "),
    ],
)
def test_the_benchmarks_run_and_print_their_figures(script, args, figure):
    """Short runs (the figures themselves are docs/performance.md's, from full runs)."""
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout(180),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert figure in result.stdout, result.stdout


async def test_the_continuity_bench_in_short():
    """bench/continuity.py for 20 s: the chunk 17 s late is bridged with stretch, silent without."""
    pytest.importorskip("pylibrb")
    from continuity import play

    faults = ("wander:0:0.98:0.77:1.03:2", "late:5:17")
    stretched, plain = await asyncio.gather(
        play("stretch+snap", True, True, faults, 20.0), play("off", False, False, faults, 20.0)
    )
    assert stretched.silence == 0.0 and stretched.underruns == 0
    assert stretched.bridged >= 5.0
    assert plain.silence >= 5.0 and plain.underruns >= 1
    assert stretched.cpu_per_second > 0.0
