"""Parsing and encoding of Twilio Media Streams messages (sans-IO, no sockets)."""

from __future__ import annotations

import base64
import copy
import json
import string
import typing
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotelvoice.wire.twilio import (
    MAX_MEDIA_PAYLOAD_BYTES,
    MAX_MESSAGE_CHARS,
    Connected,
    Dtmf,
    MarkEcho,
    Media,
    MediaFormat,
    ProtocolErrorKind,
    Start,
    Stop,
    StreamEncoder,
    TwilioProtocolError,
    encode_clear,
    encode_mark,
    encode_media,
    parse_message,
)

STREAM_SID = "MZ18ad3ab5a668481ce02b83e7395059f0"
ACCOUNT_SID = "AC25e16e9a716a4a1786a7c83f58e30482"
CALL_SID = "CA2d89e2e1e8c9c5c7a7c9a9e2b4f3c1d0"
PAYLOAD = base64.b64encode(bytes(range(160))).decode("ascii")

# The messages of the reference page (§2), with real-looking SIDs in place of "MZ…".
CONNECTED: dict[str, Any] = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
START: dict[str, Any] = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": STREAM_SID,
    "start": {
        "streamSid": STREAM_SID,
        "accountSid": ACCOUNT_SID,
        "callSid": CALL_SID,
        "tracks": ["inbound"],
        "customParameters": {"token": "abc123"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    },
}
MEDIA: dict[str, Any] = {
    "event": "media",
    "sequenceNumber": "4",
    "streamSid": STREAM_SID,
    "media": {"track": "inbound", "chunk": "2", "timestamp": "5", "payload": PAYLOAD},
}
DTMF: dict[str, Any] = {
    "event": "dtmf",
    "sequenceNumber": "5",
    "streamSid": STREAM_SID,
    "dtmf": {"track": "inbound_track", "digit": "1"},
}
MARK: dict[str, Any] = {
    "event": "mark",
    "sequenceNumber": "6",
    "streamSid": STREAM_SID,
    "mark": {"name": "resp42:7"},
}
STOP: dict[str, Any] = {
    "event": "stop",
    "sequenceNumber": "7",
    "streamSid": STREAM_SID,
    "stop": {"accountSid": ACCOUNT_SID, "callSid": CALL_SID},
}
DOCUMENTED_MESSAGES: list[dict[str, Any]] = [CONNECTED, START, MEDIA, DTMF, MARK, STOP]


def with_changes(message: Mapping[str, Any], path: str, value: Any) -> str:
    """``message`` as JSON text with the field at dotted ``path`` set (or deleted: ...)."""
    changed = copy.deepcopy(dict(message))
    *parents, last = path.split(".")
    target = changed
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return json.dumps(changed)


# -- the documented messages ------------------------------------------------------------------


def test_connected() -> None:
    assert parse_message(json.dumps(CONNECTED)) == Connected(protocol="Call", version="1.0.0")


def test_start() -> None:
    start = parse_message(json.dumps(START))
    assert start == Start(
        sequence_number=1,
        stream_sid=STREAM_SID,
        account_sid=ACCOUNT_SID,
        call_sid=CALL_SID,
        tracks=("inbound",),
        custom_parameters={"token": "abc123"},
        media_format=MediaFormat(encoding="audio/x-mulaw", sample_rate=8000, channels=1),
    )


def test_start_custom_parameters_are_an_immutable_copy() -> None:
    start = parse_message(json.dumps(START))
    assert isinstance(start, Start)
    with pytest.raises(TypeError):
        start.custom_parameters["token"] = "forged"  # type: ignore[index]
    assert dict(start.custom_parameters) == {"token": "abc123"}


def test_start_without_custom_parameters_has_none() -> None:
    start = parse_message(with_changes(START, "start.customParameters", ...))
    assert isinstance(start, Start)
    assert dict(start.custom_parameters) == {}


def test_media() -> None:
    assert parse_message(json.dumps(MEDIA)) == Media(
        sequence_number=4,
        stream_sid=STREAM_SID,
        track="inbound",
        chunk=2,
        timestamp=5,
        payload=PAYLOAD,
    )


