"""Glides: values moved over time, and messages applied at a later moment.

Lyria RealTime has no transition time of its own: a new weight takes effect at once, and the
docs advise sending intermediate weights for a smooth transition. A glide does that: the caller
advances it on its own clock every :attr:`Glides.step` seconds, each step applies the value of
that moment (linear from the value at the start to the target) to the state as an ordinary
message, and the session's throttle decides what goes on the wire (at most one update per
window, the final value always).

``/lyria/prompt/N/weight <target> <seconds>`` asks for one (:meth:`Glides.request`); a scene's
recall (:mod:`oscserver.core.scenes`) asks for several at once, with messages at set moments
(:meth:`Glides.plan`). A message that sets an address itself ends what was planned for it:
the latest word wins.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from oscserver.core.state import MusicalState, Update

__all__ = ["Glide", "Glides", "Later"]


@dataclass(frozen=True)
class Glide:
    """One value moving from ``start`` to ``target`` over ``seconds`` from ``begin``."""

    start: float
    target: float
    begin: float
    seconds: float

    def value_at(self, now: float) -> float:
        """The value at ``now`` (the start before ``begin``, the target once it is over)."""
        done = (now - self.begin) / self.seconds if self.seconds > 0 else 1.0
        if done >= 1.0:
            return self.target
        return round(self.start + (self.target - self.start) * max(0.0, done), 4)


@dataclass(frozen=True)
class Later:
    """A message to apply at ``when`` (the caller's clock)."""

    when: float
    path: str
    args: tuple[object, ...]


class Glides:
    """The glides in progress and the messages planned. No clock.

    An address may have several glides, one after the other (a scene's prompt going out, then
    another coming in, in the same slot); they are applied in the order given.

    Args:
        step: Seconds between two steps (the caller calls :meth:`advance` this often).
    """

    def __init__(self, step: float = 0.05) -> None:
        self.step = step
        self._glides: list[tuple[str, Glide]] = []
        self._later: list[Later] = []

    def __bool__(self) -> bool:
        return bool(self._glides or self._later)

    def request(self, update: Update, state: MusicalState, now: float) -> None:
        """Start or end glides for the messages in an update (the sender's own).

        Every address the update set ends what was gliding or planned there; its weight
        messages with seconds start glides.

        Args:
            update: What the messages changed; its ``values`` and ``glides`` entries are read.
            state: The state after those messages (a glide starts from its weight).
            now: The caller's clock, in seconds.
        """
        self.forget(path for path, _ in update.values)
        for slot, target, seconds in update.glides:
            path = f"/lyria/prompt/{slot}/weight"
            self.forget([path])
            if seconds > 0:
                self._glides.append((path, Glide(state.prompt(slot).weight, target, now, seconds)))

    def plan(self, glides: Sequence[tuple[str, Glide]], later: Sequence[Later]) -> None:
        """Replace everything in progress with ``glides`` (address, glide) and ``later``."""
        self._glides = list(glides)
        self._later = sorted(later, key=lambda m: m.when)

    def forget(self, paths: Iterable[str]) -> None:
        """End the glides of ``paths`` and drop the messages planned for them."""
        paths = set(paths)
        self._glides = [(p, g) for p, g in self._glides if p not in paths]
        self._later = [m for m in self._later if m.path not in paths]

    def advance(self, state: MusicalState, now: float) -> tuple[MusicalState, Update]:
        """Apply every glide's value at ``now`` and the messages due; finished glides end.

        Returns:
            The new state and what changed (empty when nothing did).
        """
        update = Update()
        for path, glide in list(self._glides):
            if now >= glide.begin + glide.seconds:
                self._glides.remove((path, glide))
            if now >= glide.begin:
                state, changed = state.apply(path, [glide.value_at(now)])
                update = update.merge(_plain(changed))
        while self._later and self._later[0].when <= now:
            message = self._later.pop(0)
            state, changed = state.apply(message.path, message.args)
            update = update.merge(_plain(changed))
        return state, update

    def next_deadline(self, now: float) -> float | None:
        """When to call :meth:`advance` next; None when nothing is in progress."""
        if self._glides:
            return now + self.step
        return self._later[0].when if self._later else None


def _plain(changed: Update) -> Update:
    # Without its `glides` entry: that would end the glide that made it.
    return Update(prompts=changed.prompts, config=changed.config, values=changed.values)
