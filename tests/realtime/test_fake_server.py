"""The fake Realtime server itself: its checks, its scripted sequences, its server-side rules.

The client side is hotelvoice's own connection and parser, so these double as end-to-end tests
of the realtime package.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio
import trio.testing
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    WebSocketConnection,
    wrap_client_stream,
)

from hotelvoice.realtime.connection import RealtimeConnection, open_realtime
from hotelvoice.wire import realtime as rt
from tests.fakes.openai_models import validate_server_event
from tests.fakes.realtime_server import (
    DEFAULT_TRANSCRIPT,
    FakeRealtimeServer,
    FakeSession,
    start_fake_realtime,
)

KEY = "sk-test"
PCMU_CONFIG = rt.SessionConfig(model="gpt-realtime", voice="marin", instructions="Be brief.")


@pytest.fixture
async def server(nursery: trio.Nursery) -> FakeRealtimeServer:
    return await start_fake_realtime(nursery, api_key=KEY)


@asynccontextmanager
async def connected(
    server: FakeRealtimeServer, *, configure: bool = True
) -> AsyncIterator[tuple[RealtimeConnection, FakeSession]]:
    """Open a client, read session.created and (optionally) set up PCMU via session.update."""
    async with open_realtime(server.url, model="gpt-realtime", api_key=KEY, connect_timeout=5) as c:
        assert isinstance(await next_event(c), rt.SessionCreated)
        session = await server.next_session()
        if configure:
            await c.send(rt.dumps(rt.session_update(PCMU_CONFIG)))
            assert isinstance(await next_event(c), rt.SessionUpdated)
        yield c, session


@asynccontextmanager
async def raw_client(
    url: str, headers: list[tuple[bytes, bytes]]
) -> AsyncIterator[WebSocketConnection]:
    """A bare trio-websocket client with any headers (ours never sends OpenAI-Beta).

    Not open_websocket_url: it leaks its socket when the server refuses or closes first.
    """
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    stream = await trio.open_tcp_stream(parts.hostname, parts.port)
    try:
        async with trio.open_nursery() as nursery:
            ws = await wrap_client_stream(
                nursery, stream, parts.netloc, f"{parts.path}?{parts.query}", extra_headers=headers
            )
            try:
                yield ws
            finally:
                await ws.aclose()
                nursery.cancel_scope.cancel()
    finally:
        await trio.aclose_forcefully(stream)


async def next_event(connection: RealtimeConnection) -> rt.ServerEvent:
    return rt.parse_server_event(await connection.receive())


async def events_until_done(connection: RealtimeConnection) -> list[rt.ServerEvent]:
    """Every event up to and including the next response.done."""
    seen: list[rt.ServerEvent] = []
    while not seen or not isinstance(seen[-1], rt.ResponseDone):
        seen.append(await next_event(connection))
    return seen


def names(events: list[rt.ServerEvent]) -> list[str]:
    return [e.type if isinstance(e, rt.OtherEvent) else type(e).__name__ for e in events]


# -- checks on the client ---------------------------------------------------------------------


async def test_invalid_client_event_is_a_recorded_violation(nursery: trio.Nursery) -> None:
    server = await start_fake_realtime(nursery, api_key=KEY, fail_fast=False)
    async with connected(server) as (conn, session):
        # Beta-era session shape: no session.type, and `modalities`/`temperature` are unknown.
        await conn.send(rt.dumps({"type": "session.update", "session": {"modalities": ["audio"]}}))
        error = await next_event(conn)
        assert isinstance(error, rt.RealtimeError)
        assert error.code == "invalid_value"
        await conn.send(rt.dumps({"type": "response.create", "temperature": 0.8}))
        assert isinstance(await next_event(conn), rt.RealtimeError)
        await conn.send("not json")
        assert isinstance(await next_event(conn), rt.RealtimeError)
        await conn.send(rt.dumps({"type": "input_audio_buffer.append", "audio": "A==="}))
        assert isinstance(await next_event(conn), rt.RealtimeError)

    assert len(server.protocol_violations) == 4
    assert "RealtimeSessionCreateRequest.type" in server.protocol_violations[0]
    assert "temperature" in server.protocol_violations[1]
    assert "malformed JSON" in server.protocol_violations[2]
    assert "not base64" in server.protocol_violations[3]
    # invalid events are not in `received`, so a test waiting for them cannot pass by accident
    assert [e["type"] for e in session.received] == ["session.update", "input_audio_buffer.append"]
    with pytest.raises(AssertionError, match="4 protocol violation"):
        server.assert_clean()


async def test_violation_fails_fast_by_default() -> None:
    # The fake raises inside its own task, so the test owning its nursery fails.
    with pytest.RaisesGroup(
        pytest.RaisesExc(AssertionError, match="client broke the Realtime protocol"),
        flatten_subgroups=True,
    ):
        async with trio.open_nursery() as nursery:
            server = await start_fake_realtime(nursery, api_key=KEY)
            async with connected(server, configure=False) as (conn, _):
                await conn.send(rt.dumps({"type": "output_audio_buffer.clear"}))
                await trio.sleep_forever()


async def test_beta_header_is_answered_like_the_real_server(nursery: trio.Nursery) -> None:
    server = await start_fake_realtime(nursery, api_key=KEY, fail_fast=False)
    headers = [(b"Authorization", f"Bearer {KEY}".encode()), (b"OpenAI-Beta", b"realtime=v1")]
    async with raw_client(f"{server.url}?model=m", headers) as ws:
        error = rt.parse_server_event(await ws.get_message())
        assert isinstance(error, rt.RealtimeError)
        assert error.code == "beta_api_shape_disabled"
        assert rt.classify_error(error) is rt.ErrorSeverity.FATAL
        with pytest.raises(ConnectionClosed) as caught:
            await ws.get_message()
        reason = caught.value.reason
        assert reason is not None
        assert reason.code == 4000
    assert "OpenAI-Beta" in server.protocol_violations[0]


async def test_missing_model_is_refused_and_recorded(nursery: trio.Nursery) -> None:
    server = await start_fake_realtime(nursery, api_key=KEY, fail_fast=False)
    headers = [(b"Authorization", f"Bearer {KEY}".encode())]
    with pytest.RaisesGroup(ConnectionRejected):
        async with raw_client(server.url, headers):
            pass
    assert server.rejected == [400]
    assert "model" in server.protocol_violations[0]


async def test_every_sent_event_is_validated(server: FakeRealtimeServer) -> None:
    async with connected(server) as (_, session):
        with pytest.raises(AssertionError, match="response_id"):
            await session.send({"type": "response.output_audio.delta", "delta": "AAAA"})
        await session.send_raw("{garbage")  # the escape hatch is not validated


# -- scripted sequences -------------------------------------------------------------------------


async def test_speak_emits_a_ga_audio_response(server: FakeRealtimeServer) -> None:
    audio = bytes(range(256)) * 3 + b"\x7f" * 32  # 800 bytes = 100 ms of pcmu
    async with connected(server) as (conn, session), trio.open_nursery() as nursery:
        nursery.start_soon(session.speak, audio)
        events = await events_until_done(conn)
    assert names(events) == [
        "ResponseCreated",
        "rate_limits.updated",
        "OutputItemAdded",
        "conversation.item.added",
        "response.content_part.added",
        *["AudioDelta"] * 5,
        "response.output_audio_transcript.delta",
        "AudioDone",
        "OutputTranscriptDone",
        "response.content_part.done",
        "OutputItemDone",
        "conversation.item.done",
        "ResponseDone",
    ]
    created, done = events[0], events[-1]
    assert isinstance(created, rt.ResponseCreated)
    assert isinstance(done, rt.ResponseDone)
    assert done.response_id == created.response_id
    assert done.status == "completed"
    deltas = [e for e in events if isinstance(e, rt.AudioDelta)]
    assert b"".join(base64.b64decode(d.delta) for d in deltas) == audio
    assert {d.item_id for d in deltas} == {done.output[0]["id"]}
    transcript = next(e for e in events if isinstance(e, rt.OutputTranscriptDone))
    assert transcript.transcript == DEFAULT_TRANSCRIPT
    assert all(sent["event_id"].startswith("event_") for sent in session.sent)
    assert created.response_id.startswith("resp_")


async def test_speak_returns_the_ids_it_used(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        ids = await session.speak(b"\xff" * 160, response_id="resp_X", item_id="item_Y")
        assert ids == ("resp_X", "item_Y")
        events = await events_until_done(conn)
        assert rt.AudioDelta("resp_X", "item_Y", base64.b64encode(b"\xff" * 160).decode()) in events


async def test_paced_speech_under_the_autojump_clock(
    autojump_clock: trio.testing.MockClock, server: FakeRealtimeServer
) -> None:
    async with connected(server) as (conn, session):
        start = trio.current_time()
        await session.speak(b"\xff" * 1600, pace_s=0.02)
        assert trio.current_time() - start == pytest.approx(0.2)
        assert sum(isinstance(e, rt.AudioDelta) for e in await events_until_done(conn)) == 10


async def test_barge_in_cancels_the_active_response(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        response = await session.start_response()
        await session.send_audio(b"\xff" * 800, response=response)
        user_item = await session.speech_started(audio_start_ms=1500)
        # the rest of the script runs into a finished response and stops quietly
        assert await session.send_audio(b"\xff" * 800, response=response) == 0
        events = await events_until_done(conn)
    assert rt.SpeechStarted(user_item, 1500) in events
    done = events[-1]
    assert isinstance(done, rt.ResponseDone)
    assert (done.status, done.reason) == ("cancelled", "turn_detected")
    assert done.output[0]["status"] == "incomplete"
    assert sum(isinstance(e, rt.AudioDelta) for e in events) == 5


async def test_speech_started_without_interrupt(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        await session.start_response()
        await session.speech_started(cancel_active=False)
        await session.speech_stopped(audio_end_ms=900)
        assert session.active_response is not None
        await session.finish_response(status="incomplete", reason="max_output_tokens")
        events = await events_until_done(conn)
    assert any(isinstance(e, rt.SpeechStopped) and e.audio_end_ms == 900 for e in events)
    assert "input_audio_buffer.committed" in names(events)
    done = events[-1]
    assert isinstance(done, rt.ResponseDone)
    assert (done.status, done.reason) == ("incomplete", "max_output_tokens")


async def test_client_cancel(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        await session.start_response()
        await conn.send(rt.dumps(rt.response_cancel()))
        done = (await events_until_done(conn))[-1]
        assert isinstance(done, rt.ResponseDone)
        assert (done.status, done.reason) == ("cancelled", "client_cancelled")
        await conn.send(rt.dumps(rt.response_cancel()))
        error = await next_event(conn)
        assert isinstance(error, rt.RealtimeError)
        assert error.code == "response_cancel_not_active"
        assert rt.classify_error(error) is rt.ErrorSeverity.BENIGN
    server.assert_clean()


async def test_failed_response(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        await session.start_response()
        await session.finish_response(status="failed", error_code="server_error")
        done = (await events_until_done(conn))[-1]
    assert isinstance(done, rt.ResponseDone)
    assert (done.status, done.reason, done.error_code) == ("failed", None, "server_error")


async def test_function_call_round_trip(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        call_id = await session.call_function("check_availability", {"nights": 2})
        events = await events_until_done(conn)
        done_args = next(e for e in events if isinstance(e, rt.FunctionCallArgumentsDone))
        assert done_args.call_id == call_id
        assert done_args.name == "check_availability"
        assert json.loads(done_args.arguments) == {"nights": 2}
        item_done = next(e for e in events if isinstance(e, rt.OutputItemDone))
        assert item_done.item["status"] == "completed"
        assert item_done.item["type"] == "function_call"
        done = events[-1]
        assert isinstance(done, rt.ResponseDone)
        assert done.output == (item_done.item,)

        await conn.send(rt.dumps(rt.function_call_output(call_id, '{"rooms":3}')))
        added = await next_event(conn)
        assert added == rt.OtherEvent("conversation.item.added")
        assert isinstance(await next_event(conn), rt.OtherEvent)  # conversation.item.done
        output = await session.expect("conversation.item.create")
        assert output["item"]["call_id"] == call_id

        await conn.send(rt.dumps(rt.function_call_output("call_unknown", "{}")))
        error = await next_event(conn)
        assert isinstance(error, rt.RealtimeError)
        assert error.param == "item.call_id"
    server.assert_clean()


async def test_truncation_is_checked_against_the_audio_sent(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        _, item_id = await session.speak(b"\xff" * 1600)  # 200 ms of pcmu
        await events_until_done(conn)
        await conn.send(rt.dumps(rt.item_truncate(item_id, 120)))
        assert await next_event(conn) == rt.ItemTruncated(item_id, 120)
        await conn.send(rt.dumps(rt.item_truncate(item_id, 500)))
        too_far = await next_event(conn)
        assert isinstance(too_far, rt.RealtimeError)
        assert "already shorter" in too_far.message
        await conn.send(rt.dumps(rt.item_truncate("item_nope", 10)))
        assert isinstance(await next_event(conn), rt.RealtimeError)
    assert session.truncations == [(item_id, 120)]


async def test_response_create_hook_and_active_response_rule(nursery: trio.Nursery) -> None:
    started = trio.Event()

    async def respond(session: FakeSession, event: dict[str, Any]) -> None:
        response = await session.start_response()
        started.set()
        await session.send_audio(b"\xff" * 320, response=response)
        await trio.sleep(0.01)
        await session.finish_response(response)

    server = await start_fake_realtime(
        nursery, api_key=KEY, auto_respond_to_response_create=respond
    )
    async with connected(server) as (conn, _):
        await conn.send(rt.dumps(rt.response_create(instructions="Greet the caller.")))
        await started.wait()
        await conn.send(rt.dumps(rt.response_create()))
        events = await events_until_done(conn)
    errors = [e for e in events if isinstance(e, rt.RealtimeError)]
    assert [e.code for e in errors] == ["conversation_already_has_active_response"]
    assert sum(isinstance(e, rt.AudioDelta) for e in events) == 2


async def test_session_update_error_knob(nursery: trio.Nursery) -> None:
    problem = {
        "type": "invalid_request_error",
        "code": "unknown_parameter",
        "message": "Unknown parameter: 'session.temperature'.",
        "param": "session.temperature",
    }
    server = await start_fake_realtime(nursery, api_key=KEY, session_update_error=problem)
    async with connected(server, configure=False) as (conn, session):
        update = rt.session_update(PCMU_CONFIG)
        update["event_id"] = "client_1"
        await conn.send(rt.dumps(update))
        error = await next_event(conn)
    assert isinstance(error, rt.RealtimeError)
    assert (error.code, error.param, error.client_event_id) == (
        "unknown_parameter",
        "session.temperature",
        "client_1",
    )
    assert session.config["audio"]["input"]["format"]["type"] == "audio/pcm"  # not applied


async def test_session_updated_echoes_the_config(server: FakeRealtimeServer) -> None:
    async with connected(server, configure=False) as (conn, session):
        tool = {"type": "function", "name": "f", "description": "d", "parameters": {}}
        config = rt.SessionConfig(
            model="gpt-realtime", voice="cedar", instructions="X", tools=(tool,)
        )
        await conn.send(rt.dumps(rt.session_update(config)))
        updated = await next_event(conn)
    assert isinstance(updated, rt.SessionUpdated)
    session_obj = updated.session
    assert session_obj["instructions"] == "X"
    assert session_obj["tools"] == [tool]
    assert session_obj["audio"]["output"]["voice"] == "cedar"
    assert session_obj["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert session_obj["audio"]["output"]["speed"] == 1.0  # untouched defaults remain
    assert session_obj["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
    validate_server_event({"type": "session.updated", "event_id": "e", "session": session_obj})
    assert session.bytes_per_ms == 8


async def test_input_audio_commit_and_transcript(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        await conn.send(rt.encode_audio_append(base64.b64encode(b"\xff" * 400).decode()))
        await conn.send(rt.dumps({"type": "input_audio_buffer.commit"}))
        error = await next_event(conn)  # 50 ms is too little
        assert isinstance(error, rt.RealtimeError)
        assert error.code == "input_audio_buffer_commit_empty"
        await conn.send(rt.encode_audio_append(base64.b64encode(b"\xff" * 800).decode()))
        await conn.send(rt.dumps({"type": "input_audio_buffer.commit"}))
        committed = await next_event(conn)
        assert isinstance(committed, rt.OtherEvent)
        assert committed.type == "input_audio_buffer.committed"
        item_id = committed.data["item_id"]
        # The item id named: the server may still be between `committed` and adding the item
        # when this test task runs (the client hands events over without a task switch).
        await session.input_transcript("A room for two, please.", item_id=item_id)
        events = [await next_event(conn) for _ in range(3)]
    assert rt.InputTranscriptCompleted(item_id, "A room for two, please.") in events
    assert len(session.audio_in) == 1200


async def test_expect_keeps_a_cursor_per_type(server: FakeRealtimeServer) -> None:
    async with connected(server, configure=False) as (conn, session):
        await conn.send(rt.dumps(rt.user_text_item("one")))
        await conn.send(rt.dumps(rt.response_create()))
        await conn.send(rt.dumps(rt.user_text_item("two")))
        first = await session.expect("conversation.item.create")
        create = await session.expect("response.create")
        second = await session.expect("conversation.item.create")
        assert first["item"]["content"][0]["text"] == "one"
        assert second["item"]["content"][0]["text"] == "two"
        assert create == {"type": "response.create"}
        assert len(session.of_type("conversation.item.create")) == 2
    with pytest.raises(AssertionError, match="disconnected without sending"):
        await session.expect("conversation.item.create")


async def test_next_session_waits_for_the_next_connection(server: FakeRealtimeServer) -> None:
    got: list[FakeSession] = []

    async def wait_for_one() -> None:
        got.append(await server.next_session())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait_for_one)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []
        for _ in range(2):
            async with open_realtime(server.url, model="m", api_key=KEY, connect_timeout=5) as c:
                await c.receive()
    assert got == [server.sessions[0]]
    assert await server.next_session() is server.sessions[1]


async def test_client_disconnect_ends_the_session_quietly(server: FakeRealtimeServer) -> None:
    async with connected(server) as (_, session):
        pass
    await session.closed.wait()
    assert session.close_code == 1000
    await session.speak(b"\xff" * 160)  # scripting on after the hang-up is harmless
    server.assert_clean()


async def test_item_retrieve_delete_and_buffer_clear(server: FakeRealtimeServer) -> None:
    async with connected(server) as (conn, session):
        await conn.send(rt.dumps(rt.user_text_item("Hello")))
        added = await next_event(conn)
        assert isinstance(added, rt.OtherEvent)
        item_id = added.data["item"]["id"]
        await next_event(conn)  # conversation.item.done
        await conn.send(rt.dumps({"type": "conversation.item.retrieve", "item_id": item_id}))
        retrieved = await next_event(conn)
        assert isinstance(retrieved, rt.OtherEvent)
        assert retrieved.data["item"]["content"] == [{"type": "input_text", "text": "Hello"}]
        await conn.send(rt.dumps({"type": "conversation.item.delete", "item_id": item_id}))
        assert (await next_event(conn)) == rt.OtherEvent("conversation.item.deleted")
        await conn.send(rt.dumps({"type": "conversation.item.delete", "item_id": item_id}))
        assert isinstance(await next_event(conn), rt.RealtimeError)
        await conn.send(rt.dumps({"type": "input_audio_buffer.clear"}))
        assert (await next_event(conn)) == rt.OtherEvent("input_audio_buffer.cleared")
    assert item_id not in session.items
    server.assert_clean()
