"""The Pd patch in real Pure Data (``pd -nogui``, Debian's puredata-core): its controls, driven
through their receive names, reach oscserver with the right values, and oscserver's replies
come back into the patch (printed in the Pd window)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import until

PATCH = Path(__file__).resolve().parent.parent / "patches" / "pd" / "oscserver.pd"


@pytest.fixture
def app(bare_app):
    return bare_app


def open_patch(sends: list[str], log: Path) -> subprocess.Popen[bytes]:
    """The patch in a headless Pd, each of ``sends`` sent to its receive name once it has
    loaded; what Pd prints goes to ``log``."""
    cmd = ["pd", "-nogui", "-nosound", "-nomidi", "-stderr", "-open", str(PATCH)]
    for message in sends:
        cmd += ["-send", message]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


async def test_the_pd_patch_plays_oscserver_and_shows_its_replies(app, tmp_path):
    assert shutil.which("pd"), "Pure Data is not installed (make test installs puredata-core)"
    host, port = app.osc_address
    sends = [
        f"oscserver-connect {host} {port}",
        "lyria-listen 1",  # the listen toggle: every value now comes back into the patch
        "lyria-prompt1-text list deep house",
        "lyria-prompt1-weight 0.8",
        "lyria-prompt2-text list warm pads",
        "lyria-prompt2-weight 0.25",
        "lyria-bpm 124",
        "lyria-density 0.3",
        "lyria-brightness 0.7",
        "lyria-guidance 5",
        "lyria-scale 10",
        "lyria-mute_drums 1",
        "lyria-play bang",
        "lyria-prompt2-glide 1 0.5",
        "lyria-bpm 300",  # out of range: the error must come back into the patch
        "lyria-status bang",
    ]
    log = tmp_path / "pd.log"
    pd = open_patch(sends, log)
    try:
        state = lambda: app.state  # noqa: E731 - read at each poll
        await until(lambda: state().playback.value == "playing")
        await until(lambda: state().prompt(2).weight == pytest.approx(1.0))  # the glide ended
        await until(lambda: "oscserver-status" in log.read_text())
        await until(lambda: "oscserver-value: prompt 2 weight 1" in log.read_text())
    finally:
        pd.terminate()
        pd.wait(10)
    s = app.state
    assert (s.prompt(1).text, s.prompt(1).weight) == ("deep house", pytest.approx(0.8))
    assert s.prompt(2).text == "warm pads"
    assert s.config.bpm == 124  # 300 was refused
    assert s.config.density == pytest.approx(0.3)
    assert s.config.brightness == pytest.approx(0.7)
    assert s.config.guidance == 5.0
    assert s.config.scale == "A_MAJOR_G_FLAT_MINOR"
    assert s.config.mute_drums is True
    printed = log.read_text()
    assert "oscserver-error: /lyria/bpm: 300 is out of range 60..200" in printed, printed
    assert "oscserver-status:" in printed
    # Mirrored by /lyria/listen, read by Pd vanilla's [oscparse]: the snapshot first (the
    # model decides the tempo; drums not muted), then each change as it happened.
    for value in ("bpm auto", "mute_drums 0", "bpm 124", "mute_drums 1", "density 0.3"):
        assert f"oscserver-value: {value}" in printed, printed
    assert "unknown tag" not in printed, printed
    assert "error:" not in printed.replace("oscserver-error:", ""), printed  # the patch loads clean


async def test_the_pd_patch_shows_the_pulse(app, tmp_path):
    """The pulse's toggles ask for the beats and the analysis; the patch flashes on each beat
    (printed as it does), its meters and bands move (printed once a second)."""
    host, port = app.osc_address
    sends = [
        f"oscserver-connect {host} {port}",
        "lyria-listen-beat 1",
        "lyria-listen-analysis 1",
        "lyria-prompt1-text list techno",
        "lyria-prompt1-weight 1",
        "lyria-play bang",
    ]
    log = tmp_path / "pd.log"
    pd = open_patch(sends, log)
    try:
        # (the beats without a clock come once the music's have been found: seconds)
        await until(lambda: log.read_text().count("oscserver-beat:") >= 4, 60, "no beats")
        await until(lambda: log.read_text().count("oscserver-bands:") >= 2, 10, "no bands")
    finally:
        pd.terminate()
        pd.wait(10)
    printed = log.read_text()
    beats = [line.split(":", 1)[1].split() for line in printed.splitlines() if "beat:" in line]
    assert all(len(b) == 3 and 1 <= int(b[1]) <= 4 for b in beats), printed  # bar, beat, bpm
    levels = [float(line.split()[-1]) for line in printed.splitlines() if "level:" in line]
    assert levels and all(0 < rms <= 1 for rms in levels), printed
    bands = [line.split(":", 1)[1].split() for line in printed.splitlines() if "bands:" in line]
    assert all(len(b) == 8 and all(0 <= float(x) <= 1 for x in b) for b in bands), printed
    assert max(float(x) for b in bands for x in b) > 0.3, printed  # the music, not silence
    assert "error:" not in printed.replace("oscserver-error:", ""), printed
