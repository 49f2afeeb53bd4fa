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
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from oscserver.adapters.audio.base import STREAM_RATE, AudioSink, pcm16_to_float
from oscserver.adapters.audio.crossfade import BLOCK, Samples, skip_ahead
from oscserver.adapters.audio.resample import Resampler
from oscserver.adapters.audio.wav_recorder import WavRecorder
from oscserver.adapters.lyria_ws import GOOGLE_URL, MUSIC_PATH, LyriaLink, engine_url
from oscserver.adapters.mdns import Advertisement
from oscserver.adapters.osc_udp import (
    DEFAULT_MAX_DATAGRAM,
    ERROR_ADDRESS,
    Addr,
    Batch,
    IPNetwork,
    OscUdpEndpoint,
)
from oscserver.adapters.oscquery_server import OscQueryServer
from oscserver.adapters.ratelog import RateLimitedLog
from oscserver.channel import Channel
from oscserver.core.addresses import TABLE, Effect, coerce_args
from oscserver.core.dispatch import apply_message
from oscserver.core.errors import OscInputError
from oscserver.core.glides import Glides
from oscserver.core.osc_codec import Incoming
from oscserver.core.replies import Mirror, answer, snapshot
from oscserver.core.secrets import redact
from oscserver.core.session import (
    AudioReceived,
    Event,
    Notice,
    Phase,
    PlaybackChanged,
    PromptFiltered,
    ServiceWarned,
    Session,
)
from oscserver.core.state import MusicalState, Playback, Query, Update
from oscserver.engine.server import EngineServer
from oscserver.rotation import Rotation

__all__ = ["App", "Options", "Status", "api_key_from_env", "resolve_engine"]

log = logging.getLogger("oscserver")

