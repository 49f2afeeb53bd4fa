"""The embedded engine's WebSocket server: the Lyria RealTime protocol, served locally.

It speaks exactly the service's protocol (docs: ../shared/design/lyria-protocol.md, summarised
in docs/engine.md): the same path (a doubled slash tolerated, as Google's SDK requests
``//ws/...``), the API key as header or query (any key is accepted), setup then setupComplete,
camelCase or snake_case client messages, and ~2 s chunks of 48 kHz stereo s16le audio in
serverContent frames, paced at real time after a short lead.

Playback follows the protocol reference: PLAY starts (a fresh context when stopped) or resumes;
PAUSE keeps the position; STOP ends the context, keeping prompts and config; RESET_CONTEXT starts
a new context without stopping, which is when bpm and scale take effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from http import HTTPStatus

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from oscserver.core.errors import ProtocolError
from oscserver.core.lyria import (
    DEFAULT_MIME,
    AudioChunk,
    ClientContent,
    MusicGenerationConfig,
    PlaybackControl,
    ServerContent,
    Setup,
    SetupComplete,
    decode_client,
)
from oscserver.engine.synth import SAMPLE_RATE, Synth

__all__ = ["EngineOptions", "EngineServer"]

log = logging.getLogger(__name__)

#: The last path segment of the service endpoint (protocol reference, "Connection").
SERVICE_METHOD = "GenerativeService.BidiGenerateMusic"
#: Audio frames are large; accept client frames up to this size (they are small in practice).
MAX_CLIENT_FRAME = 1024 * 1024


@dataclass(frozen=True)
class EngineOptions:
    """How the engine behaves.

    Attributes:
        chunk_seconds: Audio per serverContent frame (the service sends about 2 s).
        lead_seconds: How far ahead of real time chunks are sent; the first chunk goes out at
            once on PLAY.
        seed: The seed used when the client's config leaves it to the model.
    """

    chunk_seconds: float = 2.0
    lead_seconds: float = 1.0
    seed: int = 0


class _Stream:
    """One client session: its synth, its playback state and the pacing of its chunks."""

    def __init__(self, ws: ServerConnection, options: EngineOptions) -> None:
        self.ws = ws
        self.options = options
        self.synth = Synth(options.seed)
        self.playing = False
        self.fresh = True  # the next PLAY starts a new context
        self._wake = asyncio.Event()

    def handle(self, message: object) -> None:
        if isinstance(message, ClientContent):
            self.synth.set_prompts(message.weighted_prompts)
        elif isinstance(message, MusicGenerationConfig):
            self.synth.set_config(message)
        elif isinstance(message, PlaybackControl):
            self._control(message.control)
        elif isinstance(message, Setup):
            raise ProtocolError("setup was already received")

    def _control(self, control: str) -> None:
        if control == "PLAY":
            if self.fresh:
                self.synth.reset()
                self.fresh = False
            self.playing = True
            self._wake.set()
        elif control == "PAUSE":
            self.playing = False
        elif control == "STOP":
            self.playing = False
            self.fresh = True
        else:  # RESET_CONTEXT: a hard transition that applies bpm and scale
            self.synth.reset()

    async def pump(self) -> None:
        """Send chunks while playing, paced at real time after the lead."""
        loop = asyncio.get_running_loop()
        frames = int(self.options.chunk_seconds * SAMPLE_RATE)
        while True:
            await self._wake.wait()
            self._wake.clear()
            started = loop.time()
            sent = 0.0  # seconds of audio sent since PLAY
            while self.playing:
                pcm = self.synth.render(frames)
                chunk = AudioChunk(pcm, DEFAULT_MIME)
                await self.ws.send(ServerContent((chunk,)).to_json())
                sent += self.options.chunk_seconds
                due = started + sent - self.options.lead_seconds
                while self.playing and loop.time() < due:
                    # Wake early on PAUSE/STOP so a later PLAY re-times the stream.
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), due - loop.time())


class EngineServer:
    """The engine, listening on a host and port.

    Args:
        options: Engine behaviour.
    """

    def __init__(self, options: EngineOptions | None = None) -> None:
        self.options = options or EngineOptions()
        self._server: Server | None = None
        self.sessions = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen; port 0 picks a free port. Returns the bound ``(host, port)``."""
        self._server = await websockets.serve(
            self._serve,
            host,
            port,
            process_request=self._check_path,
            max_size=MAX_CLIENT_FRAME,
            compression=None,
        )
        sockname = next(iter(self._server.sockets)).getsockname()
        return str(sockname[0]), int(sockname[1])

    async def close(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def close_sessions(self, code: int = 1011, reason: str = "") -> int:
        """Close every open session with a close code, as the service does.

        E.g. 1011 at the service's 600 s cap. Listening goes on. Returns how many were closed.
        """
        if self._server is None:
            return 0
        connections = list(self._server.connections)
        await asyncio.gather(*(c.close(code, reason) for c in connections))
        return len(connections)

    @staticmethod
    def _check_path(connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if not path.replace("//", "/").endswith(SERVICE_METHOD):
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown endpoint\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        self.sessions += 1
        stream = _Stream(ws, self.options)
        try:
            first = decode_client(await ws.recv())
            if not isinstance(first, Setup):
                await ws.close(1007, "the first message must be setup")
                return
            await ws.send(SetupComplete().to_json())
            pump = asyncio.create_task(stream.pump())
            try:
                async for frame in ws:
                    stream.handle(decode_client(frame))
            finally:
                pump.cancel()
        except ProtocolError as exc:
            # The service answers an invalid request with close 1007 (invalid argument).
            await ws.close(1007, f"invalid request: {exc}"[:120])
        except websockets.ConnectionClosed:
            pass
