"""The running server: wires the core to its adapters and owns their lifetimes.

::

    OSC datagrams -> OscUdpEndpoint -> OscIntake -> apply_message -> Channel (Session, LyriaLink)
    LyriaLink -> Session.message_received -> events -> audio sink / Feedback (OSC) / log

OSC in (batches, timetags, refusals) is :mod:`oscserver.osc_intake`; what the senders hear
back is :mod:`oscserver.feedback`; the options are :mod:`oscserver.options`.

Everything runs on one asyncio loop; only the audio callback runs elsewhere (JACK's thread),
and it only reads the sink's preallocated ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import socket
import time
from collections.abc import Callable

from oscserver.adapters.audio.base import STREAM_RATE, AudioSink, RingSink, pcm16_to_float
from oscserver.adapters.audio.crossfade import BLOCK, Samples, skip_ahead
from oscserver.adapters.audio.midi_clock_out import MidiClockOut
from oscserver.adapters.audio.midi_in_queue import MidiInQueue
from oscserver.adapters.audio.pulse_watch import PulseWatch
from oscserver.adapters.audio.resample import Resampler
from oscserver.adapters.audio.wav_recorder import WavRecorder
from oscserver.adapters.clock.base import ClockSource, ClockUnavailable
from oscserver.adapters.console_hub import CONSOLE_HOST, ConsoleHub
from oscserver.adapters.lyria_ws import GOOGLE_URL, LyriaLink, engine_url
from oscserver.adapters.mdns import Advertisement
from oscserver.adapters.osc_udp import ERROR_ADDRESS, Addr, Batch, OscUdpEndpoint
from oscserver.adapters.oscquery_server import OscQueryServer
from oscserver.adapters.pulse_sender import PulseSender
from oscserver.adapters.ratelog import RateLimitedLog
from oscserver.adapters.scene_file import SceneFile
from oscserver.adapters.story_log import StoryLog, mark
from oscserver.channel import Channel
from oscserver.clocking import Clocking
from oscserver.core.addresses import Effect, lookup
from oscserver.core.dispatch import apply_message
from oscserver.core.errors import NotAvailable, OscInputError
from oscserver.core.glides import Glides
from oscserver.core.osc_codec import Incoming
from oscserver.core.replies import snapshot
from oscserver.core.scenes import Scene, recall
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
from oscserver.core.state import Local, MusicalState, Playback, Update
from oscserver.core.story import Entry, Story
from oscserver.engine.server import EngineServer
from oscserver.feedback import FILTERED_ADDRESS, WARNING_ADDRESS, Feedback, Status
from oscserver.midi_control import MIDI_SENDER, MidiControl
from oscserver.options import Options, api_key_from_env, resolve_engine
from oscserver.osc_intake import OscIntake
from oscserver.rotation import Rotation

__all__ = ["App", "Options", "Status", "api_key_from_env", "resolve_engine"]

log = logging.getLogger("oscserver")

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
        clock: The clock the sink locks to (``--clock``), if any; closed by :meth:`stop`.
        open_clock: Opens the clock ``/lyria/clock`` names (None for ``none``; raises
            :class:`ClockUnavailable`), for a change of clock while running; without it
            ``/lyria/clock`` is refused.
    """

    def __init__(
        self,
        options: Options,
        sink: AudioSink,
        recorder: WavRecorder | None = None,
        clock: ClockSource | None = None,
        open_clock: Callable[[str], ClockSource | None] | None = None,
    ) -> None:
        self.options = options
        self.sink = sink
        #: The rig's clock (``--clock``, ``/lyria/clock``) and the session's bpm kept in step.
        self.clocking = Clocking(clock)
        self._open_clock = open_clock
        self.recorder = recorder
        self.state = MusicalState.initial(
            [(options.prompt, 1.0)] if options.prompt else [], Local(clock=self.clocking.name)
        )
        self.channel: Channel | None = None
        self.rotation: Rotation | None = None
        self.rotations = 0
        self._settling: tuple[int, float] | None = None
        #: Frames of new sessions' head starts skipped after rotations (latency kept).
        self.skipped_frames = 0
        #: Seconds from the last control change to the arrival of the first chunk reflecting
        #: it (the service's delay), and to when that chunk is heard (0: not measured yet).
        self.change_arrived = 0.0
        self.change_heard = 0.0
        #: Changes whose change-to-heard latency was measured.
        self.changes_heard = 0
        self._last_change = -math.inf  # when the change the last fresh chunk reflects was made
        self._stream: tuple[Channel, int] | None = None  # whose audio is written: a reconnect
        self._url = ""
        self.glides = Glides()
        #: The scenes kept (``/lyria/scene/N/store``), and their file (``--scenes``), if any.
        self.scenes: dict[int, Scene] = {}
        self.scene_file = SceneFile(options.scenes) if options.scenes else None
        self._glide_handle: asyncio.TimerHandle | None = None
        # One log budget per sender for everything it gets wrong (see adapters/ratelog.py).
        budget = RateLimitedLog(log)
        self.udp = OscUdpEndpoint(self._on_batch, options.allow, options.max_datagram, budget)
        self.feedback = Feedback(
            self.udp,
            options.reply_host,
            options.reply_port,
            lambda: self.state,
            self.status,
            lambda: self.intake.senders,
        )
        self.intake = OscIntake(self._apply, self.udp.send, self.feedback.reply_address, budget)
        #: MIDI in (``--midi``): the mapping (``--midi-map``), learn, the MIDI clock fed.
        self.midi = MidiControl(
            options.midi_map, self.intake, self.feedback, lambda: self.clocking.source, self._moment
        )
        self.udp.reply_to = self.feedback.reply_address
        self.osc_address: Addr = (options.osc_host, options.osc_port)
        #: The multicast groups joined: (group, port, the interface's address).
        self.osc_groups: list[tuple[str, int, str]] = []
        self.engine_label = ""
        #: Sends the music's pulse to its listeners (None: the output has none).
        self.pulse: PulseSender | None = None
        #: Sends MIDI clock on the music's beats (None: no ``--midi-clock`` JACK port).
        self.midi_clock: MidiClockOut | None = None
        self._engine: EngineServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._key: str | None = None
        self.oscquery: OscQueryServer | None = None
        self.advertisement: Advertisement | None = None
        #: The session's story, for the web console's timeline (None: no console).
        self.story = Story()
        self.console: ConsoleHub | None = None
        #: Messages from the console's pages (counted with OSC's: they are the same messages).
        self.console_messages = 0
        self._story_log: StoryLog | None = None

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
            RuntimeError: ``--engine google`` without an API key; a scenes' file or a MIDI
                mapping that cannot be read (:class:`DataFileError`: where and why).
        """
        if self.scene_file is not None:
            self.scenes = self.scene_file.load()  # (a file that cannot be read stops the start)
            log.info("%d scene(s) from %s", len(self.scenes), self.scene_file.path)
        self.midi.load()
        self.osc_address = await self.udp.start(self.options.osc_host, self.options.osc_port)
        for group, port in self.options.osc_multicast:
            port = self.osc_address[1] if port is None else port
            self.osc_groups.append((group, port, await self.udp.join(group, port)))
        engine, key = resolve_engine(self.options.engine)
        self._story_log = StoryLog(self.story, self._told, key)
        logging.getLogger("oscserver").addHandler(self._story_log)
        self._start_pulse()
        self._start_midi()
        await self._start_oscquery()
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

    def _start_pulse(self) -> None:
        """The music's pulse to its listeners (``/lyria/listen/beat``, ``.../analysis``).

        Measured on what the output plays (the feeder's inner sink, with continuity), timed
        on its timeline; without an output that plays, the listen addresses are refused.
        """
        ring = self._output_ring()
        if ring is None:
            return
        sender = PulseSender(self.options.osc_lookahead, sock=self.udp.duplicate())
        beat_lock = getattr(self.sink, "beat_lock", None)
        queue = getattr(ring, "midi", None)  # (a JACK output with a MIDI clock port)
        self.midi_clock = MidiClockOut(ring, queue) if queue is not None else None
        ring.pulse = PulseWatch(
            sender,
            self.options.analysis_rate,
            locked_clock=beat_lock.locked_reading if beat_lock is not None else lambda: None,
            expected_bpm=lambda: self.state.config.bpm,
            midi=self.midi_clock,
        )
        sender.start()
        self.pulse, self.feedback.pulse = sender, sender

    async def _start_oscquery(self) -> None:
        if self.options.oscquery_port is None:
            return
        if self.options.console:
            self.console = ConsoleHub(
                lambda: snapshot(self.state),
                self.status,
                self.story,
                self._from_console,
                lambda sender, why: self.intake.refuse(sender, OscInputError(why)),
                self.options.allow,
                settings=self._console_settings,
                pulse=lambda: self.pulse,
            )
            self.udp.routes[CONSOLE_HOST] = self.console.reply
        server = OscQueryServer(
            lambda: self.state,
            lambda: self.osc_address,
            pulse=lambda: self.pulse,
            console=self.console,
        )
        try:
            host, port = await server.start(self.options.osc_host, self.options.oscquery_port)
        except OSError as exc:  # discovery is a convenience: the music goes on without it
            log.warning("%s; OSCQuery is off", exc)
            return
        self.oscquery = server
        log.info("OSCQuery namespace at http://%s:%d/", host, port)
        if self.console is not None:
            log.info("web console at http://%s:%d/console/", host, port)
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
        self.intake.close()
        self.feedback.close()
        for channel in (self.channel, self.rotation.incoming if self.rotation else None):
            if channel is not None:
                await channel.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.udp.close()
        self._stop_pulse()
        if self.advertisement is not None:
            await self.advertisement.close()
        if self.oscquery is not None:
            await self.oscquery.close()
        if self._story_log is not None:
            logging.getLogger("oscserver").removeHandler(self._story_log)
            self._story_log = None
        if self._engine is not None:
            await self._engine.close()
        lock_to = getattr(self.sink, "lock_to", None)
        if lock_to is not None and self.clocking.source is not None:
            lock_to(None)  # the feeder stops reading the clock before it is closed
        self.clocking.close()

    def _output_ring(self) -> RingSink | None:
        """The sink that plays (the continuity feeder's output), if it is fed by a ring."""
        ring = getattr(self.sink, "inner", self.sink)
        return ring if isinstance(ring, RingSink) else None

    def _stop_pulse(self) -> None:
        ring = self._output_ring()
        if ring is not None and ring.pulse is not None:
            watch, ring.pulse = ring.pulse, None
            watch.close()
        if self.pulse is not None:
            self.pulse.close()
            self.pulse = self.feedback.pulse = None
        if self.midi_clock is not None:
            self.midi_clock.close()
            self.midi_clock = None

    # --- OSC in (batching and timetags: oscserver/osc_intake.py) -------------------------

    def _on_batch(self, batch: Batch) -> None:
        self.intake.on_batch(batch)

    @property
    def refused(self) -> int:
        """OSC messages refused so far."""
        return self.intake.refused

    @property
    def scheduled(self) -> int:
        """Bundles waiting for their timetag."""
        return self.intake.scheduled

    def reply_address(self, sender: Addr) -> Addr:
        """Where replies to ``sender`` go: the sender, or the configured reply host/port."""
        return self.feedback.reply_address(sender)

    def _apply(self, messages: list[Incoming], sender: Addr) -> None:
        """Apply messages together: one update to the service."""
        state, update = self.state, Update()
        for message in messages:
            try:
                state, changed, partly = apply_message(state, message.address, message.args)
            except OscInputError as exc:
                self.intake.refuse(sender, exc)
                continue
            if partly is not None:  # a pattern some of whose matches refused the arguments
                self.intake.refuse(sender, partly)
            if "clock" in changed.local and state.local.clock != self.clocking.name:
                try:
                    self._switch_clock(state.local.clock)
                except NotAvailable as exc:  # the clock before is kept, and said to be
                    self.intake.refuse(sender, exc)
                    local = dataclasses.replace(state.local, clock=self.clocking.name)
                    state = dataclasses.replace(state, local=local)
                    continue
            update = update.merge(changed)
        if update.changes:
            self.state = state
            if "bpm" in update.config and state.config.bpm is not None:
                self.clocking.bpm_asked(state.config.bpm)
            now = asyncio.get_running_loop().time()
            if update.glides or update.values:  # (a sender's own value ends a glide there)
                self.glides.request(update, state, now)
                self._schedule_glides(now)
            self._state_changed(update, now, reply_to=sender)
        for query in update.queries:
            try:
                if query.effect is Effect.LEARN:
                    self.midi.learn_for(str(query.args[0]), sender)
                else:
                    self.feedback.answer(query, sender)
            except OscInputError as exc:  # (the pulse asked of an output without one)
                self.intake.refuse(sender, exc)
        for kind, number, seconds in update.scenes:
            try:
                self._scene(kind, number, seconds)
            except OscInputError as exc:
                self.intake.refuse(sender, exc)

    def _scene(self, kind: str, number: int, seconds: float) -> None:
        """Keep the state as scene ``number`` (and in the file), or go there over ``seconds``.

        Raises:
            NotAvailable: Recalling a scene never stored; storing where the file cannot be
                written (the scene is kept until oscserver stops).
        """
        if kind == "store":
            self.scenes[number] = Scene.of(self.state)
            log.info("scene %d stored", number)
            if self.scene_file is not None:
                try:
                    self.scene_file.save(self.scenes)
                except OSError as exc:
                    raise NotAvailable(
                        f"/lyria/scene/{number}/store: kept until oscserver stops, but "
                        f"{self.scene_file.path} cannot be written ({exc.strerror})"
                    ) from None
            return
        scene = self.scenes.get(number)
        if scene is None:
            raise NotAvailable(
                f"/lyria/scene/{number}/recall: scene {number} is empty (store it first with "
                f"/lyria/scene/{number}/store)"
            )
        now = asyncio.get_running_loop().time()
        self.glides.plan(*recall(self.state, scene, seconds, now))
        self._schedule_glides(now)
        log.info("recalling scene %d over %.1f s", number, seconds)

    def _state_changed(self, update: Update, now: float, reply_to: Addr | None = None) -> None:
        """Hand the new state to the session (and to the incoming one during a rotation)."""
        assert self.channel is not None
        changes = [(address, [value]) for address, value in update.values]
        self.feedback.changed(changes + ([self.status().reply()] if update.commands else []))
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
        handle = self._glide_handle
        if handle is not None and deadline is not None and deadline < handle.when():
            handle.cancel()  # (a recall's first messages come before what was waiting)
            handle = self._glide_handle = None
        if deadline is not None and handle is None:
            self._glide_handle = asyncio.get_running_loop().call_at(deadline, self._glide_step)

    def _glide_step(self) -> None:
        self._glide_handle = None
        now = asyncio.get_running_loop().time()
        self.state, update = self.glides.advance(self.state, now)
        if update:
            self._state_changed(update, now)
        self._schedule_glides(now)

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
                    continue
                stream = (self.channel, self.channel.sessions)
                if stream != self._stream:
                    if self._stream is not None and self._stream[0] is self.channel:
                        self.sink.restarted()  # a reconnect (a rotation says so when done)
                    self._stream = stream
                if event.new_context:
                    self.sink.new_context()  # the tempo and beat phase may jump here
                if event.change_made_at is not None:
                    self._write_fresh(self._settle(frames), event.change_made_at)
                else:
                    self._write(self._settle(frames))
            elif isinstance(event, PlaybackChanged):
                if event.playback is Playback.PLAYING:
                    self.clocking.playing()
                self.sink.set_playing(event.playback is Playback.PLAYING)
                self.feedback.changed([self.status().reply()])  # listeners hear it at once
            elif isinstance(event, PromptFiltered):
                slot = event.slot or 0
                log.warning(
                    "prompt %r was filtered: %s", event.text, event.reason, extra=mark("filtered")
                )
                self.feedback.tell(FILTERED_ADDRESS, [slot, event.text, event.reason], reply_to)
            elif isinstance(event, ServiceWarned):
                log.warning("the service warns: %s", event.text)
                self.feedback.tell(WARNING_ADDRESS, [event.text], reply_to)
            elif isinstance(event, Notice):
                text = redact(event.text, self._key)
                if not event.error:
                    log.info("%s", text)
                    if event.kind:
                        self._tell_story(event.kind, text)
                    continue
                log.warning("%s", text, extra=mark(event.kind or "error"))
                self.feedback.tell(ERROR_ADDRESS, [text], reply_to)

    def _frames(self, event: AudioReceived, channel: Channel) -> Samples:
        chunk = event.chunk
        rate, channels = chunk.format  # validated when the frame was decoded
        frames = pcm16_to_float(chunk.data, channels)
        if rate != STREAM_RATE:
            # Sinks take 48 kHz, Lyria's rate; docs/protocol.md says to trust the
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

    def _write_fresh(self, frames: Samples, made: float) -> None:
        """Write the first chunk that reflects a change made at ``made`` (loop time).

        With ``--snap``, the audio waiting before it is dropped in whole beats (the bpm asked
        for; 120 when the model decides, as the bridge assumes), unless the change came within
        ``snap_quiet`` seconds of the one before (a stream of changes plays through, so the
        buffer holds). Either way, the sink says when it will be heard: that is the
        change-to-heard latency.
        """
        now = asyncio.get_running_loop().time()
        self.change_arrived = now - made
        bpm = self.state.config.bpm or 120
        quiet = made - self._last_change >= self.options.snap_quiet
        self._last_change = made
        beat = 60.0 / bpm if self.options.snap and quiet else None

        def heard(at: float) -> None:  # on the loop's clock (monotonic); from one thread
            self.change_heard = at - made
            self.changes_heard += 1

        self.sink.write_fresh(frames, beat, heard)
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
                    self.feedback.tell(WARNING_ADDRESS, [verdict.text])
            self._follow_clock(loop.time())
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

    def _switch_clock(self, name: str) -> None:
        """Put the music's beats on the clock ``name`` from now on (``/lyria/clock``).

        Raises:
            NotAvailable: The clock cannot be opened here, or the output cannot lock; the
                clock before is kept.
        """
        lock_to = getattr(self.sink, "lock_to", None)
        if self._open_clock is None or lock_to is None:
            raise NotAvailable(
                f"/lyria/clock {name}: this output cannot follow a clock (start oscserver "
                "with --continuity stretch; see docs/sync.md)"
            )
        try:
            source = self._open_clock(name)
        except ClockUnavailable as exc:
            raise NotAvailable(
                f"/lyria/clock {name}: {exc}; still on {self.clocking.name}"
            ) from None
        try:
            lock_to(source)
        except ValueError as exc:
            if source is not None:
                source.close()
            raise NotAvailable(f"/lyria/clock {name}: {exc}") from None
        old, self.clocking = self.clocking, Clocking(source)
        old.close()
        if self.state.playback is Playback.PLAYING:
            self.clocking.playing()
        if name in ("internal", "jack") and self.state.config.bpm is not None:
            self.clocking.bpm_asked(self.state.config.bpm)
        if source is None:
            log.info("clock: none (the music keeps its own beats)")
        else:
            log.info("clock: the music's beats are put on the %s", self.clocking.describe())

    def _follow_clock(self, now: float) -> None:
        """Send the clock's tempo to the service when it has moved (see oscserver.clocking)."""
        bpm = self.clocking.poll(now, self.state.config.bpm)
        if bpm is None:
            return
        state, update, _ = apply_message(self.state, "/lyria/bpm", [bpm])
        if update.changes:
            log.info(
                "the %s clock is at %d bpm: asking the service for it", self.clocking.name, bpm
            )
            self.state = state
            self._state_changed(update, now)

    def _start_rotation(self) -> None:
        assert self.channel is not None
        text = (
            "rotating the session before the service's cap: a new session starts, then a "
            f"{self.options.crossfade:.1f} s crossfade"
        )
        log.info("%s", text)
        self._tell_story("rotation", text)
        self.rotation = Rotation(
            self.channel,
            self._open_channel(),
            round(self.options.crossfade * STREAM_RATE),
            round(ROTATION_LEAD * STREAM_RATE),
            self._write,
            # A sink that holds its own latency cuts the new session's head start itself, in
            # whole beats; trimming it here too would take the level below its target.
            None if self.sink.holds_latency else self._latency_frames,
        )

    def _latency_frames(self) -> int:
        return round(self.sink.buffered_seconds() * STREAM_RATE)

    def _after_rotation_audio(self) -> None:
        rotation = self.rotation
        if rotation is None or not rotation.done:
            return
        old, self.channel, self.rotation = rotation.outgoing, rotation.incoming, None
        self.rotations += 1
        # The new session came with a head start: its first chunks' pace is not the service's.
        self.sink.restarted()
        if rotation.peak is not None:
            # The new session's chunks come at their own times, each on top of what waits:
            # for a while, hold the output's level to where the old session kept it.
            self._settling = (rotation.peak, asyncio.get_running_loop().time() + SETTLE)
        log.info("session rotated: the new session plays, the old one is closed")
        self._tell_story("rotation", "session rotated: the new session plays")
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
        level = round(self.sink.buffered_seconds() * STREAM_RATE)
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
        log.warning(
            "session rotation given up (%s); the current session goes on",
            why,
            extra=mark("rotation"),
        )
        rotation.give_up()
        self._tasks.append(asyncio.create_task(rotation.incoming.close(), name="close-session"))

    # --- MIDI in (--midi: oscserver/midi_control.py) -----------------------------------------

    def _start_midi(self) -> None:
        """Read the MIDI in port's events (a JACK output with ``--midi``), if there is one."""
        queue = getattr(self._output_ring(), "midi_in", None)
        if isinstance(queue, MidiInQueue):
            self.udp.routes[MIDI_SENDER[0]] = lambda addr, address, args: None  # (logged)
            self._tasks.append(self.midi.start(queue))

    def _moment(self, frame: int) -> float:
        """When JACK frame ``frame`` was (monotonic seconds), from the callback's last cycle."""
        ring = self._output_ring()
        cycle = ring.cycle() if ring is not None else None
        if ring is None or cycle is None or not ring.sample_rate:
            return time.monotonic()
        return cycle.began + (frame - cycle.counted) / ring.sample_rate

    # --- the web console and the session's story ---------------------------------------------

    def _from_console(self, address: str, args: list[object], sender: Addr) -> None:
        """A message from a console's page: applied as the same message over UDP would be.

        Only what sets a value, plays, or keeps and recalls a scene (the page is told values
        and the status itself); refusals reach the page through the UDP endpoint's route.
        """
        self.console_messages += 1
        try:
            entry, _ = lookup(address)
            if not (entry.effect.changes_state or entry.effect is Effect.SCENE):
                raise OscInputError(
                    f"{address}: the console sets values and plays; it does not ask"
                )
        except OscInputError as exc:
            self.intake.refuse(sender, exc)
            return
        self.intake.on_datagram([Incoming(address, tuple(args))], sender)

    def _console_settings(self) -> dict[str, object]:
        """What the console shows of the settings it cannot change (the command line's)."""
        controller = getattr(self.sink, "controller", None)
        settings = getattr(controller, "settings", None)
        return {
            "target": getattr(settings, "target", None),  # the buffer's, with continuity
            "max_stretch": getattr(settings, "max_stretch", None),
            "output": self.sink.description,
            "engine": self.engine_label,
            "lookahead": self.options.osc_lookahead,
        }

    def _tell_story(self, kind: str, text: str) -> None:
        """Add to the session's story what the log tells at info level (see story_log.py)."""
        self._told(self.story.add(time.time(), kind, redact(text, self._key)))

    def _told(self, entry: Entry) -> None:
        """A new entry of the story (from any thread): the console's pages get it."""
        if self.console is not None:
            self.console.told(entry)

    # --- status ------------------------------------------------------------------------------

    def status(self) -> Status:
        """A snapshot for the status line and logs."""
        stats = self.sink.stats()
        link = self.link.status if self.link else "starting"
        # What is heard, not what was asked: paused for want of a prompt, or stopped for good
        # when the service refused to go on (a rejected key).
        playback = self.session.audible.value if self.channel else self.state.playback.value
        if link.startswith("stopped"):
            playback = Playback.STOPPED.value
        return Status(
            link=link,
            playback=playback,
            buffer_seconds=stats.buffered_seconds,
            underruns=stats.underruns,
            xruns=stats.xruns,
            peak=stats.peak,
            osc_messages=self.udp.stats.messages + self.console_messages,
            osc_refused=self.intake.refused + self.udp.stats.malformed,
            output=stats.state,
            stretch=stats.stretch_ratio,
            bridged=stats.bridged_seconds,
            heard=self.change_heard,
            tempo=stats.tempo,
            steady=stats.steady,
            clock=self.clocking.name,
            clock_tempo=self.clocking.tempo(),
            lock=stats.lock,
            lock_error=stats.lock_error,
        )
