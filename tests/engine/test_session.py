"""The offline engine speaks the Realtime GA protocol: text, audio, tools, cancel, truncate.

Driven through its in-process link exactly as the bridge drives a model; every event it emits
is validated against the ``openai`` package's GA server-event models.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import trio

from hotelvoice.calls.session import (
    FALLBACK_INSTRUCTIONS,
    HAND_OVER_INSTRUCTIONS,
    HAND_OVER_LINE,
)
from hotelvoice.codec.g711 import alaw_decode, ulaw_decode, ulaw_encode
from hotelvoice.codec.levels import rms_dbfs
from hotelvoice.engine.connector import LocalConnector, LocalLink
from hotelvoice.engine.session import TAKE_OVER_APOLOGY
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.properties.model import Property, RoomType
from hotelvoice.speech.scoring import spoken_words
from tests.fakes.openai_models import validate_server_event

HOTEL = Property(
    id="sunset",
    name="Sunset Inn",
    location="12 Ocean Drive, Santa Monica",
    room_types=(RoomType("king", "King Room", 10, 2, 18900),),
    departments={"front_desk": "+15550000000"},
)
TOOLS = [
    {
        "type": "function",
        "name": name,
        "description": name,
        "parameters": {"type": "object", "properties": {}, "additionalProperties": True},
    }
    for name in ("check_availability", "create_lead", "transfer_to_human")
]
KIT = SpeechKit.shared()  # espeak and the grammars load once per process


class Client:
    """The bridge's side of a link: send events, read and validate what comes back."""

    def __init__(self, link: LocalLink) -> None:
        self.link = link
        self.events: list[dict[str, Any]] = []

    async def send(self, type: str, **fields: Any) -> None:
        await self.link.send(json.dumps({"type": type, **fields}))

    async def next(self, type: str) -> dict[str, Any]:
        """The next event of ``type`` (earlier events of other types are kept in order)."""
        while True:
            event: dict[str, Any] = json.loads(await self.link.receive())
            validate_server_event(event)
            self.events.append(event)
            if event["type"] == type:
                return event

    def of_type(self, type: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == type]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    connector = LocalConnector(PropertyBook((HOTEL,)), KIT)
    async with connector.connect() as link:
        yield Client(link)


async def configure(client: Client, **session: Any) -> None:
    await client.next("session.created")
    await client.send("session.update", session={"type": "realtime", "tools": TOOLS, **session})
    await client.next("session.updated")


async def test_a_text_conversation_with_a_tool_round_trip(client: Client) -> None:
    await configure(client, output_modalities=["text"])
    text = "do you have a room for two adults from december fourth to december sixth"
    await client.send(
        "conversation.item.create",
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    )
    await client.send("response.create")
    done = await client.next("response.function_call_arguments.done")
    assert done["name"] == "check_availability"
    arguments = json.loads(done["arguments"])
    assert arguments["adults"] == 2 and arguments["check_in"].endswith("-12-04")
    first = await client.next("response.done")
    assert first["response"]["status"] == "completed"
    output = {
        "available": True,
        "offers": [
            {
                "room_type": "king",
                "name": "King Room",
                "nightly_rate": "$189.00",
                "total": "$378.00",
            }
        ],
    }
    await client.send(
        "conversation.item.create",
        item={
            "type": "function_call_output",
            "call_id": done["call_id"],
            "output": json.dumps(output),
        },
    )
    await client.send("response.create")
    answer = await client.next("response.output_text.done")
    assert "the King Room is free" in answer["text"]
    assert "$189 a night, $378 in total" in answer["text"]
    assert (await client.next("response.done"))["response"]["status"] == "completed"


async def test_the_greeting_is_audio_in_the_sessions_format(client: Client) -> None:
    await configure(
        client,
        audio={
            "input": {"format": {"type": "audio/pcmu"}},
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
        },
    )
    await client.send("response.create")
    transcript = await client.next("response.output_audio_transcript.done")
    assert "Sunset Inn" in transcript["transcript"]
    deltas = client.of_type("response.output_audio.delta")
    audio = b"".join(base64.b64decode(event["delta"]) for event in deltas)
    assert len(audio) > 8000  # over a second of μ-law
    assert rms_dbfs(ulaw_decode(audio)) > -30  # speech, not silence
    done = await client.next("response.done")
    assert done["response"]["status"] == "completed"
    item_id = deltas[0]["item_id"]
    await client.send(
        "conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=500
    )
    truncated = await client.next("conversation.item.truncated")
    assert truncated["audio_end_ms"] == 500
    await client.send(
        "conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=600_000
    )
    error = await client.next("error")
    assert "shorter than" in error["error"]["message"]


