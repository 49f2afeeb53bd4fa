"""What measuring the music's pulse costs (oscserver/adapters/audio/pulse_watch.py).

Run: .venv/bin/python bench/pulse.py [seconds]   (also run by `make bench`)

Feeds the embedded engine's music to a pulse watch as the output writes it (pieces of 1024
frames, each placed in time) and prints the CPU time per second of audio, all threads of this
process together, for:

- the baseline, measured in the same run on the same audio: the soxr resampling the output
  already does per chunk when JACK runs at 44.1 kHz;
- the watch with nobody listening (it only keeps its place);
- the watch with a listener to the analysis (level, bands, onsets at 30 a second);
- the watch with listeners to everything (the beat tracker too), as with ``--midi-clock``.

Target: everything measured at most 5 % of a core.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from oscserver.adapters.audio.pulse_watch import PulseWatch
from oscserver.adapters.audio.resample import Resampler
from oscserver.core.pulse import Timed
from oscserver.engine.synth import SAMPLE_RATE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stretch import cpu_per_second, music

PIECE = 1024


class Counting:
    """A sender that counts what it is given (sending is the sender thread's, not measured)."""

    def __init__(self, topics: set[str]) -> None:
        self.topics = topics
        self.messages = 0

    def wanted(self, topic: str) -> bool:
        return topic in self.topics

    def add(self, messages: list[Timed]) -> None:
        self.messages += len(messages)

    def shift(self, seconds: float) -> None:
        pass

    def forget_from(self, heard_at: float) -> None:
        pass

    def clear(self) -> None:
        pass


def watch_cost(audio: np.ndarray, topics: set[str]) -> tuple[float, int]:
    """CPU seconds per second of audio for a watch whose listeners want ``topics``."""
    sender = Counting(topics)
    watch = PulseWatch(sender)  # type: ignore[arg-type]
    start = time.process_time()
    t0 = time.monotonic() + 1.0
    for i in range(0, audio.shape[1], PIECE):
        watch.written(i, audio[:, i : i + PIECE], t0 + i / SAMPLE_RATE, SAMPLE_RATE)
        if i % (32 * PIECE) == 0:
            watch.idle(30.0)  # (no faster than it takes them, as an output would)
    watch.idle(60.0)
    cost = time.process_time() - start
    watch.close()
    assert watch.skipped == 0
    return cost / (audio.shape[1] / SAMPLE_RATE), sender.messages


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    audio = music(seconds)
    baseline = cpu_per_second(audio, Resampler(SAMPLE_RATE, 44100).process)
    print(f"{seconds:.0f} s of the engine's music, CPU time per second of audio (all threads):")
    print(f"  baseline, soxr 48 -> 44.1 kHz (HQ): {baseline * 100:.2f} % of a core")
    worst = 0.0
    for name, topics in (
        ("nobody listening", set()),
        ("analysis (level, bands, onsets)", {"analysis"}),
        ("everything (beats too, as --midi-clock)", {"analysis", "beat"}),
    ):
        cost, messages = watch_cost(audio, topics)
        worst = max(worst, cost)
        print(
            f"  pulse watch, {name}: {cost * 100:.2f} % of a core, {cost / baseline:.1f}x the "
            f"resampling ({messages / seconds:.0f} messages a second)"
        )
    print(f"target <= 5 % of a core: {'met' if worst <= 0.05 else 'MISSED'}")


if __name__ == "__main__":
    main()
