"""Beat tracking against the truth: the engine's music, whose synth records every beat.

Run: .venv/bin/python bench/beats.py [--seconds 24]   (make beats)

A model that does not obey (``--fault tempo``): asked for a bpm, it plays it times 0.96 or
1.04, from a random phase; eight styles, from four-on-the-floor techno to ambient. Each stream
goes through :class:`oscserver.dsp.beats.BeatTracker` in pieces of random length, as chunks
arrive, and its grid (the line through the last beats) is compared with the synth's beats:

- tempo error: the grid's tempo against the tempo played, at the end;
- phase error: where the grid puts each of the last 10 s of beats against where they are
  (median and 95th percentile of the absolute error, ms);
- lock: seconds until the grid is within 5 ms of every true beat it predicts, and stays;
- relock: the same after a context reset to another bpm (a new phase);
- CPU: of the tracker, per second of audio (% of a core);
- downbeats: at the end, whether the beat given as a bar's first is one (right, wrong, or
  none given: not sure enough).

Then the bars as the lock uses them (:class:`oscserver.core.lock.LockController`): sixteen
styles, 40 s each from two phases, on the beats of a clock whose bar lines are 1 to 3 beats
off the music's; after each chunk, every beat's decision is made with the downbeat the grid
gives, and the moves it asks for applied. Printed: the streams whose bars end on the clock's,
when they got there, and the moves that put them wrong.

Each hop and window size aubio can run at is measured in the same run; the tracker's default
is the one chosen from these figures (docs/performance.md).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field

import numpy as np

from oscserver.core.lock import ClockReading, LockController
from oscserver.core.lyria import MusicGenerationConfig, WeightedPrompt
from oscserver.dsp.beats import HOP, WINDOW, BeatTracker
from oscserver.engine.synth import SAMPLE_RATE, Synth

#: The styles the bars are measured on (the eight above and eight more).
BAR_STYLES = (
    *("techno", "minimal techno", "deep house", "house", "trance", "acid techno", "synthwave"),
    *("disco", "funk", "hip hop", "lo-fi", "drum and bass", "jazz", "rock", "pop", "ambient"),
)
STYLES = ("techno", "deep house", "funk", "drum and bass", "hip hop", "ambient", "jazz", "lo-fi")
SIZES = ((512, 1024), (256, 1024), (128, 512), (64, 512))
#: A grid within this of every beat it predicts is locked.
LOCKED = 0.005


@dataclass
class Figures:
    tempo_errors: list[float] = field(default_factory=list)
    phase_errors: list[float] = field(default_factory=list)
    locks: list[float] = field(default_factory=list)
    relocks: list[float] = field(default_factory=list)
    #: Downbeats given on the bar's first beat, given on another, not given.
    bars: list[int] = field(default_factory=lambda: [0, 0, 0])
    cpu: float = 0.0
    seconds: float = 0.0


def stream(style: str, bpm: int, factor: float, seed: int) -> Synth:
    synth = Synth(tempo_factor=factor, phase_seed=seed)
    synth.set_prompts((WeightedPrompt(style, 1.0),))
    synth.set_config(MusicGenerationConfig(bpm=bpm))
    synth.reset(fade=False)
    return synth


def pcm_to_float(pcm: bytes) -> np.ndarray:
    return (np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).T / 32768.0).astype(np.float32)


def play(
    synth: Synth, tracker: BeatTracker, seconds: float, rng: np.random.Generator, figures: Figures
) -> tuple[float | None, list[float]]:
    """Feed ``seconds`` of the synth; returns when the grid locked (s from the start of this
    stretch, None if never) and the grid's phase errors over the last 10 s (ms)."""
    start = synth.rendered
    locked_at: float | None = None
    while synth.rendered - start < seconds * SAMPLE_RATE:
        x = pcm_to_float(synth.render(int(rng.integers(2_000, 96_000))))
        began = time.process_time()
        tracker.process(x)
        figures.cpu += time.process_time() - began
        figures.seconds += x.shape[1] / SAMPLE_RATE
        grid = tracker.grid()
        # The grid predicts the beats of the next two seconds: are they where the synth puts
        # them?
        ahead = synth.contexts[-1].beat_frames(synth.rendered, synth.rendered + 2 * SAMPLE_RATE)
        good = grid is not None and all(
            abs(grid.next_beat(b - grid.period / 2) - b) < LOCKED * SAMPLE_RATE for b in ahead
        )
        if good and locked_at is None:
            locked_at = (synth.rendered - start) / SAMPLE_RATE
        elif not good:
            locked_at = None
    grid = tracker.grid()
    errors: list[float] = []
    if grid is not None:
        truth = synth.beat_frames(synth.rendered - 10 * SAMPLE_RATE, synth.rendered)
        errors = [abs(grid.next_beat(b - grid.period / 2) - b) / SAMPLE_RATE * 1000 for b in truth]
    return locked_at, errors


