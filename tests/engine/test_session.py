"""The offline engine speaks the Realtime GA protocol: text, audio, tools, cancel, truncate.

Driven through its in-process link exactly as the bridge drives a model; every event it emits
is validated against the ``openai`` package's GA server-event models.
"""

from __future__ import annotations

import base64
import json
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
from hotelvoice.codec.g711 import ulaw_decode, ulaw_encode
from hotelvoice.codec.levels import rms_dbfs
from hotelvoice.engine.connector import LocalConnector, LocalLink
from hotelvoice.engine.session import TAKE_OVER_APOLOGY
from hotelvoice.engine.speech import SpeechKit
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
    assert (await client.next("error"))["error"]["code"] == "invalid_event_type"
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
