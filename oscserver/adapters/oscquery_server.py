"""The OSCQuery server: the namespace over HTTP, value changes over a WebSocket, one port.

Vidvox's OSCQueryProposal: ``GET /path`` returns the JSON node (with everything under it),
``GET /path?ATTRIBUTE`` one attribute, ``GET /?HOST_INFO`` where and how to send OSC. A
WebSocket on the same port takes ``{"COMMAND": "LISTEN", "DATA": "/lyria/bpm"}`` and
``IGNORE`` and streams every change of the listened addresses as binary OSC messages (the
latest value per address at most every 20 ms). The addresses oscserver sends, the music's
pulse (``/lyria/beat``, ``/lyria/level``...), are streamed as they are sent to OSC listeners:
every one, at the moment its sound is heard (with ``--osc-lookahead``, earlier, in a bundle
timetagged with that moment). Setting values stays with OSC over UDP, as
HOST_INFO says. The web console is served on the same port, under ``/console/``
(:mod:`oscserver.adapters.console_hub`).

It runs on the app's event loop with the ``websockets`` library, which answers plain HTTP GETs
through ``process_request``; the JSON comes from :mod:`oscserver.core.oscquery`. Nothing here
can stop the music: a failing request is answered with an error and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from oscserver.adapters.coalesced import Coalesced
from oscserver.adapters.console_hub import ConsoleHub
from oscserver.adapters.pulse_sender import PulseSender
from oscserver.core import oscquery
from oscserver.core.addresses import OUTBOUND
from oscserver.core.osc_codec import OscArg, encode_message
from oscserver.core.replies import Coalescer
from oscserver.core.state import MusicalState

__all__ = ["OscQueryServer"]

#: The addresses oscserver sends (the music's pulse), each with its topic: LISTEN streams them
#: as they are sent to OSC listeners, not as value changes.
SENT = {a.path: str(a.target) for a in OUTBOUND}

log = logging.getLogger(__name__)

Reply = tuple[str, list[Any]]
#: Seconds between two sends of coalesced changes to WebSocket listeners.
INTERVAL = 0.02


class OscQueryServer:
    """HTTP + WebSocket OSCQuery endpoint.

    Args:
        state: Returns the current musical state (values are read at each request).
        osc_address: Returns the ``(host, port)`` OSC is received on.
        name: The ``HOST_INFO`` name.
        pulse: Returns the sender of the music's pulse (None: the output has none), for
            LISTEN to the addresses oscserver sends (``/lyria/beat``...).
        console: The web console, served under ``/console/`` (None: not served).
    """

    def __init__(
        self,
        state: Callable[[], MusicalState],
        osc_address: Callable[[], tuple[str, int]],
        name: str = "oscserver",
        pulse: Callable[[], PulseSender | None] = lambda: None,
        console: ConsoleHub | None = None,
    ) -> None:
        self.console = console
        self._state = state
        self._osc_address = osc_address
        self._pulse = pulse
        self.name = name
        self._server: Server | None = None
        self.address: tuple[str, int] = ("", 0)
        self._listeners: dict[ServerConnection, set[str]] = {}
        self._changes = Coalesced(Coalescer(INTERVAL), self._send_changes)
        self._sending: set[asyncio.Task[None]] = set()
        self.requests = 0

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; returns the bound ``(host, port)``.

        Raises:
            OSError: The port cannot be bound (the message names it).
        """
        try:
            self._server = await websockets.serve(
                self._websocket, host, port, process_request=self._http, max_size=65536
            )
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot serve OSCQuery on {host}:{port}: {exc.strerror}"
            ) from exc
        sockname = next(iter(self._server.sockets)).getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        return self.address

    async def close(self) -> None:
        """Stop serving and disconnect every WebSocket client."""
        self._changes.cancel()
        if self.console is not None:
            await self.console.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    # --- HTTP ------------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        console = self.console
        if console is not None and _is_console(request.path):
            self.requests += 1
            try:
                return console.http(connection, request, unquote(urlsplit(request.path).path))
            except Exception:  # a bug must not take the server down: answer and log it
                log.exception("console request %s failed", request.path)
                return connection.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None  # the WebSocket handshake goes on
        self.requests += 1
        try:
            status, body = self._answer(request.path)
        except Exception:  # a bug must not take the server down: answer and log it
            log.exception("OSCQuery request %s failed", request.path)
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, {"ERROR": "internal error"}
        response = connection.respond(status, json.dumps(body) if body is not None else "")
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        response.headers["Access-Control-Allow-Origin"] = "*"  # browser-based clients
        return response

    def _answer(self, target: str) -> tuple[HTTPStatus, Any]:
        """The status and JSON body for a request target (``/path?QUERY``)."""
        parts = urlsplit(target)  # the fragment is dropped, as the proposal says
        path = unquote(parts.path) or "/"
        query = parts.query
        if query == "HOST_INFO":
            host, port = self._osc_address()
            return HTTPStatus.OK, oscquery.host_info(self.name, host, port, self.address[1])
        state = self._state()
        try:
            if query:
                return HTTPStatus.OK, oscquery.attribute(state, path, query)
            return HTTPStatus.OK, oscquery.namespace(state, path)
        except oscquery.NotFound:
            return HTTPStatus.NOT_FOUND, {"ERROR": f"no OSC node at {path}"}
        except KeyError:
            return HTTPStatus.BAD_REQUEST, {"ERROR": f"unknown attribute {query}"}

    # --- WebSocket -------------------------------------------------------------------------

    async def _websocket(self, ws: ServerConnection) -> None:
        if self.console is not None and ws.request is not None and _is_console(ws.request.path):
            await self.console.page(ws)
            return
        self._listeners[ws] = set()
        try:
            async for frame in ws:
                if isinstance(frame, str):
                    self._command(ws, frame)
                # Binary frames (OSC packets) are not taken: values are set over UDP.
        except websockets.ConnectionClosed:
            pass
        finally:
            del self._listeners[ws]
            sender = self._pulse()
            if sender is not None:
                sender.unstream(ws)

    def _command(self, ws: ServerConnection, text: str) -> None:
        try:
            message = json.loads(text)
            command, path = message["COMMAND"], message["DATA"]
        except (ValueError, TypeError, KeyError):
            log.warning("OSCQuery: not a command: %.80s", text)
            return
        if command == "LISTEN" and isinstance(path, str):
            self._listeners[ws].add(path)
            if path in SENT:
                self._stream(ws, path)
        elif command == "IGNORE" and isinstance(path, str):
            self._listeners[ws].discard(path)
            sender = self._pulse()
            if path in SENT and sender is not None:
                sender.unstream(ws, path)
        else:
            log.warning("OSCQuery: unknown command %.40s", command)

    def _stream(self, ws: ServerConnection, path: str) -> None:
        """The pulse's packets of ``path`` to ``ws``, as they are sent to OSC listeners.

        The pulse's sending thread hands each to the loop, which sends them in order.
        """
        sender = self._pulse()
        if sender is None:
            log.warning("OSCQuery: LISTEN %s: this output has no pulse to send", path)
            return
        loop = asyncio.get_running_loop()

        def send(packet: bytes) -> None:
            loop.call_soon_threadsafe(self._send_now, ws, packet)

        sender.stream(SENT[path], path, ws, send)

    def _send_now(self, ws: ServerConnection, packet: bytes) -> None:
        if ws in self._listeners:  # (not closed meanwhile)
            task = asyncio.create_task(self._send([(ws, packet)]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    def changed(self, replies: list[Reply]) -> None:
        """Call with every value change (address, args); listeners get them coalesced."""
        if self.console is not None:
            self.console.changed(replies)
        if any(self._listeners.values()):
            self._changes.changed(replies)

    def _send_changes(self, replies: list[Reply]) -> None:
        pending = dict(replies)
        batch = [
            (ws, encode_message(address, [_osc(a) for a in args]))
            for ws, paths in self._listeners.items()
            for address, args in pending.items()
            if address in paths
        ]
        if batch:
            task = asyncio.create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[ServerConnection, bytes]]) -> None:
        for ws, packet in batch:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.send(packet)


def _osc(value: Any) -> OscArg:
    return (
        value
        if isinstance(value, str | bytes | bool | int | float) or value is None
        else str(value)
    )


def _is_console(target: str) -> bool:
    """Whether a request target is the console's (``/console``, ``/console/...``)."""
    path = urlsplit(target).path
    return path == "/console" or path.startswith("/console/")
