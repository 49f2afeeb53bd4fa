"""A JACK timebase master at a tempo read from stdin (one bpm a line), for
tests/test_clock_jack.py: 4/4, bar 1 beat 1 at frame 0, as Ardour or Reaper would be.

It runs in a process of its own: its timebase callback is Python called from JACK's real-time
thread, and that thread outlives the client (seen here), which is no company for a test run.

Run: python tests/jack_timebase_master.py SERVER_NAME BPM
"""

from __future__ import annotations

import sys

import jack

TICKS = 1920.0


def main() -> None:
    server, bpm = sys.argv[1], [float(sys.argv[2])]
    client = jack.Client("test-timebase", servername=server, no_start_server=True)

    def position(state: int, blocksize: int, pos, new_pos: bool) -> None:
        beats = pos.frame / pos.frame_rate * bpm[0] / 60.0
        pos.valid = pos.valid | jack._lib.JackPositionBBT
        pos.bar = int(beats // 4) + 1
        pos.beat = int(beats % 4) + 1
        pos.tick = int((beats % 1) * TICKS)
        pos.bar_start_tick = (pos.bar - 1) * 4 * TICKS
        pos.beats_per_bar = 4.0
        pos.beat_type = 4.0
        pos.ticks_per_beat = TICKS
        pos.beats_per_minute = bpm[0]

    client.set_timebase_callback(position)
    client.activate()
    print("ready", flush=True)
    for line in sys.stdin:  # a new tempo, until stdin closes
        bpm[0] = float(line)
    client.release_timebase()
    client.deactivate()
    client.close()


if __name__ == "__main__":
    main()
