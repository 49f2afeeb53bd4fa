"""A JACK timebase master at a tempo read from stdin (one bpm a line), for
tests/test_clock_jack.py and tests/test_lock_jack.py: 4/4, bar 1 beat 1 at frame 0, a tempo
change keeping the beats continuous, as Ardour or Reaper would.

It runs in a process of its own: its timebase callback is Python called from JACK's real-time
thread, and that thread outlives the client (seen here), which is no company for a test run.

Run: python tests/jack_timebase_master.py SERVER_NAME BPM
"""

from __future__ import annotations

import sys

import jack

TICKS = 1920.0


def main() -> None:
    server = sys.argv[1]
    wanted = [float(sys.argv[2])]  # set from stdin
    # The tempo map: from frame `since`, at `bpm`, starting at beat `at` (a tempo change keeps
    # the beats continuous, as a DAW's tempo map does; a relocation before it starts afresh).
    now = {"bpm": wanted[0], "since": 0, "at": 0.0}
    client = jack.Client("test-timebase", servername=server, no_start_server=True)

    def position(state: int, blocksize: int, pos, new_pos: bool) -> None:
        if pos.frame < now["since"]:
            now.update(since=0, at=0.0)
        if wanted[0] != now["bpm"]:
            at = now["at"] + (pos.frame - now["since"]) / pos.frame_rate * now["bpm"] / 60.0
            now.update(bpm=wanted[0], since=pos.frame, at=at)
        beats = now["at"] + (pos.frame - now["since"]) / pos.frame_rate * now["bpm"] / 60.0
        pos.valid = pos.valid | jack._lib.JackPositionBBT
        pos.bar = int(beats // 4) + 1
        pos.beat = int(beats % 4) + 1
        pos.tick = int((beats % 1) * TICKS)
        pos.bar_start_tick = (pos.bar - 1) * 4 * TICKS
        pos.beats_per_bar = 4.0
        pos.beat_type = 4.0
        pos.ticks_per_beat = TICKS
        pos.beats_per_minute = now["bpm"]

    client.set_timebase_callback(position)
    client.activate()
    print("ready", flush=True)
    for line in sys.stdin:  # a new tempo, until stdin closes
        wanted[0] = float(line)
    client.release_timebase()
    client.deactivate()
    client.close()


if __name__ == "__main__":
    main()
