"""OpenAI Realtime (GA) events, sans-IO: builders for client events, a parser for server events.

Nothing here does I/O or imports trio. Client events are plain dicts (``dumps`` turns them into
JSON text); server events become small frozen value objects (msgspec structs, which msgspec
decodes the JSON straight into: a tagged union on ``type``), so the call bridge can ``match``
on them. Only the fields the bridge acts on are typed; every other well-formed event becomes
``OtherEvent``.

``event_id`` is transport metadata, on the common base of every event: it is keyword-only,
defaults to ``""`` (a server event without one, or with null, is still accepted) and takes no
part in equality, so ``AudioDelta("r", "i", "AA==")`` equals a parsed delta with the same content.

Wire shapes follow the GA models in the ``openai`` package (``openai.types.realtime``); the
tests validate every builder against them. The runtime never imports ``openai``.
"""

from __future__ import annotations

import binascii
import enum
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs
import msgspec

__all__ = [
    "BENIGN_ERROR_CODES",
    "FATAL_ERROR_CODES",
    "KNOWN_SERVER_EVENT_TYPES",
    "MAX_EVENT_SIZE",
    "PCM24K",
    "PCMU",
    "AudioDelta",
    "AudioDone",
    "ErrorSeverity",
    "FunctionCallArgumentsDone",
    "InputTranscriptCompleted",
    "ItemTruncated",
    "OtherEvent",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputTranscriptDone",
    "ProtocolErrorKind",
    "RealtimeError",
    "RealtimeProtocolError",
    "ResponseCreated",
    "ResponseDone",
    "ServerEvent",
    "SessionConfig",
    "SessionCreated",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "assistant_text_item",
    "classify_error",
    "dumps",
    "encode_audio_append",
    "function_call_item",
    "function_call_output",
    "item_truncate",
    "parse_server_event",
    "response_cancel",
    "response_create",
    "session_update",
    "system_text_item",
    "user_text_item",
]

# Read-only so that a caller cannot change the default of every SessionConfig by accident.
PCMU: Final[Mapping[str, Any]] = types.MappingProxyType({"type": "audio/pcmu"})
PCM24K: Final[Mapping[str, Any]] = types.MappingProxyType({"type": "audio/pcm", "rate": 24000})

# The same limit as the connection's max_message_size: bigger frames never reach the parser
# from the socket, and anything else handing us text gets the same bound.
MAX_EVENT_SIZE: Final = 16 * 1024 * 1024

# The `type` values of openai.types.realtime.RealtimeServerEvent (GA), copied here because the
# runtime must not import openai; tests/realtime checks that the two sets stay equal.
KNOWN_SERVER_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {
        "conversation.created",
        "conversation.item.added",
        "conversation.item.created",
        "conversation.item.deleted",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.failed",
        "conversation.item.input_audio_transcription.segment",
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "error",
        "input_audio_buffer.cleared",
        "input_audio_buffer.committed",
        "input_audio_buffer.dtmf_event_received",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.timeout_triggered",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "mcp_list_tools.in_progress",
        "output_audio_buffer.cleared",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "rate_limits.updated",
        "response.content_part.added",
        "response.content_part.done",
        "response.created",
        "response.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
        "response.output_item.added",
        "response.output_item.done",
        "response.output_text.delta",
        "response.output_text.done",
        "session.created",
        "session.updated",
    }
)


# --------------------------------------------------------------------------------------------
# Client events (builders)


@attrs.frozen
class SessionConfig:
    """What ``session_update`` asks for. ``audio_format`` applies to input and output."""

    model: str
    voice: str
    instructions: str
    tools: tuple[Mapping[str, Any], ...] = ()
    audio_format: Mapping[str, Any] = PCMU
    transcription_model: str | None = "gpt-4o-mini-transcribe"
    language: str | None = "en"
    vad_threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500