def measure(hop: int, window: int, seconds: float) -> Figures:
    figures = Figures()
    for i, style in enumerate(STYLES):
        for factor in (0.96, 1.04):
            rng = np.random.default_rng(i)
            synth = stream(style, 100 + 7 * i, factor, seed=i)
            tracker = BeatTracker(hop=hop, window=window)
            tracker.expected = synth.bpm  # the bpm asked for, as the session knows it
            locked, errors = play(synth, tracker, seconds, rng, figures)
            grid = tracker.grid()
            figures.tempo_errors.append(abs(grid.tempo - synth.tempo) if grid else float("inf"))
            figures.phase_errors += errors or [float("inf")]
            figures.locks.append(locked if locked is not None else float("inf"))
            context = synth.contexts[-1]
            if grid is None or grid.downbeat is None:
                figures.bars[2] += 1
            else:
                beats = (grid.downbeat - (context.frame - context.start)) / context.beat_length
                figures.bars[0 if round(beats) % 4 == 0 else 1] += 1
            synth.set_config(MusicGenerationConfig(bpm=100 + 7 * i + 9))
            synth.reset()  # RESET_CONTEXT: a new tempo from a new phase
            tracker.reset()
            tracker.expected = synth.bpm
            relocked, _ = play(synth, tracker, seconds / 2, rng, figures)
            figures.relocks.append(relocked if relocked is not None else float("inf"))
    return figures


@dataclass
class Bars:
    #: Streams whose bars ended on the clock's, and when (s); moves that left them off.
    ended_on: int = 0
    streams: int = 0
    when: list[float] = field(default_factory=list)
    wrong_moves: int = 0
    moves: int = 0
    #: The styles of the streams whose bars did not end on the clock's.
    left: list[str] = field(default_factory=list)


def bars_moved(style: str, seed: int, factor: float, seconds: float, bars: Bars) -> None:
    """One stream's bars put on a clock's by the lock, as the feeder does it (see above)."""
    bpm = 95 + 5 * (seed % 9)
    synth = stream(style, bpm, factor, seed)
    tracker = BeatTracker()
    tracker.expected = bpm
    lock = LockController()
    context = synth.contexts[-1]
    first = context.frame - context.start  # the frame of the stream's first downbeat
    beat = context.beat_length
    off = 1 + seed % 3  # the clock's bar lines, in beats after the music's
    shift = 0  # beats the stream was moved by (dropped: positive)
    aligned_at: float | None = None
    while synth.rendered < seconds * SAMPLE_RATE:
        start = synth.rendered
        tracker.process(pcm_to_float(synth.render(96_000)))  # the engine's 2 s chunks
        grid = tracker.grid()
        # The decisions for the beats of the next chunk, each on a clock beat (ratio 1).
        for j in range(
            math.ceil((start - first) / beat), math.ceil((synth.rendered - first) / beat)
        ):
            frame = first + j * beat
            place = None
            if grid is not None and grid.downbeat is not None:
                place = round((frame - grid.downbeat) / grid.period) % 4
            position = j + off - shift  # the clock beat the stream's beat j is heard on
            reading = ClockReading(0.0, float(position), 60.0 * SAMPLE_RATE / beat)
            move = lock.decide(reading, beat / SAMPLE_RATE, 0.0, 0.0, place).move
            if move:
                shift += move
                bars.moves += 1
                bars.wrong_moves += (off - shift) % 4 != 0
        on = (off - shift) % 4 == 0
        if on and aligned_at is None:
            aligned_at = synth.rendered / SAMPLE_RATE
        elif not on:
            aligned_at = None
    bars.streams += 1
    if aligned_at is not None:
        bars.ended_on += 1
        bars.when.append(aligned_at)
    else:
        bars.left.append(style)


def measure_bars(seconds: float) -> Bars:
    bars = Bars()
    for i, style in enumerate(BAR_STYLES):
        for factor in (0.96, 1.04):
            for seed in (i, i + 100):
                bars_moved(style, seed, factor, seconds, bars)
    return bars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=24.0, help="of each stream")
    args = parser.parse_args()
    print(
        f"{len(STYLES)} styles x tempo 0.96 and 1.04 of the asked bpm, random phases; "
        f"{args.seconds:g} s each, then a reset and {args.seconds / 2:g} s more"
    )
    print(
        f"{'hop/window':>11} {'tempo err max':>14} {'phase err median / p95':>23} "
        f"{'lock median / max':>18} {'relock median / max':>20} {'CPU':>7} "
        f"{'downbeats right/wrong/none':>27}"
    )
    for hop, window in SIZES:
        f = measure(hop, window, args.seconds)
        chosen = " (default)" if (hop, window) == (HOP, WINDOW) else ""
        phase = np.array(f.phase_errors)
        print(
            f"{hop:>5}/{window:<5} {max(f.tempo_errors):>10.2f} bpm "
            f"{np.median(phase):>9.2f} / {np.percentile(phase, 95):5.2f} ms "
            f"{np.median(f.locks):>8.1f} / {max(f.locks):4.1f} s "
            f"{np.median(f.relocks):>9.1f} / {max(f.relocks):4.1f} s "
            f"{f.cpu / f.seconds * 100:>5.2f} % {'/'.join(map(str, f.bars)):>27}{chosen}",
            flush=True,
        )

    bars = measure_bars(40.0)
    print(
        f"bars onto a clock's, {bars.streams} streams of 40 s ({len(BAR_STYLES)} styles, "
        f"tempo 0.96 and 1.04, two phases): on the clock's bars at the end "
        f"{bars.ended_on}, after a median of {np.median(bars.when):.0f} s "
        f"(max {max(bars.when):.0f} s); {bars.moves} moves, {bars.wrong_moves} of them wrong"
    )
    left = sorted(set(bars.left), key=lambda style: -bars.left.count(style))
    print("left where they fell: " + ", ".join(f"{s} ({bars.left.count(s)})" for s in left))


if __name__ == "__main__":
    main()
