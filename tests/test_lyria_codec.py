"""The Lyria codec: the exact bytes on the wire, and tolerant decoding of what peers send."""

from __future__ import annotations

import base64
import json

import pytest

from oscserver.core.errors import ProtocolError
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
    decode_client,
    decode_server,
)


def test_client_messages_wire_form_is_camel_case_and_exact():
    assert Setup().to_json() == '{"setup": {"model": "models/lyria-realtime-exp"}}'
    content = ClientContent((WeightedPrompt("deep house", 0.7), WeightedPrompt("acid", -1)))
    assert json.loads(content.to_json()) == {
        "clientContent": {
            "weightedPrompts": [
                {"text": "deep house", "weight": 0.7},
                {"text": "acid", "weight": -1.0},
            ]
        }
    }
    assert PlaybackControl("RESET_CONTEXT").to_json() == '{"playbackControl": "RESET_CONTEXT"}'


def test_config_always_carries_every_set_field():
    config = MusicGenerationConfig(bpm=124, density=0.5, seed=7, scale="D_MAJOR_B_MINOR")
    body = json.loads(config.to_json())["musicGenerationConfig"]
    assert body == {
        "temperature": 1.1,
        "topK": 40,
        "seed": 7,
        "guidance": 4.0,
        "bpm": 124,
        "density": 0.5,
        "scale": "D_MAJOR_B_MINOR",
        "muteBass": False,
        "muteDrums": False,
        "onlyBassAndDrums": False,
        "musicGenerationMode": "QUALITY",
    }


def test_weight_zero_and_empty_text_cannot_be_built():
    with pytest.raises(ProtocolError, match="not 0"):
        WeightedPrompt("techno", 0.0)
    with pytest.raises(ProtocolError, match="non-empty"):
        WeightedPrompt("", 1.0)


@pytest.mark.parametrize(
    "message",
    [
        Setup(),
        ClientContent((WeightedPrompt("minimal techno", 1.0),)),
        MusicGenerationConfig(bpm=90, brightness=0.2, mute_drums=True),
        PlaybackControl("PAUSE"),
    ],
)
def test_client_messages_round_trip(message):
    assert type(message).from_json(message.to_json()) == message
    assert decode_client(message.to_json()) == message


def test_snake_case_and_string_numbers_are_accepted_like_the_service():
    frame = json.dumps({"music_generation_config": {"bpm": "120", "top_k": 10, "mute_bass": True}})
    config = decode_client(frame)
    assert config == MusicGenerationConfig(bpm=120, top_k=10, mute_bass=True)
    content = decode_client(
        '{"client_content": {"weighted_prompts": [{"text": "x", "weight": "2"}]}}'
    )
    assert content == ClientContent((WeightedPrompt("x", 2.0),))
    assert decode_client('{"playback_control": "PLAY"}') == PlaybackControl("PLAY")


def test_the_sdks_unspecified_values_mean_the_default():
    frame = (
        '{"musicGenerationConfig": {"musicGenerationMode": "MUSIC_GENERATION_MODE_UNSPECIFIED",'
        ' "scale": "SCALE_UNSPECIFIED"}}'
    )
    config = decode_client(frame)
    assert config.music_generation_mode is None  # the server's default: QUALITY
    assert config.scale == "SCALE_UNSPECIFIED"
    with pytest.raises(ProtocolError, match="musicGenerationMode must be one of"):
        decode_client('{"musicGenerationConfig": {"musicGenerationMode": "LOUD"}}')


def test_omitted_config_fields_return_to_defaults():
    config = decode_client('{"musicGenerationConfig": {"bpm": 100}}')
    assert config == MusicGenerationConfig(bpm=100)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"setup": {}, "clientContent": {}}', "one top-level key"),
        ('{"hello": 1}', "unexpected message type"),
        ('{"playbackControl": "REWIND"}', "playbackControl must be one of"),
        ('{"musicGenerationConfig": {"bpm": 300}}', "bpm 300 is out of range 60..200"),
        ('{"musicGenerationConfig": {"bpm": 1.5}}', "must be an integer"),
        ('{"musicGenerationConfig": {"scale": "H"}}', "scale must be one of"),
        ('{"musicGenerationConfig": {"loudness": 1}}', "unknown musicGenerationConfig field"),
        ('{"clientContent": {"weightedPrompts": [{"text": "a", "weight": 0}]}}', "not 0"),
    ],
)
def test_invalid_client_frames_are_refused_with_a_reason(frame, message):
    with pytest.raises(ProtocolError, match=message.replace(".", r"\.")):
        decode_client(frame)


def test_server_messages_round_trip():
    pcm = bytes(range(8)) * 6
    chunk = AudioChunk(pcm, "audio/l16;rate=48000;channels=2")
    for message in (
        SetupComplete(),
        ServerContent((chunk,)),
        FilteredPrompt("bad words", "SAFETY"),
        ServiceWarning("slow down"),
    ):
        assert decode_server(message.to_json()) == message
    wire = json.loads(ServerContent((chunk,)).to_json())
    assert wire["serverContent"]["audioChunks"][0]["data"] == base64.b64encode(pcm).decode()


def test_audio_format_is_read_from_the_mime_type():
    mono = AudioChunk(b"\x00\x01" * 10, "audio/l16; rate=24000; channels=1")
    assert mono.format == (24000, 1)
    assert mono.frames == 10
    assert AudioChunk(b"\x00" * 8, "audio/L16").format == (48000, 2)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ('{"serverContent": {"audioChunks": [{"data": "!!!"}]}}', "not valid base64"),
        ('{"serverContent": {"audioChunks": [{"data": "AAAA"}]}}', "not whole 2-channel frames"),
        (
            '{"serverContent": {"audioChunks": [{"data": "AAAAAA==", "mimeType": "audio/mp3"}]}}',
            "unsupported audio mimeType",
        ),
        ('{"serverContent": {"audioChunks": {}}}', "must be a list"),
    ],
)
def test_invalid_server_frames_are_refused(frame, message):
    with pytest.raises(ProtocolError, match=message):
        decode_server(frame)


def test_snake_case_server_frames_decode():
    frame = '{"filtered_prompt": {"text": "x", "filtered_reason": "SAFETY"}}'
    assert decode_server(frame) == FilteredPrompt("x", "SAFETY")
    assert decode_server('{"setup_complete": {}}') == SetupComplete()
