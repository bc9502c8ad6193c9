"""OpenAI Realtime (GA) events, sans-IO: builders for client events, a parser for server events.

Nothing here does I/O or imports trio. Client events are plain dicts (``dumps`` turns them into
JSON text); server events become small frozen value objects, so the call bridge can ``match``
on them. Only the fields the bridge acts on are typed; every other well-formed event becomes
``OtherEvent``.

``event_id`` is transport metadata: it is keyword-only, defaults to ``""`` (a server event
without one is still accepted) and takes no part in equality, so ``AudioDelta("r", "i", "AA==")``
equals a parsed delta with the same content.

Wire shapes follow the GA models in the ``openai`` package (``openai.types.realtime``); the
tests validate every builder against them. The runtime never imports ``openai``.
"""

from __future__ import annotations

import binascii
import enum
import json
import re
import types
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

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


@attrs.frozen
class SessionCreated:
    """``session.created``: the session's initial configuration."""

    session: Mapping[str, Any]
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class SessionUpdated:
    """``session.updated``: the full effective configuration after a ``session.update``."""

    session: Mapping[str, Any]
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class AudioDelta:
    """``response.output_audio.delta``; ``delta`` is the base64 text as received (validated)."""

    response_id: str
    item_id: str
    delta: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class AudioDone:
    """``response.output_audio.done``."""

    response_id: str
    item_id: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class SpeechStarted:
    """``input_audio_buffer.speech_started``; ms are input-audio time, not wall time."""

    item_id: str
    audio_start_ms: int
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class SpeechStopped:
    """``input_audio_buffer.speech_stopped``."""

    item_id: str
    audio_end_ms: int
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class ResponseCreated:
    """``response.created``."""

    response_id: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class ResponseDone:
    """``response.done``: ``status`` completed/cancelled/failed/incomplete; ``output`` items."""

    response_id: str
    status: str
    reason: str | None
    output: tuple[Mapping[str, Any], ...]
    error_code: str | None
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class OutputItemAdded:
    """``response.output_item.added``."""

    response_id: str
    item: Mapping[str, Any]
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class OutputItemDone:
    """``response.output_item.done``: the completed item (function calls: full arguments)."""

    response_id: str
    item: Mapping[str, Any]
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class FunctionCallArgumentsDone:
    """``response.function_call_arguments.done``; ``name`` is None from pre-GA servers."""

    response_id: str
    item_id: str
    call_id: str
    name: str | None
    arguments: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class InputTranscriptCompleted:
    """``conversation.item.input_audio_transcription.completed`` (may arrive late)."""

    item_id: str
    transcript: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class OutputTranscriptDone:
    """``response.output_audio_transcript.done``."""

    response_id: str
    item_id: str
    transcript: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class ItemTruncated:
    """``conversation.item.truncated``."""

    item_id: str
    audio_end_ms: int
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class RealtimeError:
    """An ``error`` event. ``client_event_id`` names the client event that caused it."""

    code: str | None
    message: str
    error_type: str
    param: str | None
    client_event_id: str | None
    event_id: str = attrs.field(default="", kw_only=True, eq=False)


@attrs.frozen
class OtherEvent:
    """Any other well-formed event; ``data`` is the whole decoded event, for logging."""

    type: str
    event_id: str = attrs.field(default="", kw_only=True, eq=False)
    data: Mapping[str, Any] = attrs.field(factory=dict, kw_only=True, eq=False, repr=False)

    @property
    def known(self) -> bool:
        """Whether ``type`` is a GA server event type (legacy ``conversation.item.created``
        included), as opposed to something this code has never heard of."""
        return self.type in KNOWN_SERVER_EVENT_TYPES


