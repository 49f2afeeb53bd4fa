"""Which changes oscserver snaps to: with ``--snap auto``, a change after a quiet moment snaps,
a stream of changes (a fader moved, a sensor) plays through, so the buffer keeps its pre-roll.

oscserver in this process against the embedded engine over a real WebSocket, the changes sent
over real UDP, the audio to the null output paced in real time."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from conftest import until

from oscserver.adapters.audio.base import Heard, Samples
from oscserver.adapters.audio.null_sink import NullSink
from oscserver.engine.server import EngineOptions
from oscserver.options import AUTO_SNAP_QUIET

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from in_process import oscserver_on, send, send_play


class Asked(NullSink):
    """The null output, recording the beat each fresh chunk was asked to snap by (or None)."""

    def __init__(self) -> None:
        super().__init__(preroll_seconds=2.0)  # Google's pre-roll: a buffer worth cutting
        self.asked: list[float | None] = []

    def write_fresh(
        self, frames: Samples, beat: float | None, heard: Heard | None, keep: float = 0.0
    ) -> float:
        self.asked.append(beat)
        return super().write_fresh(frames, beat, heard, keep)


async def test_a_stream_of_changes_snaps_once_and_a_change_after_a_pause_snaps_again(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    null = Asked()
    options = {"snap": True, "snap_quiet": AUTO_SNAP_QUIET}
    async with oscserver_on(EngineOptions(seed=3), null, **options) as (app, _):
        await send(app, "/lyria/bpm", 120)
        await send_play(app)
        await until(lambda: null.stats().playing, 20.0, "never played")
        await asyncio.sleep(4.0)  # the buffer at its pre-roll
        density = 0.1
        for _ in range(20):  # 10 s of a fader moved: every chunk reflects a new change
            density = 0.9 if density < 0.5 else 0.1
            await send(app, "/lyria/density", density)
            await asyncio.sleep(0.5)
        await until(lambda: app.changes_heard >= 3, 10.0, "the changes were not heard")
        assert null.snaps == 1  # the first change of the stream was cut to
        await asyncio.sleep(AUTO_SNAP_QUIET + 2.0)  # its last chunk, then a quiet moment
        streamed = list(null.asked)
        assert len(streamed) >= 3 and streamed[0] == 0.5, streamed  # a beat at 120 bpm
        assert all(beat is None for beat in streamed[1:]), streamed  # the rest played through
        await send(app, "/lyria/density", 0.5)
        await until(lambda: len(null.asked) > len(streamed), 10.0, "the change was not heard")
        assert null.asked[-1] == 0.5  # an isolated change snaps again
        assert null.stats().underruns == 0