#: Where ``/lyria/status`` is answered and status changes are pushed to subscribers.
STATUS_ADDRESS = "/lyria/status"
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
        google_url: The endpoint used for ``google`` (a proxy or another region); the API key
            is sent there, in the ``x-goog-api-key`` header.
        allow: Accept OSC only from these networks (empty: from anyone who can reach the
            socket); others are dropped unanswered.
        max_datagram: Larger datagrams are refused.
        oscquery_port: TCP port of the OSCQuery server (HTTP and WebSocket) on ``osc_host``;
            None for none (the command line's default is 9001), 0 for any free port.
        advertise: Announce OSCQuery and OSC over mDNS (``_oscjson._tcp``, ``_osc._udp``).
        reply_host: Send replies, errors and notices to this host instead of the sender's.
        reply_port: Send them to this port instead of the sender's.
        stall_timeout: Seconds without audio while playing after which the session is
            reconnected (the service stalled); over three times this, less than half of real
            time also reconnects, less than 75 % is reported. 0 turns the watchdog off.
        rotate_after: Seconds after a session starts to hand over to a fresh one, before the
            service's ~600 s cap (0: never).
        crossfade: Seconds of the equal-power crossfade of a rotation.
    """

    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    engine: str = "auto"
    prompt: str = "minimal techno"
    engine_host: str = "127.0.0.1"
    engine_port: int = 0
    throttle: float = 0.2
    reset_on_demand: bool = False
    google_url: str = GOOGLE_URL
    allow: tuple[IPNetwork, ...] = ()
    max_datagram: int = DEFAULT_MAX_DATAGRAM
    reply_host: str | None = None
    reply_port: int | None = None
    oscquery_port: int | None = None
    advertise: bool = False
    stall_timeout: float = 15.0
    rotate_after: float = 540.0
    crossfade: float = 4.0


#: Addresses whose messages may be coalesced within a batch: one value, set in place.
_PLAIN = {
    path: entry
    for entry in TABLE
    if entry.effect in (Effect.CONFIG, Effect.PROMPT_TEXT, Effect.PROMPT_WEIGHT)
    for path, _ in entry.concrete_paths()
}
#: The furthest in the future a bundle may be scheduled, in seconds (a wrong clock, else).
MAX_SCHEDULE = 3600.0
#: How often the app checks whether the session is due for rotation, in seconds.
ROTATION_CHECK = 0.5
#: Seconds after a rotation during which the output's level is held (see App._settle).
SETTLE = 10.0
#: Audio the new session must have sent before the crossfade starts, in seconds.
ROTATION_LEAD = 1.0


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
        self.channel: Channel | None = None
        self.rotation: Rotation | None = None
        self.rotations = 0
        self._settling: tuple[int, float] | None = None
        #: Frames of new sessions' head starts skipped after rotations (latency kept).
        self.skipped_frames = 0
        self._url = ""
        self.glides = Glides()
        self._glide_handle: asyncio.TimerHandle | None = None
        # One log budget per sender for everything it gets wrong (see adapters/ratelog.py).
        self._refusals = RateLimitedLog(log)
        self.udp = OscUdpEndpoint(
            self._on_batch, options.allow, options.max_datagram, self._refusals
        )
        self.udp.reply_to = self.reply_address
        self.osc_address: Addr = (options.osc_host, options.osc_port)
        self.engine_label = ""
        self._engine: EngineServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._senders: collections.OrderedDict[Addr, None] = collections.OrderedDict()
        self._key: str | None = None
        self.refused = 0
        self._scheduled: set[asyncio.TimerHandle] = set()
        self.mirror = Mirror()
        self.oscquery: OscQueryServer | None = None
        self.advertisement: Advertisement | None = None
        self._mirror_handle: asyncio.TimerHandle | None = None

    @property
    def session(self) -> Session:
        """The session the music comes from (the outgoing one during a rotation)."""
        assert self.channel is not None, "start() first"
        return self.channel.session

    @property
    def link(self) -> LyriaLink | None:
        """The connection of :attr:`session` (None before :meth:`start`)."""
        return self.channel.link if self.channel else None

    async def start(self) -> None:
        """Open the OSC socket, start the engine if needed, and connect the session.

        Raises:
            OSError: The OSC port cannot be bound (the message names it).
            RuntimeError: ``--engine google`` without an API key.
        """
        self.osc_address = await self.udp.start(self.options.osc_host, self.options.osc_port)
        await self._start_oscquery()
        engine, key = resolve_engine(self.options.engine)
        if engine == "google":
            url = self.options.google_url
            self.engine_label = "Google Lyria RealTime" + (
                f" through {url}" if url != GOOGLE_URL else ""
            )
        elif engine != "embedded":
            url, self.engine_label = engine, f"the engine at {engine}"
        else:
            server = EngineServer()
            host, port = await server.start(self.options.engine_host, self.options.engine_port)
            self._engine = server
            url = engine_url(host, port)
            self.engine_label = f"embedded engine at ws://{host}:{port}"
        self._key, self._url = key, url
        self.channel = self._open_channel()
        self._tasks.append(asyncio.create_task(self._watch_sessions(), name="session-watch"))

    async def _start_oscquery(self) -> None:
        if self.options.oscquery_port is None:
            return
        server = OscQueryServer(lambda: self.state, lambda: self.osc_address)
        try:
            host, port = await server.start(self.options.osc_host, self.options.oscquery_port)
        except OSError as exc:  # discovery is a convenience: the music goes on without it
            log.warning("%s; OSCQuery is off", exc)
            return
        self.oscquery = server
        log.info("OSCQuery namespace at http://%s:%d/", host, port)
        if self.options.advertise:
            # Probing and announcing take seconds: the music does not wait for them.
            self._tasks.append(asyncio.create_task(self._advertise(host, port), name="mdns"))

    async def _advertise(self, host: str, port: int) -> None:
        name = f"oscserver on {socket.gethostname().split('.')[0]}"
        advert = Advertisement(name, host, self.osc_address[1], port)
        self.advertisement = advert
        try:
            await advert.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no multicast here: discovery off, music on
            log.warning("mDNS advertisement failed (%s); tools must be given the address", exc)
            self.advertisement = None
            with contextlib.suppress(Exception):
                await advert.close()
            return
        log.info("announced over mDNS as %r (_oscjson._tcp, _osc._udp)", name)

    def _open_channel(self) -> Channel:
        channel = Channel(
            self.state,
            self._url,
            self._key,
            self._on_channel_events,
            window=self.options.throttle,
            auto_reset=not self.options.reset_on_demand,
        )
        channel.start()
        return channel

    async def stop(self) -> None:
        """Disconnect, close the socket and stop the engine."""
        if self._glide_handle is not None:
            self._glide_handle.cancel()
        for handle in [*self._scheduled, self._mirror_handle]:
            if handle is not None:
                handle.cancel()
        for channel in (self.channel, self.rotation.incoming if self.rotation else None):
            if channel is not None:
                await channel.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.udp.close()
        if self.advertisement is not None:
            await self.advertisement.close()
        if self.oscquery is not None:
            await self.oscquery.close()
        if self._engine is not None:
            await self._engine.close()

    # --- OSC in ------------------------------------------------------------------------------

    def _on_batch(self, batch: Batch) -> None:
        """Apply the datagrams read together, in order.

        A run of plain value messages (one per datagram, no timetag, a config value, a prompt
        text or weight) is validated message by message, every refusal answered, and then
        applied as one update with the latest value per address: the state ends exactly as
        if each had been applied in turn, and the service would only have seen the latest
        anyway (the throttle). Anything else (commands, queries, bundles, patterns, glides)
        closes the run and is applied on its own, so the order of effects is kept.
        """
        run: dict[str, tuple[Incoming, Addr]] = {}
        for messages, sender in batch:
            if len(messages) == 1 and messages[0].timetag is None:
                message = messages[0]
                entry = _PLAIN.get(message.address)
                if entry is not None and len(message.args) == 1:
                    try:
                        coerce_args(entry, message.address, message.args)
                    except OscInputError as exc:
                        self._remember(sender)
                        self._refuse(sender, exc)
                        continue
                    run.pop(message.address, None)  # re-inserted last: order of change
                    run[message.address] = (message, sender)
                    continue
            if run:
                self._apply_run(run)
                run = {}
            self._on_osc(messages, sender)
        if run:
            self._apply_run(run)

    def _apply_run(self, run: dict[str, tuple[Incoming, Addr]]) -> None:
        senders = list(dict.fromkeys(sender for _, sender in run.values()))
        for sender in senders:
            self._remember(sender)
        self._apply([message for message, _ in run.values()], senders[-1])

    def _on_osc(self, messages: list[Incoming], sender: Addr) -> None:
        """Apply one datagram: its messages due now together, later ones at their time.

        OSC 1.0 bundles carry a timetag: "immediately", or a time at which their messages take
        effect; a past time means at once. Future ones are scheduled on the event loop (never
        slept on), and the messages sharing a time take effect together, as one update to the
        service.
        """
        self._remember(sender)
        now: list[Incoming] = []
        later: dict[float, list[Incoming]] = {}
        wall = time.time()
        for message in messages:
            if message.timetag is None or message.timetag <= wall:
                now.append(message)
            elif message.timetag - wall > MAX_SCHEDULE:
                self._refuse(
                    sender,
                    OscInputError(
                        f"{message.address}: timetag {message.timetag - wall:.0f} s in the future "
                        f"(at most {MAX_SCHEDULE:.0f} s; is the sender's clock right?)"
                    ),
                )
            else:
                later.setdefault(message.timetag, []).append(message)
        loop = asyncio.get_running_loop()
        for timetag, group in later.items():
            when = loop.time() + (timetag - wall)
            handle = loop.call_at(when, self._apply_scheduled, group, sender)
            self._scheduled.add(handle)
        if now:
            self._apply(now, sender)

    def _apply_scheduled(self, messages: list[Incoming], sender: Addr) -> None:
        now = asyncio.get_running_loop().time()
        self._scheduled = {h for h in self._scheduled if h.when() > now}  # those still to come
        self._apply(messages, sender)

    @property
    def scheduled(self) -> int:
        """Bundles waiting for their timetag."""
        now = asyncio.get_running_loop().time()
        return sum(1 for h in self._scheduled if not h.cancelled() and h.when() > now)

    def _apply(self, messages: list[Incoming], sender: Addr) -> None:
        """Apply messages together: one update to the service."""
        state, update = self.state, Update()
        for message in messages:
            try:
                state, changed, partly = apply_message(state, message.address, message.args)
            except OscInputError as exc:
                self._refuse(sender, exc)
                continue
            if partly is not None:  # a pattern some of whose matches refused the arguments
                self._refuse(sender, partly)
            update = update.merge(changed)
        if update.changes:
            self.state = state
            now = asyncio.get_running_loop().time()
            if update.glides:
                self.glides.request(update, state, now)
                self._schedule_glides(now)
            self._state_changed(update, now, reply_to=sender)
        for query in update.queries:
            self._answer(query, sender)

    # --- replies and subscribers -------------------------------------------------------------

    def reply_address(self, sender: Addr) -> Addr:
        """Where replies to ``sender`` go: the sender, or the configured reply host/port."""
        return (self.options.reply_host or sender[0], self.options.reply_port or sender[1])

    def _answer(self, query: Query, sender: Addr) -> None:
        target = self.reply_address(sender)
        if query.effect is Effect.GET:
            for address, args in answer(self.state, query):
                self.udp.send(target, address, args)
        elif query.effect is Effect.STATUS:
            self.udp.send(target, *self._status_reply())
        else:
            host, port = query.args
            who = (str(host) if host else sender[0], port if isinstance(port, int) else target[1])
            if query.effect is Effect.LISTEN:
                dropped = self.mirror.listen(who)
                log.info("%s:%d listens to value changes", *who)
                if dropped is not None:
                    log.warning("too many listeners: %s:%d no longer gets changes", *dropped)
                for address, args in [*snapshot(self.state), self._status_reply()]:
                    self.udp.send(who, address, args)
            elif self.mirror.ignore(who):
                log.info("%s:%d no longer listens", *who)

    def _status_reply(self) -> tuple[str, list[Any]]:
        status = self.status()
        return STATUS_ADDRESS, [
            status.link,
            status.playback,
            round(status.buffer_seconds, 3),
            status.underruns,
            status.xruns,
            status.osc_messages,
            status.osc_refused,
        ]

    def _mirror(self, replies: list[tuple[str, list[Any]]]) -> None:
        """Queue changes for subscribers and make sure they go out."""
        if not self.mirror.subscribers:
            return
        self.mirror.changed(replies)
        deadline = self.mirror.next_deadline()
        if deadline is not None and self._mirror_handle is None:
            loop = asyncio.get_running_loop()
            self._mirror_handle = loop.call_at(max(deadline, loop.time()), self._flush_mirror)

    def _flush_mirror(self) -> None:
        self._mirror_handle = None
        loop = asyncio.get_running_loop()
        replies = self.mirror.flush(loop.time())
        for addr in self.mirror.subscribers:
            for address, args in replies:
                self.udp.send(addr, address, args)
        self._mirror([])

    def _refuse(self, sender: Addr, error: OscInputError) -> None:
        self.refused += 1
        self._refusals.warning(sender[0], "from %s:%d: %s", sender[0], sender[1], error)
        self.udp.send(self.reply_address(sender), ERROR_ADDRESS, [str(error)])

    def _state_changed(self, update: Update, now: float, reply_to: Addr | None = None) -> None:
        """Hand the new state to the session (and to the incoming one during a rotation)."""
        assert self.channel is not None
        changes = [(address, [value]) for address, value in update.values]
        self._mirror(changes + ([self._status_reply()] if update.commands else []))
        if self.oscquery is not None:
            self.oscquery.changed(changes)
        self._on_events(self.channel.state_changed(self.state, update, now), reply_to=reply_to)
        if self.rotation is not None:
            if self.state.playback is not Playback.PLAYING:  # nothing to hand over in silence
                self._give_up_rotation("playback stopped")
            else:
                self.rotation.incoming.state_changed(self.state, update, now)

    def _schedule_glides(self, now: float) -> None:
        deadline = self.glides.next_deadline(now)
        if deadline is not None and self._glide_handle is None:
            self._glide_handle = asyncio.get_running_loop().call_at(deadline, self._glide_step)

    def _glide_step(self) -> None:
        self._glide_handle = None
        now = asyncio.get_running_loop().time()
        self.state, update = self.glides.advance(self.state, now)
        if update:
            self._state_changed(update, now)
        self._schedule_glides(now)

    def _remember(self, sender: Addr) -> None:
        self._senders[sender] = None
        self._senders.move_to_end(sender)
        while len(self._senders) > RECENT_SENDERS:
            self._senders.popitem(last=False)

    # --- session events ----------------------------------------------------------------------

    def _on_channel_events(self, channel: Channel, events: list[Event]) -> None:
        rotation = self.rotation
        if channel is self.channel:
            if rotation is not None and channel.session.phase is Phase.DISCONNECTED:
                # The old session ended before the fade did (e.g. the cap came early): it is
                # not reconnected, the new one takes over.
                log.info("the old session closed during the crossfade; the new one takes over")
                self._on_events([e for e in events if not isinstance(e, Notice)])
                rotation.outgoing_lost()
                self._tasks.append(asyncio.create_task(channel.close(), name="close-old-session"))
                self._after_rotation_audio()
                return
            self._on_events(events)
        elif rotation is not None and channel is rotation.incoming:
            for event in events:
                if isinstance(event, AudioReceived):
                    rotation.audio(channel, self._frames(event, channel))
                elif isinstance(event, Notice) and event.error:
                    self._give_up_rotation(redact(event.text, self._key))
                    return
            self._after_rotation_audio()
        # Anything else comes from a channel being closed: not to be heard.

    def _on_events(self, events: list[Event], reply_to: Addr | None = None) -> None:
        assert self.channel is not None
        for event in events:
            if isinstance(event, AudioReceived):
                frames = self._frames(event, self.channel)
                if self.rotation is not None:
                    self.rotation.audio(self.channel, frames)
                    self._after_rotation_audio()
                else:
                    self._write(self._settle(frames))
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
        senders = [reply_to] if reply_to is not None else list(self._senders)
        return list(dict.fromkeys(self.reply_address(s) for s in senders))

    def _frames(self, event: AudioReceived, channel: Channel) -> Samples:
        chunk = event.chunk
        rate, channels = chunk.format  # validated when the frame was decoded
        frames = pcm16_to_float(chunk.data, channels)
        if rate != STREAM_RATE:
            # Sinks take 48 kHz, Lyria's rate; the protocol reference says to trust the
            # mimeType, so another rate is converted first (one converter per rate and stream).
            if rate not in channel.converters:
                log.warning("the service sent %d Hz audio: converting it to 48000 Hz", rate)
                channel.converters[rate] = Resampler(rate, STREAM_RATE)
            frames = channel.converters[rate].process(frames)
        return frames

    def _write(self, frames: Samples) -> None:
        self.sink.write(frames)
        if self.recorder is not None:
            self.recorder.write(frames)

    # --- session rotation --------------------------------------------------------------------

    async def _watch_sessions(self) -> None:
        """Every half second: rotate a session that is due, reconnect one that stalled.

        Rotation: see :mod:`oscserver.rotation`. The watchdog (:mod:`oscserver.core.flow`): a
        session playing without audio for ``stall_timeout`` seconds, or sending less than half
        of real time over three times that, is reconnected; a slow one is reported. The senders
        are told why.
        """
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(ROTATION_CHECK)
            channel = self.channel
            timeout = self.options.stall_timeout
            verdict = channel.check_flow(loop.time(), timeout) if channel is not None else None
            if channel is not None and verdict is not None:
                if verdict.reconnect:  # the link says why, with its delay, as for any close
                    channel.link.restart(verdict.text)
                else:  # slow, not yet hopeless: a warning, as the service's own are sent
                    log.warning("%s", verdict.text)
                    for addr in self._targets(None):
                        self.udp.send(addr, WARNING_ADDRESS, [verdict.text])
            link = self.link
            if (
                self.rotation is None
                and self.options.rotate_after > 0
                and link is not None
                and link.ready_at is not None
                and loop.time() - link.ready_at >= self.options.rotate_after
                and self.state.playback is Playback.PLAYING
                and self.session.phase is Phase.READY
            ):
                self._start_rotation()

    def _start_rotation(self) -> None:
        assert self.channel is not None
        log.info(
            "rotating the session before the service's cap: a new session starts, then a "
            "%.1f s crossfade",
            self.options.crossfade,
        )
        self.rotation = Rotation(
            self.channel,
            self._open_channel(),
            round(self.options.crossfade * STREAM_RATE),
            round(ROTATION_LEAD * STREAM_RATE),
            self._write,
            lambda: round(self.sink.stats().buffered_seconds * STREAM_RATE),
        )

    def _after_rotation_audio(self) -> None:
        rotation = self.rotation
        if rotation is None or not rotation.done:
            return
        old, self.channel, self.rotation = rotation.outgoing, rotation.incoming, None
        self.rotations += 1
        if rotation.peak is not None:
            # The new session's chunks come at their own times, each on top of what waits:
            # for a while, hold the output's level to where the old session kept it.
            self._settling = (rotation.peak, asyncio.get_running_loop().time() + SETTLE)
        log.info("session rotated: the new session plays, the old one is closed")
        self._tasks.append(asyncio.create_task(old.close(), name="close-old-session"))

    def _settle(self, frames: Samples) -> Samples:
        """After a rotation, skip the new session's head start instead of adding it to latency.

        A chunk that would lift the output above the old session's level has the excess
        skipped from its start (:func:`skip_ahead`: a 10 ms splice, no step).
        """
        if self._settling is None:
            return frames
        peak, until = self._settling
        if asyncio.get_running_loop().time() > until:
            self._settling = None
            return frames
        level = round(self.sink.stats().buffered_seconds * STREAM_RATE)
        # Never below a second of margin on top of this chunk: a low peak, measured after a
        # late chunk, must not ratchet the level down rotation after rotation.
        floor = frames.shape[1] + round(ROTATION_LEAD * STREAM_RATE)
        excess = level + frames.shape[1] - max(peak, floor)
        if excess > BLOCK:
            self.skipped_frames += min(excess, frames.shape[1] - BLOCK)
            return skip_ahead(frames, min(excess, frames.shape[1] - BLOCK))
        return frames

    def _give_up_rotation(self, why: str) -> None:
        rotation, self.rotation = self.rotation, None
        if rotation is None:
            return
        log.warning("session rotation given up (%s); the current session goes on", why)
        rotation.give_up()
        self._tasks.append(asyncio.create_task(rotation.incoming.close(), name="close-session"))

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
