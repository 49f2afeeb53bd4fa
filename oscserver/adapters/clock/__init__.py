"""Clock sources: where a rig's beats come from (oscserver's own, Ableton Link, JACK transport).

Each is an adapter behind :class:`~oscserver.adapters.clock.base.ClockSource`: it reads its
clock into a :class:`~oscserver.core.lock.ClockReading` on the monotonic clock, and takes a
proposed tempo. The lock (:mod:`oscserver.core.lock`) reads whichever is chosen.
"""
