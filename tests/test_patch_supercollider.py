"""The SuperCollider script's control part in a headless ``sclang`` (Debian's
supercollider-language): its functions, the crossfade Routine and the Pbind reach oscserver,
and the replies come back to its OSCdefs."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import timeout

SCRIPT = Path(__file__).resolve().parent.parent / "patches" / "supercollider" / "oscserver.scd"

HARNESS = """
(
~lyriaPort = "OSCSERVER_PORT".getenv.asInteger;
"%s".load;
fork {
    ~prompt.(1, "deep house", 1.0);
    ~prompt.(2, "warm pads", 0.0);
    ~set.(\\bpm, 124);
    ~set.(\\scale, "F#m");
    ~set.(\\mute_drums, 1);
    ~weight.(3, 0.5, 0.3);
    ~set.(\\bpm, 300);
    ~play.();
    0.2.wait;
    ~crossfade.(1, 2, 1.0);
    1.3.wait;
    "crossfaded".postln;
    Pbindf(~weightPattern, \\dur, 0.05).play;
    0.8.wait;
    ~status.();
    0.5.wait;
    "harness done".postln;
    0.exit;
};
)
"""


@pytest.fixture
def app(bare_app):
    return bare_app


async def run_sclang(code: str, port: int, where: Path, seconds: float) -> str:
    """``code`` in a headless sclang with ``OSCSERVER_PORT`` set; what it posted."""
    harness = where / "harness.scd"
    harness.write_text(code)
    env = dict(
        os.environ,
        OSCSERVER_PORT=str(port),
        QT_QPA_PLATFORM="offscreen",  # no display
        QTWEBENGINE_DISABLE_SANDBOX="1",  # sclang's help browser, as root in CI
    )
    proc = await asyncio.create_subprocess_exec(
        "sclang",
        str(harness),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=where,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout(seconds))
    finally:
        if proc.returncode is None:
            proc.kill()
    return out.decode(errors="replace")


async def test_the_supercollider_script_controls_oscserver_and_hears_it(app, tmp_path):
    assert shutil.which("sclang"), "sclang is not installed (make test installs it)"
    posted = await run_sclang(HARNESS % SCRIPT, app.osc_address[1], tmp_path, 60)
    assert "harness done" in posted, posted
    s = app.state
    assert s.prompt(1).text == "deep house" and s.prompt(2).text == "warm pads"
    assert s.config.bpm == 124 and s.config.scale == "A_MAJOR_G_FLAT_MINOR"
    assert s.config.mute_drums is True
    assert s.prompt(3).weight == pytest.approx(0.5)  # the glide had 0.3 s
    # The pattern's last events: slot 1 at 0.5, slot 2 at 0.75 (after the crossfade).
    assert s.prompt(1).weight == pytest.approx(0.5) and s.prompt(2).weight == pytest.approx(0.75)
    assert s.playback.value == "playing"
    assert "oscserver error: /lyria/bpm: 300 is out of range 60..200" in posted
    assert "oscserver status: " in posted


def test_the_script_and_its_gui_load_without_errors_in_sclang(tmp_path):
    assert shutil.which("sclang"), "sclang is not installed (make test installs it)"
    harness = tmp_path / "load.scd"
    harness.write_text(
        f'"{SCRIPT}".load; "loaded".postln;'
        ' w = ~gui.(); ("gui views: " ++ w.view.children.size).postln; w.close; 0.exit;'
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    result = subprocess.run(
        ["sclang", str(harness)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout(60),
        cwd=tmp_path,
    )
    assert "loaded" in result.stdout
    # The window: 4 labels and 4 weight sliders, the bpm label and box, play and status; the
    # pulse's light, level meter and bands.
    assert "gui views: 15" in result.stdout, result.stdout
    assert "ERROR" not in result.stdout, result.stdout


PULSE_HARNESS = """
(
~lyriaPort = "OSCSERVER_PORT".getenv.asInteger;
"%s".load;
~prompt.(1, "techno", 1.0);
~play.();
w = ~gui.();  // (asks for the pulse; its light, meter and bands follow it)
~beats = List.new; ~levels = 0; ~loudest = 0; ~band = 0; ~meter = 0;
f = ~onBeat; g = ~onLevel; h = ~onBands;
~onBeat = { |bar, beat, bpm| f.(bar, beat, bpm); ~beats.add([bar, beat, bpm]) };
~onLevel = { |rms, peak| g.(rms, peak); ~levels = ~levels + 1; ~loudest = max(~loudest, rms) };
~onBands = { |values| h.(values); ~band = max(~band, values.maxItem) };
Routine {  // (on AppClock: the window's views are read as it goes)
    var waited = 0;
    while { ~beats.size < 6 and: { waited < 60 } } {
        0.1.wait;
        waited = waited + 0.1;
        ~meter = max(~meter, w.view.children[13].value[0]);  // the window's level meter
    };
    ("beats " ++ ~beats.asArray).postln;
    ("levels " ++ ~levels ++ " loudest " ++ ~loudest).postln;
    ("bands " ++ ~bands.size ++ " loudest " ++ ~band).postln;
    ("meter " ++ ~meter).postln;
    "harness done".postln;
    0.exit;
}.play(AppClock);
)
"""


async def test_the_supercollider_gui_follows_the_pulse(app, tmp_path):
    """~gui.() asks for the pulse: the beats reach ~onBeat numbered 1-4 at the music's tempo,
    the levels ~onLevel (30 a second) and the window's meter, the bands ~bands."""
    posted = await run_sclang(PULSE_HARNESS % SCRIPT, app.osc_address[1], tmp_path, 90)
    assert "harness done" in posted, posted
    lines = {line.split(" ", 1)[0]: line for line in posted.splitlines() if " " in line}
    beats = [
        [float(x) for x in b.split(",")]
        for b in lines["beats"].split("[ [ ", 1)[1].rstrip("] ").split(" ], [ ")
    ]
    assert len(beats) >= 6 and all(1 <= b[1] <= 4 and 100 < b[2] < 140 for b in beats), posted
    levels = lines["levels"].split()
    assert int(levels[1]) >= 30 and 0.01 < float(levels[3]) <= 1, posted
    bands = lines["bands"].split()
    assert bands[1] == "8" and 0.3 < float(bands[3]) <= 1, posted
    assert float(lines["meter"].split()[1]) > 0.02, posted  # the window's level meter moved
    assert "ERROR" not in posted, posted
