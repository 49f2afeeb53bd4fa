"""TouchDesigner -> oscserver: a CHOP Execute DAT that sends CHOP channels as OSC.

Setup (see README.md): an OSC Out DAT named ``oscout1`` (Network Address 127.0.0.1, Port
9000, Protocol UDP), a CHOP with your controls (a Constant CHOP, sliders merged into a Null
CHOP...), and a CHOP Execute DAT watching it with "Value Change" on, whose text is this file.

Channels are mapped to oscserver addresses by name (``ADDRESSES`` below); rename your
channels, or edit the map. Weights go out as floats, bpm as an int, triggers (play, pause,
stop, reset) fire when their channel goes from 0 to 1, like a Button COMP's pulse.
Prompt texts come from a Text DAT: see ``send_prompt_text`` (call it from a Panel Execute DAT
or a Text COMP's callback).
"""

# Channel name -> OSC address. Any address of docs/osc.md works here.
ADDRESSES = {
    "weight1": "/lyria/prompt/1/weight",
    "weight2": "/lyria/prompt/2/weight",
    "weight3": "/lyria/prompt/3/weight",
    "weight4": "/lyria/prompt/4/weight",
    "bpm": "/lyria/bpm",
    "density": "/lyria/density",
    "brightness": "/lyria/brightness",
    "guidance": "/lyria/guidance",
    "scale": "/lyria/scale",
    "mutebass": "/lyria/mute_bass",
    "mutedrums": "/lyria/mute_drums",
}
TRIGGERS = {
    "play": "/lyria/play",
    "pause": "/lyria/pause",
    "stop": "/lyria/stop",
    "reset": "/lyria/reset",
}
INTEGERS = {"/lyria/bpm", "/lyria/scale"}
OSC_OUT = "oscout1"


def _send(address, values):
    op(OSC_OUT).sendOSC(address, values)  # noqa: F821 - `op` is TouchDesigner's


def onValueChange(channel, sampleIndex, val, prev):
    """TouchDesigner calls this when a watched channel changes."""
    name = channel.name
    if name in TRIGGERS:
        if val >= 0.5 > prev:  # the rising edge of a pulse
            _send(TRIGGERS[name], [])
        return
    address = ADDRESSES.get(name)
    if address is None:
        return
    _send(address, [round(val)] if address in INTEGERS else [float(val)])


def send_prompt_text(slot, text):
    """Send a prompt's words, e.g. ``mod('oscserver_out').send_prompt_text(1, 'deep house')``."""
    _send(f"/lyria/prompt/{int(slot)}/text", [str(text)])


def glide(slot, weight, seconds):
    """Let oscserver glide a weight, e.g. ``glide(2, 1.0, 8)`` for an 8 s fade-in."""
    _send(f"/lyria/prompt/{int(slot)}/weight", [float(weight), float(seconds)])


def listen_pulse(port=9002, on=True):
    """Ask for the music's pulse (beats, level, bands, onsets) at the OSC In DAT's port.

    oscserver_in.py keeps it in the ``lyria_pulse`` table; ``on=False`` stops it.
    """
    verb = "listen" if on else "ignore"
    for topic in ("beat", "analysis"):
        _send(f"/lyria/{verb}/{topic}", ["127.0.0.1", int(port)])
