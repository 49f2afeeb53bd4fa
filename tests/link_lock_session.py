"""Run inside a private network namespace by tests/test_lock_link.py: a Link session at 120 bpm
made by a peer standing for the rig, oscserver locked to it (``--clock link``) on a JACK server
of its own (a JACK client in the namespace cannot reach a server outside it), playing the engine
at tempo:1.04; the rig moves to 126 bpm halfway.

Prints, as JSON: when the tempo changed, and for each kick recorded from oscserver's ports
(by another JACK client, timed by its cycles) its time and how far it lies from the rig's
nearest beat, in seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from aalink import Link
from audio_analysis import kick_onsets
from beat_timeline import BeatTimeline
from jack_recorder import Recorder

from oscserver.adapters.audio.jack_sink import JackSink
from oscserver.adapters.audio.stretching import LOCK_LEAD, StretchingSink
from oscserver.adapters.clock.link import LinkClock
from oscserver.adapters.jackd import PrivateJackd
from oscserver.core.continuity import Settings
from oscserver.engine.voices import DrumKit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import playing_off_tempo


async def main() -> None:
    before, after = float(sys.argv[1]), float(sys.argv[2])  # seconds at 120, then at 126 bpm
    jackd = PrivateJackd(rate=48000, period=256, server_name="linked-test", realtime=False)
    jackd.start(timeout=20 * float(os.environ.get("OSCSERVER_TEST_TIMEOUT_SCALE", "1")))
    try:
        await play("linked-test", before, after)
    finally:
        jackd.stop()


async def play(server: str, before: float, after: float) -> None:
    rig = Link(120)
    rig.quantum = 4
    rig.enabled = True
    await asyncio.sleep(1.0)  # the rig's session was there first
    jack = JackSink("linked", server, preroll_seconds=0.1)
    sink = StretchingSink(jack, Settings(target=2.0), lead=LOCK_LEAD, track_beats=True)
    clock = LinkClock(120)
    sink.lock_to(clock)
    recorder = Recorder(server, jack.port_names, before + after + 10)
    timeline = BeatTimeline(lambda: (time.monotonic(), rig.beat))

    try:
        async with playing_off_tempo(sink, clock=clock) as app:
            await timeline.watch(before)
            changed = time.monotonic()
            rig.tempo = 126
            stream_before = sink.beat_lock.stream_start
            await timeline.watch(after)
            audio = recorder.since(0)
            kicks = kick_onsets(audio, 48000, DrumKit().samples["kick"])
            times = recorder.times(kicks)
            status = app.status()
    finally:
        recorder.close()
    times, error = timeline.errors(times, np.where(times < changed, 120.0, 126.0))
    print(
        json.dumps(
            {
                "changed": changed,
                "times": times.tolist(),
                "errors": error.tolist(),
                "clock": status.clock,
                "clock_tempo": status.clock_tempo,
                "lock": status.lock,
                "bpm_asked": app.state.config.bpm,
                "retakes": sink.retakes,
                "new_stream": sink.beat_lock.stream_start > stream_before,
            }
        )
    )


if __name__ == "__main__":  # (the JACK audio process and the recorder are spawned from here)
    asyncio.run(main())
