"""Every OSC address any patch in patches/ sends exists in the address table."""

from __future__ import annotations

import re
from pathlib import Path

from oscserver.core.dispatch import ADDRESSES
from oscserver.core.patterns import is_pattern, matching

PATCHES = Path(__file__).resolve().parent.parent / "patches"
_PD_FORMAT = re.compile(r"oscformat(?: -f \S+)? ((?:[\w$]+ ?)+)")
_LITERAL = re.compile(r"/lyria(?:/[\w*?\[\]{}!,-]+)+")


def addresses_in(path: Path) -> set[str]:
    text = path.read_text(errors="replace")
    found = set(_LITERAL.findall(text))
    if path.suffix == ".pd":
        for words in _PD_FORMAT.findall(text):
            found.add("/" + "/".join(words.split()))
    return found


def test_patches_exist():
    assert list(PATCHES.rglob("*.pd")), "no Pd patch"


def test_every_address_in_every_patch_is_in_the_table():
    table = set(ADDRESSES)
    checked = 0
    for path in sorted(p for p in PATCHES.rglob("*") if p.is_file() and p.suffix != ".md"):
        for address in addresses_in(path):
            checked += 1
            if is_pattern(address):
                assert matching(address, ADDRESSES), f"{path.name}: {address} matches nothing"
            else:
                assert address in table, f"{path.name}: {address} is not an oscserver address"
    assert checked >= 20  # the Pd patch alone sends more than that
