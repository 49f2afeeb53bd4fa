"""MIDI in, end to end on a real JACK server: a controller client plays oscserver's
``midi_in`` port. CCs set exactly the mapped values (the default: CC n, prompt n's weight 0 to
2); MIDI learn over OSC maps the next control moved, says so, and the mapping survives a restart
in its file; a key and a program change recall scenes; a MIDI mistake in the file stops the
start and names it."""

from __future__ import annotations

import json

import pytest
from conftest import until
from oscbytes import message, pad
from test_replies import open_socket

from oscserver.adapters.audio.jack_sink import MIDI_IN_PORT, JackSink
from oscserver.adapters.data_file import DataFileError
from oscserver.app import App, Options

pytestmark = [pytest.mark.jack, pytest.mark.usefixtures("no_api_key")]


class Controller:
    """A JACK client with a MIDI output, sending what it is given in its next cycle."""

    def __init__(self, server: str, target: str) -> None:
        import jack

        self.client = jack.Client("controller", no_start_server=True, servername=server)
        self.out = self.client.midi_outports.register("out")
        self.pending: list[bytes] = []
        self.client.set_process_callback(self._process)
        self.client.activate()
        self.client.connect(self.out, target)

    def _process(self, frames: int) -> None:
        self.out.clear_buffer()
        while self.pending:
            self.out.write_midi_event(0, self.pending.pop(0))

    def send(self, *messages: bytes) -> None:
        self.pending.extend(messages)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


async def started(server: str, **options) -> tuple[App, Controller]:
    sink = JackSink("oscmidi", server, preroll_seconds=0.1, midi_in=True)
    app = App(Options(osc_port=0, **options), sink)
    await app.start()
    return app, Controller(server, f"oscmidi:{MIDI_IN_PORT}")


async def stopped(app: App, controller: Controller) -> None:
    controller.close()
    await app.stop()
    app.sink.close()


async def test_controls_set_exactly_the_mapped_values(private_jackd):
    server = private_jackd().server_name
    app, controller = await started(server)
    try:
        controller.send(bytes([0xB0, 3, 127]), bytes([0xB5, 1, 0]))  # (any channel)
        await until(lambda: app.state.prompt(3).weight == 2.0)
        await until(lambda: app.state.prompt(1).weight == 0.0)
        controller.send(bytes([0xB0, 2, 64]))
        await until(lambda: app.state.prompt(2).weight == round(2 * 64 / 127, 4))
        assert app.refused == 0
    finally:
        await stopped(app, controller)


async def test_learn_maps_the_next_control_and_survives_a_restart(private_jackd, tmp_path):
    server = private_jackd().server_name
    path = tmp_path / "midi.json"
    app, controller = await started(server, midi_map=str(path))
    sock = await open_socket(app.osc_address)
    try:
        sock.transport.sendto(message("/lyria/learn", "s", pad(b"/lyria/density")))
        await until(lambda: app.midi.learn.address == "/lyria/density")
        controller.send(bytes([0xB1, 20, 10]))  # (the control moved: learned, not played)
        assert await sock.next("/lyria/learned") == ("/lyria/learned", ["/lyria/density", 2, 20])
        assert app.state.config.density is None
        controller.send(bytes([0xB1, 20, 127]))
        await until(lambda: app.state.config.density == 1.0)
        saved = json.loads(path.read_text())
        assert {"number": 20, "address": "/lyria/density", "channel": 2} in saved["controls"]
        sock.transport.sendto(message("/lyria/learn", "s", pad(b"/lyria/prompt/1/text")))
        (_, (error,)) = await sock.next("/lyria/error")
        assert "a control sets a number, a switch or a choice" in error
    finally:
        sock.transport.close()
        await stopped(app, controller)
    app, controller = await started(server, midi_map=str(path))
    try:
        controller.send(bytes([0xB1, 20, 0]))
        await until(lambda: app.state.config.density == 0.0)
    finally:
        await stopped(app, controller)


async def test_keys_and_program_changes_recall_scenes(private_jackd, tmp_path):
    server = private_jackd().server_name
    path = tmp_path / "midi.toml"
    path.write_text('[[keys]]\nnote = 36\naction = "scene"\nnumber = 2\n')
    app, controller = await started(server, midi_map=str(path))
    sock = await open_socket(app.osc_address)
    try:
        sock.transport.sendto(message("/lyria/scene/1/store", ""))  # minimal techno
        sock.transport.sendto(message("/lyria/prompt/1/text", "s", pad(b"dub")))
        sock.transport.sendto(message("/lyria/scene/2/store", ""))  # dub
        await until(lambda: set(app.scenes) == {1, 2})
        controller.send(bytes([0xC0, 0]))  # program 0: scene 1
        await until(lambda: app.state.prompt(1).text == "minimal techno")
        controller.send(bytes([0x99, 36, 100]))  # the key: scene 2
        await until(lambda: app.state.prompt(1).text == "dub")
    finally:
        sock.transport.close()
        await stopped(app, controller)


async def test_a_mistake_in_the_mapping_stops_the_start_and_is_named(tmp_path):
    path = tmp_path / "midi.json"
    path.write_text('{"controls": [{"number": 7, "address": "/lyria/nowhere"}]}')
    from oscserver.adapters.audio.null_sink import NullSink

    app = App(Options(osc_port=0, midi_map=str(path)), NullSink(preroll_seconds=0.1))
    with pytest.raises(DataFileError, match=r"midi.json: /lyria/nowhere: unknown address"):
        await app.start()
    await app.stop()
    app.sink.close()


class ClockDevice(Controller):
    """A drum machine's MIDI clock: Start, then a tick every ``every`` frames, exactly."""

    def __init__(self, server: str, target: str, every: int) -> None:
        self.every, self.next, self.started = every, None, False
        super().__init__(server, target)

    def _process(self, frames: int) -> None:
        self.out.clear_buffer()
        start = self.client.last_frame_time
        if not self.started:
            self.started, self.next = True, start
            self.out.write_midi_event(0, b"\xfa")  # Start: the next tick is the first beat
        while self.next < start + frames:
            self.out.write_midi_event(self.next - start, b"\xf8")
            self.next += self.every


async def test_a_midi_clock_at_120_bpm_is_a_clock_at_120(private_jackd):
    from oscserver.adapters.clock.midi import MidiClockSource

    server = private_jackd(rate=48000, period=256).server_name
    sink = JackSink("oscmidi", server, preroll_seconds=0.1, midi_in=True)
    source = MidiClockSource()
    app = App(Options(osc_port=0), sink, clock=source)
    await app.start()
    device = ClockDevice(server, f"oscmidi:{MIDI_IN_PORT}", every=1000)  # 24 a beat at 120
    try:
        await until(lambda: source.read() is not None and source.read().beat >= 4.0)
        reading = source.read()
        assert reading.tempo == pytest.approx(120.0, abs=0.5)
        assert "120.0 bpm" in source.describe() and app.clocking.tempo() == pytest.approx(
            120, abs=0.5
        )
    finally:
        await stopped(app, device)
