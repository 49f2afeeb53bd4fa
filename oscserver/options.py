"""What the command line chose, and which engine and key that means.

Plain data and one pure decision (:func:`resolve_engine`); the app (:mod:`oscserver.app`)
acts on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from oscserver.adapters.lyria_ws import GOOGLE_URL, MUSIC_PATH
from oscserver.adapters.osc_udp import DEFAULT_MAX_DATAGRAM, IPNetwork

__all__ = [
    "AUTO_SNAP_QUIET",
    "CLOCK_BPM",
    "Options",
    "api_key_from_env",
    "resolve_engine",
]

#: The tempo the internal clock starts at, and a new Link session's, before ``/lyria/bpm``.
CLOCK_BPM = 120.0

#: ``--snap auto`` snaps to a change made this many seconds or more after the one before: two
#: of the service's 2 s chunks, so a change every chunk (a stream of changes) does not snap.
AUTO_SNAP_QUIET = 4.0


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
        osc_multicast: IPv4 multicast groups to receive OSC on as well, each with its UDP
            port (None: ``osc_port``), joined on the interface of ``osc_host``.
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
            time also reconnects, less than 75 % is reported (and reconnects if it lasts another
            window). 0 turns the watchdog off.
        rotate_after: Seconds after a session starts to hand over to a fresh one, before the
            service's ~600 s cap (0: never).
        crossfade: Seconds of the equal-power crossfade of a rotation.
        snap: When the first audio reflecting a control change arrives, drop the older audio
            waiting before it in whole beats and crossfade into it (see ``write_fresh`` in
            :mod:`oscserver.adapters.audio.base`), so the change is heard sooner.
        snap_quiet: With ``snap``, snap only to a change made at least this many seconds after
            the one before it (0: to every change). A stream of changes (a fader moved, a
            sensor) makes every chunk new: snapping to each would hold the buffer at a beat
            and the stretch could never rebuild it, so only its first change snaps.
        analysis_rate: Reports of the music's level and bands per second, to the listeners
            of ``/lyria/listen/analysis``.
        osc_lookahead: Send the pulse's messages this many seconds before their sound is
            heard, in bundles timetagged with that moment (0: plain messages, at the sound).
        console: Serve the web console at ``/console/`` on the OSCQuery port (with OSCQuery).
        scenes: The scenes' file (JSON, or TOML for ``.toml``), read at start and written at
            every ``/lyria/scene/N/store``; None: scenes are kept until oscserver stops.
        midi_map: The MIDI mapping's file (JSON, or TOML), read at start (the default mapping
            when it does not exist) and written at every ``/lyria/learn``; None: the default
            mapping, and what is learned kept until oscserver stops.
    """

    osc_host: str = "127.0.0.1"
    osc_port: int = 9000
    osc_multicast: tuple[tuple[str, int | None], ...] = ()
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
    snap: bool = False
    snap_quiet: float = 0.0
    analysis_rate: float = 30.0
    osc_lookahead: float = 0.0
    console: bool = True
    scenes: str | None = None
    midi_map: str | None = None
