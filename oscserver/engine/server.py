"""The embedded engine's WebSocket server: the Lyria RealTime protocol, served locally.

It speaks exactly the service's protocol (docs/protocol.md; docs/engine.md
for the engine): the same path (a doubled slash tolerated, as Google's SDK requests
``//ws/...``), the API key as header or query, setup then setupComplete, camelCase or snake_case
client messages, and ~2 s chunks of 48 kHz stereo s16le audio in serverContent frames, paced at
real time after a lead, with optional jitter.

Playback follows docs/protocol.md: PLAY starts (a fresh context when stopped) or resumes;
PAUSE keeps the position; STOP ends the context, keeping prompts and config; RESET_CONTEXT starts
a new context without stopping, which is when bpm and scale take effect. Prompts with a word on
the blocklist are answered with filteredPrompt and ignored. Each audio chunk carries
``sourceMetadata``: the prompts and config it was generated from, as the SDK's ``AudioChunk``
has it. A model other than ``models/lyria-realtime-exp`` is refused with close 1008. A
``warning`` frame is not in Google's SDKs (they show it as an empty message), so the engine sends
warnings only when asked to (``warnings``), to test clients that read them. Faults
(:mod:`oscserver.engine.faults`) reproduce the service's failures on demand.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

from oscserver.core.errors import ProtocolError
from oscserver.core.lyria import (
    DEFAULT_MIME,
    MODEL,
    AudioChunk,
    ClientContent,
    ClientMessage,
    FilteredPrompt,
    MusicGenerationConfig,
    PlaybackControl,
    ServerContent,
    ServiceWarning,
    Setup,
    SetupComplete,
    WeightedPrompt,
    decode_client,
)
from oscserver.engine.faults import BAD_KEY_REASON, Fault, wander_rates
from oscserver.engine.synth import SAMPLE_RATE, Context, Synth

__all__ = ["BLOCKLIST", "FILTER_REASON", "MODELS", "EngineOptions", "EngineServer"]

log = logging.getLogger(__name__)

#: The last path segment of the service endpoint (docs/protocol.md, "Connection").
SERVICE_METHOD = "GenerativeService.BidiGenerateMusic"
#: Client frames are small; refuse anything larger.
MAX_CLIENT_FRAME = 1024 * 1024
#: Words that get a prompt filtered, like the service's safety filter (documented).
BLOCKLIST = frozenset({"nsfw", "gore", "explicit", "violence", "hate"})
FILTER_REASON = "The prompt was blocked by the safety filter."
#: The models the engine serves: the service's only real-time music model.
MODELS = frozenset({MODEL, MODEL.removeprefix("models/")})
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class EngineOptions:
    """How the engine behaves.

    Attributes:
        chunk_seconds: Audio per serverContent frame (the service sends about 2 s).
        lead_seconds: How far ahead of real time chunks are sent: chunk k goes out at
            ``k * chunk_seconds - lead_seconds`` after PLAY (the first at once).
        jitter_seconds: Each chunk after the first is up to this much later (seeded).
        seed: The seed used when the client's config leaves it to the model.
        api_key: When set, only this key is accepted (else close 1007); when None, any key.
        faults: Failures to reproduce in every session.
        faulty_sessions: Apply the faults only to the first this many sessions (0: to all),
            e.g. 1 for a drop that a reconnect recovers from.
        warnings: Send ``warning`` frames for odd requests (PLAY without prompts, every
            instrument muted). Off by default: Google's SDKs have no such message.
    """

    chunk_seconds: float = 2.0
    lead_seconds: float = 1.0
    jitter_seconds: float = 0.0
    seed: int = 0
    api_key: str | None = None
    faults: tuple[Fault, ...] = field(default_factory=tuple)
    faulty_sessions: int = 0
    warnings: bool = False


def unknown_model_reason(model: str) -> str:
    """The close reason for a model the engine does not serve (the Live API's wording)."""
    return (
        f"models/{model.removeprefix('models/')[:60]} is not found for API version v1alpha, "
        "or is not supported for bidiGenerateMusic"
    )


class _Session:
    """One client session: its synth, its playback state and the pacing of its chunks."""

    def __init__(self, ws: ServerConnection, options: EngineOptions, number: int) -> None:
        self.ws = ws
        self.options = options
        limit = options.faulty_sessions
        #: The faults this session suffers (sessions are numbered from 1).
        self.faults = options.faults if not limit or number <= limit else ()
        tempo = [f.factor for f in self.faults if f.kind == "tempo"]
        self.synth = Synth(
            options.seed,
            tempo_factor=tempo[-1] if tempo else 1.0,
            phase_seed=options.seed * 7919 + number if tempo else None,
        )
        self.playing = False
        self.fresh = True  # the next PLAY starts a new context
        self.stalled = False
        self.pace = 1.0  # share of real time the audio is generated at ("slow" fault)
        self.drip = 0.0  # bytes a second each frame trickles at, 0 for whole frames ("drip")
        self._wake = asyncio.Event()
        self._jitter = random.Random(options.seed * 7919 + number)
        self.number = number

    # --- client messages ---------------------------------------------------------------------

    async def handle(self, message: ClientMessage) -> None:
        if isinstance(message, ClientContent):
            await self._prompts(message.weighted_prompts)
        elif isinstance(message, MusicGenerationConfig):
            self.synth.set_config(message)
            if message.only_bass_and_drums and message.mute_bass and message.mute_drums:
                await self._warn("every instrument is muted: the music is silent")
        elif isinstance(message, PlaybackControl):
            await self._control(message.control)
        else:
            raise ProtocolError("setup was already received")

    async def _prompts(self, prompts: tuple[WeightedPrompt, ...]) -> None:
        allowed = []
        for prompt in prompts:
            if BLOCKLIST.intersection(_WORDS.findall(prompt.text.lower())):
                await self.ws.send(FilteredPrompt(prompt.text, FILTER_REASON).to_json())
            else:
                allowed.append(prompt)
        self.synth.set_prompts(tuple(allowed))

    async def _control(self, control: str) -> None:
        if control == "PLAY":
            if not self.synth.prompts:
                await self._warn("no prompts are set: playing without guidance")
            if self.fresh:
                self.synth.reset(fade=False)  # after STOP nothing is sounding
                self.fresh = False
            self.playing = True
        elif control == "PAUSE":
            self.playing = False
        elif control == "STOP":
            self.playing = False
            self.fresh = True
        else:  # RESET_CONTEXT: a hard transition that applies bpm and scale
            self.synth.reset()
        self._wake.set()

    async def _warn(self, text: str) -> None:
        if self.options.warnings:
            await self.ws.send(ServiceWarning(text).to_json())

    def _source_metadata(self) -> dict[str, object]:
        """What the next chunk is generated from, as the SDK's ``LiveMusicSourceMetadata``."""
        prompts = [{"text": p.text, "weight": p.weight} for p in self.synth.prompts]
        return {
            "clientContent": {"weightedPrompts": prompts},
            "musicGenerationConfig": self.synth.config.to_body(),
        }

    # --- audio -------------------------------------------------------------------------------

    async def pump(self) -> None:
        """Send chunks while playing, paced at real time after the lead."""
        loop = asyncio.get_running_loop()
        opts = self.options
        frames = round(opts.chunk_seconds * SAMPLE_RATE)
        late = [f for f in self.faults if f.kind == "late"]
        while True:
            while not self.playing:
                self._wake.clear()
                await self._wake.wait()
            base = loop.time() - opts.lead_seconds  # when the chunk just sent was due
            index = 0
            while self.playing:
                if not self.stalled:
                    meta = self._source_metadata()
                    pcm = self.synth.render(frames)
                    chunk = AudioChunk(pcm, DEFAULT_MIME, meta)
                    await self._send(ServerContent((chunk,)).to_json())
                index += 1
                base += opts.chunk_seconds / self.pace
                due = base
                if opts.jitter_seconds:
                    due += self._jitter.uniform(0.0, opts.jitter_seconds)
                due += sum(f.delay for f in late if (index + 1) % f.every == 0)
                # Wait, but wake at once on PAUSE/STOP so that a later PLAY re-times the stream.
                self._wake.clear()
                while self.playing and loop.time() < due:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), due - loop.time())
                    self._wake.clear()

    async def _send(self, text: str) -> None:
        """Send one frame: whole, or under the "drip" fault as a message that trickles in.

        RFC 6455 §5.4: a message may be split into fragments; the client only has it when the
        last one has arrived.
        """
        if not self.drip:
            await self.ws.send(text)
            return
        size = max(1, round(self.drip / 20))  # twenty fragments a second

        async def fragments() -> AsyncIterator[str]:
            for start in range(0, len(text), size):
                yield text[start : start + size]
                await asyncio.sleep(size / self.drip)

        await self.ws.send(fragments())

    async def run_fault(self, fault: Fault) -> None:
        """Apply one timed fault."""
        await asyncio.sleep(fault.after)
        if fault.kind == "close":
            await self.ws.close(fault.code, fault.reason)
        elif fault.kind == "huge":
            data = "A" * (17 * 1024 * 1024)  # base64 of nothing much, over 16 MiB
            await self.ws.send(json.dumps({"serverContent": {"audioChunks": [{"data": data}]}}))
        elif fault.kind == "reset":
            self.ws.transport.abort()  # no close frame: the client sees 1006
        elif fault.kind == "stall":
            self.stalled = True
        elif fault.kind == "slow":
            self.pace = fault.factor
        elif fault.kind == "wander":
            seed = self.options.seed * 7919 + self.number
            for pace in wander_rates(seed, fault.factor, fault.low, fault.high):
                self.pace = pace
                await asyncio.sleep(fault.period)
        elif fault.kind == "drip":
            self.drip = fault.factor
        elif fault.kind == "malformed":
            await self.ws.send(_malformed(fault.frame))


