"""The session state machine: what goes on the wire for each change, with no I/O at all."""

from __future__ import annotations

import pytest

from oscserver.core.lyria import (
    AudioChunk,
    ClientContent,
    FilteredPrompt,
    MusicGenerationConfig,
    PlaybackControl,
    ServerContent,
    ServiceWarning,
    Setup,
    SetupComplete,
    WeightedPrompt,
)
from oscserver.core.session import (
    NO_PROMPT,
    AudioReceived,
    Notice,
    Phase,
    PlaybackChanged,
    PromptFiltered,
    ServiceWarned,
    Session,
)
from oscserver.core.state import MusicalState, Playback

CHUNK = ServerContent((AudioChunk(b"\x00" * 16),))


class Client:
    """A session plus the state the user edits, as the app drives them."""

    def __init__(self, prompts=(("minimal techno", 1.0),)):
        self.state = MusicalState.initial(prompts)
        self.session = Session(self.state)

    def connect(self):
        self.session.connection_made()
        sent = self.wire()
        events = self.session.message_received(SetupComplete())
        return sent + self.wire(), events

    def osc(self, path, *args):
        self.state, update = self.state.apply(path, list(args))
        return self.session.state_changed(self.state, update)

    def wire(self):
        return [m.to_json() for m in self.session.messages_to_send()]


def js(message):
    return message.to_json()


def test_handshake_then_prompts_and_full_config():
    c = Client()
    sent, events = c.connect()
    assert sent == [
        js(Setup()),
        js(ClientContent((WeightedPrompt("minimal techno", 1.0),))),
        js(MusicGenerationConfig()),
    ]
    assert events == []
    assert c.session.phase is Phase.READY


def test_nothing_but_setup_goes_out_before_setup_complete():
    c = Client()
    c.session.connection_made()
    assert c.wire() == [js(Setup())]
    events = c.osc("/lyria/play")
    assert c.wire() == []
    assert events == [PlaybackChanged(Playback.PLAYING)]
    assert c.session.message_received(CHUNK) == [
        Notice("the service sent data before setupComplete", error=True)
    ]
    c.session.message_received(SetupComplete())
    assert c.wire()[-1] == js(PlaybackControl("PLAY"))


def test_play_pause_stop_go_out_once_each():
    c = Client()
    c.connect()
    assert c.osc("/lyria/play") == [PlaybackChanged(Playback.PLAYING)]
    assert c.wire() == [js(PlaybackControl("PLAY"))]
    c.osc("/lyria/play")
    assert c.wire() == []
    assert c.osc("/lyria/pause") == [PlaybackChanged(Playback.PAUSED)]
    assert c.wire() == [js(PlaybackControl("PAUSE"))]
    assert c.osc("/lyria/stop") == [PlaybackChanged(Playback.STOPPED)]
    assert c.wire() == [js(PlaybackControl("STOP"))]


def test_bpm_and_scale_changes_are_followed_by_reset_context_while_playing():
    c = Client()
    c.connect()
    c.osc("/lyria/play")
    c.wire()
    c.osc("/lyria/bpm", 90)
    assert c.wire() == [js(MusicGenerationConfig(bpm=90)), js(PlaybackControl("RESET_CONTEXT"))]
    c.osc("/lyria/scale", "C_MAJOR_A_MINOR")
    sent = c.wire()
    assert sent[-1] == js(PlaybackControl("RESET_CONTEXT"))
    # Other fields apply smoothly: the full config, no reset.
    c.osc("/lyria/density", 0.8)
    assert c.wire() == [js(MusicGenerationConfig(bpm=90, scale="C_MAJOR_A_MINOR", density=0.8))]
    assert c.session.resets == 2  # counted, so the audio after each can be marked


def test_bpm_while_stopped_needs_no_reset():
    c = Client()
    c.connect()
    c.osc("/lyria/bpm", 140)
    assert c.wire() == [js(MusicGenerationConfig(bpm=140))]


def test_with_reset_on_demand_bpm_waits_for_the_users_reset():
    c = Client()
    c.session.auto_reset = False
    c.connect()
    c.osc("/lyria/play")
    c.wire()
    c.osc("/lyria/bpm", 90)
    assert c.wire() == [js(MusicGenerationConfig(bpm=90))]  # sent, not yet in force
    c.osc("/lyria/density", 0.5)  # the full config keeps the new bpm
    assert c.wire() == [js(MusicGenerationConfig(bpm=90, density=0.5))]
    c.osc("/lyria/reset")  # the user's downbeat
    assert c.wire() == [js(PlaybackControl("RESET_CONTEXT"))]
    assert c.session.resets == 1


def test_explicit_reset_is_sent_once():
    c = Client()
    c.connect()
    c.osc("/lyria/play")
    c.wire()
    c.osc("/lyria/reset")
    assert c.wire() == [js(PlaybackControl("RESET_CONTEXT"))]


