"""docs/quickstart.md, followed to the letter: its jack_rec and oscsend commands, taken from the
document itself, against oscserver run as a user runs it, must leave music in the recording."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import free_udp_port, timeout

pytestmark = pytest.mark.jack

DOC = Path(__file__).resolve().parent.parent / "docs" / "quickstart.md"


def commands(prefix: str) -> list[str]:
    """The lines of the document's shell blocks that start with ``prefix``."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    return [
        line.strip() for block in blocks for line in block.splitlines()
        if line.strip().startswith(prefix)
    ]  # fmt: skip


def test_the_quickstart_gets_music_into_a_recording(jack_server, tmp_path):
    assert commands("make run") == ["make run"]
    [record] = commands("jack_rec ")
    sends = commands("oscsend ")
    [dump] = commands("oscdump ")
    play = [line.endswith("/lyria/play") for line in sends].index(True)
    sends, listen = sends[: play + 1], sends[play + 1 :]
    assert len(sends) >= 3 and len(listen) == 1 and dump.endswith(" 9002")
    port = free_udp_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["JACK_DEFAULT_SERVER"] = jack_server  # the test's private jackd stands for `make run`'s
    log_path = tmp_path / "oscserver.log"
    with open(log_path, "wb") as log:
        # What `make run` runs, on a free port and the test's JACK server.
        server = subprocess.Popen(
            [sys.executable, "-m", "oscserver", "--osc-port", str(port), "--no-start-jack",
             "--no-oscquery"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    recorder = None
    try:
        deadline = time.monotonic() + timeout(30)
        while b"press Ctrl-C to stop" not in log_path.read_bytes():
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        # Step 2 as written, for 8 s instead of 10.
        argv = shlex.split(record.replace("-d 10", "-d 8"))
        recorder = subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        time.sleep(1.0)
        # Step 3 as written, to the test's port.
        for line in sends:
            argv = shlex.split(line.replace("localhost 9000", f"localhost {port}"))
            subprocess.run(argv, check=True, timeout=timeout(10), env=env)
        recorder.wait(timeout(30))
        # Step 5 as written, on a free port: oscdump shows the values and the status.
        reply_port = str(free_udp_port())
        argv = shlex.split(dump.replace("9002", reply_port))
        argv.insert(1, "-L")  # line-buffered into the file, as on a terminal
        dumped = tmp_path / "oscdump.txt"
        with open(dumped, "wb") as out:
            dumper = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        argv = shlex.split(listen[0].replace("localhost 9000", f"localhost {port}"))
        subprocess.run([*argv[:-1], reply_port], check=True, timeout=timeout(10), env=env)
        deadline = time.monotonic() + timeout(10)
        while "/lyria/status ssfiiiifffsfsf" not in dumped.read_text(errors="replace"):
            assert time.monotonic() < deadline, dumped.read_text(errors="replace")
            time.sleep(0.05)
        dumper.terminate()
        text = dumped.read_text(errors="replace")
        assert "/lyria/bpm i 124" in text and "/lyria/mute_drums i 0" in text, text
        assert "/lyria/density s " in text and "auto" in text, text
    finally:
        if recorder is not None and recorder.poll() is None:
            recorder.kill()
        server.send_signal(signal.SIGINT)
        server.wait(timeout(15))
    wav = tmp_path / "first-sound.wav"
    assert wav.exists(), "jack_rec wrote nothing"
    with wave.open(str(wav)) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2
        audio = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32768.0
        rate = w.getframerate()
    windows = audio[: len(audio) // rate * rate, 0].reshape(-1, rate)
    loud_seconds = int((np.sqrt((windows**2).mean(axis=1)) > 0.01).sum())
    assert loud_seconds >= 4, f"only {loud_seconds} s of music in {len(windows)} s recorded"
