"""oscserver -> TouchDesigner: the callbacks DAT of an OSC In DAT.

Setup (see README.md): an OSC In DAT listening on the port oscserver replies to (start
oscserver with ``--reply-port 9002`` and set the DAT's Network Port to 9002), with this file
as its Callbacks DAT. It keeps the latest of everything oscserver says in a Table DAT named
``lyria_state`` (create it: two columns, address and value), which your network can read with
``op('lyria_state')['/lyria/bpm', 1]``; errors and refused prompts also go to the textport.
Send ``/lyria/listen`` once (a pulse through oscserver_out.py, or ``op('oscout1').sendOSC(
'/lyria/listen', [])``) and every change, from any sender, arrives here.

The music's pulse (``/lyria/listen/beat 127.0.0.1 9002`` and ``/lyria/listen/analysis
127.0.0.1 9002``, or ``listen_pulse()`` in oscserver_out.py) goes to a second Table DAT,
``lyria_pulse`` (create it empty): one row per channel, for a DAT to CHOP.
"""

import time

STATE_TABLE = "lyria_state"
SHOUT = {"/lyria/error", "/lyria/filtered", "/lyria/warning"}
#: The music's pulse (docs/pulse.md), kept apart from the state: a Table DAT of name/value rows
#: that a DAT to CHOP turns into channels for your visuals.
PULSE_TABLE = "lyria_pulse"
PULSE_NAMES = {
    "/lyria/beat": ("bar", "beat", "bpm"),
    "/lyria/level": ("rms", "peak"),
    "/lyria/bands": tuple(f"band{k}" for k in range(1, 9)),
    "/lyria/onset": ("onset",),
}
#: Seconds the flash channels stay at 1 after a beat (flash) or an onset (hit).
FLASH = 0.1
_flashes = {"flash": 0.0, "hit": 0.0}  # when each last went up
_counts = {"beats": 0}


def onReceiveOSC(dat, rowIndex, message, bytes, timeStamp, address, args, peer):
    """TouchDesigner calls this for every OSC message the OSC In DAT receives."""
    if address in PULSE_NAMES:
        pulse(address, args)
        return
    value = " ".join(str(a) for a in args)
    if address in SHOUT:
        print(f"oscserver {address.rsplit('/', 1)[-1]}: {value}")
    table = op(STATE_TABLE)  # noqa: F821 - `op` is TouchDesigner's
    if table is None:
        return
    cell = table[address, 1]
    if cell is None:
        table.appendRow([address, value])
    else:
        cell.val = value


def pulse(address, args):
    """Keep the pulse in ``lyria_pulse``, one row per channel.

    bar, beat, bpm, rms, peak, band1..band8, onset, beats (counting), and flash and hit, 1 for
    0.1 s after each beat and each onset.
    """
    table = op(PULSE_TABLE)  # noqa: F821 - `op` is TouchDesigner's
    if table is None:
        return
    now = time.monotonic()
    values = dict(zip(PULSE_NAMES[address], args, strict=False))
    if address == "/lyria/beat":
        _counts["beats"] += 1
        values["beats"] = _counts["beats"]
        _flashes["flash"] = now
    elif address == "/lyria/onset":
        _flashes["hit"] = now
    for name, since in _flashes.items():  # (the levels, 30 a second, bring them down)
        values[name] = 1 if now - since < FLASH else 0
    for name, value in values.items():
        cell = table[name, 1]
        if cell is None:
            table.appendRow([name, value])
        else:
            cell.val = value
