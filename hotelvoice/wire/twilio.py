"""Twilio Media Streams WebSocket messages: parse what Twilio sends, encode what we send back.

Sans-IO: plain text in, frozen value objects out (and the reverse). Nothing here touches a
socket or trio, so the bridge can call it inline for every 20 ms frame.

Decoding is msgspec's: the JSON goes straight into the private ``_*Wire`` structs below (one
per event, a tagged union on ``event``), which check every field's type; each then flattens
itself into the public message. ``media`` and ``mark`` (50 and 10 a second per call) first go
through plain structs whose counters are ``int | str``, checked in Python afterwards (msgspec's
hook for a custom type cost more than the rest of the decode); anything they do not take goes
through the careful structs. Only when those fail is the text looked at again, with the
standard library, to say precisely what was wrong.

Twilio sends counters and timestamps as JSON strings (``"sequenceNumber": "4"``); they are
accepted as strings of ASCII digits or as JSON integers and exposed as ``int``.
"""

from __future__ import annotations

import binascii
import json
import re
import types
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import Literal

import msgspec

__all__ = [
    "MAX_MEDIA_PAYLOAD_BYTES",
    "MAX_MESSAGE_CHARS",
    "Connected",
    "Dtmf",
    "MarkEcho",
    "Media",
    "MediaFormat",
    "ProtocolErrorKind",
    "Start",
    "Stop",
    "StreamEncoder",
    "TwilioMessage",
    "TwilioProtocolError",
    "encode_clear",
    "encode_mark",
    "encode_media",
    "parse_message",
]

# A 20 ms frame is ~400 chars and a `start` with parameters a few KiB; anything far bigger is
# not Twilio, and refusing it before decoding keeps a hostile peer from making us chew on it.
MAX_MESSAGE_CHARS = 64 * 1024
# Twilio sends the caller's audio in 20 ms frames, 160 bytes of μ-law. Five frames (100 ms, what
# we send Twilio at most per message too) leave room for a sender that batches a few; anything
# larger is not Twilio, and would hand the model (the offline engine's recogniser) seconds of
# audio in one message (under MAX_MESSAGE_CHARS, up to 6 s) and make the bridge's frame-counted
# inbound buffer (HOTELVOICE_INBOUND_BUFFER_FRAMES) hold that much per "frame".
MAX_MEDIA_PAYLOAD_BYTES = 800
_MAX_MEDIA_PAYLOAD_CHARS = (MAX_MEDIA_PAYLOAD_BYTES + 2) // 3 * 4  # its base64, with padding


class MediaFormat(msgspec.Struct, frozen=True):
    encoding: str
    sample_rate: int
    channels: int


class Connected(msgspec.Struct, frozen=True, tag="connected", tag_field="event"):
    # Decoded as it stands: the wire message is already this flat.
    protocol: str
    version: str


class _Message(msgspec.Struct, frozen=True):
    sequence_number: int
    stream_sid: str


class Start(_Message, frozen=True):
    account_sid: str
    call_sid: str
    tracks: tuple[str, ...]
    custom_parameters: Mapping[str, str]
    media_format: MediaFormat


class Media(_Message, frozen=True):
    track: str
    chunk: int
    timestamp: int
    # The base64 text exactly as received (already checked to be strict base64): the bridge
    # forwards it to the model untouched, so decoding here would be wasted work.
    payload: str


class Dtmf(_Message, frozen=True):
    track: str
    digit: str


class MarkEcho(_Message, frozen=True):
    name: str


class Stop(_Message, frozen=True):
    account_sid: str
    call_sid: str


TwilioMessage = Connected | Start | Media | Dtmf | MarkEcho | Stop

