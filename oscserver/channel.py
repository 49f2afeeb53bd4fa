"""One session with the music service: the sans-I/O session, its WebSocket link, its throttle.

The app owns one channel, and a second one while it rotates sessions (see
:mod:`oscserver.rotation`). A channel turns state changes into frames on its own connection,
at most once per throttle window, and reports what its session says through ``on_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable

from oscserver.adapters.audio.resample import Resampler
from oscserver.adapters.lyria_ws import LyriaLink
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
        #: Loop time of the last audio chunk (None before the first).
        self.last_audio: float | None = None
        self._playing_since: float | None = None
        #: Resamplers for audio the service sends at another rate than 48 kHz, by rate.
        self.converters: dict[int, Resampler] = {}
        self._task: asyncio.Task[None] | None = None
        self._flush_handle: asyncio.TimerHandle | None = None

    def _from_link(self, events: list[Event]) -> None:
        if any(isinstance(e, AudioReceived) for e in events):
            self.last_audio = asyncio.get_running_loop().time()
        self._on_events(self, events)

    def stalled(self, now: float, timeout: float) -> bool:
        """True when the service has sent no audio for ``timeout`` seconds while playing.

        Call it now and then (it also notes when playing began). The service sends a chunk
        about every 2 s; a session that goes quiet with its connection open (protocol
        reference: it happens) only comes back by reconnecting.
        """
        session = self.session
        if session.phase is not Phase.READY or session.told_playback is not Playback.PLAYING:
            self._playing_since = None
            return False
        if self._playing_since is None:
            self._playing_since = now
        since = max(self._playing_since, self.last_audio or -math.inf)
        return now - since > timeout

    def start(self) -> None:
        """Connect (and keep reconnecting) in a task of the running loop."""
        self._task = asyncio.create_task(self.link.run(), name="lyria-link")

    async def close(self) -> None:
        """Disconnect and stop reconnecting."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def state_changed(self, state: MusicalState, update: Update, now: float) -> list[Event]:
        """Hand a state change to the session; returns its immediate events for the caller."""
        events = self.session.state_changed(state, update, now)
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
        events = self.session.poll(asyncio.get_running_loop().time())
        if events:
            self._on_events(self, events)
        self._after_session()
