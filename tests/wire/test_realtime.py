"""hotelvoice.wire.realtime against the openai package's GA models, without sockets."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.wire import realtime as rt
from tests.fakes.openai_models import (
    SERVER_EVENT_TYPES,
    validate_client_event,
    validate_server_event,
)

TOOL = {
    "type": "function",
    "name": "check_availability",
    "description": "Rooms free between two dates.",
    "parameters": {
        "type": "object",
        "properties": {"check_in": {"type": "string"}, "nights": {"type": "integer"}},
        "required": ["check_in"],
    },
}


def config(**overrides: Any) -> rt.SessionConfig:
    fields: dict[str, Any] = {"model": "gpt-realtime", "voice": "marin", "instructions": "Be kind."}
    fields.update(overrides)
    return rt.SessionConfig(**fields)


# -- client events --------------------------------------------------------------------------

BUILT: dict[str, Callable[[], dict[str, Any]]] = {
    "session_update": lambda: rt.session_update(config()),
    "session_update_tools_pcmu": lambda: rt.session_update(config(tools=(TOOL, TOOL))),
    "session_update_pcm24k": lambda: rt.session_update(
        config(audio_format=rt.PCM24K, tools=(TOOL,))
    ),
    "session_update_no_transcription": lambda: rt.session_update(config(transcription_model=None)),
    "session_update_no_language": lambda: rt.session_update(config(language=None)),
    "response_create": rt.response_create,
    "response_create_instructions": lambda: rt.response_create(instructions="Say goodbye."),
    "response_cancel": rt.response_cancel,
    "item_truncate": lambda: rt.item_truncate("item_1", 1234),
    "function_call_output": lambda: rt.function_call_output("call_1", '{"rooms": 3}'),
    "user_text_item": lambda: rt.user_text_item("Hello"),
    "assistant_text_item": lambda: rt.assistant_text_item("Hi, how can I help?"),
    "system_text_item": lambda: rt.system_text_item("Summary so far: ..."),
    "function_call_item": lambda: rt.function_call_item("call_1", "check_availability", "{}"),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_builders_validate_against_the_ga_client_union(name: str) -> None:
    event = BUILT[name]()
    validate_client_event(event)
    # and survive the trip through our own encoder
    validate_client_event(json.loads(rt.dumps(event)))


def test_session_update_shape() -> None:
    session = rt.session_update(config(tools=(TOOL,), vad_threshold=0.7))["session"]
    assert session["type"] == "realtime"
    assert session["model"] == "gpt-realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "marin"}
    assert session["audio"]["input"]["transcription"] == {
        "model": "gpt-4o-mini-transcribe",
        "language": "en",
    }
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.7,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["tools"] == [TOOL]
    assert session["tool_choice"] == "auto"
    assert "temperature" not in session  # GA rejects it as unknown_parameter


def test_session_update_formats_and_optional_transcription() -> None:
    pcm = rt.session_update(config(audio_format=rt.PCM24K))["session"]["audio"]
    assert pcm["input"]["format"] == pcm["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    off = rt.session_update(config(transcription_model=None))["session"]["audio"]["input"]
    assert off["transcription"] is None
    no_language = rt.session_update(config(language=None))["session"]["audio"]["input"]
    assert no_language["transcription"] == {"model": "gpt-4o-mini-transcribe"}


def test_text_items_use_ga_content_types() -> None:
    assert rt.user_text_item("a")["item"]["content"] == [{"type": "input_text", "text": "a"}]
    assert rt.system_text_item("b")["item"]["role"] == "system"
    assistant = rt.assistant_text_item("c")["item"]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == [{"type": "output_text", "text": "c"}]
    assert rt.item_truncate("i", 5) == {
        "type": "conversation.item.truncate",
        "item_id": "i",
        "content_index": 0,
        "audio_end_ms": 5,
    }


def test_encode_audio_append_equals_dumps_and_validates() -> None:
    audio = base64.b64encode(bytes(range(160))).decode()
    text = rt.encode_audio_append(audio)
    assert text == rt.dumps({"type": "input_audio_buffer.append", "audio": audio})
    validate_client_event(json.loads(text))
    assert rt.encode_audio_append("") == '{"type":"input_audio_buffer.append","audio":""}'


@pytest.mark.parametrize("bad", ['AA"}', "AA\\", '","x":"y'])
def test_encode_audio_append_refuses_json_injection(bad: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        rt.encode_audio_append(bad)


def test_dumps_is_compact_and_refuses_nan() -> None:
    assert rt.dumps({"a": [1, {"b": "é"}]}) == '{"a":[1,{"b":"\\u00e9"}]}'
    with pytest.raises(ValueError, match="JSON compliant"):
        rt.dumps({"threshold": float("nan")})


def test_pcm_constants_are_read_only() -> None:
    with pytest.raises(TypeError):
        rt.PCMU["type"] = "audio/pcma"  # type: ignore[index]


# -- server events ------------------------------------------------------------------------------

B64 = base64.b64encode(b"\xff" * 160).decode()
SESSION = {"type": "realtime", "model": "gpt-realtime", "output_modalities": ["audio"]}
ITEM_CALL = {
    "id": "item_f",
    "object": "realtime.item",
    "type": "function_call",
    "status": "completed",
    "name": "check_availability",
    "call_id": "call_1",
    "arguments": '{"nights":2}',
}
ITEM_MSG = {
    "id": "item_1",
    "object": "realtime.item",
    "type": "message",
    "status": "in_progress",
    "role": "assistant",
    "content": [],
}

# (server payload, expected value); every payload is checked against the openai GA union.
CASES: list[tuple[dict[str, Any], rt.ServerEvent]] = [
    (
        {"type": "session.created", "event_id": "e1", "session": SESSION},
        rt.SessionCreated(SESSION),
    ),
    (
        {"type": "session.updated", "event_id": "e1", "session": SESSION},
        rt.SessionUpdated(SESSION),
    ),
    (
        {
            "type": "response.output_audio.delta",
            "event_id": "e1",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": B64,
        },
        rt.AudioDelta("resp_1", "item_1", B64),
    ),
    (
        {
            "type": "response.output_audio.done",
            "event_id": "e1",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
        },
        rt.AudioDone("resp_1", "item_1"),
    ),
    (
        {
            "type": "input_audio_buffer.speech_started",
            "event_id": "e1",
            "item_id": "item_u",
            "audio_start_ms": 1200,
        },
        rt.SpeechStarted("item_u", 1200),
    ),
    (
        {
            "type": "input_audio_buffer.speech_stopped",
            "event_id": "e1",
            "item_id": "item_u",
            "audio_end_ms": 2400,
        },
        rt.SpeechStopped("item_u", 2400),
    ),
    (
        {
            "type": "response.created",
            "event_id": "e1",
            "response": {"object": "realtime.response", "id": "resp_1", "status": "in_progress"},
        },
        rt.ResponseCreated("resp_1"),
    ),
    (
        {
            "type": "response.done",
            "event_id": "e1",
            "response": {
                "object": "realtime.response",
                "id": "resp_1",
                "status": "completed",
                "status_details": None,
                "output": [ITEM_CALL],
            },
        },
        rt.ResponseDone("resp_1", "completed", None, (ITEM_CALL,), None),
    ),
    (
        {
            "type": "response.done",
            "event_id": "e1",
            "response": {
                "id": "resp_2",
                "status": "cancelled",
                "status_details": {"type": "cancelled", "reason": "turn_detected"},
                "output": [],
            },
        },
        rt.ResponseDone("resp_2", "cancelled", "turn_detected", (), None),
    ),
    (
        {
            "type": "response.done",
            "event_id": "e1",
            "response": {
                "id": "resp_3",
                "status": "failed",
                "status_details": {
                    "type": "failed",
                    "error": {"type": "server_error", "code": "server_error", "message": "x"},
                },
            },
        },
        rt.ResponseDone("resp_3", "failed", None, (), "server_error"),
    ),
    (
        {
            "type": "response.output_item.added",
            "event_id": "e1",
            "response_id": "resp_1",
            "output_index": 0,
            "item": ITEM_MSG,
        },
        rt.OutputItemAdded("resp_1", ITEM_MSG),
    ),
    (
        {
            "type": "response.output_item.done",
            "event_id": "e1",
            "response_id": "resp_1",
            "output_index": 1,
            "item": ITEM_CALL,
        },
        rt.OutputItemDone("resp_1", ITEM_CALL),
    ),
    (
        {
            "type": "response.function_call_arguments.done",
            "event_id": "e1",
            "response_id": "resp_1",
            "item_id": "item_f",
            "output_index": 1,
            "call_id": "call_1",
            "name": "check_availability",
            "arguments": '{"nights":2}',
        },
        rt.FunctionCallArgumentsDone(
            "resp_1", "item_f", "call_1", "check_availability", '{"nights":2}'
        ),
    ),
    (
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "e1",
            "item_id": "item_u",
            "content_index": 0,
            "transcript": "Do you take dogs?",
            "usage": {"type": "duration", "seconds": 1.5},
        },
        rt.InputTranscriptCompleted("item_u", "Do you take dogs?"),
    ),
    (
        {
            "type": "response.output_audio_transcript.done",
            "event_id": "e1",
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "transcript": "Yes, small ones.",
        },
        rt.OutputTranscriptDone("resp_1", "item_1", "Yes, small ones."),
    ),
    (
        {
            "type": "conversation.item.truncated",
            "event_id": "e1",
            "item_id": "item_1",
            "content_index": 0,
            "audio_end_ms": 640,
        },
        rt.ItemTruncated("item_1", 640),
    ),
    (
        {
            "type": "error",
            "event_id": "e1",
            "error": {
                "type": "invalid_request_error",
                "code": "session_expired",
                "message": "Your session hit the maximum duration of 60 minutes.",
                "param": None,
                "event_id": None,
            },
        },
        rt.RealtimeError(
            "session_expired",
            "Your session hit the maximum duration of 60 minutes.",
            "invalid_request_error",
            None,
            None,
        ),
    ),
    (
        {
            "type": "error",
            "event_id": "e1",
            "error": {
                "type": "invalid_request_error",
                "code": "unknown_parameter",
                "message": "Unknown parameter: 'session.temperature'.",
                "param": "session.temperature",
                "event_id": "client_7",
            },
        },
        rt.RealtimeError(
            "unknown_parameter",
            "Unknown parameter: 'session.temperature'.",
            "invalid_request_error",
            "session.temperature",
            "client_7",
        ),
    ),
    (
        {
            "type": "rate_limits.updated",
            "event_id": "e1",
            "rate_limits": [{"name": "tokens", "limit": 10, "remaining": 9, "reset_seconds": 1.0}],
        },
        rt.OtherEvent("rate_limits.updated"),
    ),
    (
        {"type": "conversation.item.added", "event_id": "e1", "item": ITEM_MSG},
        rt.OtherEvent("conversation.item.added"),
    ),
    (
        {"type": "conversation.item.created", "event_id": "e1", "item": ITEM_MSG},
        rt.OtherEvent("conversation.item.created"),
    ),
]


@pytest.mark.parametrize(("payload", "expected"), CASES, ids=[c[0]["type"] for c in CASES])
def test_parse_ga_server_events(payload: dict[str, Any], expected: rt.ServerEvent) -> None:
    validate_server_event(payload)  # the payload is what the real API sends
    for text in (json.dumps(payload), json.dumps(payload, separators=(",", ":"))):
        event = rt.parse_server_event(text)
        assert type(event) is type(expected)
        assert event == expected
        assert event.event_id == "e1"
    assert rt.parse_server_event(json.dumps(payload).encode()) == expected


def test_event_id_is_metadata_not_identity() -> None:
    one = rt.AudioDelta("r", "i", "AA==", event_id="a")
    assert one == rt.AudioDelta("r", "i", "AA==", event_id="b")
    assert one == rt.AudioDelta("r", "i", "AA==")
    assert one != rt.AudioDelta("r", "i", "AQ==")


def test_missing_event_id_is_tolerated() -> None:
    event = rt.parse_server_event('{"type":"response.created","response":{"id":"resp_1"}}')
    assert event == rt.ResponseCreated("resp_1")
    assert event.event_id == ""


def test_function_call_arguments_done_without_name_from_pre_ga_servers() -> None:
    text = json.dumps(
        {
            "type": "response.function_call_arguments.done",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "call_id": "c",
            "arguments": "{}",
        }
    )
    assert rt.parse_server_event(text) == rt.FunctionCallArgumentsDone("r", "i", "c", None, "{}")


def test_other_events_known_and_unknown() -> None:
    known = rt.parse_server_event('{"type":"input_audio_buffer.committed","item_id":"i"}')
    assert isinstance(known, rt.OtherEvent)
    assert known.known
    assert known.data["item_id"] == "i"
    unknown = rt.parse_server_event('{"type":"response.audio.delta","delta":"AA=="}')
    assert unknown == rt.OtherEvent("response.audio.delta")  # the retired beta name
    assert isinstance(unknown, rt.OtherEvent)
    assert not unknown.known
    assert not rt.OtherEvent("something.new").known


def test_known_types_equal_the_openai_ga_union() -> None:
    assert len(rt.KNOWN_SERVER_EVENT_TYPES) == 46
    assert rt.KNOWN_SERVER_EVENT_TYPES == SERVER_EVENT_TYPES


# -- the audio delta, the hottest event --------------------------------------------------------

ids = st.text(st.characters(codec="utf-8"), max_size=30)
payloads = st.binary(max_size=400)


def delta_event(event_id: str, response_id: str, item_id: str, audio: bytes) -> dict[str, Any]:
    return {
        "type": "response.output_audio.delta",
        "event_id": event_id,
        "response_id": response_id,
        "item_id": item_id,
        "output_index": 0,
        "content_index": 0,
        "delta": base64.b64encode(audio).decode(),
    }


@given(
    event_id=ids,
    response_id=ids,
    item_id=ids,
    audio=payloads,
    order=st.permutations(range(7)),
    compact=st.booleans(),
    ascii_only=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_delta_parses_the_same_in_any_layout(
    event_id: str,
    response_id: str,
    item_id: str,
    audio: bytes,
    order: list[int],
    compact: bool,
    ascii_only: bool,
) -> None:
    event = delta_event(event_id, response_id, item_id, audio)
    keys = list(event)
    shuffled = {keys[i]: event[keys[i]] for i in order}
    text = json.dumps(shuffled, separators=(",", ":") if compact else None, ensure_ascii=ascii_only)
    parsed = rt.parse_server_event(text)
    assert parsed == rt.AudioDelta(response_id, item_id, event["delta"])
    assert parsed.event_id == event_id


@given(
    event_id=ids,
    response_id=ids,
    item_id=ids,
    audio=payloads,
    id_first=st.booleans(),
    ascii_only=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_delta_in_the_api_layout(
    event_id: str, response_id: str, item_id: str, audio: bytes, id_first: bool, ascii_only: bool
) -> None:
    # The layout the fast path is written for; ids with escapes fall back to the decoder.
    event = delta_event(event_id, response_id, item_id, audio)
    if id_first:
        event = {"event_id": event_id, **event}
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=ascii_only)
    parsed = rt.parse_server_event(text)
    assert parsed == rt.AudioDelta(response_id, item_id, event["delta"])
    assert parsed.event_id == event_id


@given(st.text(alphabet="ABCabc0189+/=", max_size=24))
@settings(max_examples=400, deadline=None)
def test_fast_and_general_paths_agree_on_base64(delta: str) -> None:
    event = {**delta_event("e", "r", "i", b""), "delta": delta}
    try:
        binascii.a2b_base64(delta, strict_mode=True)
        valid = True
    except binascii.Error:
        valid = False
    for text in (json.dumps(event, separators=(",", ":")), json.dumps(event)):
        if valid:
            assert rt.parse_server_event(text) == rt.AudioDelta("r", "i", delta)
        else:
            with pytest.raises(rt.RealtimeProtocolError) as caught:
                rt.parse_server_event(text)
            assert caught.value.kind == "bad_base64"


def test_canonical_delta_takes_the_fast_path() -> None:
    # Both layouts OpenAI is known to use (type first, or event_id first).
    event = delta_event("event_1", "resp_1", "item_1", b"\x00" * 160)
    type_first = json.dumps(event, separators=(",", ":"))
    id_first = json.dumps({"event_id": "event_1", **event}, separators=(",", ":"))
    for text in (type_first, id_first):
        # msgspec's decoder alone takes it, without the careful path's second look.
        assert rt._DECODER.decode(text) == rt.AudioDelta("resp_1", "item_1", event["delta"])
        assert rt.parse_server_event(text).event_id == "event_1"


def test_duplicate_event_id_follows_json_semantics() -> None:
    event = delta_event("second", "r", "i", b"x")
    text = '{"event_id":"first",' + json.dumps(event, separators=(",", ":"))[1:]
    assert rt.parse_server_event(text).event_id == "second"  # json: the last key wins


# -- protocol errors ------------------------------------------------------------------------------

GOOD_DELTA = json.dumps(delta_event("e", "r", "i", b"\x01\x02\x03"), separators=(",", ":"))

PROTOCOL_ERRORS: list[tuple[str, str | bytes]] = [
    ("malformed_json", "{"),
    ("malformed_json", ""),
    ("malformed_json", '{"type":"error"} trailing'),
    ("malformed_json", b'{"type":"\xff"}'),
    ("malformed_json", '{"type":"x","n":NaN}'),
    ("malformed_json", "[" * 100_000 + "]" * 100_000),
    ("not_an_object", "[]"),
    ("not_an_object", '"response.done"'),
    ("not_an_object", "null"),
    ("not_an_object", "42"),
    ("missing_type", "{}"),
    ("missing_type", '{"type":null,"event_id":"e"}'),
    ("bad_field", '{"type":5}'),
    ("bad_field", GOOD_DELTA.replace('"item_id":"i"', '"item_id":7')),
    ("bad_field", GOOD_DELTA.replace('"response_id":"r"', '"response_id":null')),
    ("bad_field", GOOD_DELTA.replace('"event_id":"e"', '"event_id":1')),
    (
        "bad_field",
        '{"type":"input_audio_buffer.speech_started","item_id":"i","audio_start_ms":"5"}',
    ),
    (
        "bad_field",
        '{"type":"input_audio_buffer.speech_started","item_id":"i","audio_start_ms":true}',
    ),
    ("bad_field", '{"type":"session.created","session":[]}'),
    (
        "bad_field",
        '{"type":"response.done","response":{"id":"r","status":"completed","output":{}}}',
    ),
    (
        "bad_field",
        '{"type":"response.done","response":{"id":"r","status":"completed","output":[1]}}',
    ),
    ("bad_field", '{"type":"error","error":{"message":5}}'),
    ("missing_field", GOOD_DELTA.replace('"item_id":"i",', "")),
    ("missing_field", '{"type":"response.output_audio.delta","response_id":"r","item_id":"i"}'),
    ("missing_field", '{"type":"response.done"}'),
    ("missing_field", '{"type":"response.done","response":{"status":"completed"}}'),
    ("missing_field", '{"type":"response.created","response":{}}'),
    ("missing_field", '{"type":"error"}'),
    ("missing_field", '{"type":"conversation.item.truncated","item_id":"i"}'),
    ("missing_field", '{"type":"response.function_call_arguments.done","response_id":"r"}'),
    ("bad_base64", GOOD_DELTA.replace('"delta":"AQID"', '"delta":"AQI"')),  # fast path
    ("bad_base64", GOOD_DELTA.replace('"delta":"AQID"', '"delta":"A==="')),
    ("bad_base64", GOOD_DELTA.replace('"delta":"AQID"', '"delta":"=AQI"')),
    ("bad_base64", GOOD_DELTA.replace('"delta":"AQID"', '"delta":"AQ@D"')),  # slow path
    ("bad_base64", GOOD_DELTA.replace('"delta":"AQID"', '"delta":"AQ\\nID"')),
    ("oversized", " " * (rt.MAX_EVENT_SIZE + 1)),
    ("oversized", b" " * (rt.MAX_EVENT_SIZE + 1)),
]


@pytest.mark.parametrize(
    ("kind", "text"), PROTOCOL_ERRORS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(PROTOCOL_ERRORS)]
)
def test_protocol_errors(kind: str, text: str | bytes) -> None:
    with pytest.raises(rt.RealtimeProtocolError) as caught:
        rt.parse_server_event(text)
    assert caught.value.kind == kind
    assert isinstance(caught.value, ValueError)
    assert len(str(caught.value)) < 400  # never echoes a huge payload


def test_protocol_error_names_the_event_type() -> None:
    with pytest.raises(rt.RealtimeProtocolError) as caught:
        rt.parse_server_event('{"type":"response.done","response":{"status":"completed"}}')
    assert caught.value.event_type == "response.done"
    assert "'id'" in str(caught.value)
    bad_b64 = GOOD_DELTA.replace('"delta":"AQID"', '"delta":"AQI"')
    with pytest.raises(rt.RealtimeProtocolError) as caught:
        rt.parse_server_event(bad_b64)
    assert caught.value.event_type == "response.output_audio.delta"


def test_good_delta_sanity() -> None:
    assert rt.parse_server_event(GOOD_DELTA) == rt.AudioDelta("r", "i", "AQID")


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    )


FIELD_NAMES = sorted(
    {
        "event_id",
        "response_id",
        "item_id",
        "delta",
        "session",
        "response",
        "item",
        "call_id",
        "name",
        "arguments",
        "transcript",
        "audio_start_ms",
        "audio_end_ms",
        "error",
        "id",
        "status",
        "status_details",
        "output",
    }
)


@given(
    event_type=st.sampled_from(sorted(rt.KNOWN_SERVER_EVENT_TYPES)) | st.text(max_size=20),
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES), json_values(), max_size=8),
)
@settings(max_examples=250, deadline=None)
def test_arbitrary_event_objects_raise_only_protocol_errors(
    event_type: str, fields: dict[str, Any]
) -> None:
    text = json.dumps({"type": event_type, **fields})
    try:
        event = rt.parse_server_event(text)
    except rt.RealtimeProtocolError:
        return
    assert isinstance(event, rt.ServerEvent)


@given(st.text() | st.binary())
@settings(max_examples=300, deadline=None)
def test_arbitrary_input_raises_only_protocol_errors(text: str | bytes) -> None:
    try:
        event = rt.parse_server_event(text)
    except rt.RealtimeProtocolError:
        return
    assert isinstance(event, rt.ServerEvent)


def test_deep_nesting_does_not_leak_recursion_error() -> None:
    limit = sys.getrecursionlimit()
    with pytest.raises(rt.RealtimeProtocolError):
        rt.parse_server_event('{"type":"x","a":' + "[" * (limit * 10) + "]" * (limit * 10) + "}")


# -- error classification ----------------------------------------------------------------------


def error(code: str | None, error_type: str = "invalid_request_error") -> rt.RealtimeError:
    return rt.RealtimeError(code, "message", error_type, None, None)


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("conversation_already_has_active_response", rt.ErrorSeverity.BENIGN),
        ("response_cancel_not_active", rt.ErrorSeverity.BENIGN),
        ("input_audio_buffer_commit_empty", rt.ErrorSeverity.BENIGN),
        ("session_expired", rt.ErrorSeverity.FATAL),
        ("beta_api_shape_disabled", rt.ErrorSeverity.FATAL),
        ("invalid_api_key", rt.ErrorSeverity.FATAL),
        ("insufficient_quota", rt.ErrorSeverity.FATAL),
        ("account_deactivated", rt.ErrorSeverity.FATAL),
        ("billing_hard_limit_reached", rt.ErrorSeverity.FATAL),
        ("unknown_parameter", rt.ErrorSeverity.RECOVERABLE),
        ("missing_required_parameter", rt.ErrorSeverity.RECOVERABLE),
        ("invalid_value", rt.ErrorSeverity.RECOVERABLE),
        ("cannot_update_voice", rt.ErrorSeverity.RECOVERABLE),
        ("something_new", rt.ErrorSeverity.RECOVERABLE),
        (None, rt.ErrorSeverity.RECOVERABLE),
    ],
)
def test_classify_error(code: str | None, severity: rt.ErrorSeverity) -> None:
    assert rt.classify_error(error(code)) is severity


def test_server_error_without_code_is_recoverable() -> None:
    assert rt.classify_error(error(None, "server_error")) is rt.ErrorSeverity.RECOVERABLE


def test_code_sets_are_disjoint() -> None:
    assert not rt.BENIGN_ERROR_CODES & rt.FATAL_ERROR_CODES


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    ),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_msgspec_reads_json_as_the_standard_library_does(value: Any, ascii_only: bool) -> None:
    # The parsers let msgspec's reader go first and the standard library judge what it refuses;
    # that is only the old behaviour if whatever msgspec accepts, json reads the same.
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        fast = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return  # the standard library's reader decides
    assert repr(fast) == repr(json.loads(text))
