"""The Lyria RealTime message codec: typed, immutable messages and their JSON wire form.

Every message is a frozen dataclass, validated when it is built, with ``to_json()`` giving the
exact text frame (camelCase keys, as Google's SDK sends) and ``from_json()`` reading one
(camelCase or snake_case keys, as the service accepts). :func:`decode_client` and
:func:`decode_server` pick the class from the single top-level key.

>>> PlaybackControl("PLAY").to_json()
'{"playbackControl": "PLAY"}'
>>> ClientContent((WeightedPrompt("minimal techno", 1.0),)).to_json()
'{"clientContent": {"weightedPrompts": [{"text": "minimal techno", "weight": 1.0}]}}'
>>> MusicGenerationConfig(bpm=124).to_json()  # doctest: +NORMALIZE_WHITESPACE
'{"musicGenerationConfig": {"temperature": 1.1, "topK": 40, "guidance": 4.0, "bpm": 124,
  "scale": "SCALE_UNSPECIFIED", "muteBass": false, "muteDrums": false, "onlyBassAndDrums": false,
  "musicGenerationMode": "QUALITY"}}'
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, Union

from oscserver.core.addresses import TABLE, Effect, Kind
from oscserver.core.errors import OscInputError, ProtocolError

__all__ = [
    "MODEL",
    "PLAYBACK_COMMANDS",
    "AudioChunk",
    "ClientContent",
    "ClientMessage",
    "FilteredPrompt",
    "MusicGenerationConfig",
    "PlaybackControl",
    "ServerContent",
    "ServerMessage",
    "ServiceWarning",
    "Setup",
    "SetupComplete",
    "WeightedPrompt",
    "decode_client",
    "decode_server",
]

#: The model name the service expects in setup.
MODEL = "models/lyria-realtime-exp"
#: Values of playbackControl.
PLAYBACK_COMMANDS = ("PLAY", "PAUSE", "STOP", "RESET_CONTEXT")
#: The mimeType of the service's audio: 16-bit little-endian PCM, 48 kHz stereo.
DEFAULT_MIME = "audio/l16;rate=48000;channels=2"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _loads(text: str | bytes) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"frame is not JSON ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("frame is not a JSON object")
    return obj


def _only_key(obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
    if len(obj) != 1:
        raise ProtocolError(f"expected one top-level key, got {len(obj)}")
    key = next(iter(obj))
    if key not in names and _snake(key) not in names and _camel(key) not in names:
        raise ProtocolError(f"unexpected message type {key[:40]!r}")
    return key, obj[key]


def _field(obj: dict[str, Any], name: str, default: Any = None) -> Any:
    """Read a camelCase field, also accepting its snake_case spelling."""
    if name in obj:
        return obj[name]
    return obj.get(_snake(name), default)


class _FromJson:
    """Gives each message class ``from_json()``, which decodes one frame of exactly that type."""

    @classmethod
    def from_json(cls: type[_M], text: str | bytes) -> _M:
        """Parse the wire form of this message type.

        Raises:
            ProtocolError: The frame is malformed or holds another message type.
        """
        server = issubclass(cls, (SetupComplete, ServerContent, FilteredPrompt, ServiceWarning))
        message = decode_server(text) if server else decode_client(text)
        if not isinstance(message, cls):
            raise ProtocolError(f"expected {_camel(_snake(cls.__name__))}")
        return message


_M = TypeVar("_M", bound=_FromJson)


# --- client -> server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup(_FromJson):
    """``{"setup": {"model": "models/lyria-realtime-exp"}}``, the first frame of a session."""

    model: str = MODEL

    def to_json(self) -> str:
        """Return the wire form."""
        return _dumps({"setup": {"model": self.model}})


@dataclass(frozen=True)
class WeightedPrompt:
    """One prompt of clientContent. Weight 0 is not allowed on the wire (leave the prompt out)."""

    text: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text:
            raise ProtocolError("prompt text must be a non-empty string")
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ProtocolError("prompt weight must be a number")
        if not math.isfinite(weight) or weight == 0:
            raise ProtocolError("prompt weight must be finite and not 0")
        object.__setattr__(self, "weight", float(weight))


@dataclass(frozen=True)
class ClientContent(_FromJson):
    """``{"clientContent": {"weightedPrompts": [...]}}``: replaces the active prompts."""

    weighted_prompts: tuple[WeightedPrompt, ...]

    def to_json(self) -> str:
        """Return the wire form."""
        prompts = [{"text": p.text, "weight": p.weight} for p in self.weighted_prompts]
        return _dumps({"clientContent": {"weightedPrompts": prompts}})

    @classmethod
    def from_body(cls, body: Any) -> ClientContent:
        """Build from the value of the clientContent key."""
        if not isinstance(body, dict):
            raise ProtocolError("clientContent must be an object")
        raw = _field(body, "weightedPrompts", [])
        if not isinstance(raw, list):
            raise ProtocolError("weightedPrompts must be a list")
        prompts = []
        for item in raw:
            if not isinstance(item, dict):
                raise ProtocolError("each weighted prompt must be an object")
            weight = item.get("weight", 1.0)
            if isinstance(weight, str):
                weight = _number_from_string(weight, "weight")
            prompts.append(WeightedPrompt(item.get("text", ""), weight))
        return cls(tuple(prompts))


def _config_specs() -> dict[str, Any]:
    return {e.target: e.args[0] for e in TABLE if e.effect is Effect.CONFIG}


_CONFIG_SPECS = _config_specs()
#: Enum values Google's SDK documents as "rely on the server default" that the address table
#: does not offer (SCALE_UNSPECIFIED is one of its scales).
_UNSPECIFIED = {"music_generation_mode": "MUSIC_GENERATION_MODE_UNSPECIFIED"}


def _number_from_string(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ProtocolError(f"{name} must be a number") from None


@dataclass(frozen=True)
class MusicGenerationConfig(_FromJson):
    """``{"musicGenerationConfig": {...}}``: the WHOLE config; omitted fields return to defaults.

    Fields use snake_case here and camelCase on the wire. None means "the model decides" and is
    left out of the wire form. Values are checked against the ranges of the address table.
    """

    temperature: float | None = 1.1
    top_k: int | None = 40
    seed: int | None = None
    guidance: float | None = 4.0
    bpm: int | None = None
    density: float | None = None
    brightness: float | None = None
    scale: str | None = "SCALE_UNSPECIFIED"
    mute_bass: bool | None = False
    mute_drums: bool | None = False
    only_bass_and_drums: bool | None = False
    music_generation_mode: str | None = "QUALITY"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, _check_config_value(f.name, value))

    def to_json(self) -> str:
        """Return the wire form with every set field (camelCase)."""
        return _dumps({"musicGenerationConfig": self.to_body()})

    def to_body(self) -> dict[str, Any]:
        """Return the value of the musicGenerationConfig key."""
        return {
            _camel(f.name): getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }

    @classmethod
    def from_body(cls, body: Any) -> MusicGenerationConfig:
        """Build from the value of the musicGenerationConfig key.

        Missing fields take the service's defaults, as the service does.
        """
        if not isinstance(body, dict):
            raise ProtocolError("musicGenerationConfig must be an object")
        known = {_camel(f.name): f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in body.items():
            name = known.get(key) or (key if key in _CONFIG_SPECS else None)
            if name is None:
                raise ProtocolError(f"unknown musicGenerationConfig field {key[:40]!r}")
            values[name] = value
        return cls(**values)


def _check_config_value(name: str, value: Any) -> Any:
    spec = _CONFIG_SPECS[name]
    if isinstance(value, str) and spec.kind in (Kind.INT, Kind.FLOAT):
        value = _number_from_string(value, _camel(name))  # the service accepts "120"
    if spec.kind is Kind.ENUM:
        if value == _UNSPECIFIED.get(name):
            return None  # the SDK's "rely on the server default": the same as leaving it out
        if not isinstance(value, str) or value not in spec.choices:
            raise ProtocolError(f"{_camel(name)} must be one of {', '.join(spec.choices)}")
        return value
    if spec.kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise ProtocolError(f"{_camel(name)} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(f"{_camel(name)} must be a number")
    if spec.kind is Kind.INT:
        if value != int(value):
            raise ProtocolError(f"{_camel(name)} must be an integer")
        value = int(value)
    else:
        value = float(value)
    if not spec.minimum <= value <= spec.maximum:
        raise ProtocolError(
            f"{_camel(name)} {value} is out of range {spec.minimum:g}..{spec.maximum:g}"
        )
    return value


@dataclass(frozen=True)
class PlaybackControl(_FromJson):
    """``{"playbackControl": "PLAY"}`` (or PAUSE, STOP, RESET_CONTEXT)."""

    control: str

    def __post_init__(self) -> None:
        if self.control not in PLAYBACK_COMMANDS:
            raise ProtocolError(f"playbackControl must be one of {', '.join(PLAYBACK_COMMANDS)}")

    def to_json(self) -> str:
        """Return the wire form."""
        return _dumps({"playbackControl": self.control})


ClientMessage = Union[Setup, ClientContent, MusicGenerationConfig, PlaybackControl]  # noqa: UP007


def decode_client(text: str | bytes) -> ClientMessage:
    """Decode one client-to-server frame.

    Raises:
        ProtocolError: Not JSON, not exactly one known top-level key, or invalid values.
    """
    key, body = _only_key(
        _loads(text), ("setup", "clientContent", "musicGenerationConfig", "playbackControl")
    )
    kind = _camel(key) if "_" in key else key
    try:
        if kind == "setup":
            if not isinstance(body, dict) or not isinstance(body.get("model"), str):
                raise ProtocolError("setup needs a model name")
            return Setup(body["model"])
        if kind == "clientContent":
            return ClientContent.from_body(body)
        if kind == "musicGenerationConfig":
            return MusicGenerationConfig.from_body(body)
        if not isinstance(body, str):
            raise ProtocolError("playbackControl must be a string")
        return PlaybackControl(body)
    except (TypeError, OscInputError) as exc:
        raise ProtocolError(f"invalid {kind}: {exc}") from None


# --- server -> client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SetupComplete(_FromJson):
    """``{"setupComplete": {}}``: the session is ready."""

    def to_json(self) -> str:
        """Return the wire form."""
        return _dumps({"setupComplete": {}})


@dataclass(frozen=True)
class AudioChunk:
    """One chunk of PCM audio (raw bytes here, base64 on the wire).

    Attributes:
        data: Signed 16-bit little-endian interleaved PCM.
        mime_type: E.g. ``audio/l16;rate=48000;channels=2``; rate and channels are read from it.
        source_metadata: What the server generated this chunk from, if it says.
    """

    data: bytes
    mime_type: str = DEFAULT_MIME
    source_metadata: dict[str, Any] | None = dataclasses.field(default=None, compare=False)

    _MIME: ClassVar[re.Pattern[str]] = re.compile(r"^\s*audio/l16\s*((?:;[^;]*)*)$", re.I)

    def __post_init__(self) -> None:
        channels = self.format[1]
        if len(self.data) % (2 * channels):
            raise ProtocolError(
                f"audio chunk of {len(self.data)} bytes is not whole {channels}-channel frames"
            )

    @property
    def format(self) -> tuple[int, int]:
        """``(sample_rate, channels)`` parsed from the mimeType (service default 48000, 2)."""
        match = self._MIME.match(self.mime_type)
        if not match:
            raise ProtocolError(f"unsupported audio mimeType {self.mime_type[:60]!r}")
        params = dict(
            p.strip().lower().partition("=")[::2] for p in match.group(1).split(";") if p.strip()
        )
        try:
            rate = int(params.get("rate", 48000))
            channels = int(params.get("channels", 2))
        except ValueError:
            raise ProtocolError(f"bad audio mimeType {self.mime_type[:60]!r}") from None
        if not (8000 <= rate <= 192000 and 1 <= channels <= 8):
            raise ProtocolError(f"unsupported audio format {rate} Hz, {channels} channels")
        return rate, channels

    @property
    def frames(self) -> int:
        """Number of sample frames in the chunk."""
        return len(self.data) // (2 * self.format[1])

    def to_body(self) -> dict[str, Any]:
        """Return the JSON object for the audioChunks list."""
        body: dict[str, Any] = {
            "data": base64.b64encode(self.data).decode("ascii"),
            "mimeType": self.mime_type,
        }
        if self.source_metadata is not None:
            body["sourceMetadata"] = self.source_metadata
        return body


@dataclass(frozen=True)
class ServerContent(_FromJson):
    """``{"serverContent": {"audioChunks": [...]}}``."""

    audio_chunks: tuple[AudioChunk, ...]

    def to_json(self) -> str:
        """Return the wire form."""
        chunks = [c.to_body() for c in self.audio_chunks]
        return _dumps({"serverContent": {"audioChunks": chunks}})


@dataclass(frozen=True)
class FilteredPrompt(_FromJson):
    """``{"filteredPrompt": {"text": ..., "filteredReason": ...}}``: a prompt was refused."""

    text: str
    filtered_reason: str = ""

    def to_json(self) -> str:
        """Return the wire form."""
        body = {"text": self.text, "filteredReason": self.filtered_reason}
        return _dumps({"filteredPrompt": body})


@dataclass(frozen=True)
class ServiceWarning(_FromJson):
    """``{"warning": "..."}``: informational; the stream goes on."""

    message: str

    def to_json(self) -> str:
        """Return the wire form."""
        return _dumps({"warning": self.message})


ServerMessage = Union[SetupComplete, ServerContent, FilteredPrompt, ServiceWarning]  # noqa: UP007


def decode_server(text: str | bytes) -> ServerMessage:
    """Decode one server-to-client frame.

    Raises:
        ProtocolError: Not JSON, not exactly one known top-level key, or invalid content (bad
            base64, audio that is not whole frames, an unsupported mimeType).
    """
    key, body = _only_key(
        _loads(text), ("setupComplete", "serverContent", "filteredPrompt", "warning")
    )
    kind = _camel(key) if "_" in key else key
    if kind == "setupComplete":
        return SetupComplete()
    if kind == "warning":
        return ServiceWarning(body if isinstance(body, str) else _dumps(body))
    if not isinstance(body, dict):
        raise ProtocolError(f"{kind} must be an object")
    if kind == "filteredPrompt":
        text_ = _field(body, "text", "")
        reason = _field(body, "filteredReason", "")
        return FilteredPrompt(str(text_), str(reason))
    raw_chunks = _field(body, "audioChunks", [])
    if not isinstance(raw_chunks, list):
        raise ProtocolError("audioChunks must be a list")
    chunks = []
    for raw in raw_chunks:
        if not isinstance(raw, dict) or not isinstance(raw.get("data"), str):
            raise ProtocolError("audio chunk without base64 data")
        try:
            data = base64.b64decode(raw["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("audio chunk data is not valid base64") from None
        mime = _field(raw, "mimeType", DEFAULT_MIME)
        meta = _field(raw, "sourceMetadata")
        chunks.append(AudioChunk(data, str(mime), meta if isinstance(meta, dict) else None))
    return ServerContent(tuple(chunks))
