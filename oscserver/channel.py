"""One session with the music service: the sans-I/O session, its WebSocket link, its throttle.

The app owns one channel, and a second one while it rotates sessions (see
:mod:`oscserver.rotation`). A channel turns state changes into frames on its own connection,
at most once per throttle window, and reports what its session says through ``on_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable

from oscserver.adapters.audio.resample import Resampler
from oscserver.adapters.lyria_ws import LyriaLink
from oscserver.core.flow import AudioWatch, FlowVerdict
from oscserver.core.heard import ChangeTracker
from oscserver.core.session import AudioReceived, Event, Phase, Session
from oscserver.core.state import MusicalState, Playback, Update

__all__ = ["Channel"]


class Channel:
    """A session, connected and throttled.

    Args:
        state: The musical state to start from (replayed after every connect).
        url: The endpoint.
        key: The API key for it, or None.
        on_events: Called with this channel and the events its session produced on its own
            (audio, throttled changes going out, notices about the connection).
        window: The throttle window, in seconds.
        auto_reset: Follow bpm/scale changes with RESET_CONTEXT at once.
    """

    def __init__(
        self,
        state: MusicalState,
        url: str,
        key: str | None,
        on_events: Callable[[Channel, list[Event]], None],
        window: float = 0.2,
        auto_reset: bool = True,
    ) -> None:
        self.session = Session(state)
        self.session.window = window
        self.session.auto_reset = auto_reset
        self._on_events = on_events
        self.link = LyriaLink(self.session, url, key, self._from_link)
        #: Watches the audio arriving against real time (stalls, a starved stream).
        self.watch = AudioWatch(0.0)
        #: Which chunk first reflects each change (it marks that chunk's AudioReceived).
        self.tracker = ChangeTracker()
        #: Sessions this channel has had ready (1, then one more for each reconnect).
        self.sessions = 0
        self._ready = False
        self._resets = 0  # the session's RESET_CONTEXT count when the last chunk arrived
        #: Resamplers for audio the service sends at another rate than 48 kHz, by rate.
        self.converters: dict[int, Resampler] = {}
        self._task: asyncio.Task[None] | None = None
        self._flush_handle: asyncio.TimerHandle | None = None

    def _from_link(self, events: list[Event]) -> None:
        now = asyncio.get_running_loop().time()
        self._track(now)
        for i, event in enumerate(events):
            if isinstance(event, AudioReceived):
                rate = event.chunk.format[0]
                self.watch.audio(now, event.chunk.frames / rate)
                made = self.tracker.chunk(now, event.chunk.source_metadata)
                if made is not None:
                    event = events[i] = dataclasses.replace(event, change_made_at=made)
                if self.session.resets != self._resets:
                    self._resets = self.session.resets
                    events[i] = dataclasses.replace(event, new_context=True)
        self._on_events(self, events)

    def _track(self, now: float) -> None:
        """Tell the tracker what the session has told the service; forget across silences."""
        session = self.session
        ready = session.phase is Phase.READY
        if ready and not self._ready:
            self.sessions += 1
        self._ready = ready
        if session.phase is not Phase.READY or session.told_playback is not Playback.PLAYING:
            self.tracker.reset()  # the first audio after a start reflects everything anyway
        told = session.told
        if told is not None:
            self.tracker.sent(now, told)

    def check_flow(self, now: float, timeout: float) -> FlowVerdict | None:
        """Is the service keeping up? Call it now and then (see :mod:`oscserver.core.flow`).

        Args:
            now: The loop time.
            timeout: Seconds without audio that make a stall; the flow is measured over three
                times this. 0 turns the watch off.

        Returns:
            None when all is well; a verdict to tell the user, and to reconnect on when
            ``verdict.reconnect`` (the watch then starts afresh for the new session).
        """
        self.watch.timeout = timeout
        session = self.session
        playing = session.phase is Phase.READY and session.told_playback is Playback.PLAYING
        self.watch.observe(now, playing)
        verdict = self.watch.check(now)
        if verdict is not None and verdict.reconnect:
            self.watch.restart(now)
        return verdict

    def start(self) -> None:
        """Connect (and keep reconnecting) in a task of the running loop."""
        self._task = asyncio.create_task(self.link.run(), name="lyria-link")

    async def close(self) -> None:
        """End the session properly (close 1000) and stop reconnecting."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        await self.link.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def state_changed(self, state: MusicalState, update: Update, now: float) -> list[Event]:
        """Hand a state change to the session; returns its immediate events for the caller."""
        events = self.session.state_changed(state, update, now)
        self._track(now)
        self._after_session()
        return events

    def _after_session(self) -> None:
        """Send what the session queued, and come back when its throttle window ends."""
        self.link.kick()
        deadline = self.session.next_deadline()
        if deadline is not None and self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_at(deadline, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        now = asyncio.get_running_loop().time()
        events = self.session.poll(now)
        self._track(now)
        if events:
            self._on_events(self, events)
        self._after_session()
