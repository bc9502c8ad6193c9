"""Twilio Media Streams WebSocket messages: parse what Twilio sends, encode what we send back.

Sans-IO: plain text in, frozen value objects out (and the reverse). Nothing here touches a
socket or trio, so the bridge can call it inline for every 20 ms frame.

Twilio sends counters and timestamps as JSON strings (``"sequenceNumber": "4"``); they are
accepted as strings of ASCII digits or as JSON integers and exposed as ``int``.
"""

from __future__ import annotations

import binascii
import json
import types
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from typing import Any, Literal

import attrs

__all__ = [
    "MAX_MESSAGE_CHARS",
    "Connected",
    "Dtmf",
    "MarkEcho",
    "Media",
    "MediaFormat",
    "ProtocolErrorKind",
    "Start",
    "Stop",
    "TwilioMessage",
    "TwilioProtocolError",
    "encode_clear",
    "encode_mark",
    "encode_media",
    "parse_message",
]

# A 20 ms frame is ~400 chars and a `start` with parameters a few KiB; anything far bigger is
# not Twilio, and refusing it before json.loads keeps a hostile peer from making us chew on it.
MAX_MESSAGE_CHARS = 64 * 1024


@attrs.frozen
class MediaFormat:
    encoding: str
    sample_rate: int
    channels: int


@attrs.frozen
class Connected:
    protocol: str
    version: str


@attrs.frozen
class Start:
    sequence_number: int
    stream_sid: str
    account_sid: str
    call_sid: str
    tracks: tuple[str, ...]
    custom_parameters: Mapping[str, str]
    media_format: MediaFormat


@attrs.frozen
class Media:
    sequence_number: int
    stream_sid: str
    track: str
    chunk: int
    timestamp: int
    # The base64 text exactly as received (already checked to be strict base64): the bridge
    # forwards it to the model untouched, so decoding here would be wasted work.
    payload: str


@attrs.frozen
class Dtmf:
    sequence_number: int
    stream_sid: str
    track: str
    digit: str


@attrs.frozen
class MarkEcho:
    sequence_number: int
    stream_sid: str
    name: str


@attrs.frozen
class Stop:
    sequence_number: int
    stream_sid: str
    account_sid: str
    call_sid: str


TwilioMessage = Connected | Start | Media | Dtmf | MarkEcho | Stop

ProtocolErrorKind = Literal[
    "oversized",
    "malformed_json",
    "not_an_object",
    "unknown_event",
    "missing_field",
    "bad_field",
    "bad_base64",
]