ServerEvent: TypeAlias = (
    SessionCreated
    | SessionUpdated
    | AudioDelta
    | AudioDone
    | SpeechStarted
    | SpeechStopped
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | FunctionCallArgumentsDone
    | InputTranscriptCompleted
    | OutputTranscriptDone
    | ItemTruncated
    | RealtimeError
    | OtherEvent
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Built once: json.loads(..., parse_constant=...) would build a decoder per call.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _fail_field(obj: Mapping[str, Any], key: str, what: str) -> RealtimeProtocolError:
    if key not in obj:
        return RealtimeProtocolError("missing_field", f"no {key!r}")
    return RealtimeProtocolError(
        "bad_field", f"{key!r} must be {what}, not {type(obj[key]).__name__}"
    )


# The helpers below check exact types (`type(x) is str`): JSON gives exactly str/int/dict/list,
# and bool must not pass for int.


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if type(value) is not str:
        raise _fail_field(obj, key, "a string")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    raise _fail_field(obj, key, "a string or null")


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    if type(value) is not int:
        raise _fail_field(obj, key, "an integer")
    return value


def _dict(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if type(value) is not dict:
        raise _fail_field(obj, key, "an object")
    return value


def _opt_dict(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if type(value) is not dict:
        raise _fail_field(obj, key, "an object or null")
    return value


def _event_id_of(obj: Mapping[str, Any]) -> str:
    return _opt_str(obj, "event_id") or ""


def _base64(obj: Mapping[str, Any], key: str) -> str:
    text = _str(obj, key)
    _check_base64(text)
    return text


def _check_base64(text: str) -> None:
    try:
        binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        # The message names the problem, never the (possibly huge) payload.
        raise RealtimeProtocolError("bad_base64", f"delta is not strict base64: {exc}") from None


def _audio_delta(obj: dict[str, Any]) -> AudioDelta:
    return AudioDelta(
        _str(obj, "response_id"),
        _str(obj, "item_id"),
        _base64(obj, "delta"),
        event_id=_event_id_of(obj),
    )


def _response_done(obj: dict[str, Any]) -> ResponseDone:
    response = _dict(obj, "response")
    details = _opt_dict(response, "status_details")
    error = _opt_dict(details, "error")
    output = response.get("output")
    if output is None:
        output = []
    if type(output) is not list or any(type(item) is not dict for item in output):
        raise _fail_field(response, "output", "a list of objects")
    return ResponseDone(
        _str(response, "id"),
        _str(response, "status"),
        _opt_str(details, "reason"),
        tuple(output),
        _opt_str(error, "code"),
        event_id=_event_id_of(obj),
    )


def _error(obj: dict[str, Any]) -> RealtimeError:
    error = _dict(obj, "error")
    # Lenient on absent text fields: an error must reach the bridge even if it is sparse.
    return RealtimeError(
        _opt_str(error, "code"),
        _opt_str(error, "message") or "",
        _opt_str(error, "type") or "",
        _opt_str(error, "param"),
        _opt_str(error, "event_id"),
        event_id=_event_id_of(obj),
    )


_PARSERS: Final[dict[str, Callable[[dict[str, Any]], ServerEvent]]] = {
    "response.output_audio.delta": _audio_delta,
    "response.output_audio.done": lambda o: AudioDone(
        _str(o, "response_id"), _str(o, "item_id"), event_id=_event_id_of(o)
    ),
    "session.created": lambda o: SessionCreated(_dict(o, "session"), event_id=_event_id_of(o)),
    "session.updated": lambda o: SessionUpdated(_dict(o, "session"), event_id=_event_id_of(o)),
    "input_audio_buffer.speech_started": lambda o: SpeechStarted(
        _str(o, "item_id"), _int(o, "audio_start_ms"), event_id=_event_id_of(o)
    ),
    "input_audio_buffer.speech_stopped": lambda o: SpeechStopped(
        _str(o, "item_id"), _int(o, "audio_end_ms"), event_id=_event_id_of(o)
    ),
    "response.created": lambda o: ResponseCreated(
        _str(_dict(o, "response"), "id"), event_id=_event_id_of(o)
    ),
    "response.done": _response_done,
    "response.output_item.added": lambda o: OutputItemAdded(
        _str(o, "response_id"), _dict(o, "item"), event_id=_event_id_of(o)
    ),
    "response.output_item.done": lambda o: OutputItemDone(
        _str(o, "response_id"), _dict(o, "item"), event_id=_event_id_of(o)
    ),
    "response.function_call_arguments.done": lambda o: FunctionCallArgumentsDone(
        _str(o, "response_id"),
        _str(o, "item_id"),
        _str(o, "call_id"),
        _opt_str(o, "name"),
        _str(o, "arguments"),
        event_id=_event_id_of(o),
    ),
    "conversation.item.input_audio_transcription.completed": lambda o: InputTranscriptCompleted(
        _str(o, "item_id"), _str(o, "transcript"), event_id=_event_id_of(o)
    ),
    "response.output_audio_transcript.done": lambda o: OutputTranscriptDone(
        _str(o, "response_id"), _str(o, "item_id"), _str(o, "transcript"), event_id=_event_id_of(o)
    ),
    "conversation.item.truncated": lambda o: ItemTruncated(
        _str(o, "item_id"), _int(o, "audio_end_ms"), event_id=_event_id_of(o)
    ),
    "error": _error,
}

# Fast path for the hottest message (50 per second per call): the compact layout OpenAI sends,
# with `event_id` before or after `type`. Strings must be escape-free, so the groups equal what
# json would decode. Anything else (other key order, whitespace, escapes, duplicate keys) falls
# through to the full decoder, which gives the same answer more slowly.
_PLAIN = r'"([^"\\\x00-\x1f]*)"'
_INDEX = r"-?(?:0|[1-9][0-9]*)"
_DELTA_FAST: Final = re.compile(
    r'\{(?:"event_id":' + _PLAIN + r",)?"
    r'"type":"response\.output_audio\.delta",'
    r'(?:"event_id":' + _PLAIN + r",)?"
    r'"response_id":' + _PLAIN + r","
    r'"item_id":' + _PLAIN + r","
    r'"output_index":' + _INDEX + r","
    r'"content_index":' + _INDEX + r","
    r'"delta":"([A-Za-z0-9+/=]*)"\}'
)


def parse_server_event(text: str | bytes) -> ServerEvent:
    """Decode one server message (a WebSocket text frame) into a typed event.

    Raises RealtimeProtocolError, and nothing else, for any input that is not a usable event:
    bad UTF-8 or JSON, a non-object, no string ``type``, a missing or mistyped field this module
    reads, a delta that is not strict base64, or more than MAX_EVENT_SIZE. Unknown types are
    not errors: they come back as OtherEvent(known=False).
    """
    if len(text) > MAX_EVENT_SIZE:
        raise RealtimeProtocolError("oversized", f"{len(text)} > {MAX_EVENT_SIZE}")
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RealtimeProtocolError("malformed_json", f"not UTF-8: {exc.reason}") from None

    match = _DELTA_FAST.fullmatch(text)
    if match is not None:
        first_id, second_id, response_id, item_id, delta = match.groups()
        # Both or neither event_id: a duplicate or absent key; let the decoder decide.
        if (first_id is None) != (second_id is None):
            try:
                _check_base64(delta)
            except RealtimeProtocolError as exc:
                exc.event_type = "response.output_audio.delta"
                raise
            event_id = first_id if first_id is not None else second_id
            return AudioDelta(response_id, item_id, delta, event_id=event_id)

    try:
        obj = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError is a ValueError; absurd nesting is a RecursionError.
        raise RealtimeProtocolError("malformed_json", str(exc)[:200]) from None
    if type(obj) is not dict:
        raise RealtimeProtocolError("not_an_object", f"top level is {type(obj).__name__}")
    event_type = obj.get("type")
    if event_type is None:
        raise RealtimeProtocolError("missing_type", "no 'type'")
    if type(event_type) is not str:
        raise RealtimeProtocolError("bad_field", f"'type' is {type(event_type).__name__}")
    try:
        parser = _PARSERS.get(event_type)
        if parser is None:
            return OtherEvent(event_type, event_id=_event_id_of(obj), data=obj)
        return parser(obj)
    except RealtimeProtocolError as exc:
        exc.event_type = event_type
        raise


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
