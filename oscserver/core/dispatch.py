"""One incoming OSC message, concrete address or pattern, applied to the musical state.

A concrete address goes straight to :meth:`MusicalState.apply`. A pattern
(:mod:`~oscserver.core.patterns`) is delivered to every address of the table it matches, in
table order, as OSC 1.0 dispatching says: the matches that accept the arguments take them
(``/lyria/prompt/*/weight 0`` silences every slot) and the ones that refuse them are reported
together in one error.

>>> from oscserver.core.state import MusicalState
>>> state = MusicalState.initial([("ambient", 1.0), ("techno", 0.5)])
>>> state, update, refused = apply_message(state, "/lyria/prompt/*/weight", [0.0])
>>> [p.weight for p in state.prompts[:2]], state.active_prompts, refused
([0.0, 0.0], (), None)
"""

from __future__ import annotations

from collections.abc import Sequence

from oscserver.core.addresses import TABLE
from oscserver.core.errors import OscInputError, UnknownAddress
from oscserver.core.patterns import is_pattern, matching
from oscserver.core.state import MusicalState, Update

__all__ = ["ADDRESSES", "apply_message"]

#: Every concrete address a pattern can reach, in table order.
ADDRESSES: tuple[str, ...] = tuple(path for entry in TABLE for path, _ in entry.concrete_paths())


def apply_message(
    state: MusicalState, address: str, args: Sequence[object]
) -> tuple[MusicalState, Update, OscInputError | None]:
    """Apply one message.

    Args:
        state: The state before the message.
        address: Its address: concrete, or an OSC 1.0 pattern.
        args: Its decoded arguments.

    Returns:
        The new state, what changed, and for a pattern whose matches refused the arguments
        only in part, the error to report about those (None otherwise).

    Raises:
        OscInputError: The message changes nothing: unknown address, malformed pattern, a
            pattern that matches nothing, or arguments every match refused.
    """
    if not is_pattern(address):
        state, update = state.apply(address, args)
        return state, update, None
    targets = matching(address, ADDRESSES)
    if not targets:
        raise UnknownAddress(f"{address}: the pattern matches no address (see docs/osc.md)")
    update = Update()
    refused: list[OscInputError] = []
    for target in targets:
        try:
            state, changed = state.apply(target, args)
        except OscInputError as exc:
            refused.append(exc)
            continue
        update = update.merge(changed)
    if not refused:
        return state, update, None
    shown = "; ".join(str(e) for e in refused[:3]) + ("; ..." if len(refused) > 3 else "")
    error = type(refused[0])(
        f"{address}: {len(refused)} of the {len(targets)} matching addresses refused: {shown}"
    )
    if len(refused) == len(targets):
        raise error
    return state, update, error
