"""Run inside a private network namespace by tests/test_clock_link.py: a Link session with a
peer that stands for the rig (Live, TouchDesigner), and oscserver's LinkClock joining it.
Prints what it saw as JSON."""

from __future__ import annotations

import asyncio
import json

from aalink import Link

from oscserver.adapters.clock.link import LinkClock


async def until(predicate, seconds: float) -> bool:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return False


async def main() -> None:
    rig = Link(120)
    rig.quantum = 4
    rig.enabled = True
    await asyncio.sleep(1.0)  # the rig's session was there first
    seen: dict[str, object] = {}
    # Joining must not change the session's tempo (Link's test plan, TEMPO-2): join a few
    # times, proposing another tempo each time.
    kept = []
    for bpm in (100, 101, 102, 103, 104):
        clock = LinkClock(bpm)
        joined = await until(lambda: clock.peers == 1, 5.0)  # noqa: B023 (awaited here)
        await asyncio.sleep(0.3)
        kept.append(joined and abs(rig.tempo - 120) < 1e-6)
        clock.close()
        await until(lambda: rig.num_peers == 0, 5.0)
    seen["kept"] = kept
    clock = LinkClock(100)
    seen["joined"] = await until(lambda: clock.peers == 1, 5.0)
    reading = clock.read()
    seen["tempo"] = reading.tempo
    seen["phase_difference"] = (rig.beat - reading.beat_at(reading.time)) % 4  # at once
    seen["describe"] = clock.describe()
    clock.propose_tempo(126)
    seen["rig_followed"] = await until(lambda: abs(rig.tempo - 126) < 1e-3, 2.0)
    rig.tempo = 90
    seen["clock_followed"] = await until(lambda: abs(clock.read().tempo - 90) < 1e-3, 2.0)
    clock.close()
    seen["left"] = await until(lambda: rig.num_peers == 0, 5.0)
    print(json.dumps(seen))


asyncio.run(main())
