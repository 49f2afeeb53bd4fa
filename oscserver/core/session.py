"""The Lyria RealTime session state machine, without I/O.

The I/O adapter feeds it what happened and sends what it asks for, like the ``websockets``
protocol objects::

    session = Session(state)
    session.connection_made()                # queues the setup frame
    send_all(session.messages_to_send())
    events = session.message_received(msg)   # a decoded ServerMessage
    events = session.state_changed(new_state, update)
    events = session.connection_lost(code, reason)

The session remembers what it last told the service (prompts, config, playback) and reconciles
that with the musical state: only differences are sent, and after a reconnect everything is
replayed. Rules it follows, all from docs/protocol.md:

- setup first, nothing else before setupComplete;
- the full config in every musicGenerationConfig (the service resets omitted fields);
- prompts with weight 0 left out; with no active prompt nothing is sent, and playback is paused
  with a notice, because the service needs one active prompt to play;
- a bpm or scale change is followed by RESET_CONTEXT, which the service needs to apply them,
  unless playback is stopped (the next PLAY starts a fresh context anyway) or the user asked
  to reset only on demand (:attr:`Session.auto_reset`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from oscserver.core.lyria import (
    AudioChunk,
    ClientContent,
    ClientMessage,
    FilteredPrompt,
    MusicGenerationConfig,
    PlaybackControl,
    ServerContent,
    ServerMessage,
    ServiceWarning,
    Setup,
    SetupComplete,
    WeightedPrompt,
)
from oscserver.core.state import RESET_FIELDS, MusicalState, Playback, Update

__all__ = [
    "AudioReceived",
    "Event",
    "Notice",
    "Phase",
    "PlaybackChanged",
    "PromptFiltered",
    "ServiceWarned",
    "Session",
]


class Phase(enum.Enum):
    """Where the connection is."""

    DISCONNECTED = "disconnected"
    HANDSHAKE = "handshake"  # setup sent, waiting for setupComplete
    READY = "ready"


@dataclass(frozen=True)
class AudioReceived:
    """Audio to play.

    Attributes:
        chunk: The audio.
        change_made_at: When the control change this chunk is the first to reflect was made,
            if it is one (set by the caller's :class:`~oscserver.core.heard.ChangeTracker`).
        new_context: The first chunk to arrive after a RESET_CONTEXT was sent: the music's
            tempo and beat phase may jump here (set by the caller from :attr:`Session.resets`).
    """

    chunk: AudioChunk
    change_made_at: float | None = None
    new_context: bool = False


@dataclass(frozen=True)
class PlaybackChanged:
    """What the audio output should now do: play, or go silent and drop what it holds."""

    playback: Playback


@dataclass(frozen=True)
class PromptFiltered:
    """The service refused a prompt; ``slot`` is None when its text matches no slot."""

    slot: int | None
    text: str
    reason: str


@dataclass(frozen=True)
class Notice:
    """Something the user should be told (logged, and sent over OSC as a status or error).

    Attributes:
        text: The message, lowercase, without secrets.
        error: True when it reports a failure or a refused request.
        kind: What it is in the session's story (``connect``, ``reconnect``:
            :mod:`oscserver.core.story`); empty: an error or a note like any other.
    """

    text: str
    error: bool = False
    kind: str = ""


@dataclass(frozen=True)
class ServiceWarned:
    """The service sent a ``warning`` message; the user should see its text."""

    text: str


Event = AudioReceived | PlaybackChanged | PromptFiltered | ServiceWarned | Notice

NO_PROMPT = (
    "no active prompt: set /lyria/prompt/N/text and a non-zero /lyria/prompt/N/weight to play"
)


def config_of(state: MusicalState) -> MusicGenerationConfig:
    """The musicGenerationConfig that expresses a state's config (full, as the wire needs)."""
    c = state.config
    return MusicGenerationConfig(
        temperature=c.temperature,
        top_k=c.top_k,
        seed=c.seed,
        guidance=c.guidance,
        bpm=c.bpm,
        density=c.density,
        brightness=c.brightness,
        scale=c.scale,
        mute_bass=c.mute_bass,
        mute_drums=c.mute_drums,
        only_bass_and_drums=c.only_bass_and_drums,
        music_generation_mode=c.music_generation_mode,
    )