async def test_at_shutdown_it_says_the_hand_over_line_and_no_goodbye(client: Client) -> None:
    await configure(client, output_modalities=["text"])
    await client.send("response.create", response={"instructions": HAND_OVER_INSTRUCTIONS})
    answer = await client.next("response.output_text.done")
    assert answer["text"] == HAND_OVER_LINE
    done = await client.next("response.done")
    assert not (done["response"].get("metadata") or {})  # not its goodbye: a transfer follows


async def test_response_cancel_stops_the_audio(client: Client) -> None:
    await configure(client)
    await client.send("response.create")
    await client.next("response.created")
    await client.send("response.cancel")
    done = await client.next("response.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    assert client.of_type("response.output_audio.delta") == []
    await client.send("response.cancel")
    assert (await client.next("error"))["error"]["code"] == "response_cancel_not_active"


async def test_caller_speech_is_heard_timed_transcribed_and_answered(client: Client) -> None:
    await configure(
        client,
        audio={
            "input": {"format": {"type": "audio/pcmu"}},
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
        },
    )
    speech = await trio.to_thread.run_sync(KIT.speak, "do you have a room for two adults", 8000)
    silence = np.zeros(8000, np.int16)
    caller = ulaw_encode(np.concatenate([silence, speech, silence, silence]))
    for start in range(0, len(caller), 160):
        await client.send(
            "input_audio_buffer.append",
            audio=base64.b64encode(caller[start : start + 160]).decode(),
        )
    started = await client.next("input_audio_buffer.speech_started")
    assert 800 <= started["audio_start_ms"] <= 1200  # the speech begins 1 s in
    stopped = await client.next("input_audio_buffer.speech_stopped")
    end_ms = 1000 + len(speech) // 8
    assert abs(stopped["audio_end_ms"] - end_ms) <= 400
    heard = await client.next("conversation.item.input_audio_transcription.completed")
    assert "room for 2 adults" in " ".join(spoken_words(heard["transcript"]))
    # The engine answers by itself (server VAD's create_response): it needs the dates.
    answer = await client.next("response.output_audio_transcript.done")
    assert "which dates" in answer["transcript"].lower()


async def test_a_clear_mid_speech_drops_what_was_said_so_far(client: Client) -> None:
    await configure(
        client,
        audio={
            "input": {"format": {"type": "audio/pcmu"}},
            "output": {"format": {"type": "audio/pcmu"}},
        },
    )

    async def say(pcm: np.ndarray) -> None:
        audio = ulaw_encode(pcm)
        for start in range(0, len(audio), 160):
            chunk = base64.b64encode(audio[start : start + 160]).decode()
            await client.send("input_audio_buffer.append", audio=chunk)

    silence = np.zeros(8000, np.int16)
    cut = await trio.to_thread.run_sync(KIT.speak, "can i speak to the front desk", 8000)
    whole = await trio.to_thread.run_sync(KIT.speak, "what time is check out", 8000)
    await say(np.concatenate([silence, cut[: len(cut) // 2]]))
    await client.next("input_audio_buffer.speech_started")
    await client.send("input_audio_buffer.clear")
    await client.next("input_audio_buffer.cleared")
    await say(np.concatenate([silence, whole, silence, silence]))
    heard = await client.next("conversation.item.input_audio_transcription.completed")
    # "check out" or "checkout": Whisper writes either.
    assert "".join(spoken_words(heard["transcript"])) == "whattimeischeckout"
    # The half sentence before the clear was never transcribed or answered.
    assert len(client.of_type("conversation.item.input_audio_transcription.completed")) == 1
    assert not client.of_type("response.function_call_arguments.done")


async def test_bad_events_get_errors_and_the_session_goes_on(client: Client) -> None:
    await configure(client)
    await client.link.send("not json")
    assert (await client.next("error"))["error"]["code"] == "invalid_json"
    await client.send("no.such.event")
    error = (await client.next("error"))["error"]
    assert (error["code"], error["param"]) == ("invalid_value", "type")  # as the real API says
    await client.send(
        "conversation.item.create",
        item={"type": "function_call_output", "call_id": "call_nope", "output": "{}"},
    )
    assert "not found" in (await client.next("error"))["error"]["message"]
    await client.send("response.create")
    assert (
        "Sunset Inn" in (await client.next("response.output_audio_transcript.done"))["transcript"]
    )


async def test_words_decoded_at_the_callers_pause_are_the_transcript(client: Client) -> None:
    """In real time (a frame at a time) the words are decoded once the caller pauses, before
    the end of the turn is certain, and that decode is the one the transcript comes from."""
    await configure(
        client,
        audio={
            "input": {"format": {"type": "audio/pcmu"}},
            "output": {"format": {"type": "audio/pcmu"}},
        },
    )
    speech = await trio.to_thread.run_sync(KIT.speak, "what time is check out", 8000)
    silence = np.zeros(4000, np.int16)
    caller = ulaw_encode(np.concatenate([silence, speech, silence, silence]))
    for start in range(0, len(caller), 160):
        await client.send(
            "input_audio_buffer.append",
            audio=base64.b64encode(caller[start : start + 160]).decode(),
        )
        await trio.sleep(0.004)  # the ears take each frame on its own, as in a call
    heard = await client.next("conversation.item.input_audio_transcription.completed")
    # "check out" or "checkout": Whisper writes either.
    assert "".join(spoken_words(heard["transcript"])) == "whattimeischeckout"
    assert client.link.session.guesses_used == 1


async def test_taking_over_a_call_it_apologises_once_instead_of_greeting(client: Client) -> None:
    await configure(client, output_modalities=["text"])
    for role, kind, text in (
        ("user", "input_text", "do you allow dogs"),
        ("assistant", "output_text", "Yes, dogs are welcome."),
        ("user", "input_text", "and is there parking"),
    ):  # the conversation so far, replayed by the bridge's fallback
        await client.send(
            "conversation.item.create",
            item={"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
        )
    await client.send("response.create", response={"instructions": FALLBACK_INSTRUCTIONS})
    said = (await client.next("response.output_text.done"))["text"]
    assert said == TAKE_OVER_APOLOGY and "Sunset Inn" not in said
    assert (await client.next("response.done"))["response"]["status"] == "completed"


# -- session.update is checked whole, as the Realtime API checks it -------------------------------

PCM = {"type": "audio/pcm", "rate": 24000}


def tool(**fields: Any) -> dict[str, Any]:
    return {**TOOLS[0], **fields}


@pytest.mark.parametrize(
    ("session", "param", "code"),
    [
        (
            {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
            },
            "session.audio.input.format.rate",
            "invalid_value",
        ),
        (
            {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm", "rate": 0}}}},
            "session.audio.output.format.rate",
            "invalid_value",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": "abc"}}},
            },
            "session.audio.input.format.rate",
            "invalid_value",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000.0}}},
            },
            "session.audio.input.format.rate",
            "invalid_value",
        ),
        (
            {"type": "realtime", "audio": {"input": {"format": {"type": "audio/mp3"}}}},
            "session.audio.input.format.type",
            "invalid_value",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcmu", "rate": 8000}}},
            },
            "session.audio.input.format.rate",
            "unknown_parameter",
        ),
        (
            {"type": "realtime", "audio": {"input": {"format": "pcm16"}}},
            "session.audio.input.format",
            "invalid_value",
        ),
        (
            {"type": "realtime", "audio": {"output": {"voice": 7}}},
            "session.audio.output.voice",
            "invalid_value",
        ),
        (
            {"type": "realtime", "audio": {"output": {"voice": "v" * 65}}},
            "session.audio.output.voice",
            "invalid_value",
        ),
        (
            {"type": "realtime", "instructions": ["be nice"]},
            "session.instructions",
            "invalid_value",
        ),
        (
            {"type": "realtime", "instructions": "x" * 100_001},
            "session.instructions",
            "invalid_value",
        ),
        ({"type": "realtime", "tools": {"name": "x"}}, "session.tools", "invalid_value"),
        (
            {"type": "realtime", "tools": [tool(name=f"t{n}") for n in range(129)]},
            "session.tools",
            "invalid_value",
        ),
        (
            {"type": "realtime", "tools": [{"type": "function"}]},
            "session.tools[0].name",
            "invalid_value",
        ),
        (
            {"type": "realtime", "tools": [tool(name="two words")]},
            "session.tools[0].name",
            "invalid_value",
        ),
        (
            {"type": "realtime", "tools": [TOOLS[0], TOOLS[0]]},
            "session.tools[1].name",
            "invalid_value",
        ),
        (
            {"type": "realtime", "tools": [tool(type="mcp")]},
            "session.tools[0].type",
            "invalid_value",
        ),
        (
            {"type": "realtime", "tools": [tool(parameters="{}")]},
            "session.tools[0].parameters",
            "invalid_value",
        ),
        (
            {"type": "realtime", "tools": [tool(strictly=True)]},
            "session.tools[0].strictly",
            "unknown_parameter",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}},
            },
            "session.audio.input.turn_detection.threshold",
            "invalid_value",
        ),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "push_to_talk"}}}},
            "session.audio.input.turn_detection.type",
            "invalid_value",
        ),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": "on"}}},
            "session.audio.input.turn_detection",
            "invalid_value",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"create_response": "yes"}}},
            },
            "session.audio.input.turn_detection.create_response",
            "invalid_value",
        ),
        ({"audio": {"input": {"format": PCM}}}, "session.type", "missing_required_parameter"),
        ({"type": "transcription"}, "session.type", "invalid_value"),
        ({"type": "realtime", "temperature": 0.8}, "session.temperature", "unknown_parameter"),
        (
            {"type": "realtime", "audio": {"input": {"x\nINFO forged": 1}}},
            "session.audio.input.x\nINFO forged",
            "unknown_parameter",
        ),
        (
            {"type": "realtime", "output_modalities": ["audio", "text"]},
            "session.output_modalities",
            "invalid_value",
        ),
        ("realtime", "session", "invalid_value"),
    ],
)
async def test_a_bad_session_update_is_refused_whole_with_the_field_named(
    client: Client, session: Any, param: str, code: str
) -> None:
    await client.next("session.created")
    before = json.loads(json.dumps(client.link.session.config))
    # Good values beside the bad one are not applied either.
    update = (
        {"instructions": "Speak like a pirate.", **session}
        if isinstance(session, dict)
        else session
    )
    await client.send("session.update", event_id="evt_upd", session=update)
    error = (await client.next("error"))["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"], error["event_id"]) == (code, param, "evt_upd")
    assert client.link.session.config == before
    assert not client.of_type("session.updated")


