"""The other outputs and the choice between them: null, WAV recording, PortAudio, auto."""

from __future__ import annotations

import time
import wave

import numpy as np
import pytest
from conftest import timeout

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.adapters.audio.outputs import OutputOptions, OutputUnavailable, open_output
from oscserver.adapters.audio.wav_recorder import WavRecorder


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 48000)) / 48000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.vstack([x, -x])


def wait_until(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + timeout(seconds)
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_null_sink_plays_at_real_time_and_counts_underruns():
    sink = NullSink(preroll_seconds=0.05)
    try:
        sink.write(tone(0.5))
        assert sink.buffered_seconds() == sink.stats().buffered_seconds == 0.5  # not playing yet
        sink.set_playing(True)
        wait_until(lambda: sink.stats().playing)
        started = time.monotonic()
        wait_until(lambda: sink.stats().underruns == 1)
        elapsed = time.monotonic() - started
        assert 0.3 < elapsed < 0.5 + 0.5 * timeout(1)  # 0.5 s of audio took about 0.5 s
        assert sink.stats().buffered_frames == 0 and sink.buffered_seconds() == 0.0
    finally:
        sink.close()


def test_wav_recorder_writes_the_stream(tmp_path):
    path = tmp_path / "take.wav"
    recorder = WavRecorder(path)
    audio = tone(1.0)
    recorder.write(audio[:, :30000])
    recorder.write(audio[:, 30000:])
    recorder.close()
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (2, 2, 48000)
        data = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, 2).T
    assert data.shape == (2, 48000)
    assert np.abs(data / 32768.0 - audio).max() <= 1 / 32768


def test_record_option_opens_a_recorder_alongside(tmp_path):
    output = open_output(OutputOptions(output="null", record=tmp_path / "x.wav"))
    try:
        assert output.recorder is not None
        assert "recording the stream to" in output.notes[0]
    finally:
        output.close()


@pytest.mark.jack
def test_sounddevice_sink_plays_through_portaudio(private_jackd):
    # Debian's PortAudio has a JACK host API: a real PortAudio device without a sound card.
    import os

    from jack_recorder import Recorder

    server = private_jackd(rate=48000).server_name
    os.environ["JACK_DEFAULT_SERVER"] = server
    try:
        import sounddevice as sd

        sd._terminate()
        sd._initialize()
        output = open_output(OutputOptions(output="sounddevice", preroll=0.05))
        try:
            assert "PortAudio" in output.sink.description
            import jack

            probe = jack.Client("probe", no_start_server=True, servername=server)
            ports = [p.name for p in probe.get_ports(is_output=True, is_audio=True)]
            ours = [p for p in ports if not p.startswith("system:")]
            probe.close()
            recorder = Recorder(server, (ours[0], ours[1]), 10)
            try:
                output.sink.write(tone(2.0))
                output.sink.set_playing(True)
                wait_until(lambda: np.abs(recorder.buffer).max() > 0.4)
            finally:
                recorder.close()
        finally:
            output.close()
    finally:
        del os.environ["JACK_DEFAULT_SERVER"]
        sd._terminate()
        sd._initialize()


def test_auto_without_jack_or_sound_card_says_what_to_install(monkeypatch):
    import sounddevice as sd

    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server-here")
    monkeypatch.setattr("shutil.which", lambda name: None)  # as if jackd were not installed
    sd._terminate()
    sd._initialize()  # PortAudio looks for devices again: none here (no sound card, no JACK)
    try:
        with pytest.raises(OutputUnavailable, match="apt-get install jackd2"):
            open_output(OutputOptions(output="auto"))
    finally:
        monkeypatch.undo()
        sd._terminate()
        sd._initialize()


def test_jack_output_without_a_server_and_no_start_is_explained(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server-here")
    with pytest.raises(OutputUnavailable, match="no JACK server is running"):
        open_output(OutputOptions(output="jack", start_jack=False))
