"""The OSCQuery namespace (Vidvox OSCQueryProposal), built from the address table and the state.

Plain data out, no I/O: :func:`namespace` is the JSON object for the whole address space (or
one node of it), :func:`host_info` the ``HOST_INFO`` object, :func:`attribute` one attribute of
a node as the proposal's ``?ATTRIBUTE`` queries return it. The HTTP/WebSocket adapter
(``adapters/oscquery_server.py``) serves them.

Rules followed (proposal, "Core Functionality" and "Optional Attributes"):

- every node has ``FULL_PATH``; containers have ``CONTENTS``; methods have ``TYPE`` (an OSC
  type tag string), ``ACCESS`` (1 read, 2 write, 3 both), ``DESCRIPTION``;
- ``VALUE`` and ``RANGE`` are arrays with one item per type tag; a range is ``{"MIN", "MAX"}``
  or ``{"VALS": [...]}``; a value the model decides is JSON null;
- a node can be both a method and a container (``/lyria/prompt/1`` takes text and weight,
  and holds ``text`` and ``weight``).
"""

from __future__ import annotations

from typing import Any

from oscserver.core.addresses import TABLE, Address, Effect, Kind
from oscserver.core.replies import value_args
from oscserver.core.state import MusicalState

__all__ = ["EXTENSIONS", "NotFound", "attribute", "host_info", "namespace"]

#: The optional attributes and features this server supports (``HOST_INFO.EXTENSIONS``).
EXTENSIONS = {
    "ACCESS": True,
    "VALUE": True,
    "RANGE": True,
    "DESCRIPTION": True,
    "LISTEN": True,
    "TAGS": False,
    "EXTENDED_TYPE": False,
    "UNIT": False,
    "CRITICAL": False,
    "CLIPMODE": False,
    "OVERLOADS": False,
    "HTML": False,
    "PATH_CHANGED": False,
}
_ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "VALUE", "RANGE", "DESCRIPTION")
_TAG = {Kind.FLOAT: "f", Kind.INT: "i", Kind.BOOL: "T", Kind.STRING: "s", Kind.ENUM: "s"}


class NotFound(LookupError):
    """No node at that path (HTTP 404)."""


def host_info(name: str, osc_ip: str, osc_port: int, ws_port: int | None = None) -> dict[str, Any]:
    """The ``HOST_INFO`` object: where OSC goes, over which transport, and what is supported."""
    info: dict[str, Any] = {
        "NAME": name,
        "EXTENSIONS": dict(EXTENSIONS),
        "OSC_IP": osc_ip,
        "OSC_PORT": osc_port,
        "OSC_TRANSPORT": "UDP",
    }
    if ws_port is not None:
        info["WS_PORT"] = ws_port
    return info


def _method(entry: Address, path: str, slot: int | None, state: MusicalState) -> dict[str, Any]:
    node: dict[str, Any] = {"FULL_PATH": path, "DESCRIPTION": entry.description}
    args = [a for a in entry.args if not a.optional]
    if entry.effect in (Effect.PLAYBACK, Effect.GET, Effect.STATUS, Effect.SCENE):
        node.update(TYPE="N", ACCESS=2)  # an impulse: send it, nothing to read
        return node
    if entry.effect in (Effect.LISTEN, Effect.IGNORE):
        node.update(TYPE="si", ACCESS=2, RANGE=[{}, {"MIN": 1, "MAX": 65535}])
        return node
    if entry.effect is Effect.LEARN:
        node.update(TYPE="s", ACCESS=2)  # (an address to map the next control to)
        return node
    node["TYPE"] = "".join(_TAG[a.kind] for a in args)
    node["ACCESS"] = 1 if entry.effect is Effect.SENT else 3  # (3: set, and read back here)
    ranges: list[dict[str, Any]] = []
    for arg in args:
        if arg.kind is Kind.ENUM:
            ranges.append({"VALS": list(arg.choices)})
        elif arg.minimum is not None and arg.maximum is not None:
            ranges.append({"MIN": arg.minimum, "MAX": arg.maximum})
        else:
            ranges.append({})
    node["RANGE"] = ranges
    if entry.effect is not Effect.SENT:  # (what oscserver sends streams over LISTEN)
        node["VALUE"] = value_args(state, entry, slot)
    return node


def namespace(state: MusicalState, path: str = "/") -> dict[str, Any]:
    """The node at ``path`` with everything under it.

    Raises:
        NotFound: No method or container has that path.
    """
    root: dict[str, Any] = {"FULL_PATH": "/", "DESCRIPTION": "oscserver: Lyria RealTime over OSC"}
    for entry in TABLE:
        for concrete, slot in entry.concrete_paths():
            node = root
            parts = concrete.strip("/").split("/")
            for depth, part in enumerate(parts, 1):
                contents = node.setdefault("CONTENTS", {})
                full = "/" + "/".join(parts[:depth])
                node = contents.setdefault(part, {"FULL_PATH": full})
            node.update(_method(entry, concrete, slot, state))
    node = root
    for part in filter(None, path.split("/")):
        try:
            node = node["CONTENTS"][part]
        except KeyError:
            raise NotFound(path) from None
    return node


def attribute(state: MusicalState, path: str, name: str) -> dict[str, Any]:
    """One attribute of a node, as ``GET /path?NAME`` returns it (``{NAME: value}``).

    Returns:
        ``{}`` when the node has no such value (e.g. VALUE of an impulse).

    Raises:
        NotFound: No node at ``path``.
        KeyError: ``name`` is not an attribute this server knows (HTTP 400).
    """
    if name not in _ATTRIBUTES:
        raise KeyError(name)
    node = namespace(state, path)
    return {name: node[name]} if name in node else {}
