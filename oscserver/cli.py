"""The ``oscserver`` command.

::

    oscserver [run options]          the server (what ``make run`` starts)
    oscserver engine [--port P]      the embedded Lyria-compatible engine on its own
    oscserver addresses              print the OSC address reference (docs/osc.md)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import math
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from oscserver import __version__
from oscserver.adapters.audio.outputs import OUTPUTS, OutputOptions, OutputUnavailable, open_output
from oscserver.adapters.audio.stretching import StretchingSink
from oscserver.adapters.clock.base import ClockSource, ClockUnavailable
from oscserver.adapters.clock.internal import InternalClock
from oscserver.adapters.clock.jack_transport import JackTransportClock
from oscserver.adapters.clock.link import LinkClock
from oscserver.adapters.clock.midi import MidiClockSource
from oscserver.adapters.lyria_ws import GOOGLE_URL
from oscserver.adapters.osc_udp import IPNetwork, multicast_group
from oscserver.app import App, Options, resolve_engine
from oscserver.core.addresses import CLOCKS
from oscserver.core.continuity import Settings
from oscserver.dsp.beats import available as beats_available
from oscserver.dsp.stretch import StretchUnavailable
from oscserver.dsp.stretch import available as stretch_available
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer
from oscserver.feedback import Status
from oscserver.options import AUTO_SNAP_QUIET, CLOCK_BPM

__all__ = ["main"]

log = logging.getLogger("oscserver")


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="oscserver",
        description="Play Lyria RealTime over OSC; audio out on JACK. "
        "Other commands: 'oscserver engine' (the embedded engine alone), "
        "'oscserver addresses' (the OSC reference).",
    )
    p.add_argument("--version", action="version", version=f"oscserver {__version__}")
    p.add_argument("--osc-host", default="127.0.0.1", help="address to receive OSC on")
    p.add_argument("--osc-port", type=int, default=9000, help="UDP port for OSC (default 9000)")
    p.add_argument(
        "--osc-multicast",
        action="append",
        default=[],
        metavar="GROUP[:PORT]",
        help="also take OSC sent to this IPv4 multicast group (e.g. 239.255.0.9), on --osc-port "
        "or PORT, joined on --osc-host's interface (0.0.0.0: the network's), so that one "
        "sender plays several oscservers; replies go to the sender (docs/network.md)",
    )
    p.add_argument(
        "--engine",
        default="auto",
        metavar="{auto,google,embedded,URL}",
        help="auto: Google when GEMINI_API_KEY or GOOGLE_API_KEY is set, else the embedded "
        "engine; or the ws:// URL of an engine run apart ('oscserver engine')",
    )
    p.add_argument(
        "--oscquery-port",
        type=int,
        default=9001,
        metavar="PORT",
        help="TCP port of the OSCQuery server (HTTP + WebSocket) on --osc-host (9001; 0: any)",
    )
    p.add_argument(
        "--no-oscquery", action="store_true", help="no OSCQuery server and no mDNS advertisement"
    )
    p.add_argument(
        "--no-mdns", action="store_true", help="serve OSCQuery but do not announce it over mDNS"
    )
    p.add_argument(
        "--scenes",
        default=None,
        metavar="FILE",
        help="keep the scenes (/lyria/scene/N/store) in this file, JSON or TOML (.toml), read at "
        "start and written at every store, so they survive restarts (docs/scenes.md)",
    )
    p.add_argument(
        "--no-console",
        action="store_true",
        help="no web console (http://127.0.0.1:9001/console/: every control, meters and the "
        "session's story in a browser)",
    )
    p.add_argument(
        "--allow",
        default="",
        metavar="NETWORKS",
        help="accept OSC (and open the web console) only from these addresses or networks, "
        "comma-separated (e.g. 192.168.1.0/24,10.0.0.7); others are dropped unanswered",
    )
    p.add_argument(
        "--max-datagram",
        type=int,
        default=16384,
        metavar="BYTES",
        help="refuse larger OSC datagrams (16384)",
    )
    p.add_argument(
        "--reply-host",
        default=None,
        metavar="HOST",
        help="send replies, errors and notices to this host instead of the sender's",
    )
    p.add_argument(
        "--reply-port",
        type=int,
        default=None,
        metavar="PORT",
        help="send replies, errors and notices to this port instead of the sender's",
    )
    p.add_argument(
        "--analysis-rate",
        type=float,
        default=30.0,
        metavar="HZ",
        help="/lyria/level and /lyria/bands messages per second to /lyria/listen/analysis "
        "listeners (30; 1 to 200)",
    )
    p.add_argument(
        "--midi-clock",
        action="store_true",
        help="also a JACK MIDI output port, oscserver:midi_clock, sending MIDI clock (24 ticks "
        "a beat, Start and Stop) on the music's beats, for drum machines and DAWs",
    )
    p.add_argument(
        "--midi",
        action="store_true",
        help="also a JACK MIDI input port, oscserver:midi_in: controllers and DAW automation "
        "play oscserver through --midi-map (CC 1-8: prompt weights; program changes: scenes; "
        "docs/midi.md)",
    )
    p.add_argument(
        "--midi-map",
        default=None,
        metavar="FILE",
        help="what MIDI does (controls, keys, program changes), JSON or TOML (.toml); written "
        "by /lyria/learn (without it: the default mapping, learned mappings kept until exit)",
    )
    p.add_argument(
        "--osc-lookahead",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="send the music's pulse (/lyria/beat, /lyria/level...) this many seconds before "
        "it is heard, in bundles timetagged with that moment, for receivers that schedule time "
        "tags (SuperCollider, liblo, Max with CNMAT's externals); 0, the default: plain "
        "messages as it is heard (at most 2)",
    )
    p.add_argument(
        "--google-url",
        default=GOOGLE_URL,
        metavar="URL",
        help="the Lyria RealTime endpoint for --engine google (a proxy or another region); "
        "the API key is sent there",
    )
    p.add_argument(
        "--prompt", default="minimal techno", help="text of prompt slot 1 at start ('' for none)"
    )
    p.add_argument(
        "--throttle",
        type=float,
        default=0.2,
        metavar="SECONDS",
        help="send prompt and config changes at most once per this window (0.2, as Google's "
        "apps do); the latest value always goes",
    )
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="reconnect when the service sends no audio this long while playing, or less than "
        "half of real time over three times this (15; 0: off)",
    )
    p.add_argument(
        "--rotate-after",
        type=float,
        default=540.0,
        metavar="SECONDS",
        help="hand over to a fresh session this long after one starts, before the service's "
        "~600 s cap (540; 0: never)",
    )
    p.add_argument(
        "--crossfade",
        type=float,
        default=4.0,
        metavar="SECONDS",
        help="length of the equal-power crossfade between the old and the new session (4)",
    )
    p.add_argument(
        "--reset-on-demand",
        action="store_true",
        help="send bpm and scale changes without resetting the context: they take effect at "
        "your /lyria/reset (e.g. on a downbeat)",
    )
    audio = p.add_argument_group("audio output")
    audio.add_argument(
        "--output",
        choices=OUTPUTS,
        default="auto",
        help="auto: a running JACK server, else the default sound card, else a private jackd",
    )
    audio.add_argument("--jack-name", default="oscserver", help="JACK client name (port prefix)")
    audio.add_argument(
        "--jack-server", default=None, help="JACK server name (default: $JACK_DEFAULT_SERVER)"
    )
    audio.add_argument(
        "--jack-ports",
        default="out_left,out_right",
        metavar="LEFT,RIGHT",
        help="names of the two JACK output ports",
    )
    audio.add_argument(
        "--jack-connect",
        default=None,
        metavar="PATTERN",
        help="connect the outputs to the first two input ports matching this, e.g. "
        "'system:playback_.*' (restored after a JACK restart)",
    )
    audio.add_argument(
        "--no-start-jack",
        action="store_true",
        help="fail instead of starting a private 'jackd -d dummy' when no JACK server runs",
    )
    audio.add_argument("--device", default=None, help="PortAudio device for --output sounddevice")
    audio.add_argument(
        "--preroll",
        type=float,
        default=None,
        help="seconds to wait after audio arrives before playing, and after an underrun "
        "(default: 0.5 with the embedded engine, 2.0 with Google)",
    )
    audio.add_argument(
        "--record", type=Path, default=None, metavar="FILE", help="also record the stream to a WAV"
    )
    audio.add_argument(
        "--continuity",
        choices=("stretch", "off"),
        default=None,
        help="stretch (the default where pylibrb is installed): play the stream up to "
        "--max-stretch slower or faster, pitch kept, so that the buffer holds --target-buffer "
        "whatever the service's pace, and bridge a late stream with its last bar (off: as it "
        "comes)",
    )
    audio.add_argument(
        "--target-buffer",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --continuity stretch: seconds of audio to hold at the lowest (the pre-roll)",
    )
    audio.add_argument(
        "--bridge-limit",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="with --continuity stretch: when the stream is late, loop its last bar for at most "
        "this long before falling silent (20; 0: never)",
    )
    audio.add_argument(
        "--max-stretch",
        type=float,
        default=0.06,
        metavar="FRACTION",
        help="with --continuity stretch: the most the speed may change (0.06: 6 %%)",
    )
    audio.add_argument(
        "--clock",
        choices=CLOCKS,
        default="none",
        help="put the music's beats on a clock's (docs/sync.md): internal (a steady beat at "
        "/lyria/bpm from play), link (the Ableton Link session on this network), jack (JACK "
        "transport's timebase master), midi (the MIDI clock on --midi's port); the music is "
        "stretched to the clock's tempo and nudged onto its beats, and the clock's tempo goes "
        "to the service. Needs --continuity stretch "
        "(none, the default: the music keeps its own time)",
    )
    audio.add_argument(
        "--jack-timebase",
        action="store_true",
        help="with --clock jack: be JACK transport's timebase master when nobody else is "
        "(the bars, beats and tempo other JACK apps follow: /lyria/bpm moves them all, and "
        "/lyria/play starts the transport); a master already there stays, and oscserver takes "
        "over when it leaves",
    )
    audio.add_argument(
        "--snap",
        choices=("on", "off", "auto"),
        default="auto",
        help="on: when the first audio reflecting a change arrives, drop the older audio "
        "waiting before it in whole beats (at /lyria/bpm) and crossfade into it, so changes are "
        "heard sooner (off: they are heard after everything already waiting; auto, the "
        "default: on with --continuity stretch, which rebuilds the buffer after the cut, for a "
        "change that comes 4 s or more after the one before: a stream of changes plays through)",
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return p


def _engine_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="oscserver engine",
        description="Serve the embedded Lyria RealTime-compatible engine over WebSocket.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    p.add_argument("--chunk", type=float, default=2.0, help="seconds of audio per chunk (2)")
    p.add_argument("--lead", type=float, default=1.0, help="seconds sent ahead of real time (1)")
    p.add_argument("--jitter", type=float, default=0.0, help="up to this many seconds late (0)")
    p.add_argument("--seed", type=int, default=0, help="seed when the client sets none (0)")
    p.add_argument("--key", default=None, help="accept only this API key (default: any key)")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="FAULT",
        help="a failure to reproduce, e.g. cap:600, bad-key, quota, stall:30, late:5:3, "
        "tempo:1.04, malformed:json:10 (see docs/engine.md); repeatable",
    )
    p.add_argument(
        "--faulty-sessions",
        type=int,
        default=0,
        metavar="N",
        help="apply the faults to the first N sessions only (default 0: to every session)",
    )
    p.add_argument(
        "--warnings",
        action="store_true",
        help="send warning frames for odd requests (Google's SDKs do not read them)",
    )
    p.add_argument(
        "--realistic",
        action="store_true",
        help="behave like the service: 600 s session cap (close 1011), 0.5 s of jitter, and a "
        "pace that wanders (wander:0: 0.77 to 1.03 of real time, 0.98 on average)",
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return p


def engine_options(ns: argparse.Namespace) -> EngineOptions:
    """Build the engine's options from parsed ``oscserver engine`` arguments.

    Raises:
        ValueError: A ``--fault`` value is not valid; the message shows the syntax.
    """
    faults = [parse_fault(f) for f in ns.fault]
    jitter = ns.jitter
    if ns.realistic:
        if not any(f.kind == "close" for f in faults):
            faults.append(parse_fault("cap:600"))
        if not any(f.kind in ("slow", "wander") for f in faults):
            faults.append(parse_fault("wander:0"))
        jitter = jitter or 0.5
    return EngineOptions(
        chunk_seconds=ns.chunk,
        lead_seconds=ns.lead,
        jitter_seconds=jitter,
        seed=ns.seed,
        api_key=ns.key,
        faults=tuple(faults),
        faulty_sessions=max(0, ns.faulty_sessions),
        warnings=ns.warnings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["addresses"]:
        from oscserver.core.reference import markdown

        sys.stdout.write(markdown())
        return 0
    if args[:1] == ["engine"]:
        parser = _engine_parser()
        ns = parser.parse_args(args[1:])
        try:
            options = engine_options(ns)
        except ValueError as exc:
            parser.error(str(exc))
        _setup_logging(ns.log_level, None)
        return asyncio.run(_engine_main(ns.host, ns.port, options))
    ns = _run_parser().parse_args(args[1:] if args[:1] == ["run"] else args)
    status = StatusLine(sys.stderr)
    _setup_logging(ns.log_level, status)
    try:
        return asyncio.run(_serve(ns, status))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


# --- logging and the status line ------------------------------------------------------------------


class StatusLine:
    """One live line on a terminal (rewritten in place); a log line every 30 s otherwise.

    The line is fitted to the terminal's width, read at each refresh (it never wraps, so it never
    scrolls), and rewritten with a carriage return and spaces only: no ANSI escape, which old
    Windows consoles print as text.
    """

    #: Seconds between two status lines in a log (journald, a file: no terminal).
    LOG_EVERY = 30.0

    def __init__(self, stream: TextIO, width: Callable[[], int] | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._width = width or (lambda: shutil.get_terminal_size().columns)
        self._shown = 0  # characters of the line on screen
        self._last_log = -math.inf

    def show(self, status: Status) -> None:
        """Display the current status."""
        if self.tty:
            # One column spare: some terminals wrap when the last column is written.
            text = status.line(max(20, self._width() - 1))
            self.stream.write("\r" + text.ljust(self._shown))
            self.stream.flush()
            self._shown = len(text)
        elif time.monotonic() - self._last_log >= self.LOG_EVERY:
            self._last_log = time.monotonic()
            log.info("status: %s", status.line())

    def clear(self) -> None:
        """Remove the line so a log message can be printed."""
        if self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self._shown = 0


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, status: StatusLine | None) -> None:
        super().__init__(sys.stderr)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        if self.status is not None:
            self.status.clear()
        super().emit(record)


def _setup_logging(level: str, status: StatusLine | None) -> None:
    handler = _Handler(status)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("websockets").setLevel(logging.WARNING)


# --- the server -----------------------------------------------------------------------------------


def stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM. Call on the running loop.

    ``loop.add_signal_handler`` is POSIX only (it raises NotImplementedError on Windows); there
    a plain ``signal.signal`` handler wakes the loop through ``call_soon_threadsafe``.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    return stop


def parse_allow(text: str) -> tuple[IPNetwork, ...]:
    """Read ``--allow``: comma-separated addresses or networks (``10.0.0.7``, ``fd00::/8``).

    Raises:
        RuntimeError: An item is not an address or network; the message names it.
    """
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise RuntimeError(f"--allow: {item!r} is not an IP address or network") from None
    return tuple(networks)


def parse_multicast(text: str) -> tuple[str, int | None]:
    """Read one ``--osc-multicast``: ``GROUP`` or ``GROUP:PORT`` (None: the OSC port).

    Raises:
        RuntimeError: Not an IPv4 multicast group, or not a port; the message says which.
    """
    if text.count(":") > 1:
        raise RuntimeError(
            f"--osc-multicast: {text!r} is an IPv6 group; oscserver joins IPv4 groups "
            "(224.0.0.0 to 239.255.255.255)"
        )
    group, _, port = text.strip().partition(":")
    try:
        group = multicast_group(group)
    except ValueError as exc:
        raise RuntimeError(f"--osc-multicast: {exc}") from None
    if not port:
        return group, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RuntimeError(f"--osc-multicast: {port!r} is not a UDP port (1 to 65535)")
    return group, int(port)


def open_clock(
    name: str, jack_server: str | None, jack_timebase: bool = False, midi_in: bool = False
) -> ClockSource | None:
    """The clock ``--clock`` names (None for ``none``); call with the event loop running.

    ``jack_timebase``: the JACK clock leads the transport when nobody else does. ``midi_in``:
    the output has a MIDI in port (``--midi``), which a MIDI clock needs.

    Raises:
        ClockUnavailable: Its library or its server is missing.
    """
    if name == "midi":
        if not midi_in:
            raise ClockUnavailable("a MIDI clock comes in on --midi's port: start with --midi")
        return MidiClockSource()
    if name == "internal":
        return InternalClock(CLOCK_BPM)
    if name == "link":
        return LinkClock(CLOCK_BPM)
    if name == "jack":
        bpm = CLOCK_BPM if jack_timebase else None
        return JackTransportClock(server_name=jack_server, timebase_bpm=bpm)
    return None


async def _serve(ns: argparse.Namespace, status: StatusLine) -> int:
    try:
        engine, _ = resolve_engine(ns.engine)
        ports = tuple(ns.jack_ports.split(","))
        if len(ports) != 2 or not all(ports):
            raise RuntimeError(
                f"--jack-ports needs two names separated by a comma: {ns.jack_ports}"
            )
        allow = parse_allow(ns.allow)
        groups = tuple(parse_multicast(text) for text in ns.osc_multicast)
    except RuntimeError as exc:
        log.error("%s", exc)
        return 2
    preroll = ns.preroll if ns.preroll is not None else (2.0 if engine == "google" else 0.5)
    output_options = OutputOptions(
        output=ns.output,
        jack_name=ns.jack_name,
        jack_server=ns.jack_server,
        jack_ports=(ports[0], ports[1]),
        jack_connect=ns.jack_connect,
        start_jack=not ns.no_start_jack,
        device=ns.device,
        preroll=preroll,
        record=ns.record,
        midi_clock=ns.midi_clock,
        midi_in=ns.midi,
    )
    try:
        output = open_output(output_options)
    except (OutputUnavailable, OSError) as exc:
        log.error("%s", exc)
        return 1
    for note in output.notes:
        log.info("%s", note)
    midi_in = getattr(output.sink, "midi_in", None) is not None  # (--midi, on JACK)
    continuity = ns.continuity or ("stretch" if stretch_available() else "off")
    if ns.continuity is None and continuity == "off":
        log.info("continuity: off (no pylibrb on this platform: the stream plays as it comes)")
    if ns.clock != "none" and (continuity != "stretch" or not beats_available()):
        log.error(
            "--clock %s needs --continuity stretch (pylibrb) and beat tracking (aubio)", ns.clock
        )
        output.close()
        return 2
    clock: ClockSource | None = None
    if continuity == "stretch":
        try:
            settings = Settings(target=ns.target_buffer or preroll, max_stretch=ns.max_stretch)
            output.sink = StretchingSink(
                output.sink,
                settings,
                max(0.0, ns.bridge_limit),
                track_beats=True,
            )
        except (ValueError, StretchUnavailable) as exc:
            log.error("--continuity stretch: %s", exc)
            output.close()
            return 2
        try:
            clock = open_clock(ns.clock, ns.jack_server, ns.jack_timebase, midi_in)
        except ClockUnavailable as exc:
            log.error("--clock %s: %s", ns.clock, exc)
            output.close()
            return 2
        output.sink.lock_to(clock)
        if clock is not None:
            log.info("clock: the music's beats are put on the %s", clock.describe())
        if ns.jack_timebase and ns.clock != "jack":
            log.info("--jack-timebase: oscserver leads JACK transport once the clock is jack")
        log.info(
            "continuity: the stream is stretched up to %.0f %% to hold %.1f s of audio",
            settings.max_stretch * 100,
            settings.target,
        )
    options = Options(
        osc_host=ns.osc_host,
        osc_port=ns.osc_port,
        osc_multicast=groups,
        engine=ns.engine,
        reset_on_demand=ns.reset_on_demand,
        google_url=ns.google_url,
        reply_host=ns.reply_host,
        oscquery_port=None if ns.no_oscquery else ns.oscquery_port,
        advertise=not (ns.no_oscquery or ns.no_mdns),
        console=not ns.no_console,
        scenes=ns.scenes,
        midi_map=ns.midi_map,
        allow=allow,
        max_datagram=max(64, ns.max_datagram),
        reply_port=ns.reply_port,
        rotate_after=max(0.0, ns.rotate_after),
        stall_timeout=max(0.0, ns.stall_timeout),
        crossfade=max(0.1, ns.crossfade),
        prompt=ns.prompt,
        throttle=max(0.0, ns.throttle),
        snap=ns.snap == "on" or (ns.snap == "auto" and continuity == "stretch"),
        snap_quiet=AUTO_SNAP_QUIET if ns.snap == "auto" else 0.0,
        analysis_rate=min(200.0, max(1.0, ns.analysis_rate)),
        osc_lookahead=min(2.0, max(0.0, ns.osc_lookahead)),
    )
    app = App(
        options,
        output.sink,
        output.recorder,
        clock,
        open_clock=lambda name: open_clock(name, ns.jack_server, ns.jack_timebase, midi_in),
    )
    if isinstance(output.sink, StretchingSink):  # the bridge loops a bar at the session's bpm
        output.sink.bpm = lambda: app.state.config.bpm
    try:
        await app.start()
    except (OSError, RuntimeError) as exc:
        log.error("%s", exc)
        await app.stop()
        output.close()
        return 1
    host, port = app.osc_address
    log.info(
        "listening for OSC on udp://%s:%d (try: oscsend %s %d /lyria/play)", host, port, host, port
    )
    try:
        public = not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        public = True
    for group, group_port, interface in app.osc_groups:
        where = "the network's interface" if interface == "0.0.0.0" else interface
        log.info("also OSC sent to multicast group udp://%s:%d (on %s)", group, group_port, where)
        if ipaddress.ip_address(interface).is_loopback:
            log.info(
                "the group is joined on loopback (--osc-host %s): only this machine's senders "
                "whose multicast goes out on lo are heard; --osc-host 0.0.0.0 joins the network's",
                host,
            )
    if allow:
        log.info("accepting OSC only from %s", ", ".join(str(n) for n in allow))
    elif public:
        log.warning(
            "OSC is open to every machine that can reach %s; --allow limits who may play", host
        )
    log.info("audio out: %s", output.sink.description)
    log.info("music from: %s", app.engine_label)
    stop = stop_on_signals()  # (before saying so: a Ctrl-C right after must stop cleanly)
    log.info("press Ctrl-C to stop")
    last_state = "running"
    try:
        while not stop.is_set():
            message = output.sink.check()
            if message:
                log.warning("%s", message)
            state = output.sink.stats().state
            if state != last_state:
                if state == "running":
                    log.info("audio output is back: %s", output.sink.description)
                else:
                    log.error("audio output: %s (OSC still works; waiting for it)", state)
                last_state = state
            status.show(app.status())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        status.clear()
        log.info("stopping")
        await app.stop()
        output.close()
    return 0


async def _engine_main(host: str, port: int, options: EngineOptions) -> int:
    from oscserver.adapters.lyria_ws import engine_url

    server = EngineServer(options)
    try:
        host, port = await server.start(host, port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror)
        return 1
    log.info("embedded Lyria engine at %s (Ctrl-C to stop)", engine_url(host, port))
    await stop_on_signals().wait()
    await server.close()
    return 0
