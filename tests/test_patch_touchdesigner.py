"""The TouchDesigner scripts, run outside TouchDesigner: TouchDesigner cannot run here, so its
``op()`` is stood in for by an OSC Out DAT that really sends over UDP to a running oscserver,
and the OSC In callbacks are fed the replies oscserver really sent."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import timeout, until

from oscserver.core.osc_codec import decode_packet, encode_message

HERE = Path(__file__).resolve().parent.parent / "patches" / "touchdesigner"


class OscOutDat:
    """What the scripts use of TouchDesigner's OSC Out DAT: sendOSC(address, values)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.target = target

    def sendOSC(self, address: str, values: list) -> None:
        self.sock.sendto(encode_message(address, values), self.target)


class TableDat:
    """What oscserver_in.py uses of a Table DAT: table[row, col].val and appendRow."""

    def __init__(self) -> None:
        self.rows: dict[str, SimpleNamespace] = {}

    def __getitem__(self, key):
        address, _ = key
        return self.rows.get(address)

    def appendRow(self, row):
        self.rows[row[0]] = SimpleNamespace(val=row[1])


def load(name: str, ops: dict) -> dict:
    namespace = {"op": ops.get, "__name__": name}
    exec(compile((HERE / name).read_text(), name, "exec"), namespace)
    return namespace


@pytest.fixture
def app(bare_app):
    return bare_app


async def test_chop_channels_become_oscserver_values(app):
    out = OscOutDat(app.osc_address)
    td = load("oscserver_out.py", {"oscout1": out})
    ch = lambda name: SimpleNamespace(name=name)  # noqa: E731
    td["send_prompt_text"](1, "deep house")
    td["onValueChange"](ch("weight1"), 0, 0.75, 0.0)
    td["onValueChange"](ch("bpm"), 0, 123.6, 120.0)
    td["onValueChange"](ch("scale"), 0, 10.0, 0.0)
    td["onValueChange"](ch("mutedrums"), 0, 1.0, 0.0)
    td["onValueChange"](ch("unrelated"), 0, 5.0, 0.0)  # not mapped: nothing sent
    td["onValueChange"](ch("play"), 0, 1.0, 0.0)  # a pulse's rising edge
    td["onValueChange"](ch("play"), 0, 1.0, 1.0)  # held: no second play
    td["glide"](2, 1.0, 0.2)
    await until(lambda: app.state.playback.value == "playing", 5)
    s = app.state
    assert (s.prompt(1).text, s.prompt(1).weight) == ("deep house", 0.75)
    assert s.config.bpm == 124 and s.config.scale == "A_MAJOR_G_FLAT_MINOR"
    assert s.config.mute_drums is True
    await until(lambda: app.state.prompt(2).weight == pytest.approx(1.0), 5)
    assert app.udp.stats.messages == 7 and app.refused == 0  # the held play sent nothing


async def test_replies_land_in_the_state_table_and_errors_are_printed(app, capsys):
    out = OscOutDat(app.osc_address)
    out.sock.settimeout(timeout(5))
    table = TableDat()
    td_in = load("oscserver_in.py", {"lyria_state": table})
    out.sendOSC("/lyria/bpm", [128])
    out.sendOSC("/lyria/get/bpm", [])
    out.sendOSC("/lyria/bpm", [999])
    for _ in range(2):  # the value, then the error, as oscserver sent them
        data, peer = await asyncio.to_thread(out.sock.recvfrom, 65536)
        message = decode_packet(data)[0]
        td_in["onReceiveOSC"](None, 0, None, data, 0, message.address, list(message.args), peer)
    assert table["/lyria/bpm", 1].val == "128"
    assert "out of range" in table["/lyria/error", 1].val
    assert "oscserver error: /lyria/bpm: 999 is out of range" in capsys.readouterr().out


async def test_the_pulse_lands_in_its_table_with_a_flash_on_each_beat(app):
    """listen_pulse() asks for the pulse at the OSC In DAT's port; the callbacks keep it in
    lyria_pulse: the beats counted and numbered, a flash up on each and down after, the level
    and the 8 bands."""
    osc_in = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    osc_in.bind(("127.0.0.1", 0))
    osc_in.settimeout(timeout(30))
    out = OscOutDat(app.osc_address)
    td_out = load("oscserver_out.py", {"oscout1": out})
    table, state = TableDat(), TableDat()
    td_in = load("oscserver_in.py", {"lyria_pulse": table, "lyria_state": state})
    td_out["listen_pulse"](osc_in.getsockname()[1])
    td_out["send_prompt_text"](1, "techno")
    out.sendOSC("/lyria/play", [])
    flashes: list[tuple[int, int]] = []  # (beats counted, flash) after each message
    try:
        while table["beats", 1] is None or int(table["beats", 1].val) < 4:
            data, peer = await asyncio.to_thread(osc_in.recvfrom, 65536)
            for m in decode_packet(data):
                td_in["onReceiveOSC"](None, 0, None, data, 0, m.address, list(m.args), peer)
            if table["flash", 1] is not None and table["beats", 1] is not None:
                flashes.append((int(table["beats", 1].val), int(table["flash", 1].val)))
    finally:
        osc_in.close()
    values = {name: row.val for name, row in table.rows.items()}
    assert 1 <= int(values["beat"]) <= 4 and 100 < float(values["bpm"]) < 140
    assert 0 < float(values["rms"]) <= float(values["peak"]) <= 1
    bands = [float(values[f"band{k}"]) for k in range(1, 9)]
    assert max(bands) > 0.3 and all(0 <= b <= 1 for b in bands)
    # Up on each beat, down again before the next (the levels, 30 a second, bring it down).
    for beat in range(1, 4):
        during = [flash for count, flash in flashes if count == beat]
        assert during[0] == 1 and during[-1] == 0, flashes
    assert state.rows == {}  # (the pulse stays out of the state table)