def test_media_payload_is_kept_as_received_text() -> None:
    media = parse_message(json.dumps(MEDIA))
    assert isinstance(media, Media)
    assert media.payload == PAYLOAD
    assert base64.b64decode(media.payload) == bytes(range(160))


def test_dtmf() -> None:
    assert parse_message(json.dumps(DTMF)) == Dtmf(
        sequence_number=5, stream_sid=STREAM_SID, track="inbound_track", digit="1"
    )


def test_mark_echo() -> None:
    assert parse_message(json.dumps(MARK)) == MarkEcho(
        sequence_number=6, stream_sid=STREAM_SID, name="resp42:7"
    )


def test_stop() -> None:
    assert parse_message(json.dumps(STOP)) == Stop(
        sequence_number=7, stream_sid=STREAM_SID, account_sid=ACCOUNT_SID, call_sid=CALL_SID
    )


@pytest.mark.parametrize("message", DOCUMENTED_MESSAGES, ids=lambda m: str(m["event"]))
def test_bytes_parse_like_text(message: dict[str, Any]) -> None:
    text = json.dumps(message)
    assert parse_message(text.encode("utf-8")) == parse_message(text)


def test_pretty_printed_json_and_other_key_order_parse_the_same() -> None:
    reordered = {"media": MEDIA["media"], "streamSid": STREAM_SID, **MEDIA}
    assert parse_message(json.dumps(reordered, indent=2)) == parse_message(json.dumps(MEDIA))


def test_counters_may_be_json_integers() -> None:
    as_numbers = copy.deepcopy(MEDIA)
    as_numbers["sequenceNumber"] = 4
    as_numbers["media"].update(chunk=2, timestamp=5)
    assert parse_message(json.dumps(as_numbers)) == parse_message(json.dumps(MEDIA))


def test_empty_media_payload_is_valid_base64() -> None:
    media = parse_message(with_changes(MEDIA, "media.payload", ""))
    assert isinstance(media, Media)
    assert media.payload == ""


@given(
    sequence_number=st.integers(min_value=0, max_value=2**63),
    chunk=st.integers(min_value=0, max_value=2**63),
    timestamp=st.integers(min_value=0, max_value=2**63),
    audio=st.binary(max_size=MAX_MEDIA_PAYLOAD_BYTES),
    as_strings=st.booleans(),
)
def test_media_fields_round_trip(
    sequence_number: int, chunk: int, timestamp: int, audio: bytes, as_strings: bool
) -> None:
    convert = str if as_strings else int
    payload = base64.b64encode(audio).decode("ascii")
    text = json.dumps(
        {
            "event": "media",
            "sequenceNumber": convert(sequence_number),
            "streamSid": STREAM_SID,
            "media": {
                "track": "inbound",
                "chunk": convert(chunk),
                "timestamp": convert(timestamp),
                "payload": payload,
            },
        }
    )
    assert parse_message(text) == Media(
        sequence_number, STREAM_SID, "inbound", chunk, timestamp, payload
    )


# -- errors -------------------------------------------------------------------------------------


def protocol_error(text: str | bytes) -> TwilioProtocolError:
    with pytest.raises(TwilioProtocolError) as caught:
        parse_message(text)
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        "x" * (MAX_MESSAGE_CHARS + 1),
        b" " * (MAX_MESSAGE_CHARS + 1),
        json.dumps({**MEDIA, "media": {**MEDIA["media"], "payload": "A" * MAX_MESSAGE_CHARS}}),
    ],
    ids=["text", "bytes", "huge-media"],
)
def test_oversized(text: str | bytes) -> None:
    error = protocol_error(text)
    assert error.kind == "oversized"
    assert str(MAX_MESSAGE_CHARS) in str(error)


