"""The official ``openai`` client holds a conversation with the offline engine.

``client.realtime.connect()`` pointed at ``WS /v1/realtime`` of a running hotelvoice: the
client parses every event into its own GA models, so a conversation that runs at all is one
the real client understands. Text, then audio. The client is synchronous (websockets' sync
API), so it runs in a worker thread while the server runs on trio.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import trio
from openai import OpenAI
from trio_websocket import open_websocket_url

from tests.e2e.conftest import LocalServer


def converse(url: str) -> dict[str, Any]:
    client = OpenAI(
        api_key="not-needed-locally", websocket_base_url=url.replace("http", "ws") + "/v1"
    )
    seen: dict[str, Any] = {"types": [], "text": "", "audio": b"", "transcript": ""}
    with client.realtime.connect(model="gpt-realtime") as connection:
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "where are you located"}],
            }
        )
        connection.response.create()
        for event in connection:
            seen["types"].append(event.type)
            if event.type == "response.output_text.done":
                seen["text"] = event.text
            if event.type == "response.done":
                break
        connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["audio"],
                "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}}},
            }
        )
        connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "what time is check in"}],
            }
        )
        connection.response.create()
        for event in connection:
            seen["types"].append(event.type)
            if event.type == "response.output_audio.delta":
                seen["audio"] += base64.b64decode(event.delta)
            if event.type == "response.output_audio_transcript.done":
                seen["transcript"] = event.transcript
            if event.type == "response.done":
                seen["status"] = event.response.status
                break
    return seen


async def test_the_openai_client_talks_with_the_offline_engine(local_server: LocalServer) -> None:
    with trio.fail_after(60):
        seen = await trio.to_thread.run_sync(converse, local_server.url)
    assert "session.created" in seen["types"] and "session.updated" in seen["types"]
    assert "Sunset Inn is at 12 Ocean Drive, Santa Monica." in seen["text"]
    assert "Check-in is from 3 PM" in seen["transcript"]
    assert len(seen["audio"]) > 24000 * 2  # over a second of 24 kHz PCM16
    assert seen["status"] == "completed"
    assert "error" not in seen["types"]


async def test_an_oversized_append_on_the_socket_gets_an_error_and_the_session_goes_on(
    local_server: LocalServer,
) -> None:
    url = local_server.url.replace("http", "ws") + "/v1/realtime"
    six_seconds = bytes(24_000 * 2 * 6)  # PCM16 at 24 kHz, the session's default input
    with trio.fail_after(60):
        async with open_websocket_url(url, max_message_size=4 * 1024 * 1024) as socket:
            assert json.loads(await socket.get_message())["type"] == "session.created"
            audio = base64.b64encode(six_seconds).decode("ascii")
            await socket.send_message(
                json.dumps({"type": "input_audio_buffer.append", "audio": audio})
            )
            error = json.loads(await socket.get_message())
            assert error["type"] == "error"
            assert error["error"]["code"] == "invalid_value"
            assert "limit" in error["error"]["message"]
            await socket.send_message(json.dumps({"type": "input_audio_buffer.clear"}))
            cleared = json.loads(await socket.get_message())
            assert cleared["type"] == "input_audio_buffer.cleared"
    total = local_server.metrics.get("hotelvoice_engine_bad_events_total", kind="oversized_append")
    assert total == 1
