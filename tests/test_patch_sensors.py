"""The sensor example: its smoothing and mapping, and the script itself feeding a running
oscserver from a simulated sensor and from OSC sensor readings."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import random
import socket
import sys
from pathlib import Path

import pytest
from conftest import free_udp_port, timeout

from oscserver.core.osc_codec import encode_message

SCRIPT = Path(__file__).resolve().parent.parent / "patches" / "sensors" / "sensors_to_lyria.py"
spec = importlib.util.spec_from_file_location("sensors_to_lyria", SCRIPT)
sensors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sensors)


def test_smoothing_follows_a_step_without_overshoot_and_calms_jitter():
    smooth = sensors.Smoother(0.15)
    smooth("x", 0.0)
    ys = [smooth("x", 1.0) for _ in range(60)]
    assert all(b >= a for a, b in itertools.pairwise(ys)) and max(ys) <= 1.0
    assert ys[-1] > 0.99
    rng = random.Random(3)
    noisy = [rng.gauss(0, 0.1) for _ in range(500)]
    calm = [smooth("n", x) for x in noisy]
    spread = lambda v: max(v[100:]) - min(v[100:])  # noqa: E731
    assert spread(calm) < spread(noisy) / 3


def test_tilt_crossfades_with_equal_power_and_shaking_raises_density():
    left = sensors.map_reading((-1.0, 0.0, 0.0), sensors.Smoother(1.0))
    right = sensors.map_reading((1.0, 0.0, 0.0), sensors.Smoother(1.0))
    middle = sensors.map_reading((0.0, 0.0, 1.0), sensors.Smoother(1.0))
    assert left["/lyria/prompt/1/weight"] == 1.0 and left["/lyria/prompt/2/weight"] == 0.0
    assert right["/lyria/prompt/1/weight"] == 0.0 and right["/lyria/prompt/2/weight"] == 1.0
    w1, w2 = middle["/lyria/prompt/1/weight"], middle["/lyria/prompt/2/weight"]
    assert w1**2 + w2**2 == pytest.approx(1.0, abs=0.01)
    still = middle["/lyria/density"]
    shaken = sensors.map_reading((0.0, 0.0, 1.8), sensors.Smoother(1.0))["/lyria/density"]
    assert still == pytest.approx(0.2) and shaken > 0.9


@pytest.fixture
def app(bare_app):
    return bare_app


async def test_the_simulated_sensor_plays_oscserver(app):
    host, port = app.osc_address
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--seconds", "2", "--target", f"{host}:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout(30))
    assert proc.returncode == 0, out
    s = app.state
    assert s.prompt(1).text == "calm ambient pads" and s.prompt(2).text == "driving techno drums"
    assert s.prompt(1).weight ** 2 + s.prompt(2).weight ** 2 == pytest.approx(1.0, abs=0.02)
    assert 0.2 <= s.config.density <= 1.0 and s.config.brightness is not None
    assert s.playback.value == "playing" and app.refused == 0
    sent = int(out.decode().split("sent ")[1].split()[0])
    assert 4 <= sent <= 2 * 30 * 4 + 8  # at most every value at every reading, 30 a second


async def test_readings_over_osc_steer_the_music(app):
    host, port = app.osc_address
    listen = free_udp_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--source", "osc", "--listen-port", str(listen),
        "--seconds", "3", "--target", f"{host}:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(60):  # a phone tilted fully right, held still, for 1.5 s
            phone.sendto(encode_message("/accxyz", [1.0, 0.0, 0.0]), ("127.0.0.1", listen))
            await asyncio.sleep(0.025)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout(30))
    finally:
        phone.close()
    assert proc.returncode == 0, out
    assert app.state.prompt(2).weight > 0.95 and app.state.prompt(1).weight < 0.3


async def test_a_light_flashes_on_the_musics_beats(app, tmp_path):
    """--led with a brightness file (as /sys/class/leds/*/brightness): 1 on every beat
    oscserver sends, 0 again before the next, dark at the end."""
    host, port = app.osc_address
    led = tmp_path / "brightness"
    led.write_text("0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--seconds", "14", "--target", f"{host}:{port}",
        "--led", str(led),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    seen = ["0"]
    while proc.returncode is None:
        value = led.read_text()
        if value and value != seen[-1]:
            seen.append(value)
        await asyncio.sleep(0.01)  # (the flash lasts 0.1 s)
    out = (await proc.stdout.read()).decode()
    assert proc.returncode == 0, out
    lit = int(out.split(", ")[1].split()[0])
    assert lit >= 6, out  # (the beats come once the music's are found: a few seconds)
    assert seen.count("1") >= lit - 1 and seen[-1] == "0", seen  # each flash seen, then dark