class TwilioProtocolError(ValueError):
    """A WebSocket message that is not a well-formed Twilio Media Streams message.

    ``kind`` says what was wrong (stable, for metrics and tests); ``event`` and ``field``
    name the offending message and dotted field path when known; ``str(exc)`` says it in words.
    """

    def __init__(
        self,
        kind: ProtocolErrorKind,
        message: str,
        *,
        event: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ProtocolErrorKind = kind
        self.event = event
        self.field = field


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_message(text: str | bytes) -> TwilioMessage:
    """Parse one WebSocket text frame from Twilio.

    Raises:
        TwilioProtocolError: for any input that is not a valid Twilio message; nothing else
            escapes, whatever the input.
    """
    if len(text) > MAX_MESSAGE_CHARS:
        raise TwilioProtocolError(
            "oversized",
            f"Twilio message is {len(text)} {'bytes' if isinstance(text, bytes) else 'characters'}"
            f" long, over the {MAX_MESSAGE_CHARS} limit",
        )
    try:
        decoded = json.loads(text)
    # ValueError covers JSONDecodeError, undecodable bytes and over-long integer literals.
    except ValueError as exc:
        raise TwilioProtocolError(
            "malformed_json", f"Twilio message is not valid JSON: {_short_repr(str(exc), 120)}"
        ) from None
    except RecursionError:
        raise TwilioProtocolError(
            "malformed_json", "Twilio message is not valid JSON: nested too deeply"
        ) from None
    if type(decoded) is dict:
        # ~50 media frames a second per call: try the common shape with as few checks as
        # possible; anything unusual falls through to the careful path below.
        if decoded.get("event") == "media":
            media = _media_fast_path(decoded)
            if media is not None:
                return media
        return _parse_object(decoded)
    raise TwilioProtocolError(
        "not_an_object",
        f"Twilio message must be a JSON object, not {_json_type_name(decoded)}",
    )


def _media_fast_path(message: dict[str, Any]) -> Media | None:
    """Build a Media from the usual all-strings shape; None sends the caller to the slow path."""
    try:
        media = message["media"]
        sequence_number = message["sequenceNumber"]
        stream_sid = message["streamSid"]
        track = media["track"]
        chunk = media["chunk"]
        timestamp = media["timestamp"]
        payload = media["payload"]
        if not (
            type(stream_sid) is str
            and type(track) is str
            and type(payload) is str
            and type(sequence_number) is str
            and type(chunk) is str
            and type(timestamp) is str
        ):
            return None
        # One isdigit/isascii over the concatenation is cheaper than six calls; the emptiness
        # checks stop "" from hiding inside it.
        counters = sequence_number + chunk + timestamp
        if not (
            counters.isdigit() and counters.isascii() and sequence_number and chunk and timestamp
        ):
            return None
        binascii.a2b_base64(payload, strict_mode=True)
        return Media(int(sequence_number), stream_sid, track, int(chunk), int(timestamp), payload)
    # KeyError/TypeError: a missing or non-object field; ValueError: bad base64 or an
    # absurdly long number. The slow path reports each of them precisely.
    except (KeyError, TypeError, ValueError):
        return None


class _Fields:
    """Typed access to one JSON object of a message, raising precise TwilioProtocolErrors."""

    __slots__ = ("_event", "_object", "_path")

    def __init__(self, obj: dict[str, Any], event: str, path: str = "") -> None:
        self._object = obj
        self._event = event
        self._path = path

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _raw(self, key: str) -> Any:
        try:
            return self._object[key]
        except KeyError:
            field = self._where(key)
            raise TwilioProtocolError(
                "missing_field",
                f'Twilio "{self._event}" message has no "{field}" field',
                event=self._event,
                field=field,
            ) from None

    def bad_value(self, key: str, expected: str, value: Any) -> TwilioProtocolError:
        field = self._where(key)
        return TwilioProtocolError(
            "bad_field",
            f'Twilio "{self._event}" message field "{field}" must be {expected}, '
            f"got {_short_repr(value)}",
            event=self._event,
            field=field,
        )

    def string(self, key: str) -> str:
        value = self._raw(key)
        if type(value) is not str:
            raise self.bad_value(key, "a string", value)
        return value

    def optional_string(self, key: str) -> str | None:
        return self.string(key) if key in self._object else None

    def counter(self, key: str) -> int:
        """A non-negative integer that Twilio usually sends as a string of digits."""
        value = self._raw(key)
        if type(value) is int and value >= 0:
            return value
        # isascii: int() would also accept other scripts' digits, "+1", " 1" and "1_0".
        if type(value) is str and value.isdigit() and value.isascii():
            try:
                return int(value)
            except ValueError:  # more digits than Python's int-parsing limit
                pass
        raise self.bad_value(key, "a non-negative integer (or a string of digits)", value)

    def obj(self, key: str) -> _Fields:
        value = self._raw(key)
        if type(value) is not dict:
            raise self.bad_value(key, "an object", value)
        return _Fields(value, self._event, self._where(key))

    def string_list(self, key: str) -> tuple[str, ...]:
        value = self._raw(key)
        if type(value) is not list or not all(type(item) is str for item in value):
            raise self.bad_value(key, "a list of strings", value)
        return tuple(value)

    def string_map(self, key: str) -> Mapping[str, str]:
        # <Parameter> is optional in TwiML, so a start without customParameters means "none".
        value = self._object.get(key, {})
        if type(value) is not dict or not all(type(item) is str for item in value.values()):
            raise self.bad_value(key, "an object of string values", value)
        # A read-only view of a private copy, so nobody can change a parsed message later.
        return types.MappingProxyType(dict(value))

    def base64(self, key: str) -> str:
        value = self.string(key)
        try:
            binascii.a2b_base64(value, strict_mode=True)
        except ValueError as exc:  # binascii.Error, or non-ASCII text
            field = self._where(key)
            raise TwilioProtocolError(
                "bad_base64",
                f'Twilio "{self._event}" message field "{field}" is not valid base64 ({exc})',
                event=self._event,
                field=field,
            ) from None
        return value


def _parse_object(message: dict[str, Any]) -> TwilioMessage:
    """Validate every field of a decoded message; raises TwilioProtocolError."""
    if "event" not in message:
        raise TwilioProtocolError(
            "missing_field", 'Twilio message has no "event" field', field="event"
        )
    event = message["event"]
    if type(event) is not str:
        raise TwilioProtocolError(
            "bad_field",
            f'Twilio message field "event" must be a string, got {_short_repr(event)}',
            field="event",
        )
    parse = _PARSERS_BY_EVENT.get(event)
    if parse is None:
        raise TwilioProtocolError(
            "unknown_event",
            f"Twilio message has unknown event {_short_repr(event)}",
            event=event,
            field="event",
        )
    return parse(_Fields(message, event))


def _parse_connected(fields: _Fields) -> Connected:
    return Connected(protocol=fields.string("protocol"), version=fields.string("version"))


def _parse_start(fields: _Fields) -> Start:
    sequence_number = fields.counter("sequenceNumber")
    stream_sid = fields.string("streamSid")
    start = fields.obj("start")
    # Twilio repeats the streamSid inside `start`; two different values would mean a
    # confused or forged peer.
    inner_stream_sid = start.optional_string("streamSid")
    if inner_stream_sid is not None and inner_stream_sid != stream_sid:
        raise start.bad_value(
            "streamSid", f"equal to the top-level streamSid {stream_sid!r}", inner_stream_sid
        )
    media_format = start.obj("mediaFormat")
    return Start(
        sequence_number=sequence_number,
        stream_sid=stream_sid,
        account_sid=start.string("accountSid"),
        call_sid=start.string("callSid"),
        tracks=start.string_list("tracks"),
        custom_parameters=start.string_map("customParameters"),
        media_format=MediaFormat(
            encoding=media_format.string("encoding"),
            sample_rate=media_format.counter("sampleRate"),
            channels=media_format.counter("channels"),
        ),
    )


def _parse_media(fields: _Fields) -> Media:
    sequence_number = fields.counter("sequenceNumber")
    stream_sid = fields.string("streamSid")
    media = fields.obj("media")
    return Media(
        sequence_number=sequence_number,
        stream_sid=stream_sid,
        track=media.string("track"),
        chunk=media.counter("chunk"),
        timestamp=media.counter("timestamp"),
        payload=media.base64("payload"),
    )


def _parse_dtmf(fields: _Fields) -> Dtmf:
    sequence_number = fields.counter("sequenceNumber")
    stream_sid = fields.string("streamSid")
    dtmf = fields.obj("dtmf")
    return Dtmf(
        sequence_number=sequence_number,
        stream_sid=stream_sid,
        track=dtmf.string("track"),
        digit=dtmf.string("digit"),
    )


def _parse_mark(fields: _Fields) -> MarkEcho:
    sequence_number = fields.counter("sequenceNumber")
    stream_sid = fields.string("streamSid")
    return MarkEcho(
        sequence_number=sequence_number,
        stream_sid=stream_sid,
        name=fields.obj("mark").string("name"),
    )


def _parse_stop(fields: _Fields) -> Stop:
    sequence_number = fields.counter("sequenceNumber")
    stream_sid = fields.string("streamSid")
    stop = fields.obj("stop")
    return Stop(
        sequence_number=sequence_number,
        stream_sid=stream_sid,
        account_sid=stop.string("accountSid"),
        call_sid=stop.string("callSid"),
    )


_PARSERS_BY_EVENT: dict[str, Callable[[_Fields], TwilioMessage]] = {
    "connected": _parse_connected,
    "start": _parse_start,
    "media": _parse_media,
    "dtmf": _parse_dtmf,
    "mark": _parse_mark,
    "stop": _parse_stop,
}


def _json_type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def _short_repr(value: object, limit: int = 60) -> str:
    # Error messages end up in logs: never dump a whole (possibly huge) field into them.
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


# ---------------------------------------------------------------------------------------------
# Encoding
#
# Hand-assembled f-strings because these run per audio chunk; every interpolated string goes
# through the standard library's JSON string encoder (what json.dumps uses for a str), so quotes,
# backslashes and control characters are always escaped correctly.


def encode_media(stream_sid: str, payload_b64: str) -> str:
    """The ``media`` message that queues base64 μ-law audio for playback to the caller."""
    return (
        f'{{"event":"media","streamSid":{encode_basestring_ascii(stream_sid)},'
        f'"media":{{"payload":{encode_basestring_ascii(payload_b64)}}}}}'
    )


def encode_mark(stream_sid: str, name: str) -> str:
    """The ``mark`` message Twilio echoes back once the audio queued before it has played."""
    return (
        f'{{"event":"mark","streamSid":{encode_basestring_ascii(stream_sid)},'
        f'"mark":{{"name":{encode_basestring_ascii(name)}}}}}'
    )


def encode_clear(stream_sid: str) -> str:
    """The ``clear`` message that drops all queued audio (and echoes every pending mark)."""
    return f'{{"event":"clear","streamSid":{encode_basestring_ascii(stream_sid)}}}'
