"""Sensor values to oscserver: an installation's motion becomes the music's prompts and density.

    python patches/sensors/sensors_to_lyria.py                      # simulated sensor
    python patches/sensors/sensors_to_lyria.py --source osc         # a phone app sending OSC
    python patches/sensors/sensors_to_lyria.py --source serial --serial /dev/ttyACM0

Sources (all give an accelerometer reading x, y, z in g):

- ``simulate``: a slowly swaying, sometimes shaken sensor, so you can try it with nothing
  attached;
- ``osc``: listens on ``--listen-port`` (9100) for ``/accxyz x y z`` (TouchOSC) or
  ``/accelerometer x y z`` (most sensor apps) or ``/accel x y z``;
- ``serial``: lines of ``x,y,z`` from a microcontroller (needs ``pip install pyserial``).

A light on the beat (``--led``): oscserver tells the script every beat of the music as it is
heard (``/lyria/listen/beat``), and the script flashes a light for 0.1 s (0.25 s on the first
beat of a bar): ``--led /sys/class/leds/ACT/brightness`` (a Raspberry Pi's own LED, or any LED
the kernel drives: a GPIO pin with the ``gpio-led`` overlay), ``--led serial`` (a line
``beat <bar> <beat>`` to the microcontroller on ``--serial``, to light its own LED) or
``--led console`` (a mark in the terminal).

Mapping (edit ``map_reading``): tilting left-right crossfades prompt 1 and prompt 2 with equal
power; tilting forward-back sets brightness; shaking raises density. Every value is smoothed
(a one-pole low-pass, ``--smoothing``) so a jittery sensor does not make the music jump, and
sent at most ``--rate`` times a second, only when it moved by more than 0.01. oscserver then
throttles what reaches the service.
"""

from __future__ import annotations

import argparse
import math
import random
import socket
import threading
import time
from collections.abc import Iterator

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_server import ThreadingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

Reading = tuple[float, float, float]


class Smoother:
    """One-pole low-pass per value: ``y += alpha * (x - y)``; the first value is taken as is.

    Args:
        alpha: 0..1; smaller is smoother (and slower).
    """

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.values: dict[str, float] = {}

    def __call__(self, name: str, x: float) -> float:
        """The smoothed value of ``name`` after the new input ``x``."""
        y = self.values.get(name, x)
        y += self.alpha * (x - y)
        self.values[name] = y
        return y


def clamp(x: float, low: float, high: float) -> float:
    """``x`` limited to ``low..high``."""
    return max(low, min(high, x))


def map_reading(reading: Reading, smooth: Smoother) -> dict[str, float]:
    """One accelerometer reading (g) to oscserver values, smoothed."""
    x, y, z = reading
    tilt = clamp(smooth("tilt", x), -1.0, 1.0)  # left -1 .. right +1
    pitch = clamp(smooth("pitch", y), -1.0, 1.0)
    shake = abs(math.sqrt(x * x + y * y + z * z) - 1.0)  # what is not gravity
    energy = clamp(smooth("energy", shake * 2.0), 0.0, 1.0)
    angle = (tilt + 1.0) / 2.0 * (math.pi / 2)  # equal power, as a DJ crossfader
    return {
        "/lyria/prompt/1/weight": round(math.cos(angle), 3),
        "/lyria/prompt/2/weight": round(math.sin(angle), 3),
        "/lyria/brightness": round((pitch + 1.0) / 2.0, 3),
        "/lyria/density": round(0.2 + 0.8 * energy, 3),
    }


