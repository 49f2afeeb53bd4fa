"""Installed without the repository, as a user of pipx, uv or pip would: a wheel built from
this checkout, installed in a fresh virtualenv outside it, plays music into a recording."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
from audio_analysis import rms_dbfs
from conftest import free_udp_port, timeout
from oscbytes import message

REPO = Path(__file__).resolve().parent.parent


def test_a_wheel_in_a_fresh_virtualenv_plays_to_a_recording(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        timeout=timeout(300),
    )
    (wheel,) = dist.glob("oscserver-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=timeout(120))
    python, oscserver = venv / "bin" / "python", venv / "bin" / "oscserver"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=timeout(600)
    )
    # The package comes from the virtualenv, not from this checkout.
    where = subprocess.run(
        [python, "-c", "import oscserver; print(oscserver.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(venv)), where
    # The C JACK callback was built into the wheel (a compiler is here); where it is not,
    # oscserver says so and plays with the Python one (tests/test_jack_output.py).
    native = subprocess.run(
        [python, "-c", "from oscserver.adapters.audio import playout_native as p; "
         "print(p.available())"],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    ).stdout.strip()  # fmt: skip
    assert native == "True"

    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env.pop("PYTHONPATH", None)
    port, wav, log = free_udp_port(), tmp_path / "take.wav", tmp_path / "oscserver.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [oscserver, "--output", "null", "--record", str(wav), "--no-oscquery",
             "--osc-port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout(30)
        while b"press Ctrl-C to stop" not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(message("/lyria/play", ""), ("127.0.0.1", port))
        time.sleep(4.0)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout(20)) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()
    with wave.open(str(wav)) as w:
        assert (w.getframerate(), w.getnchannels()) == (48000, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32768.0
    assert len(pcm) >= 2 * 48000  # seconds of music, not a blip
    assert rms_dbfs(pcm.T) > -30