def prompts_of(state: MusicalState) -> tuple[WeightedPrompt, ...]:
    """The weighted prompts to send for a state: active slots only, in slot order."""
    return tuple(WeightedPrompt(p.text, p.weight) for p in state.active_prompts)


class Session:
    """One Lyria RealTime session's protocol logic. Not thread-safe; no I/O.

    Args:
        state: The musical state at the start.
        model: The model name for setup.
    """

    def __init__(self, state: MusicalState, model: str = Setup().model) -> None:
        self.state = state
        self.model = model
        self.phase = Phase.DISCONNECTED
        self.chunks_received = 0
        self.chunks_dropped = 0
        self._outbox: list[ClientMessage] = []
        self._told_prompts: tuple[WeightedPrompt, ...] | None = None
        self._told_config: MusicGenerationConfig | None = None
        self._told_playback = Playback.STOPPED
        self._audible = Playback.STOPPED  # what the audio side was last told
        self._filtered: dict[str, str] = {}  # prompt text -> reason, never resent
        #: Throttle window for prompt and config changes, in seconds (Google's apps: 200 ms).
        self.window = 0.2
        #: RESET_CONTEXT messages sent to the service so far.
        self.resets = 0
        #: Follow a bpm or scale change with RESET_CONTEXT at once; when False, the new values
        #: are sent but wait for the user's own reset (``/lyria/reset``, e.g. on a downbeat).
        self.auto_reset = True
        self._last_sync = -math.inf
        self._pending = False

    @property
    def told_playback(self) -> Playback:
        """What the service was last told to do (PLAYING only once PLAY went out)."""
        return self._told_playback

    @property
    def told(self) -> tuple[tuple[WeightedPrompt, ...], MusicGenerationConfig] | None:
        """The prompts and config the service was last told (None until both went out)."""
        if self._told_prompts is None or self._told_config is None:
            return None
        return self._told_prompts, self._told_config

    # --- inputs ------------------------------------------------------------------------------

    def connection_made(self) -> None:
        """Call when the WebSocket is open: queues the setup frame."""
        self.phase = Phase.HANDSHAKE
        self._outbox = [Setup(self.model)]
        self._told_prompts = None
        self._told_config = None
        self._told_playback = Playback.STOPPED

    def message_received(self, message: ServerMessage) -> list[Event]:
        """Call with each decoded frame from the server; returns what to act on."""
        if isinstance(message, SetupComplete):
            if self.phase is not Phase.HANDSHAKE:
                return [Notice("unexpected setupComplete from the service", error=True)]
            self.phase = Phase.READY
            return self._sync(self.state, Update())
        if self.phase is not Phase.READY:
            return [Notice("the service sent data before setupComplete", error=True)]
        if isinstance(message, ServerContent):
            events: list[Event] = []
            for chunk in message.audio_chunks:
                self.chunks_received += 1
                if self._told_playback is Playback.PLAYING:
                    events.append(AudioReceived(chunk))
                else:  # in flight when we paused or stopped: must not be heard
                    self.chunks_dropped += 1
            return events
        if isinstance(message, FilteredPrompt):
            return self._filtered_prompt(message)
        assert isinstance(message, ServiceWarning)
        return [ServiceWarned(message.message)]

    def state_changed(
        self, state: MusicalState, update: Update, now: float | None = None
    ) -> list[Event]:
        """Call after the musical state changed (one message or one whole bundle).

        Args:
            state: The new state.
            update: What changed.
            now: The caller's clock, in seconds. With it, prompt and config changes are
                throttled: the first after a quiet :attr:`window` goes out at once, later ones
                wait until the window has passed (then only the latest state goes); the caller
                must then call :meth:`poll` at :meth:`next_deadline`. Playback commands are
                never held back. Without it, every change goes out at once.
        """
        self.state = state
        if self.phase is not Phase.READY:
            return self._audible_events(self._wanted_playback(state)[0])
        if now is not None and not update.commands and now - self._last_sync < self.window:
            self._pending = True
            return []
        self._pending = False
        if now is not None:
            self._last_sync = now
        return self._sync(state, update)

    def next_deadline(self) -> float | None:
        """When :meth:`poll` must be called to send held-back changes; None if none are."""
        return self._last_sync + self.window if self._pending else None

    def poll(self, now: float) -> list[Event]:
        """Send the changes held back by the throttle, if their time has come."""
        if not self._pending or now < self._last_sync + self.window:
            return []
        self._pending = False
        self._last_sync = now
        if self.phase is not Phase.READY:
            return []
        return self._sync(self.state, Update())

    @property
    def audible(self) -> Playback:
        """What the audio output was last told to do: the playback the user hears.

        It differs from the state's playback when the session holds playback back, e.g.
        paused for want of an active prompt.
        """
        return self._audible

    def connection_lost(self) -> list[Event]:
        """Call when the WebSocket closed, for whatever reason.

        The audio side keeps playing what it holds; the adapter decides whether to reconnect
        (see :func:`describe_close`). Everything is replayed after the next setupComplete.
        """
        self.phase = Phase.DISCONNECTED
        self._outbox.clear()
        return []

    # --- outputs -----------------------------------------------------------------------------

    def messages_to_send(self) -> list[ClientMessage]:
        """Return and forget the frames to send, in order."""
        out, self._outbox = self._outbox, []
        return out

    # --- the reconciliation ------------------------------------------------------------------

    def _wanted_playback(self, state: MusicalState) -> tuple[Playback, bool]:
        """What to ask of the service, and whether PLAY is being held back for lack of prompts."""
        wanted = state.playback
        if wanted is Playback.PLAYING and not self._sendable_prompts(state):
            return Playback.PAUSED, True
        return wanted, False

    def _sendable_prompts(self, state: MusicalState) -> tuple[WeightedPrompt, ...]:
        return tuple(p for p in prompts_of(state) if p.text not in self._filtered)

    def _sync(self, state: MusicalState, update: Update) -> list[Event]:
        events: list[Event] = []
        prompts = self._sendable_prompts(state)
        if prompts and prompts != self._told_prompts:
            self._outbox.append(ClientContent(prompts))
            self._told_prompts = prompts
        config = config_of(state)
        reset_needed = False
        if config != self._told_config:
            told = self._told_config
            reset_needed = told is not None and any(
                getattr(told, f) != getattr(config, f) for f in RESET_FIELDS
            )
            self._outbox.append(config)
            self._told_config = config
        wanted, held_back = self._wanted_playback(state)
        if held_back and "PLAY" in update.commands:
            events.append(Notice(NO_PROMPT, error=True))
        if "RESET_CONTEXT" in update.commands:
            self._outbox.append(PlaybackControl("RESET_CONTEXT"))
            self.resets += 1
            reset_needed = False
        before = self._told_playback
        if wanted is not before:
            if held_back and before is Playback.PLAYING:
                events.append(Notice("pausing: " + NO_PROMPT, error=True))
            if wanted is Playback.PAUSED and before is Playback.STOPPED:
                pass  # nothing is playing: there is nothing to pause
            else:
                self._outbox.append(PlaybackControl(_COMMAND[wanted]))
                self._told_playback = wanted
        # A context that goes on (not stopped before or after) must be reset for bpm/scale.
        if (
            reset_needed
            and self.auto_reset
            and Playback.STOPPED not in (before, self._told_playback)
        ):
            self._outbox.append(PlaybackControl("RESET_CONTEXT"))
            self.resets += 1
        events.extend(self._audible_events(wanted))
        return events

    def _audible_events(self, wanted: Playback) -> list[Event]:
        if wanted is self._audible:
            return []
        self._audible = wanted
        return [PlaybackChanged(wanted)]

    def _filtered_prompt(self, message: FilteredPrompt) -> list[Event]:
        self._filtered[message.text] = message.filtered_reason
        slot = next(
            (i for i, p in enumerate(self.state.prompts, 1) if p.text == message.text), None
        )
        # The service ignores a filtered prompt: resend the others without it, and pause with a
        # notice if it was the only one (Google's apps never resend a filtered prompt).
        events: list[Event] = [PromptFiltered(slot, message.text, message.filtered_reason)]
        self._told_prompts = None
        return events + self._sync(self.state, Update())


_COMMAND = {Playback.PLAYING: "PLAY", Playback.PAUSED: "PAUSE", Playback.STOPPED: "STOP"}