def _plain(value: Any) -> Any:
    """Copy nested Mappings and tuples into dicts and lists, which ``json`` can encode."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def session_update(config: SessionConfig) -> dict[str, Any]:
    """Build the GA ``session.update`` for a phone call: audio out, server VAD, barge-in on."""
    transcription: dict[str, Any] | None = None
    if config.transcription_model is not None:
        transcription = {"model": config.transcription_model}
        if config.language is not None:
            transcription["language"] = config.language
    audio_format = _plain(config.audio_format)
    return {
        "type": "session.update",
        "session": {
            # `type` is required in every GA update; without it the whole update is rejected.
            "type": "realtime",
            "model": config.model,
            "instructions": config.instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": audio_format,
                    "transcription": transcription,
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": config.vad_threshold,
                        "prefix_padding_ms": config.prefix_padding_ms,
                        "silence_duration_ms": config.silence_duration_ms,
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": dict(audio_format), "voice": config.voice},
            },
            "tools": [_plain(tool) for tool in config.tools],
            "tool_choice": "auto",
        },
    }


def response_create(*, instructions: str | None = None) -> dict[str, Any]:
    """Build ``response.create``, optionally with instructions for this one response."""
    if instructions is None:
        return {"type": "response.create"}
    return {"type": "response.create", "response": {"instructions": instructions}}


def response_cancel() -> dict[str, Any]:
    """Build ``response.cancel`` for the active response."""
    return {"type": "response.cancel"}


def item_truncate(item_id: str, audio_end_ms: int) -> dict[str, Any]:
    """Build ``conversation.item.truncate``: the caller heard ``audio_end_ms`` of the item."""
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": 0,
        "audio_end_ms": audio_end_ms,
    }


def _item_create(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": item}


def function_call_output(call_id: str, output: str) -> dict[str, Any]:
    """Build the ``conversation.item.create`` that returns a tool result (``output`` is text)."""
    return _item_create({"type": "function_call_output", "call_id": call_id, "output": output})


def _message(role: str, content_type: str, text: str) -> dict[str, Any]:
    return _item_create(
        {"type": "message", "role": role, "content": [{"type": content_type, "text": text}]}
    )


def user_text_item(text: str) -> dict[str, Any]:
    """Build a user text message item (``input_text``)."""
    return _message("user", "input_text", text)


def assistant_text_item(text: str) -> dict[str, Any]:
    """Build an assistant text message item (GA ``output_text``; audio cannot be injected)."""
    return _message("assistant", "output_text", text)


def system_text_item(text: str) -> dict[str, Any]:
    """Build a system message item (``input_text``)."""
    return _message("system", "input_text", text)


def function_call_item(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """Build a ``function_call`` item, for re-seeding a conversation on a new session."""
    return _item_create(
        {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
    )


def encode_audio_append(audio_b64: str) -> str:
    """Return the JSON text of ``input_audio_buffer.append`` for base64 audio.

    Hot path (every 20 ms frame of every call), so no ``json.dumps``: base64 text needs no
    escaping. Raises ValueError if the text holds a quote or backslash, which would otherwise
    let it rewrite the event.
    """
    if '"' in audio_b64 or "\\" in audio_b64:
        raise ValueError("audio must be base64 text")
    return f'{{"type":"input_audio_buffer.append","audio":"{audio_b64}"}}'


def dumps(event: Mapping[str, Any]) -> str:
    """Encode a client event as compact JSON (ASCII-safe; NaN and Infinity are refused)."""
    return json.dumps(event, separators=(",", ":"), allow_nan=False)


# --------------------------------------------------------------------------------------------
# Server events (parser)


# Transport metadata, not what an event says: left out of equality and hashing.
_METADATA: Final = frozenset({"event_id", "data"})


class _ServerEvent(msgspec.Struct, frozen=True, kw_only=True):
    """What every server event carries; the typed ones below are decoded straight into."""

    event_id: str = ""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, _ServerEvent):
            return NotImplemented
        return self._content() == other._content()

    def __hash__(self) -> int:
        return hash(self._content())

    def _content(self) -> tuple[object, ...]:
        return tuple(
            getattr(self, name) for name in self.__struct_fields__ if name not in _METADATA
        )


class SessionCreated(_ServerEvent, frozen=True, tag="session.created"):
    """``session.created``: the session's initial configuration."""

    session: Mapping[str, Any]


class SessionUpdated(_ServerEvent, frozen=True, tag="session.updated"):
    """``session.updated``: the full effective configuration after a ``session.update``."""

    session: Mapping[str, Any]


class AudioDelta(_ServerEvent, frozen=True, tag="response.output_audio.delta"):
    """``response.output_audio.delta``; ``delta`` is the base64 text as received (validated)."""

    response_id: str
    item_id: str
    delta: str


class AudioDone(_ServerEvent, frozen=True, tag="response.output_audio.done"):
    """``response.output_audio.done``."""

    response_id: str
    item_id: str


