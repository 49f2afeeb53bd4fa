"""Every OSC address any patch in patches/ sends exists in the address table."""

from __future__ import annotations

import re
from pathlib import Path

from oscserver.adapters.osc_udp import ERROR_ADDRESS
from oscserver.core.dispatch import ADDRESSES
from oscserver.core.patterns import is_pattern, matching
from oscserver.feedback import FILTERED_ADDRESS, WARNING_ADDRESS

PATCHES = Path(__file__).resolve().parent.parent / "patches"
_PD_FORMAT = re.compile(r"oscformat(?: -f \S+)? ((?:[\w$]+ ?)+)")
# An address, patterns included; a comma only inside {a,b}.
# A "%" is a format placeholder (SuperCollider's "/lyria/prompt/%/weight".format(slot)): any
# value there, checked as the pattern "*".
# So is a Python f-string field ("/lyria/prompt/{slot}/text"); {a,b} stays an OSC alternative.
_LITERAL = re.compile(r"/lyria(?:/(?:[\w*?!%\[\]-]|\{[^{}/]*\})+)+")
_FIELD = re.compile(r"\{([^{}/]*)\}")


def _placeholders(address: str) -> str:
    address = address.replace("%", "*")
    return _FIELD.sub(lambda m: m[0] if re.fullmatch(r"\w+(,\w+)+", m[1]) else "*", address)


def addresses_in(path: Path) -> set[str]:
    text = path.read_text(errors="replace")
    found = {_placeholders(a) for a in _LITERAL.findall(text)}
    if path.suffix == ".pd":
        for words in _PD_FORMAT.findall(text):
            found.add("/" + "/".join(words.split()))
    return found


def test_patches_exist():
    assert list(PATCHES.rglob("*.pd")), "no Pd patch"


def test_every_address_in_every_patch_is_in_the_table():
    # What patches send, and the replies they listen for.
    table = set(ADDRESSES) | {ERROR_ADDRESS, FILTERED_ADDRESS, WARNING_ADDRESS}
    checked = 0
    for path in sorted(p for p in PATCHES.rglob("*") if p.is_file() and p.suffix != ".md"):
        for address in addresses_in(path):
            checked += 1
            if is_pattern(address):
                assert matching(address, ADDRESSES), f"{path.name}: {address} matches nothing"
            else:
                assert address in table, f"{path.name}: {address} is not an oscserver address"
    assert checked >= 20  # the Pd patch alone sends more than that