async def test_a_good_session_update_is_applied_and_reported(client: Client) -> None:
    await configure(
        client,
        instructions="Be brief.",
        audio={
            "input": {
                "format": {"type": "audio/pcma"},
                "turn_detection": {"silence_duration_ms": 500, "create_response": False},
                "transcription": {"model": "whisper-1", "language": "en"},
            },
            "output": {"format": {"type": "audio/pcma"}, "voice": "cedar", "speed": 1.2},
        },
        tool_choice="auto",
    )
    config = client.of_type("session.updated")[-1]["session"]
    assert config["instructions"] == "Be brief."
    assert config["audio"]["input"]["format"] == {"type": "audio/pcma"}
    detection = config["audio"]["input"]["turn_detection"]  # the fields named, the rest kept
    assert detection["type"] == "server_vad" and detection["silence_duration_ms"] == 500
    assert detection["create_response"] is False and detection["interrupt_response"] is True
    assert config["audio"]["output"]["voice"] == "cedar"
    assert [t["name"] for t in config["tools"]] == [t["name"] for t in TOOLS]
    # A-law is spoken too: the greeting comes as A-law audio.
    await client.send("response.create")
    await client.next("response.done")
    deltas = client.of_type("response.output_audio.delta")
    audio = b"".join(base64.b64decode(event["delta"]) for event in deltas)
    assert rms_dbfs(alaw_decode(audio)) > -30