class SpeechStarted(_ServerEvent, frozen=True, tag="input_audio_buffer.speech_started"):
    """``input_audio_buffer.speech_started``; ms are input-audio time, not wall time."""

    item_id: str
    audio_start_ms: int


class SpeechStopped(_ServerEvent, frozen=True, tag="input_audio_buffer.speech_stopped"):
    """``input_audio_buffer.speech_stopped``."""

    item_id: str
    audio_end_ms: int


class OutputItemAdded(_ServerEvent, frozen=True, tag="response.output_item.added"):
    """``response.output_item.added``."""

    response_id: str
    item: Mapping[str, Any]


class OutputItemDone(_ServerEvent, frozen=True, tag="response.output_item.done"):
    """``response.output_item.done``: the completed item (function calls: full arguments)."""

    response_id: str
    item: Mapping[str, Any]


class InputTranscriptCompleted(
    _ServerEvent, frozen=True, tag="conversation.item.input_audio_transcription.completed"
):
    """``conversation.item.input_audio_transcription.completed`` (may arrive late)."""

    item_id: str
    transcript: str


class OutputTranscriptDone(_ServerEvent, frozen=True, tag="response.output_audio_transcript.done"):
    """``response.output_audio_transcript.done``."""

    response_id: str
    item_id: str
    transcript: str


class ItemTruncated(_ServerEvent, frozen=True, tag="conversation.item.truncated"):
    """``conversation.item.truncated``."""

    item_id: str
    audio_end_ms: int


# The events below are flatter than their wire shape (or, for FunctionCallArgumentsDone, have a
# field the wire may omit ahead of one it may not); each has a private `_*Wire` struct that
# decodes the wire shape and builds it.


class ResponseCreated(_ServerEvent, frozen=True):
    """``response.created``."""

    response_id: str


# A response whose metadata sets this key to "true" is the model's goodbye: the call ends once
# it has played (hotelvoice's convention; Realtime metadata is free-form key-value pairs).
END_CALL_METADATA: Final = "hotelvoice_end_call"


class ResponseDone(_ServerEvent, frozen=True):
    """``response.done``: ``status`` completed/cancelled/failed/incomplete; ``output`` items.

    ``end_call``: the response is the model's goodbye, by hotelvoice's own convention (the
    response's ``metadata`` has ``END_CALL_METADATA`` set to ``"true"``; the offline engine
    sets it, OpenAI's models never do).
    """

    response_id: str
    status: str
    reason: str | None
    output: tuple[Mapping[str, Any], ...]
    error_code: str | None
    end_call: bool = False


class FunctionCallArgumentsDone(_ServerEvent, frozen=True):
    """``response.function_call_arguments.done``; ``name`` is None from pre-GA servers."""

    response_id: str
    item_id: str
    call_id: str
    name: str | None
    arguments: str


class RealtimeError(_ServerEvent, frozen=True):
    """An ``error`` event. ``client_event_id`` names the client event that caused it."""

    code: str | None
    message: str
    error_type: str
    param: str | None
    client_event_id: str | None


class OtherEvent(_ServerEvent, frozen=True):
    """Any other well-formed event; ``data`` is the whole decoded event, for logging."""

    type: str
    data: Mapping[str, Any] = {}

    def __repr__(self) -> str:
        # Without data, which can be big: the type says what it was.
        return f"OtherEvent(type={self.type!r}, event_id={self.event_id!r})"

    @property
    def known(self) -> bool:
        """Whether ``type`` is a GA server event type (legacy ``conversation.item.created``
        included), as opposed to something this code has never heard of."""
        return self.type in KNOWN_SERVER_EVENT_TYPES


# The events msgspec decodes as they stand (the others come from a `_*Wire` struct below).
_AsOnTheWire: TypeAlias = (
    SessionCreated
    | SessionUpdated
    | AudioDelta
    | AudioDone
    | SpeechStarted
    | SpeechStopped
    | OutputItemAdded
    | OutputItemDone
    | InputTranscriptCompleted
    | OutputTranscriptDone
    | ItemTruncated
)

ServerEvent: TypeAlias = (
    _AsOnTheWire
    | ResponseCreated
    | ResponseDone
    | FunctionCallArgumentsDone
    | RealtimeError
    | OtherEvent
)


class _Wire(_ServerEvent, frozen=True):
    """A wire shape that decodes into one of the flatter events above."""

    def event(self) -> ServerEvent:
        raise NotImplementedError


class _ResponseRef(msgspec.Struct, frozen=True):
    id: str


