"""The stream's beats written with the audio reach the pulse at the ring's places: as they are
at the stream's rate; resampled, where the frame they name comes out; after a snap, from the
cut; and not at all for audio the ring had no room for."""

from __future__ import annotations

import numpy as np
import pytest

from oscserver.adapters.audio.base import RingSink
from oscserver.adapters.audio.shared import F, SharedBlock
from oscserver.dsp.beat_map import BeatMark


class Told:
    """Stands for the pulse watch: keeps what the sink tells it."""

    def __init__(self) -> None:
        self.pieces: list[tuple[int, int, list[BeatMark] | None]] = []
        self.rewinds: list[int] = []

    def written_at(self) -> list[float]:
        return [place + m.at for place, _, marks in self.pieces for m in marks or []]

    def rewound(self, place: int) -> None:
        self.rewinds.append(place)

    def slipped(self) -> None:
        pass

    def stopped(self) -> None:
        pass

    def written(self, place, frames, heard_at, rate, marks=None) -> None:
        self.pieces.append((place, frames.shape[1], marks))


class Ring(RingSink):
    """A ring nobody reads, at ``rate``."""

    def __init__(self, rate: int) -> None:
        super().__init__(SharedBlock(30 * 48000), preroll_seconds=0.1)
        self._rate_known(rate)

    @property
    def description(self) -> str:
        return "a ring"

    def close(self) -> None:
        pass


def mark(at: float) -> BeatMark:
    return BeatMark(at, None, 120.0)


def told(ring: Ring) -> Told:
    pulse = Told()
    ring.pulse = pulse  # type: ignore[assignment]
    return pulse


def test_at_the_streams_rate_the_marks_are_placed_from_where_their_audio_is_written():
    ring = Ring(48000)
    pulse = told(ring)
    ring.write(np.zeros((2, 1000), np.float32), [mark(10.0)])
    ring.write(np.zeros((2, 1000), np.float32), [mark(0.0), mark(1500.0)])  # (one beyond it)
    ring.write(np.zeros((2, 1000), np.float32))  # (not known)
    assert pulse.written_at() == [10.0, 1000.0, 2500.0]
    assert pulse.pieces[-1] == (2000, 1000, None)


def test_resampled_each_mark_is_where_the_frame_it_names_comes_out():
    ring = Ring(44100)
    pulse = told(ring)
    ring.write(np.zeros((2, 4800), np.float32))
    click = np.zeros((2, 4800), np.float32)
    click[:, 1234] = 1.0
    ring.write(click, [mark(1234.0)])
    ring.write(np.zeros((2, 4800), np.float32))  # (what the filter held of the click)
    (placed,) = pulse.written_at()
    assert placed == pytest.approx((4800 + 1234) * 44100 / 48000)
    out = ring.ring.frames_at(0, ring.ring.positions()[1])
    assert abs(int(np.argmax(out[0])) - placed) <= 1.0


def test_after_a_snap_the_marks_are_placed_from_the_cut():
    ring = Ring(48000)
    pulse = told(ring)
    ring._h[F.GATE] = ring._h[F.PLAYING] = 1  # (playing: a snap cuts)
    ring.write(np.zeros((2, 48000), np.float32), [mark(100.0), mark(24100.0)])
    ring.write_fresh(np.zeros((2, 4800), np.float32), 0.2, None, marks=[mark(50.0)])
    (cut,) = pulse.rewinds
    assert cut == 48000 - 4 * 9600  # four beats of 0.2 s (0.15 s kept at least)
    assert pulse.written_at() == [100.0, 24100.0, cut + 50.0]


def test_marks_in_audio_the_ring_had_no_room_for_are_not_told():
    ring = Ring(48000)
    pulse = told(ring)
    ring.write(np.zeros((2, 10 * 48000 - 1000), np.float32))  # (10 s: the high-water mark)
    ring.write(np.zeros((2, 3000), np.float32), [mark(500.0), mark(2500.0)])
    assert pulse.written_at() == [10 * 48000 - 1000 + 500.0]
