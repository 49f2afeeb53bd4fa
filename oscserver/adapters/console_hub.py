"""The web console's server side: its page, and a WebSocket of its own for each open page.

The OSCQuery server (:mod:`oscserver.adapters.oscquery_server`) hands it ``/console/...``: the
page's files (``oscserver/web/console/``, shipped in the package: no build step, no CDN) and,
at ``/console/ws``, a WebSocket that speaks JSON, one object per frame:

- to the page: ``{"hello": {...}}`` once (the controls from the address table, every value,
  the story so far, the output's buffer target), then ``{"values": {path: value}}`` as values
  change (from any sender, at most every 20 ms per address), ``{"status": {...}}`` ten times a
  second, ``{"story": [entries]}`` as things happen, ``{"beat": [bar, beat, bpm], "at": t}``
  on every beat when the output has a pulse (``at``: when it is heard, seconds since the epoch,
  or null: now), and ``{"error": text}`` for a message of the page's that was refused;
- from the page: ``{"osc": [address, arg...]}``, applied exactly as the same OSC message over
  UDP (validated, coalesced, answered), only for addresses that set a value or play.

Values are JSON's own: numbers, true/false, strings, and null where the model decides.

Safe by default: the page and its socket are served to the addresses ``--allow`` admits (all
that can reach the port when it is empty; the port is on 127.0.0.1 unless told otherwise),
and a socket is refused to a page from another origin (another site open in the same
browser must not play). Nothing here knows the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from http import HTTPStatus
from importlib import resources
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from oscserver.adapters.coalesced import Coalesced
from oscserver.adapters.osc_udp import IPNetwork, allowed
from oscserver.adapters.pulse_sender import PulseSender
from oscserver.core.console import controls
from oscserver.core.errors import MalformedPacket
from oscserver.core.osc_codec import decode_packet
from oscserver.core.replies import Coalescer
from oscserver.core.story import Entry, Story

__all__ = ["CONSOLE_HOST", "Applier", "ConsoleHub"]

log = logging.getLogger(__name__)

#: The host part of a page's sender address (``("console", n)``): its replies go to its socket.
CONSOLE_HOST = "console"
#: Seconds between two status frames.
STATUS_EVERY = 0.1
#: Seconds between two sends of coalesced value changes.
INTERVAL = 0.02
#: The page's files: name -> content type.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

Reply = tuple[str, list[Any]]
#: Applies one OSC message from a page: ``(address, args, sender)``.
Applier = Callable[[str, list[Any], tuple[str, int]], None]


class ConsoleHub:
    """Serves the console and keeps every open page up to date.

    Args:
        values: Every value now, as ``(address, args)`` replies (:func:`replies.snapshot`).
        status: The status now (a dataclass: :class:`oscserver.feedback.Status`).
        story: The session's story.
        apply: Applies a message from a page.
        refuse: Refuses what a page sent that is no message at all: ``(sender, why)``.
        allow: Who may open the console (empty: whoever reaches the port).
        settings: What is shown with the controls (the output's buffer target and the like),
            read when a page opens.
        pulse: The music's pulse sender (None: the output has none, no beats shown).
    """

    def __init__(
        self,
        values: Callable[[], list[Reply]],
        status: Callable[[], Any],
        story: Story,
        apply: Applier,
        refuse: Callable[[tuple[str, int], str], None],
        allow: Sequence[IPNetwork] = (),
        settings: Callable[[], dict[str, Any]] = dict,
        pulse: Callable[[], PulseSender | None] = lambda: None,
    ) -> None:
        self._values = values
        self._status = status
        self.story = story
        self._apply = apply
        self._refuse = refuse
        self.allow = tuple(allow)
        self._settings = settings
        self._pulse = pulse
        self._pages: dict[ServerConnection, tuple[str, int]] = {}
        self._count = 0
        self._changes = Coalesced(Coalescer(INTERVAL), self._values_changed)
        self._status_task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- HTTP -------------------------------------------------------------------------------

    def admits(self, connection: ServerConnection) -> bool:
        """Whether the peer of ``connection`` may use the console (``--allow``)."""
        peer = connection.remote_address
        return allowed(peer[0] if peer else "", self.allow)

    def http(self, connection: ServerConnection, request: Request, path: str) -> Response | None:
        """Answer a request for ``/console...`` (``path``, decoded); None: a socket goes on."""
        if not self.admits(connection):
            return _text(connection, HTTPStatus.FORBIDDEN, "not allowed from this address")
        if path in ("/console/ws", "/console/ws/"):
            if request.headers.get("Upgrade", "").lower() != "websocket":
                return _text(connection, HTTPStatus.BAD_REQUEST, "a WebSocket, for the page")
            if not _same_origin(request.headers):
                log.warning("the console refused a socket from another site's page")
                return _text(connection, HTTPStatus.FORBIDDEN, "not from this page")
            return None
        if path == "/console":
            response = _text(connection, HTTPStatus.MOVED_PERMANENTLY, "")
            response.headers["Location"] = "/console/"
            return response
        name = path.removeprefix("/console/") or "index.html"
        if name not in FILES:
            return _text(connection, HTTPStatus.NOT_FOUND, f"no such file: {name}")
        body = resources.files("oscserver.web.console").joinpath(name).read_bytes()
        response = connection.respond(HTTPStatus.OK, "")
        response.body = body
        headers = response.headers
        for header in ("Content-Type", "Content-Length"):
            del headers[header]
        headers["Content-Type"] = FILES[name]
        headers["Content-Length"] = str(len(body))
        headers["Cache-Control"] = "no-cache"
        headers["X-Content-Type-Options"] = "nosniff"
        host = request.headers.get("Host", "")
        headers["Content-Security-Policy"] = (
            f"default-src 'self'; connect-src 'self' ws://{host}; frame-ancestors 'none'"
        )
        return response

    # --- the page's socket ------------------------------------------------------------------

    async def page(self, ws: ServerConnection) -> None:
        """Serve one open page until it closes."""
        self._loop = asyncio.get_running_loop()
        self._count += 1
        sender = (CONSOLE_HOST, self._count)
        self._pages[ws] = sender
        try:
            await ws.send(json.dumps({"hello": self._hello()}))
            self._listen_to_beats(ws)
            if self._status_task is None:
                self._status_task = asyncio.create_task(self._statuses(), name="console-status")
            async for frame in ws:
                self._received(ws, sender, frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            del self._pages[ws]
            pulse = self._pulse()
            if pulse is not None:
                pulse.unstream(ws)

    def _hello(self) -> dict[str, Any]:
        return {
            "controls": controls(),
            "values": _values(self._values()),
            "status": _status(self._status()),
            "story": [e.as_json() for e in self.story.newest_first()],
            "settings": self._settings(),
        }

    def _received(self, ws: ServerConnection, sender: tuple[str, int], frame: str | bytes) -> None:
        """One frame from a page: a message to apply (JSON, or an OSC packet as bytes)."""
        try:
            if isinstance(frame, bytes):
                messages = [(m.address, list(m.args)) for m in decode_packet(frame)]
            else:
                osc = json.loads(frame)["osc"]
                if not (isinstance(osc, list) and osc and isinstance(osc[0], str)):
                    raise ValueError
                messages = [(osc[0], osc[1:])]
        except (ValueError, TypeError, KeyError, MalformedPacket):
            self._refuse(sender, 'not a message: the console sends {"osc": [address, args...]}')
            return
        for address, args in messages:
            self._apply(address, args, sender)

    def reply(self, sender: tuple[str, int], address: str, args: list[Any]) -> None:
        """A reply to a page's message (an error names what was refused)."""
        ws = next((w for w, s in self._pages.items() if s == sender), None)
        if ws is None:
            return
        text = " ".join(str(a) for a in args)
        frame = {"error": text} if address.endswith("/error") else {"reply": [address, *args]}
        self._send([ws], frame)

    def _listen_to_beats(self, ws: ServerConnection) -> None:
        """The music's beats to the page, as they are sent to OSC listeners."""
        pulse, loop = self._pulse(), asyncio.get_running_loop()
        if pulse is None:
            return

        def beat(packet: bytes) -> None:
            with contextlib.suppress(MalformedPacket):
                for message in decode_packet(packet):
                    frame = {"beat": list(message.args), "at": message.timetag}
                    loop.call_soon_threadsafe(self._send, [ws], frame)

        pulse.stream("beat", "/lyria/beat", ws, beat)

    # --- what every page is told ------------------------------------------------------------

    def changed(self, replies: list[Reply]) -> None:
        """Values changed (from any sender): every page gets them, coalesced."""
        if self._pages:
            self._changes.changed(replies)

    def _values_changed(self, replies: list[Reply]) -> None:
        self._send(list(self._pages), {"values": _values(replies)})

    def told(self, entry: Entry) -> None:
        """A new entry of the story, from any thread: every page gets it."""
        loop = self._loop
        if loop is not None and self._pages:
            with contextlib.suppress(RuntimeError):  # (the loop closed meanwhile)
                loop.call_soon_threadsafe(self._tell, entry)

    def _tell(self, entry: Entry) -> None:
        self._send(list(self._pages), {"story": [entry.as_json()]})

    async def _statuses(self) -> None:
        try:
            while self._pages:
                self._send(list(self._pages), {"status": _status(self._status())})
                await asyncio.sleep(STATUS_EVERY)
        finally:
            self._status_task = None

    def _send(self, pages: list[ServerConnection], frame: dict[str, Any]) -> None:
        if not pages:
            return
        text = json.dumps(frame)
        task = asyncio.create_task(_send_all(pages, text))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def close(self) -> None:
        """Stop the status frames (the server closes the sockets)."""
        self._changes.cancel()
        if self._status_task is not None:
            self._status_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._status_task


async def _send_all(pages: list[ServerConnection], text: str) -> None:
    for ws in pages:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(text)


def _values(replies: Sequence[Reply] | dict[str, list[Any]]) -> dict[str, Any]:
    """``{path: value}`` (several arguments: a list) from ``(address, args)`` replies."""
    items = replies.items() if isinstance(replies, dict) else replies
    return {address: args[0] if len(args) == 1 else list(args) for address, args in items}


def _status(status: Any) -> dict[str, Any]:
    is_instance = dataclasses.is_dataclass(status) and not isinstance(status, type)
    out = dataclasses.asdict(status) if is_instance else dict(status)
    out["time"] = time.time()
    return out


def _same_origin(headers: Headers) -> bool:
    """Whether a socket comes from the console's own page (no Origin: not from a browser)."""
    origin = headers.get("Origin")
    if origin is None:
        return True
    host = headers.get("Host", "")
    return origin in (f"http://{host}", f"https://{host}")


def _text(connection: ServerConnection, status: HTTPStatus, text: str) -> Response:
    response = connection.respond(status, text)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response