@pytest.mark.parametrize(
    "size", [MAX_MEDIA_PAYLOAD_BYTES + 1, MAX_MEDIA_PAYLOAD_BYTES + 2, 45_000], ids=str
)
def test_a_media_payload_over_the_limit_is_refused(size: int) -> None:
    # 45 KB: 5.6 s of audio in one message, under MAX_MESSAGE_CHARS (issue 12).
    payload = base64.b64encode(bytes(size)).decode("ascii")
    error = protocol_error(with_changes(MEDIA, "media.payload", payload))
    assert error.kind == "oversized_payload"
    assert (error.event, error.field) == ("media", "media.payload")
    assert f"{MAX_MEDIA_PAYLOAD_BYTES}-byte limit" in str(error)


def test_a_media_payload_at_the_limit_is_allowed() -> None:
    payload = base64.b64encode(bytes(MAX_MEDIA_PAYLOAD_BYTES)).decode("ascii")
    media = parse_message(with_changes(MEDIA, "media.payload", payload))
    assert isinstance(media, Media) and media.payload == payload


def test_limit_itself_is_allowed() -> None:
    padded = json.dumps(CONNECTED).ljust(MAX_MESSAGE_CHARS)
    assert parse_message(padded) == Connected("Call", "1.0.0")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        '{"event": "media",}',
        "{'event': 'media'}",
        b"\xff\xfe\xfa",  # not UTF-8/16/32
        "\ufeff" + json.dumps(CONNECTED),  # a BOM in text
        "[" * 50_000,  # nested deeper than the JSON decoder's recursion limit
        "1" * 5000,  # more digits than Python converts
        json.dumps(CONNECTED) + " trailing",
    ],
    ids=[
        "empty",
        "truncated",
        "trailing-comma",
        "single-quotes",
        "undecodable-bytes",
        "bom",
        "deep-nesting",
        "huge-integer",
        "trailing-garbage",
    ],
)
def test_malformed_json(text: str | bytes) -> None:
    error = protocol_error(text)
    assert error.kind == "malformed_json"
    assert "not valid JSON" in str(error)


@pytest.mark.parametrize("text", ["[]", "null", "42", '"media"', "true", "[1, 2]"])
def test_not_an_object(text: str) -> None:
    error = protocol_error(text)
    assert error.kind == "not_an_object"
    assert "JSON object" in str(error)


def test_unknown_event() -> None:
    error = protocol_error('{"event": "clear", "streamSid": "MZ1"}')
    assert error.kind == "unknown_event"
    assert error.event == "clear"
    assert "'clear'" in str(error)


@pytest.mark.parametrize(
    ("message", "path"),
    [
        (CONNECTED, "event"),
        (CONNECTED, "version"),
        (START, "sequenceNumber"),
        (START, "start"),
        (START, "start.callSid"),
        (START, "start.tracks"),
        (START, "start.mediaFormat"),
        (START, "start.mediaFormat.sampleRate"),
        (MEDIA, "streamSid"),
        (MEDIA, "media"),
        (MEDIA, "media.track"),
        (MEDIA, "media.chunk"),
        (MEDIA, "media.timestamp"),
        (MEDIA, "media.payload"),
        (DTMF, "dtmf.digit"),
        (MARK, "mark.name"),
        (STOP, "stop.accountSid"),
        (STOP, "sequenceNumber"),
    ],
)
def test_missing_field(message: dict[str, Any], path: str) -> None:
    error = protocol_error(with_changes(message, path, ...))
    assert error.kind == "missing_field"
    assert error.field == path
    assert f'"{path}"' in str(error)
    if path != "event":
        assert error.event == message["event"]
        assert f'"{message["event"]}"' in str(error)


