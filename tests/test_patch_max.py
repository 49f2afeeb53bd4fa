"""The Max patch: valid JSON whose objects and connections hold together, every control
reaches [udpsend], and replies come in through [udpreceive]."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from oscserver.core.dispatch import ADDRESSES

PATCH = Path(__file__).resolve().parent.parent / "patches" / "max" / "oscserver.maxpat"
CONTROLS = {"slider", "flonum", "number", "toggle", "umenu", "textedit", "message"}


def load() -> tuple[dict[str, dict], list[tuple[str, int, str, int]]]:
    patcher = json.loads(PATCH.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [
        (*line["patchline"]["source"], *line["patchline"]["destination"])
        for line in patcher["lines"]
    ]
    return boxes, lines


def test_every_connection_joins_existing_outlets_and_inlets():
    boxes, lines = load()
    assert len(boxes) > 40
    for src, outlet, dst, inlet in lines:
        assert src in boxes and dst in boxes
        assert 0 <= outlet < boxes[src]["numoutlets"], (src, outlet)
        assert 0 <= inlet < boxes[dst]["numinlets"], (dst, inlet)


def test_every_control_reaches_udpsend_with_a_real_address():
    boxes, lines = load()
    sends = [i for i, b in boxes.items() if b.get("text", "").startswith("udpsend ")]
    assert len(sends) == 1 and boxes[sends[0]]["text"] == "udpsend 127.0.0.1 9000"
    after: dict[str, set[str]] = defaultdict(set)
    for src, _, dst, _ in lines:
        after[src].add(dst)

    def reaches(start: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == sends[0]:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(after[node])
        return False

    controls = [i for i, b in boxes.items() if b["maxclass"] in CONTROLS and b.get("text") != ""]
    controls = [
        i
        for i in controls
        if boxes[i]["maxclass"] != "message" or "/lyria" in boxes[i].get("text", "")
    ]
    kinds = {boxes[i]["maxclass"] for i in controls}
    assert kinds >= {"slider", "flonum", "number", "toggle", "umenu", "textedit", "message"}
    for control in controls:
        assert reaches(control), f"{boxes[control]['maxclass']} {control} never reaches udpsend"
    # What the controls send: addresses of the table.
    for b in boxes.values():
        text = b.get("text", "") if b["maxclass"] != "comment" else ""
        for word in text.split():
            if word.startswith("/lyria/") and not text.startswith("route "):
                assert word in ADDRESSES, word


def test_replies_come_in_through_udpreceive_and_are_shown():
    boxes, lines = load()
    receive = [i for i, b in boxes.items() if b.get("text", "").startswith("udpreceive ")]
    assert len(receive) == 1
    route = [dst for src, _, dst, _ in lines if src == receive[0]]
    assert route and boxes[route[0]]["text"].startswith("route /lyria/error /lyria/filtered")
    shown = {boxes[dst]["text"] for src, _, dst, _ in lines if src == route[0]}
    assert {"print oscserver-error", "print oscserver-filtered", "prepend set"} <= shown


def test_the_pulse_is_asked_for_by_toggles_and_shown():
    boxes, lines = load()
    texts = {b.get("text", ""): i for i, b in boxes.items()}
    after: dict[tuple[str, int], set[str]] = defaultdict(set)
    for src, outlet, dst, _ in lines:
        after[(src, outlet)].add(dst)
    # Each toggle: on asks for its topic at the replies' port, off ends it.
    for topic in ("beat", "analysis"):
        on, off = (texts[f"/lyria/{v}/{topic} 127.0.0.1 9002"] for v in ("listen", "ignore"))
        sel = [s for (s, o), d in after.items() if on in d and o == 1]
        assert len(sel) == 1 and after[(sel[0], 0)] == {off}
        assert any(boxes[s]["maxclass"] == "toggle" and sel[0] in d for (s, _), d in after.items())
    route = texts["route /lyria/beat /lyria/level /lyria/bands /lyria/onset"]
    assert any(
        route in d for (s, _), d in after.items() if boxes[s].get("text", "").startswith("route ")
    )
    shown = [{boxes[d]["maxclass"] for d in after[(route, k)]} for k in range(4)]
    assert "button" in shown[0]  # flashes on the beat
    (level,) = [d for d in after[(route, 1)] if boxes[d]["maxclass"] == "multislider"]
    (bands,) = [d for d in after[(route, 2)] if boxes[d]["maxclass"] == "multislider"]
    assert boxes[level]["size"] == 2 and boxes[bands]["size"] == 8
    assert boxes[bands]["setminmax"] == [0.0, 1.0]
    assert "button" in shown[3]  # and on each onset
    assert {boxes[d]["text"] for d in after[(route, 4)]} == {"print oscserver-value"}
