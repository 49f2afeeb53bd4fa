"""Session rotation: hand the music over to a fresh session before the service's cap.

The service ends a session after about 600 s (close 1011, no warning). Before that, the app
opens a second session with the same state, waits until it has audio, and crossfades from the
old stream to the new one with an equal power curve over a few seconds
(:class:`~oscserver.adapters.audio.crossfade.Crossfader`); the old session is closed after. The
listener hears one continuous stream.

A :class:`Rotation` is one such handover. It only routes audio: the app decides when to start
one, and what to do when it is done or has to be given up.
"""

from __future__ import annotations

from collections.abc import Callable

from oscserver.adapters.audio.crossfade import Crossfader, Samples
from oscserver.channel import Channel

__all__ = ["Rotation"]


class Rotation:
    """The audio side of one handover from ``outgoing`` to ``incoming``.

    Args:
        outgoing: The channel playing now.
        incoming: The new channel (its session replays the state and plays).
        fade_frames: Length of the crossfade.
        lead_frames: Audio the incoming session must have sent before the fade starts.
        write: Where the mixed audio goes (the audio output).
        latency: Returns the audio waiting in the output, in frames at 48 kHz. With it, the
            output holds no more after the handover than it did as the old session's chunks
            went in: without, every rotation would add the new session's head start to the
            latency (as the old stream's chunks arrive, the output's level peaks; the fade
            ends as one arrives, so those peaks are the level to come back to).
    """

    def __init__(
        self,
        outgoing: Channel,
        incoming: Channel,
        fade_frames: int,
        lead_frames: int,
        write: Callable[[Samples], None],
        latency: Callable[[], int] | None = None,
    ) -> None:
        self.outgoing = outgoing
        self.incoming = incoming
        self.fader = Crossfader(fade_frames)
        self.lead_frames = lead_frames
        self._write = write
        self._latency = latency
        self._peak = latency() if latency is not None else None

    @property
    def peak(self) -> int | None:
        """The output's level right after the old session's last chunk went in (frames)."""
        return self._peak

    @property
    def fading(self) -> bool:
        """True once the crossfade has begun."""
        return self.fader.started

    @property
    def done(self) -> bool:
        """True when only the incoming stream is left: the outgoing channel can be closed."""
        return self.fader.done

    def audio(self, channel: Channel, frames: Samples) -> None:
        """Route one chunk of either channel; writes whatever is ready."""
        if channel is self.outgoing:
            self.fader.push_old(frames)
        elif channel is self.incoming:
            self.fader.push_new(frames)
            if not self.fader.started and self.fader.incoming_frames >= self.lead_frames:
                self.fader.start()
        self._flush()

    def outgoing_lost(self) -> None:
        """The outgoing session ended before the fade did: fade in the incoming one alone."""
        self.fader.start()
        self.fader.old_ended()
        self._flush()

    def give_up(self) -> None:
        """Abandon the handover: the outgoing stream goes on alone, from what it had queued.

        Before the fade this is seamless; during it (the incoming session failed) the outgoing
        stream returns to full level at once, which beats a gap.
        """
        out = self.fader.take_old()
        if out.shape[1]:
            self._write(out)

    def _flush(self) -> None:
        if self._latency is not None and self._peak is not None:
            # Never aim below two leads: a low peak must not ratchet the level down.
            target = max(self._peak, 2 * self.lead_frames)
            self.fader.rest_limit = max(0, target - self._latency())
        out = self.fader.pull()
        if out.shape[1]:
            self._write(out)
            if self._latency is not None and not self.fader.done:
                self._peak = self._latency()  # right after old-stream-paced audio went in