def simulated(seed: int = 1) -> Iterator[Reading]:
    """A sensor swaying slowly, shaken now and then, with jitter."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    while True:
        t = time.monotonic() - t0
        shaken = 0.6 if math.sin(t * 0.7) > 0.8 else 0.0
        yield (
            math.sin(t * 0.4) + rng.gauss(0, 0.05),
            0.5 * math.sin(t * 0.23) + rng.gauss(0, 0.05),
            1.0 + shaken * math.sin(t * 40) + rng.gauss(0, 0.02),
        )


def from_osc(port: int) -> Iterator[Reading]:
    """Readings sent to this machine over OSC by a phone app or another program."""
    latest: list[Reading] = [(0.0, 0.0, 1.0)]

    def on_accel(address: str, *args: float) -> None:
        if len(args) >= 3:
            latest[0] = (float(args[0]), float(args[1]), float(args[2]))

    dispatcher = Dispatcher()
    for address in ("/accxyz", "/accelerometer", "/accel"):
        dispatcher.map(address, on_accel)
    server = ThreadingOSCUDPServer(("0.0.0.0", port), dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening for /accxyz, /accelerometer or /accel x y z on UDP port {port}")
    while True:
        yield latest[0]


def from_serial(device: str, baud: int) -> Iterator[Reading]:
    """Lines of ``x,y,z`` from a serial port."""
    try:
        import serial  # type: ignore[import-not-found]
    except ImportError:
        raise SystemExit("--source serial needs pyserial: pip install pyserial") from None
    port = serial.Serial(device, baud, timeout=1)
    latest: Reading = (0.0, 0.0, 1.0)
    while True:
        line = port.readline().decode(errors="replace").strip()
        try:
            x, y, z = (float(v) for v in line.split(",")[:3])
            latest = (x, y, z)
        except ValueError:
            pass  # a partial line at start-up, or noise: keep the last good reading
        yield latest


class BeatLight:
    """Flashes a light on every beat oscserver sends (``/lyria/listen/beat``).

    A socket of its own asks oscserver for the beats (they come back to it) and a thread turns
    each into a flash: ``on(bar, beat)`` at once, ``off()`` 0.1 s later (0.25 s on a bar's
    first beat). Subclasses say what a light is.

    Args:
        target: oscserver's ``(host, port)``.
    """

    FLASH = 0.1
    DOWNBEAT = 0.25

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flashes = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.settimeout(0.05)
        self._sock.sendto(OscMessageBuilder("/lyria/listen/beat").build().dgram, target)
        self._off_at: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def on(self, bar: int, beat: int) -> None:
        """Light up (a beat: the bar and the beat in it, from 1)."""

    def off(self) -> None:
        """Go dark."""

    def close(self) -> None:
        """Stop asking for the beats, and go dark."""
        self._stop = True
        self._thread.join(1.0)
        self._sock.sendto(OscMessageBuilder("/lyria/ignore/beat").build().dgram, self.target)
        self._sock.close()
        self.off()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                data = b""
            if self._off_at is not None and time.monotonic() >= self._off_at:
                self._off_at = None
                self.off()
            if not data or not OscMessage.dgram_is_message(data):
                continue
            message = OscMessage(data)
            if message.address == "/lyria/beat" and len(message.params) >= 2:
                bar, beat = int(message.params[0]), int(message.params[1])
                self.on(bar, beat)
                self.flashes += 1
                hold = self.DOWNBEAT if beat == 1 else self.FLASH
                self._off_at = time.monotonic() + hold


class FileLight(BeatLight):
    """A light the kernel drives, through its brightness file (``/sys/class/leds/*/``)."""

    def __init__(self, target: tuple[str, int], path: str) -> None:
        self.path = path
        super().__init__(target)

    def _write(self, value: str) -> None:
        try:
            with open(self.path, "w") as f:
                f.write(value)
        except OSError as exc:  # (no rights: run as root, or add yourself to its group)
            print(f"cannot light {self.path}: {exc}")

    def on(self, bar: int, beat: int) -> None:
        """Light up."""
        self._write("1")

    def off(self) -> None:
        """Go dark."""
        self._write("0")


class SerialLight(BeatLight):
    """Tells a microcontroller on a serial port each beat (``beat <bar> <beat>`` lines)."""

    def __init__(self, target: tuple[str, int], device: str, baud: int) -> None:
        try:
            import serial  # type: ignore[import-not-found]
        except ImportError:
            raise SystemExit("--led serial needs pyserial: pip install pyserial") from None
        self._port = serial.Serial(device, baud, timeout=1)
        super().__init__(target)

    def on(self, bar: int, beat: int) -> None:
        """Say the beat: the microcontroller lights its LED."""
        self._port.write(f"beat {bar} {beat}\n".encode())


class ConsoleLight(BeatLight):
    """A mark in the terminal on every beat, a bar number on the first."""

    def on(self, bar: int, beat: int) -> None:
        """Mark the beat."""
        print(f"\n{bar:4d} *" if beat == 1 else " *", end="", flush=True)


def run(
    source: Iterator[Reading],
    target: tuple[str, int],
    rate: float,
    alpha: float,
    seconds: float | None,
) -> int:
    """Send mapped readings until ``seconds`` have passed (forever if None).

    Returns:
        How many messages were sent.
    """
    client = SimpleUDPClient(*target)
    smooth = Smoother(alpha)
    sent: dict[str, float] = {}
    count = 0
    period = 1.0 / rate
    start = time.monotonic()
    next_tick = start
    for reading in source:
        for address, value in map_reading(reading, smooth).items():
            if abs(sent.get(address, math.inf) - value) > 0.01:
                client.send_message(address, value)
                sent[address] = value
                count += 1
        if seconds is not None and time.monotonic() - start >= seconds:
            break
        next_tick += period
        time.sleep(max(0.0, next_tick - time.monotonic()))
    return count


def main() -> None:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", choices=("simulate", "osc", "serial"), default="simulate")
    p.add_argument("--target", default="127.0.0.1:9000", help="oscserver's host:port")
    p.add_argument("--listen-port", type=int, default=9100, help="for --source osc")
    p.add_argument("--serial", default="/dev/ttyACM0", help="for --source serial")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--rate", type=float, default=30.0, help="readings per second (30)")
    p.add_argument("--smoothing", type=float, default=0.15, help="low-pass alpha, 0..1 (0.15)")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long")
    p.add_argument(
        "--led",
        default=None,
        help="flash a light on the music's beats: a brightness file (/sys/class/leds/ACT/"
        "brightness), serial (beat lines to --serial) or console",
    )
    args = p.parse_args()
    host, _, port = args.target.rpartition(":")
    target = (socket.gethostbyname(host or "127.0.0.1"), int(port))
    if args.source == "simulate":
        source = simulated()
    elif args.source == "osc":
        source = from_osc(args.listen_port)
    else:
        source = from_serial(args.serial, args.baud)
    # oscserver needs texts for the two prompts: set them once, then the sensor plays.
    client = SimpleUDPClient(*target)
    client.send_message("/lyria/prompt/1/text", "calm ambient pads")
    client.send_message("/lyria/prompt/2/text", "driving techno drums")
    client.send_message("/lyria/play", [])
    light: BeatLight | None = None
    if args.led == "console":
        light = ConsoleLight(target)
    elif args.led == "serial":
        light = SerialLight(target, args.serial, args.baud)
    elif args.led:
        light = FileLight(target, args.led)
    try:
        count = run(source, target, args.rate, args.smoothing, args.seconds)
    except KeyboardInterrupt:
        return
    finally:
        if light is not None:
            light.close()
    print(f"sent {count} messages" + (f", {light.flashes} beats lit" if light else ""))


if __name__ == "__main__":
    main()
