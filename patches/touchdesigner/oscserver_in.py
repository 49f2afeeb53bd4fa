"""oscserver -> TouchDesigner: the callbacks DAT of an OSC In DAT.

Setup (see README.md): an OSC In DAT listening on the port oscserver replies to (start
oscserver with ``--reply-port 9002`` and set the DAT's Network Port to 9002), with this file
as its Callbacks DAT. It keeps the latest of everything oscserver says in a Table DAT named
``lyria_state`` (create it: two columns, address and value), which your network can read with
``op('lyria_state')['/lyria/bpm', 1]``; errors and refused prompts also go to the textport.
Send ``/lyria/listen`` once (a pulse through oscserver_out.py, or ``op('oscout1').sendOSC(
'/lyria/listen', [])``) and every change, from any sender, arrives here.
"""

STATE_TABLE = "lyria_state"
SHOUT = {"/lyria/error", "/lyria/filtered", "/lyria/warning"}


def onReceiveOSC(dat, rowIndex, message, bytes, timeStamp, address, args, peer):
    """TouchDesigner calls this for every OSC message the OSC In DAT receives."""
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