def _malformed(kind: str) -> str:
    """A frame the client must refuse with a clear error, and survive."""
    if kind == "json":
        return '{"serverContent": {"audioChunks": [{"data": "AAAA'  # cut short: not JSON
    if kind == "type":
        return '{"serverSurprise": {}}'
    mime, data = ("audio/mpeg", "AAAAAAAAAAA=") if kind == "mime" else (DEFAULT_MIME, "AAAAAAAA")
    # "odd": 6 bytes of 16-bit stereo PCM is one and a half frames.
    return json.dumps({"serverContent": {"audioChunks": [{"data": data, "mimeType": mime}]}})


class EngineServer:
    """The engine, listening on a host and port.

    Args:
        options: Engine behaviour.
    """

    def __init__(self, options: EngineOptions | None = None) -> None:
        self.options = options or EngineOptions()
        self._server: Server | None = None
        self.sessions = 0
        #: Client messages received, by type (``ClientContent``...), over all sessions.
        self.received: collections.Counter[str] = collections.Counter()
        #: For every session that ended, the code of the client's close frame (None: the
        #: engine closed it, or the connection dropped).
        self.ends: list[int | None] = []
        #: The last weighted prompts any client sent.
        self.last_prompts: tuple[WeightedPrompt, ...] = ()
        #: Where every session's beats are, in order (its synth's contexts, as they grow): the
        #: truth that a beat tracker, or the lock to a clock, is measured by.
        self.contexts: list[list[Context]] = []

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen; port 0 picks a free port. Returns the bound ``(host, port)``.

        Raises:
            OSError: The address cannot be bound.
        """
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
        path = urlsplit(request.path).path
        if not path.replace("//", "/").endswith(SERVICE_METHOD):
            return connection.respond(HTTPStatus.NOT_FOUND, "unknown endpoint\n")
        return None

    def _key_ok(self, ws: ServerConnection) -> bool:
        if self.options.api_key is None:
            return True
        request = ws.request
        assert request is not None
        keys = [request.headers.get("x-goog-api-key", "")]
        keys += parse_qs(urlsplit(request.path).query).get("key", [])
        return self.options.api_key in keys

    async def _serve(self, ws: ServerConnection) -> None:
        self.sessions += 1
        session = _Session(ws, self.options, self.sessions)
        self.contexts.append(session.synth.contexts)
        tasks: list[asyncio.Task[None]] = []
        try:
            first = decode_client(await ws.recv())
            if not isinstance(first, Setup):
                await ws.close(1007, "the first message must be setup")
                return
            if not self._key_ok(ws):
                await ws.close(1007, BAD_KEY_REASON)
                return
            if first.model not in MODELS:
                await ws.close(1008, unknown_model_reason(first.model))
                return
            await ws.send(SetupComplete().to_json())
            log.info("session %d set up", session.number)
            tasks.append(asyncio.create_task(session.pump()))
            for fault in session.faults:
                if fault.kind not in ("late", "tempo"):  # per chunk; at the start
                    tasks.append(asyncio.create_task(session.run_fault(fault)))
            async for frame in ws:
                message = decode_client(frame)
                self.received[type(message).__name__] += 1
                if isinstance(message, ClientContent):
                    self.last_prompts = message.weighted_prompts
                await session.handle(message)
        except ProtocolError as exc:
            # The service answers an invalid request with close 1007 (invalid argument).
            await ws.close(1007, f"invalid request: {exc}"[:120])
        except websockets.ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()
            # Who closed, and how (RFC 6455 §7.1.5): a client that ends its session properly
            # sends a close frame first (1000); a dropped connection has none (1006).
            protocol = ws.protocol
            received, sent = protocol.close_rcvd, protocol.close_sent
            if received is not None and protocol.close_rcvd_then_sent is not False:
                ended = f"closed by the client ({received.code}"
                ended += f" {received.reason!r})" if received.reason else ")"
                self.ends.append(received.code)
            elif sent is not None:
                ended = f"closed by the engine ({sent.code})"
                self.ends.append(None)
            else:
                ended = "connection dropped (no close frame)"
                self.ends.append(None)
            log.info("session %d ended: %s", session.number, ended)
