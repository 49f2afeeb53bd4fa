"""OSC 1.0 address patterns: ``/lyria/prompt/*/weight`` reaches every prompt slot.

The OSC 1.0 specification ("OSC Message Dispatching and Pattern Matching") lets a message's
address be a pattern, matched against each part of the server's addresses between slashes:

- ``?`` matches any single character, ``*`` any sequence of zero or more characters;
- ``[abc]`` any one of the characters, with ``a-z`` a range and a leading ``!`` negating it
  (``[!0-9]``); a ``-`` at the end of the brackets is a plain minus;
- ``{foo,bar}`` any one of the comma-separated strings.

None of them matches a ``/``. A message whose address is a pattern is delivered to every
address that matches, in the table's order.

>>> matching("/lyria/prompt/[1-2]/weight", ["/lyria/prompt/1/weight", "/lyria/prompt/3/weight"])
['/lyria/prompt/1/weight']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from oscserver.core.errors import BadArguments

__all__ = ["is_pattern", "matching"]

_SPECIAL = frozenset("?*[]{}")


def is_pattern(address: str) -> bool:
    """True when ``address`` contains OSC pattern characters."""
    return not _SPECIAL.isdisjoint(address)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    """The regular expression for an OSC address pattern.

    Raises:
        BadArguments: An unclosed ``[`` or ``{``, a nested ``{``, or a stray ``]`` or ``}``.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "?":
            out.append("[^/]")
        elif c == "*":
            out.append("[^/]*")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise BadArguments(f"{pattern}: '[' without ']' in the address pattern")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            if negate:
                body = body[1:]
            if not body:
                raise BadArguments(f"{pattern}: empty [] in the address pattern")
            parts = [re.escape(ch) if ch != "-" else "-" for ch in body]
            if parts[-1] == "-":  # a trailing minus is a plain minus (OSC 1.0)
                parts[-1] = r"\-"
            if parts[0] == "-":
                parts[0] = r"\-"
            out.append(("[^/" if negate else "[") + "".join(parts) + "]")
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0 or "{" in pattern[i + 1 : end]:
                raise BadArguments(f"{pattern}: '{{' without its '}}' in the address pattern")
            alternatives = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(re.escape(a) for a in alternatives) + ")")
            i = end
        elif c in "]}":
            raise BadArguments(f"{pattern}: stray {c!r} in the address pattern")
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as exc:  # e.g. a reversed range [z-a]
        raise BadArguments(f"{pattern}: bad address pattern ({exc})") from None


def matching(pattern: str, addresses: Iterable[str]) -> list[str]:
    """The addresses a pattern matches, in their given order.

    Raises:
        BadArguments: The pattern is malformed (the message says how).
    """
    regex = _compile(pattern)
    return [a for a in addresses if regex.fullmatch(a)]