@pytest.mark.parametrize(
    ("message", "path", "value"),
    [
        (CONNECTED, "event", 5),
        (CONNECTED, "protocol", None),
        (MEDIA, "sequenceNumber", "-1"),
        (MEDIA, "sequenceNumber", -1),
        (MEDIA, "sequenceNumber", "1.5"),
        (MEDIA, "sequenceNumber", 1.0),
        (MEDIA, "sequenceNumber", True),
        (MEDIA, "sequenceNumber", ""),
        (MEDIA, "sequenceNumber", " 4"),
        (MEDIA, "sequenceNumber", "1_000"),
        (MEDIA, "sequenceNumber", "٤"),  # an Arabic-Indic four: int() would accept it
        (MEDIA, "sequenceNumber", "9" * 5000),
        (MEDIA, "streamSid", 12),
        (MEDIA, "media", "inbound"),
        (MEDIA, "media.chunk", [2]),
        (MEDIA, "media.timestamp", {"ms": 5}),
        (MEDIA, "media.track", None),
        (MEDIA, "media.payload", 123),
        (START, "start", []),
        (START, "start.streamSid", "MZ-someone-else"),
        (START, "start.tracks", "inbound"),
        (START, "start.tracks", ["inbound", 1]),
        (START, "start.customParameters", {"token": 1}),
        (START, "start.customParameters", ["token"]),
        (START, "start.mediaFormat", "audio/x-mulaw"),
        (START, "start.mediaFormat.sampleRate", 8000.5),
        (START, "start.mediaFormat.channels", None),
        (DTMF, "dtmf.digit", 1),
        (MARK, "mark", None),
        (MARK, "mark.name", ["resp42"]),
        (STOP, "stop.callSid", False),
    ],
)
def test_bad_field(message: dict[str, Any], path: str, value: Any) -> None:
    error = protocol_error(with_changes(message, path, value))
    assert error.kind == "bad_field"
    assert error.field == path
    assert f'"{path}"' in str(error)
    if path != "event":
        assert f'"{message["event"]}"' in str(error)


@pytest.mark.parametrize(
    "payload",
    [
        "abc",  # length not a multiple of 4
        "ab=c",  # padding in the middle
        "=abc",  # leading padding
        "ab==cd==",  # data after padding
        "ab c",  # whitespace
        "ab\ncd==",
        "ab-_",  # URL-safe alphabet
        "abé=",  # non-ASCII
    ],
)
def test_bad_base64(payload: str) -> None:
    error = protocol_error(with_changes(MEDIA, "media.payload", payload))
    assert error.kind == "bad_base64"
    assert error.field == "media.payload"
    assert '"media"' in str(error)
    assert '"media.payload"' in str(error)


def test_error_messages_do_not_dump_huge_values() -> None:
    error = protocol_error(with_changes(MEDIA, "media.chunk", "x" * 10_000))
    assert len(str(error)) < 300


# -- only TwilioProtocolError escapes, whatever comes in ------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def parses_or_raises_protocol_error(text: str | bytes) -> None:
    error: TwilioProtocolError | None = None
    try:
        parse_message(text)
    except TwilioProtocolError as raised:
        error = raised
    if error is not None:
        assert error.kind in typing.get_args(ProtocolErrorKind)
        assert str(error)


@given(st.text())
def test_arbitrary_text(text: str) -> None:
    parses_or_raises_protocol_error(text)


@given(st.binary())
def test_arbitrary_bytes(data: bytes) -> None:
    parses_or_raises_protocol_error(data)


@given(json_values)
def test_arbitrary_json(value: Any) -> None:
    parses_or_raises_protocol_error(json.dumps(value))


