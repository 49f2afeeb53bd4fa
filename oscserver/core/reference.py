"""The OSC address reference (docs/osc.md), generated from the address table.

``oscserver addresses`` prints it; a test fails when docs/osc.md is not the current output, so
the reference can never drift from what the server accepts.
"""

from __future__ import annotations

from oscserver.core.addresses import PROMPT_SLOTS, TABLE, Address, Effect, Kind
from oscserver.core.patterns import MAX_PATTERN

__all__ = ["markdown"]

_HEADER = f"""\
# OSC address reference

Generated from the address table (`oscserver/core/addresses.py`) by `make docs`
(`oscserver addresses`); do not edit by hand: a test fails when this file is stale.

oscserver listens for OSC 1.0 over UDP on 127.0.0.1:9000 by default (`--osc-host`,
`--osc-port`; `--osc-host 0.0.0.0` to accept other machines, with `--allow` to say which).
`N` in a prompt address is a slot number, 1 to {PROMPT_SLOTS}. Datagrams over 16 KiB
(`--max-datagram`) and malformed ones are refused with `/lyria/error` and counted; the log
shows the first of a kind at once and then at most one line a second per sender.

How addresses are read (OSC 1.0):
- patterns reach every matching address: `?` one character, `*` any run of characters (never
  a `/`), `[1-4]` `[!0-9]` one character of a set, `{{bpm,density}}` one of several names; e.g.
  `/lyria/prompt/*/weight 0` silences every slot. Matches that refuse the arguments are
  reported together on `/lyria/error`, the others take them; a pattern is at most
  {MAX_PATTERN} characters;
- bundles (nested too) take effect together, as one update to the service; a bundle timetagged
  in the future is applied at that time (at most an hour ahead), one in the past at once.

How arguments are read:
- numbers: int or float alike (TouchDesigner sends floats, Max often ints), 64-bit ints (`h`)
  and doubles (`d`) too; a float for an int parameter is rounded;
- booleans: `T`/`F`, a number (0 is false), or the words true/false, on/off, yes/no;
- choices: the name (any case) or its 0-based index in the list, as a menu sends it; scales
  also by key name: `C`, `Am`, `F#m`, `Bb major`, `c# minor` (sharps and flats alike);
- prompt text: one string, or several words (Max and Pd send `deep house` as two symbols);
- `auto` (or OSC nil, `N`) where the table says "or auto": hands the parameter back to the
  model.

Replies go to the sender's address and port (or to `--reply-host`/`--reply-port`):
`/lyria/get/<param>` answers at the parameter's own address (`/lyria/get/bpm` ->
`/lyria/bpm 124`; `/lyria/bpm auto` when the model decides), so a reply can feed the control
that sets it. Replies use only the OSC 1.0 types `i`, `f` and `s`, which Pd vanilla's
`[oscparse]`, Max's `[udpreceive]` and TouchDesigner all read: on/off values are 1 and 0, and
"the model decides" is the word `auto`;
`/lyria/get` answers every value; `/lyria/status` answers
`/lyria/status <connection> <playback> <buffered seconds> <underruns> <xruns> <OSC messages
received> <OSC messages refused> <stretch ratio> <seconds bridged>` (new arguments are only ever
added at the end, so a patch that reads them by position keeps working; with `--continuity
stretch`, the ratio the stream is played at and the seconds its last bar was looped while it was
late; else 1 and 0).
`/lyria/listen` (or `/lyria/listen <host> <port>`) subscribes to every change, whoever made
it: first a snapshot of all values and the status, then each change at its own address as it
happens (the latest value per address at most every 20 ms) and the status when playback
changes; `/lyria/ignore` ends it. Up to 16 listeners.

OSCQuery (Vidvox's OSCQueryProposal) describes this whole table to tools that browse it
(TouchDesigner, ossia score, Chataigne...): `http://127.0.0.1:9001/` (`--oscquery-port`,
`--no-oscquery`) serves the namespace as JSON, with TYPE, RANGE, ACCESS, DESCRIPTION and the
current VALUE of every address; `/?HOST_INFO` says where OSC goes; a WebSocket on the same
port takes `{{"COMMAND": "LISTEN", "DATA": "/lyria/bpm"}}` (and `IGNORE`) and streams each
change of that address as a binary OSC message. Values are set over UDP as above. oscserver
announces itself over mDNS (`_oscjson._tcp` for OSCQuery, `_osc._udp` for OSC; `--no-mdns`)
on the interfaces it listens on, so these tools list it without being told the address.

A refused message changes nothing. The reason is logged and sent back to the sender as
`/lyria/error <message>`, e.g. `/lyria/bpm: 300 is out of range 60..200`. Problems that no
single message caused (the service dropped the connection, no prompt is active) go to the
recent senders the same way. A prompt the service's safety filter refuses is reported as
`/lyria/filtered <slot> <text> <reason>` and is not sent again until its text changes; a
warning from the service comes as `/lyria/warning <text>`.

Prompt and config changes reach the service at most once per 200 ms (`--throttle`), the latest
value always; `/lyria/prompt/N/weight <target> <seconds>` glides a weight instead of jumping
(see docs/session.md).
"""


def _args(entry: Address) -> str:
    if len(entry.args) == 1 and entry.args[0].optional and entry.args[0].kind is Kind.BOOL:
        return "none, or one bool"
    parts = []
    for arg in entry.args:
        kind = "words" if arg.rest else arg.describe()
        parts.append(f"`{arg.name}`: {kind}" + (" (optional)" if arg.optional else ""))
    return "; ".join(parts)


def _default(entry: Address) -> str:
    if entry.args and entry.args[0].optional:
        return ""
    if entry.default is None:
        return "model decides" if entry.args[0].nullable else ""
    if entry.args[0].kind is Kind.STRING and entry.default == "":
        return "empty"
    value = entry.default
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`"


_SENT_HEADER = """
## Sent by oscserver: the music's pulse

To those who ask with `/lyria/listen/beat` or `/lyria/listen/analysis` (above), each timed to
the moment its sound leaves the output, JACK's port latency included (`--osc-lookahead S`:
that many seconds earlier, in a bundle timetagged with the moment). OSCQuery lists them
read-only, and its WebSocket's `LISTEN` to one of them streams every one as it is sent; a
message sent to one is refused. See docs/pulse.md.
"""


def markdown() -> str:
    """Return the reference as Markdown."""
    lines = [_HEADER, "| address | arguments | default | what it does |", "|---|---|---|---|"]
    sent = [e for e in TABLE if e.effect is Effect.SENT]
    for entry in TABLE:
        if entry.effect is Effect.SENT:
            continue
        path = entry.path.replace("{slot}", "N").replace("{scene}", "N")
        cells = (f"`{path}`", _args(entry), _default(entry), entry.description)
        lines.append(_row(cells))
    lines += [_SENT_HEADER, "| address | arguments | what it says |", "|---|---|---|"]
    lines += [_row((f"`{e.path}`", _args(e), e.description)) for e in sent]
    return "\n".join(lines) + "\n"


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
