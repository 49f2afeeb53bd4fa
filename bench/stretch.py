"""What the stretch stage costs and how faithful it is (oscserver/dsp/stretch.py).

Run: .venv/bin/python bench/stretch.py [seconds]   (also run by `make bench`)

Prints, for the embedded engine's music fed in the service's 2 s chunks:
- the CPU time of stretching per second of audio, at ratios 1.0, 1.04 and 1.06, against the
  soxr resampling the feeder already does per chunk when JACK runs at 44.1 kHz (the baseline,
  measured in the same run on the same audio): a ratio of the two;
- the pitch of a 440 Hz tone through the stretcher at the limits (0.94 and 1.06), in cents.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from oscserver.adapters.audio.resample import Resampler
from oscserver.core.lyria import WeightedPrompt
from oscserver.dsp.stretch import ENGINES, Stretcher
from oscserver.engine.synth import SAMPLE_RATE, Synth

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from audio_analysis import cents, frequency_hz

CHUNK = 2 * SAMPLE_RATE


def music(seconds: float) -> np.ndarray:
    synth = Synth()
    synth.set_prompts((WeightedPrompt("deep house", 1.0),))
    synth.reset()
    pcm = np.frombuffer(synth.render(round(seconds * SAMPLE_RATE)), "<i2")
    return (pcm.reshape(-1, 2).T / 32768.0).astype(np.float32)


def cpu_per_second(audio: np.ndarray, work: Callable[[np.ndarray], object]) -> float:
    """CPU seconds spent per second of audio, chunk by chunk."""
    start = time.process_time()
    for i in range(0, audio.shape[1], CHUNK):
        work(audio[:, i : i + CHUNK])
    return float((time.process_time() - start) / (audio.shape[1] / SAMPLE_RATE))


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    audio = music(seconds)
    resampler = Resampler(SAMPLE_RATE, 44100)
    baseline = cpu_per_second(audio, resampler.process)
    print(f"{seconds:.0f} s of the engine's music in 2 s chunks, CPU time per second of audio:")
    print(f"  baseline, soxr 48 -> 44.1 kHz (HQ): {baseline * 100:.2f} % of a core")
    for engine in ENGINES:
        for ratio in (1.0, 1.04, 1.06):
            stretcher = Stretcher(SAMPLE_RATE, engine=engine)

            def work(chunk: np.ndarray, s: Stretcher = stretcher, r: float = ratio) -> object:
                return s.process(chunk, r)

            cost = cpu_per_second(audio, work)
            print(
                f"  stretch at {ratio:.2f} ({engine}): {cost * 100:.2f} % of a core, "
                f"{cost / baseline:.0f}x the resampling"
            )
    t = np.arange(10 * SAMPLE_RATE) / SAMPLE_RATE
    mono = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    tone = np.vstack([mono, mono])
    for engine in ENGINES:
        for ratio in (0.94, 1.06):
            stretcher = Stretcher(SAMPLE_RATE, engine=engine)
            out = np.concatenate(
                [
                    stretcher.process(tone[:, i : i + CHUNK], ratio)
                    for i in range(0, len(mono), CHUNK)
                ],
                axis=1,
            )
            steady = out[0, SAMPLE_RATE : 5 * SAMPLE_RATE]
            error = cents(frequency_hz(steady, SAMPLE_RATE), 440.0)
            step = np.abs(np.diff(out[0, SAMPLE_RATE // 2 : -SAMPLE_RATE // 2])).max()
            slope = 0.5 * 2 * np.pi * 440 / SAMPLE_RATE
            print(
                f"  a 440 Hz tone at ratio {ratio:.2f} ({engine}): {error:+.3f} cents, "
                f"largest step {step / slope:.2f}x the tone's own"
            )


if __name__ == "__main__":
    main()
