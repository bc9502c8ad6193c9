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

import pytest
import trio
from openai import OpenAI
from trio_websocket import ConnectionClosed, open_websocket_url

from tests.e2e.conftest import ENGINE_KEY, LocalServer

AUTH = [(b"Authorization", f"Bearer {ENGINE_KEY}".encode())]


async def upgrade_status(base_url: str, headers: list[tuple[bytes, bytes]]) -> int:
    """The HTTP status a WebSocket upgrade to /v1/realtime gets (a raw socket: nothing leaks)."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    request = (
        b"GET /v1/realtime HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        + b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        + b"\r\n"
    )
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = await stream.receive_some(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def converse(url: str) -> dict[str, Any]:
    client = OpenAI(api_key=ENGINE_KEY, websocket_base_url=url.replace("http", "ws") + "/v1")
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
        async with open_websocket_url(
            url,
            max_message_size=4 * 1024 * 1024,
            extra_headers=AUTH,
        ) as socket:
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


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([], "bad_key"),
        ([(b"Authorization", b"Bearer wrong-key")], "bad_key"),
        ([(b"Authorization", f"Basic {ENGINE_KEY}".encode())], "bad_key"),
        ([(b"Authorization", "Bearer ünïcode".encode())], "bad_key"),
        ([*AUTH, (b"Origin", b"https://evil.example.com")], "origin"),
    ],
)
async def test_the_engine_socket_needs_the_key_and_no_foreign_origin(
    local_server: LocalServer, headers: list[tuple[bytes, bytes]], reason: str
) -> None:
    with trio.fail_after(10):
        assert await upgrade_status(local_server.url, headers) == 403
    refused = local_server.metrics.get("hotelvoice_engine_sockets_refused_total", reason=reason)
    assert refused == 1


async def test_the_engine_socket_takes_the_public_origin(local_server: LocalServer) -> None:
    url = local_server.url.replace("http", "ws") + "/v1/realtime"
    origin = [*AUTH, (b"Origin", local_server.settings.public_url.encode())]
    with trio.fail_after(30):
        async with open_websocket_url(url, extra_headers=origin) as socket:
            assert json.loads(await socket.get_message())["type"] == "session.created"


@pytest.mark.parametrize("rate", [0, "abc", 10**30, 16000])
@pytest.mark.parametrize("direction", ["input", "output"])
async def test_a_bad_audio_rate_gets_an_error_and_the_session_goes_on(
    local_server: LocalServer, rate: object, direction: str
) -> None:
    url = local_server.url.replace("http", "ws") + "/v1/realtime"
    update = {
        "type": "session.update",
        "event_id": "evt_bad",
        "session": {
            "type": "realtime",
            "audio": {direction: {"format": {"type": "audio/pcm", "rate": rate}}},
        },
    }
    with trio.fail_after(60):
        async with open_websocket_url(url, extra_headers=AUTH) as socket:
            assert json.loads(await socket.get_message())["type"] == "session.created"
            await socket.send_message(json.dumps(update))
            error = json.loads(await socket.get_message())
            assert error["type"] == "error", error
            assert error["error"]["type"] == "invalid_request_error"
            assert error["error"]["event_id"] == "evt_bad"
            # The session is unchanged and still answers, in audio at the default rate.
            audio = base64.b64encode(bytes(24_000 * 2 // 10)).decode("ascii")
            append = {"type": "input_audio_buffer.append", "audio": audio}
            await socket.send_message(json.dumps(append))
            await socket.send_message(
                json.dumps(
                    {
                        "type": "conversation.item.create",
                        "item": {
                            "type": "message",
                            "role": "user",
                            "content": [{"type": "input_text", "text": "what time is check in"}],
                        },
                    }
                )
            )
            await socket.send_message(json.dumps({"type": "response.create"}))
            while True:
                try:
                    event = json.loads(await socket.get_message())
                except ConnectionClosed as closed:
                    raise AssertionError(f"the session closed: {closed.reason}") from None
                assert event["type"] != "error", event
                if event["type"] == "response.done":
                    assert event["response"]["status"] == "completed"
                    break


async def test_a_binary_frame_gets_an_error_and_the_session_goes_on(
    local_server: LocalServer,
) -> None:
    url = local_server.url.replace("http", "ws") + "/v1/realtime"
    with trio.fail_after(60):
        async with open_websocket_url(url, extra_headers=AUTH) as socket:
            assert json.loads(await socket.get_message())["type"] == "session.created"
            await socket.send_message(b"\x00\x01 not an event")
            error = json.loads(await socket.get_message())
            assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
            await socket.send_message(json.dumps({"type": "input_audio_buffer.clear"}))
            cleared = json.loads(await socket.get_message())
            assert cleared["type"] == "input_audio_buffer.cleared"
    total = local_server.metrics.get("hotelvoice_engine_bad_events_total", kind="binary_message")
    assert total == 1
