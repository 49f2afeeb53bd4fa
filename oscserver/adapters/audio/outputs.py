"""Choosing and opening the audio output (``--output``), with an optional WAV recording.

``auto`` picks, in order: a running JACK server; else PortAudio's default output device (a
sound card, e.g. on macOS or Windows); else a private ``jackd -d dummy`` (so that other JACK
clients can still take the audio); else it explains what to install. Backends are imported only
when chosen, so a missing libjack or PortAudio only matters to who asks for it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from oscserver.adapters.audio.base import AudioSink
from oscserver.adapters.audio.wav_recorder import WavRecorder
from oscserver.adapters.jackd import PrivateJackd

__all__ = ["OUTPUTS", "Output", "OutputOptions", "OutputUnavailable", "open_output"]

log = logging.getLogger(__name__)

OUTPUTS = ("auto", "jack", "sounddevice", "null")
INSTALL_HINT = (
    "install JACK (Debian/Ubuntu: apt-get install jackd2; macOS: brew install jack) or connect "
    "a sound card (PortAudio: apt-get install libportaudio2), or use --output null"
)


class OutputUnavailable(RuntimeError):
    """The chosen output cannot be opened; the message says what to do."""


@dataclass(frozen=True)
class OutputOptions:
    """Audio output settings (see ``oscserver --help``)."""

    output: str = "auto"
    jack_name: str = "oscserver"
    jack_server: str | None = None
    jack_ports: tuple[str, str] = ("out_left", "out_right")
    jack_connect: str | None = None
    start_jack: bool = True
    device: str | None = None
    preroll: float = 1.0
    ramp: float = 0.1
    record: Path | None = None
    midi_clock: bool = False
    midi_in: bool = False


@dataclass
class Output:
    """An opened output: the sink, and what came with it."""

    sink: AudioSink
    jackd: PrivateJackd | None = None
    recorder: WavRecorder | None = None
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the sink, finish the recording, stop a private jackd."""
        self.sink.close()
        if self.recorder is not None:
            self.recorder.close()
        if self.jackd is not None:
            self.jackd.stop()


def open_output(options: OutputOptions) -> Output:
    """Open the output the options ask for.

    Raises:
        OutputUnavailable: It cannot be opened; the message says why and what to do.
        OSError: The recording file cannot be created.
    """
    output = _open_sink(options)
    if options.midi_clock and getattr(output.sink, "midi", None) is None:
        output.notes.append(
            f"no MIDI clock: --midi-clock needs the JACK output, and this is "
            f"{output.sink.description}"
        )
    if options.midi_in and getattr(output.sink, "midi_in", None) is None:
        output.notes.append(
            f"no MIDI in: --midi needs the JACK output, and this is {output.sink.description}"
        )
    if options.record is not None:
        try:
            output.recorder = WavRecorder(options.record)
        except OSError:
            output.close()
            raise
        output.notes.append(f"recording the stream to {options.record}")
    return output


def _open_sink(o: OutputOptions) -> Output:
    if o.output == "null":
        from oscserver.adapters.audio.null_sink import NullSink

        return Output(NullSink(o.preroll, o.ramp))
    if o.output == "sounddevice":
        return Output(_sounddevice(o))
    if o.output not in ("auto", "jack"):
        raise OutputUnavailable(f"unknown output {o.output!r}: use one of {', '.join(OUTPUTS)}")
    try:
        from oscserver.adapters.audio.jack_sink import jack_server_running
    except OSError:  # libjack is not installed
        if o.output == "jack":
            raise OutputUnavailable(f"JACK is not installed: {INSTALL_HINT}") from None
        return _without_jack(o)
    if jack_server_running(o.jack_server):
        return Output(_jack(o))
    if o.output == "auto" and _has_sound_card():
        return Output(_sounddevice(o))
    if not o.start_jack:
        raise OutputUnavailable(
            "no JACK server is running (start one, or leave out --no-start-jack)"
        )
    if shutil.which("jackd") is None:
        raise OutputUnavailable(f"no JACK server and no sound card: {INSTALL_HINT}")
    jackd = PrivateJackd(server_name=o.jack_server)
    try:
        jackd.start()
    except RuntimeError as exc:
        raise OutputUnavailable(str(exc)) from None
    try:
        sink = _jack(o)
    except OutputUnavailable:
        jackd.stop()
        raise
    note = f"no JACK server was running: started a private one ({jackd.description})"
    return Output(sink, jackd=jackd, notes=[note])


def _has_sound_card() -> bool:
    try:
        from oscserver.adapters.audio.sounddevice_sink import default_output_device
    except OSError:  # PortAudio is not installed
        return False
    return default_output_device() is not None


def _without_jack(o: OutputOptions) -> Output:
    if not _has_sound_card():
        raise OutputUnavailable(f"no audio output found: {INSTALL_HINT}")
    return Output(_sounddevice(o))


def _jack(o: OutputOptions) -> AudioSink:
    from oscserver.adapters.audio.jack_sink import JackSink, JackUnavailable

    try:
        return JackSink(
            o.jack_name,
            o.jack_server,
            o.jack_ports,
            o.jack_connect,
            o.preroll,
            o.ramp,
            midi_clock=o.midi_clock,
            midi_in=o.midi_in,
        )
    except JackUnavailable as exc:
        raise OutputUnavailable(str(exc)) from None


def _sounddevice(o: OutputOptions) -> AudioSink:
    try:
        import sounddevice as sd

        from oscserver.adapters.audio.sounddevice_sink import SounddeviceSink
    except OSError:
        raise OutputUnavailable(f"PortAudio is not installed: {INSTALL_HINT}") from None
    try:
        return SounddeviceSink(o.device, o.preroll, o.ramp)
    except (sd.PortAudioError, ValueError) as exc:
        where = repr(o.device) if o.device else "(the default)"
        raise OutputUnavailable(f"cannot open audio device {where}: {exc}") from None