class _ResponseCreatedWire(_Wire, frozen=True, tag="response.created"):
    response: _ResponseRef

    def event(self) -> ResponseCreated:
        return ResponseCreated(self.response.id, event_id=self.event_id)


class _StatusError(msgspec.Struct, frozen=True):
    code: str | None = None


class _StatusDetails(msgspec.Struct, frozen=True):
    reason: str | None = None
    error: _StatusError | None = None


class _Response(_ResponseRef, frozen=True):
    status: str
    status_details: _StatusDetails | None = None
    output: tuple[Mapping[str, Any], ...] | None = None
    metadata: Mapping[str, Any] | None = None


class _ResponseDoneWire(_Wire, frozen=True, tag="response.done"):
    response: _Response

    def event(self) -> ResponseDone:
        response = self.response
        details = response.status_details or _StatusDetails()
        return ResponseDone(
            response.id,
            response.status,
            details.reason,
            response.output or (),
            details.error.code if details.error is not None else None,
            (response.metadata or {}).get(END_CALL_METADATA) == "true",
            event_id=self.event_id,
        )


class _FunctionCallArgumentsDoneWire(
    _Wire, frozen=True, tag="response.function_call_arguments.done"
):
    response_id: str
    item_id: str
    call_id: str
    arguments: str
    name: str | None = None

    def event(self) -> FunctionCallArgumentsDone:
        return FunctionCallArgumentsDone(
            self.response_id,
            self.item_id,
            self.call_id,
            self.name,
            self.arguments,
            event_id=self.event_id,
        )


class _ErrorDetail(msgspec.Struct, frozen=True):
    # Lenient on absent fields: an error must reach the bridge even if it is sparse.
    code: str | None = None
    message: str | None = None
    type: str | None = None
    param: str | None = None
    event_id: str | None = None


class _ErrorWire(_Wire, frozen=True, tag="error"):
    error: _ErrorDetail

    def event(self) -> RealtimeError:
        error = self.error
        return RealtimeError(
            error.code,
            error.message or "",
            error.type or "",
            error.param,
            error.event_id,
            event_id=self.event_id,
        )


_Decoded: TypeAlias = (
    _AsOnTheWire
    | _ResponseCreatedWire
    | _ResponseDoneWire
    | _FunctionCallArgumentsDoneWire
    | _ErrorWire
)
_DECODER: Final = msgspec.json.Decoder(_Decoded)
_DECODED_TYPES: Final = frozenset(
    str(member.__struct_config__.tag) for member in typing.get_args(_Decoded)
)

ProtocolErrorKind: TypeAlias = Literal[
    "malformed_json",
    "not_an_object",
    "missing_type",
    "missing_field",
    "bad_field",
    "bad_base64",
    "oversized",
]