async def test_refused_events_are_all_counted_by_a_fixed_kind_and_five_of_each_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    caplog.set_level(logging.INFO, logger="hotelvoice.engine.session")
    forged = "no.such.event\n2026-12-03 INFO hotelvoice: forged " + "x" * 10_000
    async with LocalConnector(PropertyBook((HOTEL,)), KIT, metrics=metrics).connect() as link:
        client = Client(link)
        await client.next("session.created")
        for n in range(20):
            await client.send(forged, event_id=f"evt_{n}")
            await client.link.send("{not json")
            await client.link.send(b"\x00binary")
            await client.send("session.update", session={"type": "realtime", forged: 1})
        for _ in range(80):
            error = (await client.next("error"))["error"]
            assert len(error["message"]) < 300  # the client's values quoted short
        await client.send("response.create")  # and the session still answers
        await client.next("response.done")
    counted = {
        kind: metrics.get("hotelvoice_engine_bad_events_total", kind=kind)
        for kind in ("unknown_event_type", "invalid_json", "binary_message", "bad_session_update")
    }
    assert counted == dict.fromkeys(counted, 20)
    assert metrics.total("hotelvoice_engine_bad_events_total") == 80
    assert "forged" not in metrics.render() and "no.such" not in metrics.render()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 4 * 5
    assert all("\n" not in line and len(line) < 400 for line in lines)


async def test_items_of_unknown_types_and_long_ids_are_refused(client: Client) -> None:
    await configure(client, output_modalities=["text"])
    await client.send("conversation.item.create", event_id="e1", item={"type": "mcp_call"})
    assert (await client.next("error"))["error"]["param"] == "item.type"
    call = {"type": "function_call", "call_id": "c" * 65, "name": "create_lead", "arguments": ""}
    await client.send("conversation.item.create", event_id="e2", item=call)
    error = (await client.next("error"))["error"]
    assert (error["param"], error["event_id"]) == ("item.call_id", "e2")
    assert client.link.session.items == {} and client.link.session._function_calls == {}
