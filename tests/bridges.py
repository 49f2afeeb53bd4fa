"""The audio world's network bridges between two JACK servers on this machine, each started as
docs/network.md tells a user to (test and bench helper: tests/jack_bridge.py measures them).

- :class:`ZitaBridge`: zita-j2n sends over UDP, zita-n2j receives into the other server and
  resamples to its clock (zita-njbridge(1)).
- :class:`NetJackBridge`: netJACK2. The receiving server (the master) loads ``netmanager``; the
  bridge starts the sending server itself, ``jackd -d net``, which runs on the master's
  cycles. The manager joins a multicast group: run it in a private network namespace.
- :class:`JackTripBridge`: JackTrip, peer to peer; both servers at the same rate and period.
  24-bit samples: Debian's JackTrip 1.7.0 delivers garbage with ``-b 32`` (seen here).

Each says where to play into (:attr:`Bridge.source`, :attr:`Bridge.connect`: a pattern for
``oscserver --jack-connect``) and where the audio comes out (:attr:`Bridge.outputs` on
:attr:`Bridge.target`). Call :meth:`Bridge.close` at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid

#: zita-n2j's extra buffer, milliseconds. Its default, 10, holds between equal periods; from a
#: 256-frame period into a 512-frame one, JACK's dummy drivers on a shared machine (whose
#: cycles wander more than a sound card's) lose some 70 frames at a receiving cycle's edge now
#: and then (one run in four, bench/bridge.py); 20 holds.
BUFFER_MS = 20


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[str], seconds: float = 10.0) -> None:
    """Stop ``proc`` as a user would (SIGTERM: JACK clients leave their servers cleanly), and
    kill it if it is still there after ``seconds``."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def jack_ports(server: str) -> list[str]:
    """The ports on JACK server ``server`` (``jack_lsp``)."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=server)
    return subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True).stdout.split()


class Bridge:
    """What the three bridges share: their processes, what they say, when they connected."""

    name = "bridge"
    source = ""
    target = ""
    connect = ""
    inputs: tuple[str, str] = ("", "")
    outputs: tuple[str, str] = ("", "")

    def __init__(self) -> None:
        self.said: list[str] = []
        self.synced_after: float | None = None  # seconds from the start to receiving
        self._procs: list[subprocess.Popen[str]] = []
        self._connected = threading.Event()
        self._began = time.monotonic()

    def _start(self, argv: list[str], server: str | None, watch: str | None = None) -> None:
        """Start ``argv`` on JACK server ``server``; ``watch``: a line that means connected."""
        env = dict(os.environ, **({"JACK_DEFAULT_SERVER": server} if server else {}))
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._procs.append(proc)
        threading.Thread(target=self._read, args=(proc, watch), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str], watch: str | None) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.said.append(line.rstrip())
            if watch and line.startswith(watch) and not self._connected.is_set():
                self.synced_after = time.monotonic() - self._began
                self._connected.set()

    def wait_ports(self, seconds: float) -> bool:
        """Whether the ports to play into and those the audio comes out of are there."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if set(self.inputs) <= set(jack_ports(self.source)) and set(self.outputs) <= set(
                jack_ports(self.target)
            ):
                return True
            time.sleep(0.1)
        return False

    def wait_receiving(self, seconds: float) -> bool:
        """Whether the receiving end has taken up the stream within ``seconds``."""
        return self._connected.wait(seconds)

    def resyncs(self) -> int:
        """How often the receiver lost the stream and synced again (zita-n2j says so)."""
        return 0

    def close(self) -> None:
        for proc in reversed(self._procs):
            stop(proc)


class ZitaBridge(Bridge):
    """``zita-j2n`` on ``source`` sending to ``zita-n2j`` on ``target`` over 127.0.0.1.

    Args:
        source: The sending JACK server's name.
        target: The receiving JACK server's name.
        buffer_ms: zita-n2j's extra buffer (``--buff``).
    """

    name = "zita-njbridge"

    def __init__(self, source: str, target: str, buffer_ms: float = BUFFER_MS) -> None:
        super().__init__()
        self.source, self.target = source, target
        self.buffer_ms = buffer_ms
        self.inputs = ("to-rack:in_1", "to-rack:in_2")
        self.outputs = ("from-stage:out_1", "from-stage:out_2")
        self.connect = "to-rack:in_.*"
        address = ("127.0.0.1", str(free_port()))
        # (stdbuf: zita-n2j's --info lines are printed through a buffered stdout)
        self._start(
            [
                *("stdbuf", "-oL", "zita-n2j", "--jserv", target, "--jname", "from-stage"),
                *("--chan", "1,2", "--buff", f"{buffer_ms:g}", "--info", *address),
            ],
            None,
            watch="Receiving",
        )
        self._start(
            [
                *("zita-j2n", "--jserv", source, "--jname", "to-rack"),
                *("--chan", "2", "--float", *address),
            ],
            None,
        )

    def resyncs(self) -> int:
        lines = self.said[self.said.index("Receiving.") + 1 :] if "Receiving." in self.said else []
        return sum(1 for line in lines if line.startswith("Syncing"))


class NetJackBridge(Bridge):
    """netJACK2: ``jack_load netmanager`` on ``target`` (the master, the audio machine), and a
    JACK server of the net backend that the bridge starts for oscserver (its :attr:`source`).

    Args:
        target: The master's JACK server name (running).
        latency: The slave's network latency in periods (``-l``; netJACK2's default is 5).
    """

    name = "netJACK2"

    def __init__(self, target: str, latency: int = 5) -> None:
        super().__init__()
        self.target = target
        self.source = f"stage-{uuid.uuid4().hex[:6]}"
        self.inputs = ("system:playback_1", "system:playback_2")
        self.outputs = ("stage:from_slave_1", "stage:from_slave_2")
        self.connect = "system:playback_.*"
        port = str(free_port())
        subprocess.run(
            ["jack_load", "-s", target, "netmanager", "-i", f"-p {port}"],
            check=True,
            capture_output=True,
            timeout=20,
        )
        self._start(
            [
                *("stdbuf", "-oL", "jackd", "-R", "-n", self.source, "-d", "net"),
                *("-a", "127.0.0.1", "-p", port, "-C", "0", "-P", "2", "-n", "stage"),
                *("-l", str(latency)),
            ],
            None,
            watch="Slave mode",
        )


class JackTripBridge(Bridge):
    """JackTrip peer to peer: the server end on ``target``, the client on ``source``.

    Args:
        source: The sending JACK server's name (the same rate and period as ``target``).
        target: The receiving JACK server's name.
        queue: The jitter buffer, in packets of one period (``-q``; JackTrip's default is 4).
    """

    name = "JackTrip"

    def __init__(self, source: str, target: str, queue: int = 4) -> None:
        super().__init__()
        self.source, self.target = source, target
        self.inputs = ("to-rack:send_1", "to-rack:send_2")
        self.outputs = ("from-stage:receive_1", "from-stage:receive_2")
        self.connect = "to-rack:send_.*"
        server_port, client_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
        common = ["-n", "2", "-b", "24", "-D", "-q", str(queue)]
        self._start(
            [
                "stdbuf",
                "-oL",
                "jacktrip",
                "-s",
                *common,
                "-J",
                "from-stage",
                "-B",
                str(server_port),
            ],
            target,
            watch="Received Connection from Peer",
        )
        time.sleep(0.5)  # (the server end listens first)
        self._start(
            [
                *("stdbuf", "-oL", "jacktrip", "-c", "127.0.0.1", *common, "-J", "to-rack"),
                *("-B", str(client_port), "-P", str(server_port)),
            ],
            source,
        )
