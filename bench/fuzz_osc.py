"""Coverage-guided fuzzing of the way in (atheris, libFuzzer): bytes -> decode -> apply.

Run: .venv/bin/python bench/fuzz_osc.py [-max_total_time=60] [-runs=N] [corpus dirs]
     (make fuzz runs it for FUZZ_SECONDS, 60 by default)

Every input is decoded as a UDP datagram; every message decoded is applied to a musical state
as the server would (patterns included). The only exceptions allowed are the documented
refusals (MalformedPacket, OscInputError); after every message the state must still hold only
values the address table allows (tests/invariants.py). Anything else is a crash that libFuzzer
reports with the input that caused it. A seed corpus of valid datagrams is written to a
temporary directory when none is given. libFuzzer writes what it finds (``crash-*``,
``slow-unit-*``, ``timeout-*``...) to ``build/fuzz/`` in the checkout (ignored by git), never
to the working directory; ``-artifact_prefix=DIR/`` chooses another place.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

with atheris.instrument_imports():
    from invariants import check_state

    from oscserver.core.dispatch import ADDRESSES, apply_message
    from oscserver.core.errors import MalformedPacket, OscInputError
    from oscserver.core.osc_codec import decode_packet, encode_message
    from oscserver.core.state import MusicalState

ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "fuzz"
START = MusicalState.initial([("deep house", 1.0), ("strings", 0.5)])


def one_input(data: bytes) -> None:
    """The fuzz target: must not raise anything but the documented refusals."""
    state = START
    try:
        messages = decode_packet(data)
    except MalformedPacket:
        return
    for message in messages:
        with contextlib.suppress(OscInputError):
            state, _, _ = apply_message(state, message.address, message.args)
        check_state(state)


def seed_corpus() -> str:
    folder = Path(tempfile.mkdtemp(prefix="oscserver-fuzz-"))
    samples = [encode_message(address, [0.5]) for address in ADDRESSES[:40]]
    samples += [
        encode_message("/lyria/prompt/1/text", ["deep", "house"]),
        encode_message("/lyria/prompt/*/weight", [0]),
        encode_message("/lyria/scale", ["F#m"]),
        b"#bundle\x00"
        + bytes(7)
        + b"\x01"
        + (16).to_bytes(4, "big")
        + encode_message("/lyria/play"),
    ]
    for i, sample in enumerate(samples):
        (folder / f"seed{i}").write_bytes(sample)
    return str(folder)


def main() -> None:
    argv = list(sys.argv)
    if not any(a.startswith("-artifact_prefix=") for a in argv[1:]):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        argv.insert(1, f"-artifact_prefix={ARTIFACTS}/")
    if not any(not a.startswith("-") for a in argv[1:]):
        argv.append(seed_corpus())
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