def field_paths(value: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, child in value.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(child, dict):
            paths.extend(field_paths(child, f"{path}."))
    return paths


@given(st.data())
def test_documented_messages_with_one_field_replaced_or_removed(data: st.DataObject) -> None:
    message = data.draw(st.sampled_from(DOCUMENTED_MESSAGES))
    path = data.draw(st.sampled_from(field_paths(message)))
    replacement = data.draw(st.just(...) | json_values)
    for text in (with_changes(message, path, replacement), with_changes(message, path, ...)):
        parses_or_raises_protocol_error(text)
        parses_or_raises_protocol_error(text.encode("utf-16"))


# -- encoding -----------------------------------------------------------------------------------


def test_encode_media_has_exactly_twilios_keys() -> None:
    assert json.loads(encode_media(STREAM_SID, PAYLOAD)) == {
        "event": "media",
        "streamSid": STREAM_SID,
        "media": {"payload": PAYLOAD},
    }


def test_encode_mark_has_exactly_twilios_keys() -> None:
    assert json.loads(encode_mark(STREAM_SID, "resp42:7")) == {
        "event": "mark",
        "streamSid": STREAM_SID,
        "mark": {"name": "resp42:7"},
    }


def test_encode_clear_has_exactly_twilios_keys() -> None:
    assert json.loads(encode_clear(STREAM_SID)) == {"event": "clear", "streamSid": STREAM_SID}


def test_encoded_messages_are_compact_single_lines() -> None:
    for text in (
        encode_media(STREAM_SID, PAYLOAD),
        encode_mark(STREAM_SID, "a"),
        encode_clear(STREAM_SID),
    ):
        assert "\n" not in text
        assert ", " not in text


def echo_of(sent_mark: str, sequence_number: int) -> str:
    """What Twilio sends back for a mark we sent: the same name, plus a sequenceNumber."""
    echo = json.loads(sent_mark)
    echo["sequenceNumber"] = str(sequence_number)
    return json.dumps(echo)


@pytest.mark.parametrize(
    "name",
    ['say "hi"', "back\\slash", '\\"', "tab\there\nnewline", "emoji 🎉 é", "\x00\x1f", ""],
)
def test_mark_names_with_special_characters_round_trip(name: str) -> None:
    echo = parse_message(echo_of(encode_mark(STREAM_SID, name), 9))
    assert echo == MarkEcho(sequence_number=9, stream_sid=STREAM_SID, name=name)


@given(name=st.text(), stream_sid=st.text(alphabet=string.printable))
def test_any_mark_name_and_stream_sid_round_trip(name: str, stream_sid: str) -> None:
    echo = parse_message(echo_of(encode_mark(stream_sid, name), 1))
    assert echo == MarkEcho(sequence_number=1, stream_sid=stream_sid, name=name)
    assert json.loads(encode_clear(stream_sid)) == {"event": "clear", "streamSid": stream_sid}


@given(audio=st.binary(max_size=4000))
def test_encode_media_payload_survives_json(audio: bytes) -> None:
    payload = base64.b64encode(audio).decode("ascii")
    assert json.loads(encode_media(STREAM_SID, payload))["media"]["payload"] == payload


@given(stream_sid=st.text(), name=st.text(), audio=st.binary(max_size=800))
def test_a_stream_encoder_sends_the_same_text_as_the_functions(
    stream_sid: str, name: str, audio: bytes
) -> None:
    encoder = StreamEncoder(stream_sid)
    payload = base64.b64encode(audio).decode("ascii")
    assert encoder.media(payload) == encode_media(stream_sid, payload)
    assert encoder.mark(name) == encode_mark(stream_sid, name)
    assert encoder.clear == encode_clear(stream_sid)


@pytest.mark.parametrize("counter", ['"4"', "4", '"0"', "0"])
def test_counters_of_media_and_marks_are_plain_ints(counter: str) -> None:
    media = parse_message(
        f'{{"event":"media","sequenceNumber":{counter},"streamSid":"{STREAM_SID}","media":'
        f'{{"track":"inbound","chunk":{counter},"timestamp":{counter},"payload":"{PAYLOAD}"}}}}'
    )
    mark = parse_message(
        f'{{"event":"mark","sequenceNumber":{counter},"streamSid":"{STREAM_SID}",'
        f'"mark":{{"name":"m1"}}}}'
    )
    assert isinstance(media, Media) and isinstance(mark, MarkEcho)
    expected = json.loads(counter) if counter.isdigit() else int(json.loads(counter))
    for value in (media.sequence_number, media.chunk, media.timestamp, mark.sequence_number):
        assert type(value) is int and value == expected


@pytest.mark.parametrize(
    "counter", ['"-1"', "-1", '"\u0663"', '"1_0"', "4.0", "true", '"9' + "9" * 5000 + '"']
)
def test_a_counter_the_fast_path_refuses_gets_the_careful_error(counter: str) -> None:
    with pytest.raises(TwilioProtocolError) as caught:
        parse_message(
            f'{{"event":"media","sequenceNumber":"1","streamSid":"{STREAM_SID}","media":'
            f'{{"track":"inbound","chunk":{counter},"timestamp":"0","payload":"{PAYLOAD}"}}}}'
        )
    assert caught.value.kind == "bad_field" and caught.value.field == "media.chunk"
