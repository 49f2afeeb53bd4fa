"""The running server: wires the core to its adapters and owns their lifetimes.

::

    OSC datagrams -> OscUdpEndpoint -> MusicalState.apply -> Session.state_changed -> LyriaLink
    LyriaLink -> Session.message_received -> events -> audio sink / OSC replies / log

Everything runs on one asyncio loop; only the audio callback runs elsewhere (JACK's thread),
and it only reads the sink's preallocated ring.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from oscserver.adapters.audio.base import STREAM_RATE, AudioSink, pcm16_to_float
from oscserver.adapters.audio.resample import Resampler
from oscserver.adapters.audio.wav_recorder import WavRecorder
from oscserver.adapters.lyria_ws import GOOGLE_URL, MUSIC_PATH, LyriaLink, engine_url
from oscserver.adapters.osc_udp import ERROR_ADDRESS, Addr, OscUdpEndpoint
from oscserver.core.errors import OscInputError
from oscserver.core.glides import Glides
from oscserver.core.osc_codec import Incoming
from oscserver.core.secrets import redact
from oscserver.core.session import (
    AudioReceived,
    Event,
    Notice,
    PlaybackChanged,
    PromptFiltered,
    ServiceWarned,
    Session,
)
from oscserver.core.state import MusicalState, Playback, Update
from oscserver.engine.server import EngineServer

__all__ = ["App", "Options", "Status", "api_key_from_env", "resolve_engine"]

log = logging.getLogger("oscserver")

#: Where a refused prompt is reported: ``/lyria/filtered <slot> <text> <reason>``.
FILTERED_ADDRESS = "/lyria/filtered"
#: Where the service's warnings are reported: ``/lyria/warning <text>``.
WARNING_ADDRESS = "/lyria/warning"
#: How many recent senders hear errors that no single message caused (e.g. a dropped connection).
RECENT_SENDERS = 8


def api_key_from_env() -> str | None:
    """The Gemini API key from ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``, or None."""
    return os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY") or None


def resolve_engine(choice: str) -> tuple[str, str | None]:
    """Decide which engine to use and with which key.

    Args:
        choice: ``auto``, ``google``, ``embedded``, or the ``ws://``/``wss://`` URL of a
            Lyria-compatible endpoint (e.g. ``oscserver engine`` run apart, with faults).

    Returns:
        ``("google", key)``, ``("embedded", None)`` or ``(url, None)``: the key is only ever
        sent to Google's own endpoint.

    Raises:
        RuntimeError: ``google`` was chosen and no key is set, or the choice is not valid.
    """
    key = api_key_from_env()
    if choice.startswith(("ws://", "wss://")):
        if urlsplit(choice).path in ("", "/"):  # just host and port: the service's path
            choice = choice.rstrip("/") + MUSIC_PATH
        return choice, None
    if choice == "auto":
        choice = "google" if key else "embedded"
    if choice == "google":
        if not key:
            raise RuntimeError("--engine google needs GEMINI_API_KEY or GOOGLE_API_KEY")
        return "google", key
    if choice != "embedded":
        raise RuntimeError(
            f"--engine must be auto, google, embedded or a ws:// URL, not {choice!r}"
        )
    return "embedded", None


@dataclass(frozen=True)
class Options:
    """What the command line chose.

    Attributes:
        osc_host: Address to receive OSC on (127.0.0.1 unless told otherwise).
        osc_port: UDP port to receive OSC on.
        engine: ``auto`` (Google when a key is set, else embedded), ``google``, ``embedded``,
            or the WebSocket URL of a Lyria-compatible engine.
        prompt: The text of prompt slot 1 at start ("" for none).
        engine_host: Where the embedded engine listens.
        engine_port: Its port (0: any free port).
        throttle: Prompt and config changes go to the service at most once per this many
            seconds (the latest value always goes).
        reset_on_demand: Send bpm and scale changes without the RESET_CONTEXT that applies
            them; they take effect at the user's ``/lyria/reset``.
    """

    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    engine: str = "auto"
    prompt: str = "minimal techno"
    engine_host: str = "127.0.0.1"
    engine_port: int = 0
    throttle: float = 0.2
    reset_on_demand: bool = False


class App:
    """oscserver, started and stopped.

    Args:
        options: The configuration.
        sink: The audio output, already open; its owner closes it after :meth:`stop`.
        recorder: Also receives every chunk played (``--record``), if given.
    """

    def __init__(
        self, options: Options, sink: AudioSink, recorder: WavRecorder | None = None
    ) -> None:
        self.options = options
        self.sink = sink
        self.recorder = recorder
        self.state = MusicalState.initial([(options.prompt, 1.0)] if options.prompt else [])
        self.session = Session(self.state)
        self.session.window = options.throttle
        self.session.auto_reset = not options.reset_on_demand
        self.glides = Glides()
        self._glide_handle: asyncio.TimerHandle | None = None
        self.udp = OscUdpEndpoint(self._on_osc)
        self.osc_address: Addr = (options.osc_host, options.osc_port)
        self.engine_label = ""
        self.link: LyriaLink | None = None
        self._engine: EngineServer | None = None
        self._converters: dict[int, Resampler] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._senders: collections.OrderedDict[Addr, None] = collections.OrderedDict()
        self._key: str | None = None
        self.refused = 0
        self._flush_handle: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Open the OSC socket, start the engine if needed, and connect the session.

        Raises:
            OSError: The OSC port cannot be bound (the message names it).
            RuntimeError: ``--engine google`` without an API key.
        """
        self.osc_address = await self.udp.start(self.options.osc_host, self.options.osc_port)
        engine, key = resolve_engine(self.options.engine)
        if engine == "google":
            url, self.engine_label = GOOGLE_URL, "Google Lyria RealTime"
        elif engine != "embedded":
            url, self.engine_label = engine, f"the engine at {engine}"
        else:
            server = EngineServer()
            host, port = await server.start(self.options.engine_host, self.options.engine_port)
            self._engine = server
            url = engine_url(host, port)
            self.engine_label = f"embedded engine at ws://{host}:{port}"
        self._key = key
        self.link = LyriaLink(self.session, url, key, self._on_events)
        self._tasks.append(asyncio.create_task(self.link.run(), name="lyria-link"))

    async def stop(self) -> None:
        """Disconnect, close the socket and stop the engine."""
        for handle in (self._flush_handle, self._glide_handle):
            if handle is not None:
                handle.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.udp.close()
        if self._engine is not None:
            await self._engine.close()

    # --- OSC in ------------------------------------------------------------------------------

    def _on_osc(self, messages: list[Incoming], sender: Addr) -> None:
        """Apply one datagram's messages together (a bundle is one update to the service)."""
        self._remember(sender)
        state, update = self.state, Update()
        for message in messages:
            try:
                state, changed = state.apply(message.address, message.args)
            except OscInputError as exc:
                self.refused += 1
                log.warning("from %s:%d: %s", sender[0], sender[1], exc)
                self.udp.send(sender, ERROR_ADDRESS, [str(exc)])
                continue
            update = update.merge(changed)
        if not update:
            return
        self.state = state
        now = asyncio.get_running_loop().time()
        if update.glides:
            self.glides.request(update, state, now)
            self._schedule_glides(now)
        self._on_events(self.session.state_changed(state, update, now), reply_to=sender)
        self._after_session()

    def _schedule_glides(self, now: float) -> None:
        deadline = self.glides.next_deadline(now)
        if deadline is not None and self._glide_handle is None:
            self._glide_handle = asyncio.get_running_loop().call_at(deadline, self._glide_step)

    def _glide_step(self) -> None:
        self._glide_handle = None
        now = asyncio.get_running_loop().time()
        self.state, update = self.glides.advance(self.state, now)
        if update:
            self._on_events(self.session.state_changed(self.state, update, now))
            self._after_session()
        self._schedule_glides(now)

    def _after_session(self) -> None:
        """Send what the session queued, and come back when its throttle window ends."""
        if self.link is not None:
            self.link.kick()
        deadline = self.session.next_deadline()
        if deadline is not None and self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_at(deadline, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        self._on_events(self.session.poll(asyncio.get_running_loop().time()))
        self._after_session()

    def _remember(self, sender: Addr) -> None:
        self._senders[sender] = None
        self._senders.move_to_end(sender)
        while len(self._senders) > RECENT_SENDERS:
            self._senders.popitem(last=False)

    # --- session events ----------------------------------------------------------------------

    def _on_events(self, events: list[Event], reply_to: Addr | None = None) -> None:
        for event in events:
            if isinstance(event, AudioReceived):
                self._play(event)
            elif isinstance(event, PlaybackChanged):
                self.sink.set_playing(event.playback is Playback.PLAYING)
            elif isinstance(event, PromptFiltered):
                slot = event.slot or 0
                log.warning("prompt %r was filtered: %s", event.text, event.reason)
                for addr in self._targets(reply_to):
                    self.udp.send(addr, FILTERED_ADDRESS, [slot, event.text, event.reason])
            elif isinstance(event, ServiceWarned):
                log.warning("the service warns: %s", event.text)
                for addr in self._targets(reply_to):
                    self.udp.send(addr, WARNING_ADDRESS, [event.text])
            elif isinstance(event, Notice):
                text = redact(event.text, self._key)
                if not event.error:
                    log.info("%s", text)
                    continue
                log.warning("%s", text)
                for addr in self._targets(reply_to):
                    self.udp.send(addr, ERROR_ADDRESS, [text])

    def _targets(self, reply_to: Addr | None) -> list[Addr]:
        return [reply_to] if reply_to is not None else list(self._senders)

    def _play(self, event: AudioReceived) -> None:
        chunk = event.chunk
        rate, channels = chunk.format  # validated when the frame was decoded
        frames = pcm16_to_float(chunk.data, channels)
        if rate != STREAM_RATE:
            # Sinks take 48 kHz, Lyria's rate; the protocol reference says to trust the
            # mimeType, so another rate is converted first (one converter per rate).
            if rate not in self._converters:
                log.warning("the service sent %d Hz audio: converting it to 48000 Hz", rate)
                self._converters[rate] = Resampler(rate, STREAM_RATE)
            frames = self._converters[rate].process(frames)
        self.sink.write(frames)
        if self.recorder is not None:
            self.recorder.write(frames)

    # --- status ------------------------------------------------------------------------------

    def status(self) -> Status:
        """A snapshot for the status line and logs."""
        stats = self.sink.stats()
        return Status(
            link=self.link.status if self.link else "starting",
            playback=self.state.playback.value,
            buffer_seconds=stats.buffered_seconds,
            underruns=stats.underruns,
            xruns=stats.xruns,
            peak=stats.peak,
            osc_messages=self.udp.stats.messages,
            osc_refused=self.refused + self.udp.stats.malformed,
            output=stats.state,
        )


@dataclass(frozen=True)
class Status:
    """What the server is doing, for the status line.

    Attributes:
        link: The connection to the music service (``connected``, ``reconnecting in ...``).
        playback: ``playing``, ``paused`` or ``stopped`` as the user asked.
        buffer_seconds: Audio waiting in the output buffer.
        underruns: Times the output ran dry while playing.
        xruns: JACK xruns.
        peak: Output peak over the last 100 ms (1.0 is full scale).
        osc_messages: OSC messages received.
        osc_refused: OSC messages and datagrams refused.
        output: The audio output's state (``running``, ``JACK server gone``...).
    """

    link: str
    playback: str
    buffer_seconds: float
    underruns: int
    xruns: int
    peak: float
    osc_messages: int
    osc_refused: int
    output: str = "running"

    def line(self) -> str:
        """One line, e.g. ``connected | playing | buffer 2.1 s | underruns 0 | ...``."""
        level = "-inf" if self.peak <= 1e-6 else f"{20 * math.log10(self.peak):.1f}"
        output = "" if self.output == "running" else f"audio: {self.output} | "
        return output + (
            f"{self.link} | {self.playback} | buffer {self.buffer_seconds:.1f} s | "
            f"underruns {self.underruns} | xruns {self.xruns} | peak {level} dBFS | "
            f"osc {self.osc_messages} msgs, {self.osc_refused} refused"
        )
