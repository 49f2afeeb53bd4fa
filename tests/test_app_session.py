"""The session features through the whole server: OSC over a real UDP socket in, the engine's
faults over a real WebSocket, the JACK sink on a real ``jackd -d dummy``, and what the sender
hears back (glides, warnings, close codes, recovery)."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
from conftest import timeout
from oscbytes import bundle, f32, message
from test_app import OscClient, until

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.lyria_ws import engine_url
from oscserver.app import App, Options
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

pytestmark = pytest.mark.jack

#: What the sender is told when the watchdog finds no audio (the delay is jittered).
STALLED = r"no audio from the service for {} s while playing \(reconnecting in \d+\.\d s\)"


class Rig:
    """An engine (with faults) run apart, oscserver pointed at its URL, and an OSC client."""

    def __init__(
        self,
        jack_server: str,
        faults: tuple[str, ...] = (),
        faulty: int = 0,
        warnings: bool = False,
    ) -> None:
        self.engine = EngineServer(
            EngineOptions(
                chunk_seconds=0.5,
                lead_seconds=0.2,
                faults=tuple(parse_fault(f) for f in faults),
                faulty_sessions=faulty,
                warnings=warnings,
            )
        )
        self.jack_server = jack_server

    async def __aenter__(self) -> Rig:
        host, port = await self.engine.start()
        self.sink = JackSink("oscserver-session-test", self.jack_server, preroll_seconds=0.2)
        self.app = App(Options(osc_port=0, engine=f"ws://{host}:{port}"), self.sink)
        await self.app.start()
        assert self.app.link is not None and self.app.link.url == engine_url(host, port)
        loop = asyncio.get_running_loop()
        self.transport, self.client = await loop.create_datagram_endpoint(
            OscClient, remote_addr=self.app.osc_address
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.transport.close()
        await self.app.stop()
        self.sink.close()
        await self.engine.close()

    def send(self, datagram: bytes) -> None:
        self.transport.sendto(datagram)

    async def reply_to(self, address: str, seconds: float = 10.0) -> list[object]:
        """The next reply at ``address`` (others are skipped)."""
        deadline = asyncio.get_running_loop().time() + timeout(seconds)
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"no {address} reply"
            got, args = await asyncio.wait_for(self.client.replies.get(), left)
            if got == address:
                return args


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


async def test_a_weight_glide_reaches_the_service_through_intermediate_values(jack_server):
    async with Rig(jack_server) as rig:
        await until(lambda: rig.app.status().link == "connected")
        await until(lambda: bool(rig.engine.last_prompts))
        rig.send(message("/lyria/prompt/1/weight", "ff", f32(0.2), f32(1.5)))
        seen: list[float] = []
        deadline = asyncio.get_running_loop().time() + timeout(10)
        while not seen or seen[-1] != pytest.approx(0.2):
            assert asyncio.get_running_loop().time() < deadline, seen
            weight = rig.engine.last_prompts[0].weight
            if not seen or weight != seen[-1]:
                seen.append(weight)
            await asyncio.sleep(0.01)
        between = [w for w in seen if 0.2 < w < 1.0]
        assert len(between) >= 3, seen  # a glide, not a jump
        assert seen == sorted(seen, reverse=True)  # always on its way down
        assert rig.app.state.prompt(1).weight == pytest.approx(0.2)


async def test_a_warning_from_the_service_reaches_the_sender(jack_server):
    async with Rig(jack_server, warnings=True) as rig:
        await until(lambda: rig.app.status().link == "connected")
        rig.send(
            bundle(
                1,
                message("/lyria/mute_bass", "T"),
                message("/lyria/mute_drums", "T"),
                message("/lyria/only_bass_and_drums", "T"),
            )
        )
        args = await rig.reply_to("/lyria/warning")
        assert args == ["every instrument is muted: the music is silent"]


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        # A ws:// engine gets no key, so the key in the environment is not to blame.
        ("bad-key", "the engine wants an API key, and none is sent to it (close 1007"),
        ("invalid", "the service refused a request as invalid (close 1007"),
        ("quota", "the API quota is exhausted (close 1011"),
    ],
)
async def test_a_fatal_or_quota_close_is_explained_to_the_sender(jack_server, fault, words):
    async with Rig(jack_server, (fault,)) as rig:
        rig.send(message("/lyria/bpm", "i", (100).to_bytes(4, "big")))  # makes us a sender
        args = await rig.reply_to("/lyria/error")
        assert words in str(args[0])
        assert words in rig.app.status().link


async def test_status_says_stopped_after_a_close_that_ends_it_for_good(jack_server):
    async with Rig(jack_server, ("bad-key",)) as rig:
        rig.send(message("/lyria/play", ""))
        await until(lambda: rig.app.status().link.startswith("stopped: "))
        rig.send(message("/lyria/status", ""))
        args = await rig.reply_to("/lyria/status")
        assert args[0].startswith("stopped: the engine wants an API key")
        assert args[1] == "stopped"  # no music will come, whatever was asked


async def test_status_says_paused_when_the_last_prompt_goes(jack_server):
    """Weight 0 on the only prompt: the service cannot play, oscserver pauses and says so."""
    async with Rig(jack_server) as rig:
        rig.send(message("/lyria/play", ""))
        await until(lambda: rig.sink.stats().playing)
        rig.send(message("/lyria/listen", ""))
        rig.send(message("/lyria/prompt/1/weight", "f", f32(0.0)))
        error = await rig.reply_to("/lyria/error")
        assert str(error[0]).startswith("pausing: no active prompt")
        args = await rig.reply_to("/lyria/status")  # pushed to the listener
        assert args[1] == "paused"
        rig.send(message("/lyria/status", ""))
        assert (await rig.reply_to("/lyria/status"))[1] == "paused"
        await until(lambda: not rig.sink.stats().playing)
        assert rig.app.status().peak == 0.0  # the meter falls with the sound, not frozen


async def test_audio_recovers_after_the_session_is_cut_mid_stream(jack_server):
    async with Rig(jack_server, ("cap:1.5",), faulty=1) as rig:
        rig.send(message("/lyria/play", ""))
        await until(lambda: rig.sink.stats().playing)
        args = await rig.reply_to("/lyria/error")
        assert "close 1011" in str(args[0]) and "reconnecting" in str(args[0])
        await until(lambda: rig.app.link.connections == 2 and rig.app.status().link == "connected")
        # Playing again without any OSC: the new session was told PLAY.
        underruns = rig.sink.stats().underruns
        received = rig.app.session.chunks_received
        await until(lambda: rig.app.session.chunks_received >= received + 2)
        await until(lambda: rig.sink.stats().playing)
        assert rig.sink.stats().peak > 0.01
        assert rig.sink.stats().underruns <= underruns + 1  # at most the gap of the reconnect


async def test_a_starved_session_is_reconnected_with_the_figures(jack_server):
    # The first session slows to 35 % of real time after 1 s: chunks still come (every 1.4 s,
    # under the stall timeout), far too slowly to play.
    async with Rig(jack_server, ("slow:1:0.35",), faulty=1) as rig:
        rig.app.options = dataclasses.replace(rig.app.options, stall_timeout=3.0)
        rig.send(message("/lyria/play", ""))
        args = await rig.reply_to("/lyria/error", 20)
        text = str(args[0])
        assert text.startswith("the service sent ") and "in the last 9 s" in text, text
        assert re.search(r"% of real time\) \(reconnecting in \d+\.\d s\)$", text), text
        await until(lambda: rig.app.link.connections == 2, 10)
        # The new session plays at real time: audio flows, and nothing more is said.
        received = rig.app.session.chunks_received
        await until(lambda: rig.app.session.chunks_received >= received + 16, 20)
        assert "/lyria/error" not in rig.client.received()
        assert rig.app.link.connections == 2


async def test_a_slow_session_is_warned_about_then_replaced(jack_server):
    # 65 % of real time: gaps, but not hopeless. A warning first; still slow a whole window
    # (7.5 s) later: a new session, which plays at real time.
    async with Rig(jack_server, ("slow:1:0.65",), faulty=1) as rig:
        rig.app.options = dataclasses.replace(rig.app.options, stall_timeout=2.5)
        rig.send(message("/lyria/play", ""))
        args = await rig.reply_to("/lyria/warning", 20)
        assert str(args[0]).endswith("% of real time): the music will have gaps"), args
        assert rig.app.link.connections == 1
        args = await rig.reply_to("/lyria/error", 20)
        assert re.search(r"% of real time\), slow for \d+ s \(reconnecting in", str(args[0]))
        await until(lambda: rig.app.link.connections == 2, 10)
        received = rig.app.session.chunks_received
        await until(lambda: rig.app.session.chunks_received >= received + 16, 20)
        assert "/lyria/warning" not in rig.client.received()  # the new session keeps up


@pytest.mark.parametrize(
    ("fault", "stall_timeout"),
    [
        # The engine's first session stops sending audio after 1 s, its connection open.
        ("stall:1", 1.5),
        # After 1 s every frame trickles in at 2000 bytes/s: a 0.5 s chunk would take a minute.
        ("drip:1", 2.5),
    ],
)
async def test_a_session_without_whole_chunks_is_reconnected(jack_server, fault, stall_timeout):
    async with Rig(jack_server, (fault,), faulty=1) as rig:
        rig.app.options = dataclasses.replace(rig.app.options, stall_timeout=stall_timeout)
        rig.send(message("/lyria/play", ""))
        args = await rig.reply_to("/lyria/error", 20)
        assert re.fullmatch(STALLED.format(stall_timeout), str(args[0])), args
        await until(lambda: rig.app.link.connections == 2, 15)
        received = rig.app.session.chunks_received
        await until(lambda: rig.app.session.chunks_received >= received + 4, 10)
        await until(lambda: rig.sink.stats().playing)
        assert "no audio from the service" in rig.app.link.last_close[1]