def test_weight_zero_prompts_are_left_out():
    c = Client((("techno", 1.0), ("jazz", 0.5)))
    c.connect()
    c.osc("/lyria/prompt/2/weight", 0)
    assert c.wire() == [js(ClientContent((WeightedPrompt("techno", 1.0),)))]


def test_no_active_prompt_pauses_and_says_why():
    c = Client()
    c.connect()
    c.osc("/lyria/play")
    c.wire()
    events = c.osc("/lyria/prompt/1/weight", 0.0)
    assert c.wire() == [js(PlaybackControl("PAUSE"))]
    assert Notice("pausing: " + NO_PROMPT, error=True) in events
    assert PlaybackChanged(Playback.PAUSED) in events
    # The service still holds that prompt (an empty list is never sent): bringing it back
    # only resumes; a different weight goes out before PLAY.
    c.osc("/lyria/prompt/1/weight", 1.0)
    assert c.wire() == [js(PlaybackControl("PLAY"))]
    c.osc("/lyria/prompt/1/weight", 0.0)
    c.wire()
    c.osc("/lyria/prompt/1/weight", 0.5)
    assert c.wire() == [
        js(ClientContent((WeightedPrompt("minimal techno", 0.5),))),
        js(PlaybackControl("PLAY")),
    ]


def test_play_without_any_prompt_is_refused_with_a_notice():
    c = Client(())
    c.connect()
    assert c.wire() == []
    events = c.osc("/lyria/play")
    assert Notice(NO_PROMPT, error=True) in events
    assert c.wire() == []


def test_audio_is_delivered_only_while_playing():
    c = Client()
    c.connect()
    assert c.session.message_received(CHUNK) == []
    c.osc("/lyria/play")
    assert c.session.message_received(CHUNK) == [AudioReceived(CHUNK.audio_chunks[0])]
    c.osc("/lyria/pause")
    assert c.session.message_received(CHUNK) == []
    assert c.session.chunks_dropped == 2 and c.session.chunks_received == 3


def test_filtered_prompt_is_reported_and_never_resent():
    c = Client((("bad words", 1.0), ("techno", 1.0)))
    c.connect()
    c.osc("/lyria/play")
    c.wire()
    events = c.session.message_received(FilteredPrompt("bad words", "SAFETY"))
    assert events[0] == PromptFiltered(1, "bad words", "SAFETY")
    assert c.wire() == [js(ClientContent((WeightedPrompt("techno", 1.0),)))]
    c.osc("/lyria/prompt/2/weight", 0.5)
    assert c.wire() == [js(ClientContent((WeightedPrompt("techno", 0.5),)))]


def test_warning_becomes_an_event_for_the_user():
    c = Client()
    c.connect()
    assert c.session.message_received(ServiceWarning("slow")) == [ServiceWarned("slow")]


def test_reconnect_replays_prompts_config_and_playback():
    c = Client()
    c.connect()
    c.osc("/lyria/bpm", 100)
    c.osc("/lyria/play")
    c.wire()
    c.session.connection_lost()
    assert c.session.phase is Phase.DISCONNECTED
    c.osc("/lyria/prompt/1/text", "dub")  # changed while away
    sent, _ = c.connect()
    assert sent == [
        js(Setup()),
        js(ClientContent((WeightedPrompt("dub", 1.0),))),
        js(MusicGenerationConfig(bpm=100)),
        js(PlaybackControl("PLAY")),
    ]


def test_changes_are_throttled_to_one_per_window_and_the_latest_goes():
    c = Client()
    c.connect()
    c.session.window = 0.2
    c.state, update = c.state.apply("/lyria/prompt/1/weight", [0.5])
    c.session.state_changed(c.state, update, now=10.0)  # first after quiet: at once
    assert c.wire() == [js(ClientContent((WeightedPrompt("minimal techno", 0.5),)))]
    for i, t in enumerate((10.05, 10.1, 10.15)):
        c.state, update = c.state.apply("/lyria/prompt/1/weight", [0.6 + i / 10])
        assert c.session.state_changed(c.state, update, now=t) == []
    assert c.wire() == []  # held back
    assert c.session.next_deadline() == pytest.approx(10.2)
    assert c.session.poll(10.19) == [] and c.wire() == []
    c.session.poll(10.2)
    assert c.wire() == [js(ClientContent((WeightedPrompt("minimal techno", 0.8),)))]
    assert c.session.next_deadline() is None


def test_playback_commands_are_never_held_back_and_carry_pending_changes():
    c = Client()
    c.connect()
    c.state, update = c.state.apply("/lyria/bpm", [90])
    c.session.state_changed(c.state, update, now=1.0)
    c.wire()
    c.state, update = c.state.apply("/lyria/bpm", [100])
    c.session.state_changed(c.state, update, now=1.05)  # held back
    c.state, update = c.state.apply("/lyria/play", [])
    c.session.state_changed(c.state, update, now=1.06)
    assert c.wire() == [js(MusicGenerationConfig(bpm=100)), js(PlaybackControl("PLAY"))]
    assert c.session.next_deadline() is None
