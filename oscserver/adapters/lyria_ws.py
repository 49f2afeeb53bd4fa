"""The WebSocket client: carries a :class:`~oscserver.core.session.Session` to a Lyria endpoint.

The same code talks to Google and to the embedded engine; only the URL and the key differ. It
owns no protocol logic: it opens the connection, sends what the session queues, feeds it each
decoded frame, and reconnects with backoff when the connection drops (the session replays the
state after the next setupComplete).

Secrets: the API key travels in the ``x-goog-api-key`` header, never in the URL, and every close
reason or exception text passes through :func:`~oscserver.core.secrets.redact` before anyone
sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from oscserver.core.errors import ProtocolError
from oscserver.core.lyria import decode_server
from oscserver.core.reconnect import RETRY_BACKOFF, CloseVerdict, backoff, describe_close
from oscserver.core.secrets import redact
from oscserver.core.session import Event, Notice, Phase, Session

__all__ = ["GOOGLE_URL", "MUSIC_PATH", "LyriaLink", "engine_url"]

log = logging.getLogger(__name__)

#: The service path (docs/protocol.md, "Connection").
MUSIC_PATH = "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateMusic"
GOOGLE_URL = "wss://generativelanguage.googleapis.com" + MUSIC_PATH

#: Audio chunks are ~512 KB of base64 for 2 s; allow far more than the 1 MiB default.
MAX_FRAME = 16 * 1024 * 1024
#: The SDK waits forever for setupComplete; we do not (docs/protocol.md, "Handshake").
SETUP_TIMEOUT = 10.0
#: Seconds to wait for the service's answer to our close frame when stopping.
CLOSE_TIMEOUT = 2.0


def engine_url(host: str, port: int) -> str:
    """The URL of an embedded engine listening on ``host:port``."""
    return f"ws://{host}:{port}{MUSIC_PATH}"


class LyriaLink:
    """Keeps one session connected.

    Args:
        session: The sans-I/O session; the link only calls its I/O entry points.
        url: The endpoint (``wss://`` for Google, ``ws://`` for the embedded engine).
        api_key: Sent as ``x-goog-api-key`` when set; redacted from everything reported.
        on_events: Receives the session's events (audio, playback changes, notices).

    Call :meth:`kick` after every :meth:`Session.state_changed` so queued frames go out, and run
    :meth:`run` as a task. To disconnect, await :meth:`close` (a proper close, 1000), then
    cancel the task.
    """

    def __init__(
        self,
        session: Session,
        url: str,
        api_key: str | None,
        on_events: Callable[[list[Event]], None],
    ) -> None:
        self.session = session
        self.url = url
        self._key = api_key
        self._on_events = on_events
        self._wake = asyncio.Event()
        self.status = "connecting"
        self.connections = 0
        #: The last close: its code and what it meant (None before the first close).
        self.last_close: tuple[int | None, str] | None = None
        #: The delay before the coming reconnect, in seconds.
        self.next_delay = 0.0
        #: The loop time at which the current session became ready (None while it is not).
        self.ready_at: float | None = None
        self._ws: websockets.ClientConnection | None = None
        self._restart: str | None = None
        self._closing: asyncio.Future[None] | None = None
        self._stopping = False

    def kick(self) -> None:
        """Wake the sender: the session may have frames queued."""
        self._wake.set()

    def restart(self, why: str) -> None:
        """Drop the connection and reconnect at once; ``why`` is what the user is told.

        For a session that stopped sending audio while the connection stays open (the
        service stalled): closing is the only way to get the music back.
        """
        if self._ws is not None and self._restart is None:
            self._restart = why
            self._closing = asyncio.ensure_future(self._ws.close(1000, "restart"))

    async def close(self) -> None:
        """End the session properly and stop reconnecting.

        Sends close 1000 (RFC 6455 §7.4.1: normal closure) and waits briefly for the answer;
        a task cancelled without this would close with 1011, an internal error, which is not
        what happened.
        """
        self._stopping = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1000, "oscserver stopping"), CLOSE_TIMEOUT)

    async def run(self) -> None:
        """Connect, serve, and reconnect until cancelled or told to stop by a close code."""
        schedule, delays = RETRY_BACKOFF, backoff(RETRY_BACKOFF, random.random)
        while True:
            code, reason = await self._serve_once()
            if self._stopping:
                self.status = "stopped"
                return
            worked = self.session.phase is Phase.READY
            self.ready_at = None
            self._report(self.session.connection_lost())
            verdict = describe_close(code, reason, key_sent=bool(self._key))
            if self._restart is not None:  # we closed it: say why, and come back at once
                verdict, self._restart = CloseVerdict(self._restart, True), None
            self.last_close = (code, verdict.message)
            if not verdict.retry:
                self.status = "stopped: " + verdict.message
                self._report([Notice(verdict.message, error=True)])
                return
            if worked or verdict.schedule != schedule:
                # A session that worked, or another kind of trouble, starts the backoff afresh.
                schedule, delays = verdict.schedule, backoff(verdict.schedule, random.random)
            delay = next(delays)
            self.next_delay = delay
            self.status = f"reconnecting in {delay:.1f} s: {verdict.message}"
            text = f"{verdict.message} (reconnecting in {delay:.1f} s)"
            self._report([Notice(text, error=True, kind="reconnect")])
            await asyncio.sleep(delay)

    async def _serve_once(self) -> tuple[int | None, str]:
        """One connection from open to close; returns the close code and redacted reason."""
        headers = {"x-goog-api-key": self._key} if self._key else {}
        self.status = "connecting"
        try:
            async with websockets.connect(
                self.url,
                additional_headers=headers,
                max_size=MAX_FRAME,
                open_timeout=SETUP_TIMEOUT,
                ping_interval=20,
                ping_timeout=20,
            ) as ws:
                self._ws = ws
                self.connections += 1
                self.session.connection_made()
                self.status = "handshake"
                self.kick()  # the setup frame is queued
                sender = asyncio.create_task(self._send_loop(ws))
                try:
                    await self._receive_loop(ws)
                finally:
                    sender.cancel()
                    self._ws = None
                return ws.close_code or 1006, self._redact(ws.close_reason or "")
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                return exc.rcvd.code, self._redact(exc.rcvd.reason)
            if exc.sent is not None and exc.sent.code not in (1000, 1001):
                # We closed it: e.g. 1009 for a frame over MAX_FRAME, 1002 for bad framing.
                return exc.sent.code, self._redact(exc.sent.reason)
            return 1006, ""
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            return 1006, self._redact(str(exc))

    async def _receive_loop(self, ws: websockets.ClientConnection) -> None:
        handshake = asyncio.get_running_loop().call_later(SETUP_TIMEOUT, self._setup_late, ws)
        try:
            async for frame in ws:
                try:
                    message = decode_server(frame)
                except ProtocolError as exc:
                    self._report([Notice(f"bad frame from the service: {exc}", error=True)])
                    continue
                was_ready = self.session.phase is Phase.READY
                events = self.session.message_received(message)
                if not was_ready and self.session.phase is Phase.READY:
                    handshake.cancel()
                    self.status = "connected"
                    self.ready_at = asyncio.get_running_loop().time()
                    events = [Notice("connected: the session is ready", kind="connect"), *events]
                self.kick()
                self._report(events)
        finally:
            handshake.cancel()

    def _setup_late(self, ws: websockets.ClientConnection) -> None:
        self._report([Notice("no setupComplete from the service in time", error=True)])
        self._closing = asyncio.ensure_future(ws.close(1002, "no setupComplete"))

    async def _send_loop(self, ws: websockets.ClientConnection) -> None:
        # Frames lost when the connection drops need no retry: the session replays its whole
        # state after the next setupComplete.
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._wake.wait()
                self._wake.clear()
                for message in self.session.messages_to_send():
                    await ws.send(message.to_json())

    def _report(self, events: list[Event]) -> None:
        if events:
            self._on_events(events)

    def _redact(self, text: str) -> str:
        return redact(text, self._key)
