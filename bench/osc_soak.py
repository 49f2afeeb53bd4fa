"""Soak the OSC port with random and mutated datagrams; the server must stay up, keep playing,
keep its state, and count what it refused.

Run: .venv/bin/python bench/osc_soak.py [--datagrams 1000000] [--seed 1]

oscserver runs as a process (null audio output, the embedded engine). The soak sets a known
state (prompts, bpm, density, scale, a mute) and plays, then sends ``--datagrams`` datagrams:
random bytes, messages with their type tags and arguments flipped or cut off, messages to
addresses that do not exist or with the wrong types, bundles of those, patterns. None of them
targets the values set first, so every one of those must read back unchanged. Every 250
datagrams it asks
``/lyria/status`` and waits for the answer, so the socket never overflows.

At the end: the process must be alive, ``/lyria/status`` must say playing, every value set
first must read back unchanged with ``/lyria/get/...``, and the counts are printed: datagrams
sent, OSC messages received, refused (decoded but refused + malformed datagrams).
"""

from __future__ import annotations

import argparse
import random
import socket
import subprocess
import time
from dataclasses import dataclass

from server_process import oscserver, wait_for_status

from oscserver.core.osc_codec import OscArg, decode_packet, encode_message

KEEP: list[tuple[str, list[OscArg]]] = [
    ("/lyria/prompt/1/text", ["deep house"]),
    ("/lyria/prompt/1/weight", [0.75]),
    ("/lyria/bpm", [111]),
    ("/lyria/density", [0.375]),
    ("/lyria/scale", ["D_MAJOR_B_MINOR"]),
    ("/lyria/mute_bass", [True]),
]
#: Datagrams between two status requests (each waits for its answer).
WINDOW = 250
# Messages the mutations start from: none of them sets a value in KEEP.
BASES = [
    encode_message("/lyria/volume", [0.5]),
    encode_message("/lyria/prompt/99/weight", [1.0]),
    encode_message("/lyria/prompt/2/weight", ["loud"]),
    encode_message("/lyria/brightness", [7.0]),
    encode_message("/lyria/guidance", ["x", 3]),
    encode_message("/lyria/get/bpm", []),
    encode_message("/lyria/zz*", [1]),
    encode_message("/lyria/prompt/{3,4}/text", []),
    encode_message("/lyria/prompt/[2-3]/weight", [0.25, 1.0, 2.0]),
]


def random_datagram(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.25:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
    data = bytearray(rng.choice(BASES))
    if kind < 0.85:
        # Flips in the type tags and arguments, never in the address: a flipped address can
        # become a real one ("/lyria/prompt/99" -> "/lyria/prompt/19", "/lyria/zz*" ->
        # "/lyria/*"), and then a value set below would rightly change. Addresses get their
        # share of damage from the random datagrams, the cuts, and the fuzz tests.
        tags = data.index(b",")
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(tags, len(data))] = rng.getrandbits(8)
        if rng.random() < 0.3:
            del data[rng.randrange(1, len(data)) :]
        return bytes(data)
    elements = [rng.choice(BASES) for _ in range(rng.randint(1, 4))]
    body = b"".join(len(e).to_bytes(4, "big") + e for e in elements)
    return b"#bundle\x00" + (1).to_bytes(8, "big") + body


@dataclass(frozen=True)
class SoakFigures:
    """What one soak did: datagrams sent, time, messages received and refused (from the
    server's own counts), underruns, and the connection and playback status at the end."""

    datagrams: int
    seconds: float
    received: int
    refused: int
    underruns: int
    status: list[str]


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Room for the /lyria/error answer to every bad datagram of a window, so that the
        # status answer behind them is never dropped by a full buffer.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5.0)
        self.target = ("127.0.0.1", port)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def ask(self, address: str, want: str) -> list[object]:
        """Send a query and return the arguments of the first reply at ``want``."""
        self.send(encode_message(address, []))
        while True:
            reply = decode_packet(self.sock.recv(65536))[0]
            if reply.address == want:
                return list(reply.args)


def soak(datagrams: int, seed: int, log: bool = True) -> SoakFigures:
    """Run one soak; returns the figures (raises AssertionError when a check fails)."""
    options = ("--engine", "embedded", "--no-oscquery", "--prompt", "")
    with oscserver(*options, log_level="error") as (proc, port):
        wait_for_status(port, proc)
        return _soak(proc, Client(port), datagrams, seed, log)


def _soak(
    proc: subprocess.Popen[bytes], client: Client, datagrams: int, seed: int, log: bool
) -> SoakFigures:
    """Set the values to keep, play, flood, and check."""
    status = client.ask("/lyria/status", "/lyria/status")
    for address, args in KEEP:
        client.send(encode_message(address, args))
    client.send(encode_message("/lyria/play"))
    deadline = time.monotonic() + 30
    while status[:2] != ["connected", "playing"]:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
        status = client.ask("/lyria/status", "/lyria/status")
    before = status
    rng = random.Random(seed)
    start = time.monotonic()
    for i in range(datagrams):
        client.send(random_datagram(rng))
        if i % WINDOW == WINDOW - 1:
            client.ask("/lyria/status", "/lyria/status")
            if log and i % 100_000 == 99_999:
                print(f"  {i + 1} datagrams, {time.monotonic() - start:.0f} s", flush=True)
    elapsed = time.monotonic() - start
    after = client.ask("/lyria/status", "/lyria/status")
    assert proc.poll() is None, "oscserver died"
    assert after[1] == "playing", after
    for address, args in KEEP:
        got = client.ask("/lyria/get" + address.removeprefix("/lyria"), address)
        value = args[0]
        assert got == args or (
            isinstance(value, float) and abs(float(str(got[0])) - value) < 1e-6
        ), f"{address}: {got} != {args}"
    return SoakFigures(
        datagrams=datagrams,
        seconds=elapsed,
        received=int(str(after[5])) - int(str(before[5])),
        refused=int(str(after[6])) - int(str(before[6])),
        underruns=int(str(after[3])),
        status=[str(a) for a in after[:2]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datagrams", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"soaking the OSC port with {args.datagrams} random and mutated datagrams")
    r = soak(args.datagrams, args.seed)
    print(
        f"{r.datagrams} datagrams in {r.seconds:.0f} s: {r.received} OSC messages "
        f"received (status queries included), {r.refused} refused; still {r.status[0]} "
        f"and {r.status[1]}, every value set before read back unchanged"
    )


if __name__ == "__main__":
    main()
