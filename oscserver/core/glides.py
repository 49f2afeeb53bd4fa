"""Weight glides: ``/lyria/prompt/N/weight <target> <seconds>`` moves a weight over time.

Lyria RealTime has no transition time of its own: a new weight takes effect at once, and the
docs advise sending intermediate weights for a smooth transition. A glide does that: the caller
advances it on its own clock every :attr:`Glides.step` seconds, each step applies the weight of
that moment (linear from the weight at the request to the target) to the state as an ordinary
weight change, and the session's throttle decides what goes on the wire (at most one update
per window, the final value always).

>>> from oscserver.core.state import MusicalState
>>> state = MusicalState.initial([("ambient", 0.0)])
>>> state, update = state.apply("/lyria/prompt/1/weight", [1.0, 2.0])
>>> glides = Glides()
>>> glides.request(update, state, now=10.0)
>>> state, _ = glides.advance(state, now=10.5)
>>> state.prompt(1).weight
0.25
>>> state, _ = glides.advance(state, now=12.5)
>>> state.prompt(1).weight, bool(glides)
(1.0, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from oscserver.core.state import MusicalState, Update

__all__ = ["Glide", "Glides"]


@dataclass(frozen=True)
class Glide:
    """One weight moving from ``start`` to ``target`` over ``seconds`` from ``begin``."""

    start: float
    target: float
    begin: float
    seconds: float

    def value_at(self, now: float) -> float:
        """The weight at ``now`` (the target once the glide is over)."""
        done = (now - self.begin) / self.seconds
        if done >= 1.0:
            return self.target
        return round(self.start + (self.target - self.start) * max(0.0, done), 4)


class Glides:
    """The glides in progress, at most one per prompt slot. No clock of its own.

    Args:
        step: Seconds between two steps (the caller calls :meth:`advance` this often).
    """

    def __init__(self, step: float = 0.05) -> None:
        self.step = step
        self._glides: dict[int, Glide] = {}

    def __bool__(self) -> bool:
        return bool(self._glides)

    def request(self, update: Update, state: MusicalState, now: float) -> None:
        """Start or end glides for the weight messages in an update.

        Args:
            update: What the messages changed; its ``glides`` entries are read.
            state: The state after those messages (a glide starts from its weight).
            now: The caller's clock, in seconds.
        """
        for slot, target, seconds in update.glides:
            if seconds > 0:
                self._glides[slot] = Glide(state.prompt(slot).weight, target, now, seconds)
            else:  # a plain weight message: the latest word wins
                self._glides.pop(slot, None)

    def advance(self, state: MusicalState, now: float) -> tuple[MusicalState, Update]:
        """Apply every glide's weight at ``now``; finished glides end.

        Returns:
            The new state and what changed (empty when nothing did).
        """
        update = Update()
        for slot, glide in list(self._glides.items()):
            if now >= glide.begin + glide.seconds:
                del self._glides[slot]
            state, changed = state.apply(f"/lyria/prompt/{slot}/weight", [glide.value_at(now)])
            # Without its `glides` entry: that would end the glide that made it.
            update = update.merge(
                Update(prompts=changed.prompts, config=changed.config, values=changed.values)
            )
        return state, update

    def next_deadline(self, now: float) -> float | None:
        """When to call :meth:`advance` next; None when no glide is in progress."""
        return now + self.step if self._glides else None
