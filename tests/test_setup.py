"""What `make run` and `make test` set up: running needs no test tools (Pd, SuperCollider's Qt
WebEngine, mypy, hypothesis...); testing adds them. Read from what make would do (`make -n`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN_PACKAGES = {"jackd2", "liblo-tools", "libportaudio2", "python3-venv", "gcc", "libc6-dev"}
# The patches run in real Pd and sclang; the Link tests make a network namespace (ip, unshare).
TEST_ONLY = {
    "puredata-core",
    "supercollider-language",
    "iproute2",
    "util-linux",
    "chromium",
    "chromium-driver",
    "zita-njbridge",
}


def planned(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run in a checkout with no virtualenv yet."""
    assert shutil.which("make")
    # As from a shell, also when the suite itself runs under `make test` (no sub-make flags).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return result.stdout


def apt_packages(plan: str) -> set[str]:
    """Every Debian package the plan checks for (and installs when missing)."""
    lists = re.findall(r"for pkg in ([^;]*);", plan)
    assert lists, plan
    return {name for found in lists for name in found.split()}


def pip_installs(plan: str) -> list[str]:
    return re.findall(r"pip install -q -e (\S+)", plan)


def test_make_run_installs_what_running_needs_and_nothing_more(tmp_path):
    plan = planned("run", tmp_path)
    assert apt_packages(plan) == RUN_PACKAGES
    assert pip_installs(plan) == ["."]  # the package and its dependencies, no [dev] extra
    assert plan.rstrip().endswith("bin/oscserver")


def test_make_test_adds_the_test_tools(tmp_path):
    plan = planned("test", tmp_path)
    assert apt_packages(plan) == RUN_PACKAGES | TEST_ONLY
    assert pip_installs(plan) == [".", "'.[dev]'"]
    assert "pytest" in plan and "mypy" in plan and "ruff check" in plan


@pytest.mark.parametrize(
    "tool", ["pytest", "mypy", "ruff", "hypothesis", "atheris", "google-genai", "selenium"]
)
def test_the_test_tools_are_in_the_dev_extra_not_the_dependencies(tool):
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def named(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}

    assert tool not in named(project["dependencies"])
    assert tool in named(project["optional-dependencies"]["dev"])
