"""OSC 1.0 address patterns: ``/lyria/prompt/*/weight`` reaches every prompt slot.

The OSC 1.0 specification ("OSC Message Dispatching and Pattern Matching") lets a message's
address be a pattern, matched against each part of the server's addresses between slashes:

- ``?`` matches any single character, ``*`` any sequence of zero or more characters;
- ``[abc]`` any one of the characters, with ``a-z`` a range and a leading ``!`` negating it
  (``[!0-9]``); a ``-`` at the start or end of the brackets is a plain minus;
- ``{foo,bar}`` any one of the comma-separated strings.

None of ``?``, ``*`` and ``[]`` matches a ``/``. A message whose address is a pattern is
delivered to every address that matches, in the table's order.

Matching never backtracks: the pattern is run as a set of positions in the address (one bit
each, Thompson's NFA simulation, as in RE2), so its cost grows with the pattern's length times
the address's, never exponentially. A regular expression with a ``[^/]*`` per ``*`` took
20 s for ``/lyria/***************x``: one 30-byte datagram froze the server. Patterns longer
than :data:`MAX_PATTERN` characters are refused, which bounds the work a datagram can ask for.

>>> matching("/lyria/prompt/[1-2]/weight", ["/lyria/prompt/1/weight", "/lyria/prompt/3/weight"])
['/lyria/prompt/1/weight']
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from oscserver.core.errors import BadArguments

__all__ = ["MAX_PATTERN", "is_pattern", "matching"]

MAX_PATTERN = 256
"""The longest address pattern taken, in characters (the table's addresses are under 40)."""

_SPECIAL = frozenset("?*[]{}")


def is_pattern(address: str) -> bool:
    """True when ``address`` contains OSC pattern characters."""
    return not _SPECIAL.isdisjoint(address)


@dataclass(frozen=True, slots=True)
class _One:
    """One character: a literal, ``?`` or a ``[...]`` set (never ``/`` unless literal)."""

    chars: str
    ranges: tuple[tuple[str, str], ...] = ()
    negate: bool = False
    literal: bool = False

    def takes(self, ch: str) -> bool:
        if ch == "/":
            return self.literal and self.chars == "/"
        inside = ch in self.chars or any(lo <= ch <= hi for lo, hi in self.ranges)
        return inside != self.negate


@dataclass(frozen=True, slots=True)
class _Star:
    """``*``: any run of characters up to the next ``/``."""


@dataclass(frozen=True, slots=True)
class _OneOf:
    """``{a,b}``: one of the strings."""

    words: tuple[str, ...]


_Token = _One | _Star | _OneOf


def _bracket(pattern: str, body: str) -> _One:
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    if not body:
        raise BadArguments(f"{pattern}: empty [] in the address pattern")
    chars: list[str] = []
    ranges: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        if chars and i + 1 < len(body) and body[i] == "-":
            lo, hi = chars.pop(), body[i + 1]
            if lo > hi:
                raise BadArguments(f"{pattern}: reversed range [{lo}-{hi}] in the address pattern")
            ranges.append((lo, hi))
            i += 2
            continue
        chars.append(body[i])  # a '-' first or last is a plain minus (OSC 1.0)
        i += 1
    return _One("".join(chars), tuple(ranges), negate)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> tuple[_Token, ...]:
    """The tokens of an OSC address pattern, runs of ``*`` folded into one.

    Raises:
        BadArguments: Too long, an unclosed ``[`` or ``{``, a nested ``{``, a stray ``]`` or
            ``}``, an empty ``[]`` or a reversed range.
    """
    if len(pattern) > MAX_PATTERN:
        raise BadArguments(
            f"{pattern[:40]}...: address patterns are at most {MAX_PATTERN} characters"
        )
    out: list[_Token] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "?":
            out.append(_One("/", negate=True))
        elif c == "*":
            if not (out and isinstance(out[-1], _Star)):
                out.append(_Star())
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise BadArguments(f"{pattern}: '[' without ']' in the address pattern")
            out.append(_bracket(pattern, pattern[i + 1 : end]))
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0 or "{" in pattern[i + 1 : end]:
                raise BadArguments(f"{pattern}: '{{' without its '}}' in the address pattern")
            out.append(_OneOf(tuple(pattern[i + 1 : end].split(","))))
            i = end
        elif c in "]}":
            raise BadArguments(f"{pattern}: stray {c!r} in the address pattern")
        else:
            out.append(_One(c, literal=True))
        i += 1
    return tuple(out)


def _positions(bits: int) -> Iterable[int]:
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


def _matches(tokens: tuple[_Token, ...], address: str) -> bool:
    """Whether the tokens match all of ``address``: bit p of ``now`` set = p characters read."""
    n = len(address)
    now = 1
    for token in tokens:
        after = 0
        for p in _positions(now):
            if isinstance(token, _One):
                if p < n and token.takes(address[p]):
                    after |= 1 << (p + 1)
            elif isinstance(token, _Star):
                stop = address.find("/", p)
                stop = n if stop < 0 else stop
                after |= ((1 << (stop + 1)) - 1) & ~((1 << p) - 1)
            else:
                for word in token.words:
                    if address.startswith(word, p):
                        after |= 1 << (p + len(word))
        if not after:
            return False
        now = after
    return bool(now >> n & 1)


def matching(pattern: str, addresses: Iterable[str]) -> list[str]:
    """The addresses a pattern matches, in their given order.

    Raises:
        BadArguments: The pattern is malformed or too long (the message says how).
    """
    tokens = _compile(pattern)
    return [a for a in addresses if _matches(tokens, a)]