ProtocolErrorKind = Literal[
    "oversized",
    "oversized_payload",
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
        fast = _FAST_DECODER.decode(text)
        if type(fast) is _FastMediaWire or type(fast) is _FastMarkWire:
            return fast.message()
        wire = fast
    # ValidationError is a DecodeError, and RecursionError is msgspec's answer to deep nesting:
    # whatever went wrong (or a counter the fast structs' check refused), the careful second
    # look decides.
    except (msgspec.DecodeError, RecursionError, _Recheck):
        wire = _decode_carefully(text)
    return wire if isinstance(wire, Connected) else wire.message()


class _Recheck(Exception):
    """A fast struct's counter is not one: the careful structs say what is wrong."""


def _counter(value: int | str) -> int:
    """A counter of the fast structs, as ``_decode_counter`` takes it; else _Recheck."""
    if isinstance(value, int):  # exactly int: msgspec decodes no bool or subclass here
        if value >= 0:
            return value
    elif value.isdigit() and value.isascii():
        try:
            return int(value)
        except ValueError:  # more digits than Python's int-parsing limit
            pass
    raise _Recheck


class _Counter(int):
    """A counter as Twilio sends it, checked by ``_decode_counter``; flattened messages hold
    these (they are ints in every other respect)."""

    __slots__ = ()


def _decode_counter(type_: type, value: object) -> _Counter:
    """msgspec's hook for its one custom type here, ``_Counter``: a non-negative JSON integer
    or string of digits. Raises ValueError, which msgspec reports with the field's path."""
    if type(value) is int and value >= 0:
        return _Counter(value)
    # isascii: int() would also accept other scripts' digits, "+1", " 1" and "1_0".
    if type(value) is str and value.isdigit() and value.isascii():
        try:
            return _Counter(value)
        except ValueError:  # more digits than Python's int-parsing limit
            pass
    raise ValueError(
        f"must be a non-negative integer (or a string of digits), got {_short_repr(value)}"
    )


class _Wire(msgspec.Struct, frozen=True, tag_field="event", rename="camel"):
    sequence_number: _Counter
    stream_sid: str


class _StartFormat(msgspec.Struct, frozen=True, rename="camel"):
    encoding: str
    sample_rate: _Counter
    channels: _Counter


class _StartBody(msgspec.Struct, frozen=True, rename="camel"):
    account_sid: str
    call_sid: str
    tracks: tuple[str, ...]
    media_format: _StartFormat
    # <Parameter> is optional in TwiML, so a start without customParameters means "none".
    custom_parameters: dict[str, str] = {}
    stream_sid: str | None = None


class _StartWire(_Wire, frozen=True, tag="start"):
    start: _StartBody

    def message(self) -> Start:
        body = self.start
        # Twilio repeats the streamSid inside `start`; two different values would mean a
        # confused or forged peer.
        if body.stream_sid is not None and body.stream_sid != self.stream_sid:
            raise _bad_field(
                "start",
                "start.streamSid",
                f"must equal the top-level streamSid {self.stream_sid!r},"
                f" got {_short_repr(body.stream_sid)}",
            )
        media_format = body.media_format
        return Start(
            self.sequence_number,
            self.stream_sid,
            body.account_sid,
            body.call_sid,
            body.tracks,
            # A read-only view of the decoder's private dict: nobody can change it later.
            types.MappingProxyType(body.custom_parameters),
            MediaFormat(media_format.encoding, media_format.sample_rate, media_format.channels),
        )


class _MediaBody(msgspec.Struct, frozen=True):
    track: str
    chunk: _Counter
    timestamp: _Counter
    payload: str


class _MediaWire(_Wire, frozen=True, tag="media"):
    media: _MediaBody

    def message(self) -> Media:
        body = self.media
        return _media(
            self.sequence_number,
            self.stream_sid,
            body.track,
            body.chunk,
            body.timestamp,
            body.payload,
        )


def _media(
    sequence_number: int, stream_sid: str, track: str, chunk: int, timestamp: int, payload: str
) -> Media:
    """The ``media`` message, once its payload is checked (size, strict base64)."""
    if len(payload) > _MAX_MEDIA_PAYLOAD_CHARS:  # refused before decoding it
        raise _oversized_payload(len(payload) * 3 // 4)
    try:
        audio = binascii.a2b_base64(payload, strict_mode=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise TwilioProtocolError(
            "bad_base64",
            f'Twilio "media" message field "media.payload" is not valid base64 ({exc})',
            event="media",
            field="media.payload",
        ) from None
    if len(audio) > MAX_MEDIA_PAYLOAD_BYTES:  # the last few bytes the length let through
        raise _oversized_payload(len(audio))
    return Media(sequence_number, stream_sid, track, chunk, timestamp, payload)


def _oversized_payload(size: int) -> TwilioProtocolError:
    return TwilioProtocolError(
        "oversized_payload",
        f'Twilio "media" message field "media.payload" carries {size} bytes of audio, over the '
        f"{MAX_MEDIA_PAYLOAD_BYTES}-byte limit (Twilio sends 160-byte, 20 ms frames)",
        event="media",
        field="media.payload",
    )


class _DtmfBody(msgspec.Struct, frozen=True):
    track: str
    digit: str


class _DtmfWire(_Wire, frozen=True, tag="dtmf"):
    dtmf: _DtmfBody

    def message(self) -> Dtmf:
        return Dtmf(self.sequence_number, self.stream_sid, self.dtmf.track, self.dtmf.digit)


class _MarkBody(msgspec.Struct, frozen=True):
    name: str


class _MarkWire(_Wire, frozen=True, tag="mark"):
    mark: _MarkBody

    def message(self) -> MarkEcho:
        return MarkEcho(self.sequence_number, self.stream_sid, self.mark.name)


class _StopBody(msgspec.Struct, frozen=True, rename="camel"):
    account_sid: str
    call_sid: str


class _StopWire(_Wire, frozen=True, tag="stop"):
    stop: _StopBody

    def message(self) -> Stop:
        return Stop(
            self.sequence_number, self.stream_sid, self.stop.account_sid, self.stop.call_sid
        )


_WireMessage = Connected | _StartWire | _MediaWire | _DtmfWire | _MarkWire | _StopWire
_DECODER = msgspec.json.Decoder(_WireMessage, dec_hook=_decode_counter)


# The fast structs of the two frequent messages: the same fields and names, the counters left
# as msgspec decodes them (checked by ``_counter``).
class _FastWire(msgspec.Struct, frozen=True, tag_field="event", rename="camel"):
    sequence_number: int | str
    stream_sid: str


class _FastMediaBody(msgspec.Struct, frozen=True):
    track: str
    chunk: int | str
    timestamp: int | str
    payload: str


class _FastMediaWire(_FastWire, frozen=True, tag="media"):
    media: _FastMediaBody

    def message(self) -> Media:
        body = self.media
        return _media(
            _counter(self.sequence_number),
            self.stream_sid,
            body.track,
            _counter(body.chunk),
            _counter(body.timestamp),
            body.payload,
        )


class _FastMarkWire(_FastWire, frozen=True, tag="mark"):
    mark: _MarkBody

    def message(self) -> MarkEcho:
        return MarkEcho(_counter(self.sequence_number), self.stream_sid, self.mark.name)


_FAST_DECODER = msgspec.json.Decoder(
    Connected | _StartWire | _FastMediaWire | _DtmfWire | _FastMarkWire | _StopWire,
    dec_hook=_decode_counter,
)
_EVENTS = frozenset({"connected", "start", "media", "dtmf", "mark", "stop"})

# msgspec's ValidationError text: "<what> - at `$.<path><inner>`", or just "<what>" at the top
# level. The field is the path up to any array index or map value (`[1]`, `[...]`) inside it.
_VALIDATION = re.compile(
    r"(?P<what>.*?)(?: - at `\$(?P<path>[^`\[]*)(?P<inner>[^`]*)`)?", re.DOTALL
)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]*)`")


def _decode_carefully(text: str | bytes) -> _WireMessage:
    """Decode a message msgspec's JSON reader refused, or say precisely what is wrong with it.

    The standard library's reader is the judge of what is JSON, as it always was here (it
    takes UTF-16 bytes, NaN, lone surrogates, which msgspec's does not); msgspec then checks
    the decoded object against the same structs as the fast path.
    """
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
    if type(decoded) is not dict:
        raise TwilioProtocolError(
            "not_an_object",
            f"Twilio message must be a JSON object, not {_json_type_name(decoded)}",
        )
    if "event" not in decoded:
        raise TwilioProtocolError(
            "missing_field", 'Twilio message has no "event" field', field="event"
        )
    event = decoded["event"]
    if type(event) is not str:
        raise TwilioProtocolError(
            "bad_field",
            f'Twilio message field "event" must be a string, got {_short_repr(event)}',
            field="event",
        )
    if event not in _EVENTS:
        raise TwilioProtocolError(
            "unknown_event",
            f"Twilio message has unknown event {_short_repr(event)}",
            event=event,
            field="event",
        )
    try:
        wire: _WireMessage = msgspec.convert(decoded, _WireMessage, dec_hook=_decode_counter)
    except msgspec.ValidationError as exc:
        raise _from_validation(event, str(exc)) from None
    return wire


def _from_validation(event: str, error: str) -> TwilioProtocolError:
    match = _VALIDATION.fullmatch(error)
    assert match is not None  # the pattern matches any text
    path = (match["path"] or "").lstrip(".")
    what = match["what"]
    missing = _MISSING.fullmatch(what)
    if missing is not None:
        field = f"{path}.{missing['name']}" if path else missing["name"]
        return TwilioProtocolError(
            "missing_field",
            f'Twilio "{event}" message has no "{field}" field',
            event=event,
            field=field,
        )
    # "Expected `str`, got `null`" -> "must be `str`, got `null`"
    problem = f"must be {what[9:]}" if what.startswith("Expected ") else what
    if match["inner"] == "[...]":
        problem = f"has a value that {problem}"
    elif match["inner"]:
        problem = f"has an item {match['inner']} that {problem}"
    return _bad_field(event, path, problem)


def _bad_field(event: str, field: str, problem: str) -> TwilioProtocolError:
    return TwilioProtocolError(
        "bad_field",
        f'Twilio "{event}" message field "{field}" {problem}',
        event=event,
        field=field,
    )


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


class StreamEncoder:
    """The messages of one stream, its streamSid encoded once (the same text as
    :func:`encode_media`, :func:`encode_mark` and :func:`encode_clear`)."""

    __slots__ = ("_mark", "_media", "clear")

    def __init__(self, stream_sid: str) -> None:
        sid = encode_basestring_ascii(stream_sid)
        self._media = f'{{"event":"media","streamSid":{sid},"media":{{"payload":'
        self._mark = f'{{"event":"mark","streamSid":{sid},"mark":{{"name":'
        self.clear = encode_clear(stream_sid)

    def media(self, payload_b64: str) -> str:
        """The ``media`` message for base64 μ-law audio."""
        return f"{self._media}{encode_basestring_ascii(payload_b64)}}}}}"

    def mark(self, name: str) -> str:
        """The ``mark`` message named ``name``."""
        return f"{self._mark}{encode_basestring_ascii(name)}}}}}"