class RealtimeProtocolError(ValueError):
    """A server message that is not a usable event. ``kind`` says what was wrong."""

    def __init__(
        self, kind: ProtocolErrorKind, message: str, *, event_type: str | None = None
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind: ProtocolErrorKind = kind
        self.event_type = event_type


def parse_server_event(text: str | bytes) -> ServerEvent:
    """Decode one server message (a WebSocket text frame) into a typed event.

    Raises RealtimeProtocolError, and nothing else, for any input that is not a usable event:
    bad UTF-8 or JSON, a non-object, no string ``type``, a missing or mistyped field this module
    reads, a delta that is not strict base64, or more than MAX_EVENT_SIZE. Unknown types are
    not errors: they come back as OtherEvent(known=False).
    """
    if len(text) > MAX_EVENT_SIZE:
        raise RealtimeProtocolError("oversized", f"{len(text)} > {MAX_EVENT_SIZE}")
    try:
        event: _Decoded | OtherEvent = _DECODER.decode(text)
    # ValidationError is a DecodeError, and RecursionError is msgspec's answer to deep nesting.
    # Either way (and for every type not decoded above) the careful path decides.
    except (msgspec.DecodeError, RecursionError):
        event = _decode_carefully(text)
    if type(event) is AudioDelta:
        try:
            binascii.a2b_base64(event.delta, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            # The message names the problem, never the (possibly huge) payload.
            raise RealtimeProtocolError(
                "bad_base64",
                f"delta is not strict base64: {exc}",
                event_type="response.output_audio.delta",
            ) from None
        return event
    if isinstance(event, _Wire):
        return event.event()
    return event


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads(..., parse_constant=...) would build a decoder per call.
_JSON: Final = json.JSONDecoder(parse_constant=_reject_constant)

# msgspec's ValidationError text: "<what> - at `$<path>`", or just "<what>" at the top level.
_VALIDATION: Final = re.compile(r"(?P<what>.*?)(?: - at `(?P<path>[^`]*)`)?", re.DOTALL)
_MISSING: Final = re.compile(r"Object missing required field `(?P<name>[^`]*)`")


def _decode_carefully(text: str | bytes) -> _Decoded | OtherEvent:
    """Decode what the typed decoder refused: another event type, or a message to explain."""
    obj = _decode_any(text)
    if type(obj) is not dict:
        raise RealtimeProtocolError("not_an_object", f"top level is {type(obj).__name__}")
    event_type = obj.get("type")
    if event_type is None:
        raise RealtimeProtocolError("missing_type", "no 'type'")
    if type(event_type) is not str:
        raise RealtimeProtocolError("bad_field", f"'type' is {type(event_type).__name__}")
    event_id = obj.get("event_id")
    if event_id is None:
        # Tolerated, like an absent one.
        obj.pop("event_id", None)
    elif type(event_id) is not str:
        raise RealtimeProtocolError(
            "bad_field",
            f"'event_id' must be a string, not {type(event_id).__name__}",
            event_type=event_type,
        )
    if event_type not in _DECODED_TYPES:
        return OtherEvent(event_type, event_id=event_id or "", data=obj)
    try:
        event: _Decoded = msgspec.convert(obj, _Decoded)
    except msgspec.ValidationError as exc:
        raise _from_validation(str(exc), event_type) from None
    except RecursionError:
        raise RealtimeProtocolError("malformed_json", "nested too deeply") from None
    return event


def _decode_any(text: str | bytes) -> Any:
    """Decode JSON text into plain objects, exactly as the standard library would.

    The standard library is the judge of what is JSON here, as it always was (it takes lone
    surrogates and integers of any size, which msgspec does not); msgspec's reader goes first
    only because it is twice as fast, and whatever it accepts, json reads the same.
    """
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        pass
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RealtimeProtocolError("malformed_json", f"not UTF-8: {exc.reason}") from None
    try:
        return _JSON.decode(text)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError is a ValueError; absurd nesting is a RecursionError.
        raise RealtimeProtocolError("malformed_json", str(exc)[:200]) from None


def _from_validation(error: str, event_type: str) -> RealtimeProtocolError:
    match = _VALIDATION.fullmatch(error)
    assert match is not None  # the pattern matches any text
    path = match["path"] or "$"
    missing = _MISSING.fullmatch(match["what"])
    if missing is not None:
        return RealtimeProtocolError(
            "missing_field", f"no {missing['name']!r} in {path}", event_type=event_type
        )
    return RealtimeProtocolError(
        "bad_field", f"{path}: {match['what'][:200]}", event_type=event_type
    )


# --------------------------------------------------------------------------------------------
# Error classification


class ErrorSeverity(enum.Enum):
    """How the bridge should treat an ``error`` event."""

    BENIGN = "benign"  # expected races; log at debug and carry on
    RECOVERABLE = "recoverable"  # a rejected request; the session is still usable
    FATAL = "fatal"  # the session is gone or can never work; end or replace it


BENIGN_ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        # response.create racing a response the VAD started
        "conversation_already_has_active_response",
        # response.cancel with nothing running
        "response_cancel_not_active",
        # commit with under 100 ms buffered
        "input_audio_buffer_commit_empty",
    }
)

FATAL_ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "session_expired",  # 60-minute limit; the server closes the socket next
        "beta_api_shape_disabled",  # beta header sent; close code 4000 follows
        # Key, account and billing problems: nothing the call can fix, and retrying the same
        # session only repeats them.
        "invalid_api_key",
        "insufficient_quota",
        "account_deactivated",
        "billing_hard_limit_reached",
        "billing_not_active",
        "organization_deactivated",
        "unsupported_country_region_territory",
        "model_not_found",
    }
)


def classify_error(error: RealtimeError) -> ErrorSeverity:
    """Say whether an ``error`` event is harmless, recoverable or the end of the session."""
    if error.code in BENIGN_ERROR_CODES:
        return ErrorSeverity.BENIGN
    if error.code in FATAL_ERROR_CODES:
        return ErrorSeverity.FATAL
    return ErrorSeverity.RECOVERABLE
