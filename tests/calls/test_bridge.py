"""The call's Trio glue under the autojump clock: every deadline fires when it should, and
every ending (hang-up, dropped socket, dead model) leaves nothing running."""

from __future__ import annotations

import base64
import gc
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
import trio
import trio.testing

from hotelvoice.calls.bridge import serve_media_stream
from hotelvoice.calls.machine import Closing, EndReason
from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome
from hotelvoice.calls.session import GOODBYE_INSTRUCTIONS, REPROMPT_INSTRUCTIONS, CallSession
from tests.calls.conftest import CALL, Harness, start_rest

MakeHarness = Callable[..., Any]


async def start_call(make_harness: MakeHarness, nursery: trio.Nursery, **kw: Any) -> Harness:
    harness: Harness = await make_harness(**kw)
    await nursery.start(harness.run)
    return harness


async def test_setup_deadline_fires_when_the_model_never_answers(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    t0 = trio.current_time()
    harness = await start_call(make_harness, nursery, fake={"stall_handshake": True})
    await harness.done.wait()
    assert harness.ended_at == pytest.approx(t0 + 5.0)
    assert harness.session is not None and harness.session.state == "ended"
    assert harness.twilio.sent == []  # the TwiML fallback takes the caller, not us


async def test_setup_error_is_fatal_at_once(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    error = {
        "type": "invalid_request_error",
        "code": "unknown_parameter",
        "message": "Unknown parameter: 'session.x'.",
        "param": "session.x",
    }
    t0 = trio.current_time()
    harness = await start_call(make_harness, nursery, fake={"session_update_error": error})
    await harness.done.wait()
    assert harness.ended_at is not None and harness.ended_at - t0 < 0.5
    assert harness.session is not None
    assert "unknown_parameter" in (harness.session.end_reason or "")


async def test_greeting_passthrough_and_stop(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery)
    model = await harness.model.next_session()
    update = await model.expect("session.update")
    assert update["session"]["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    await model.expect("response.create")  # the model greets first
    caller = bytes(range(160))
    harness.twilio.media(base64.b64encode(caller).decode())
    append = await model.expect("input_audio_buffer.append")
    assert base64.b64decode(append["audio"]) == caller
    greeting = bytes(range(96, 256)) * 4
    await model.speak(greeting)
    await harness.twilio.wait_for(lambda t: len(t.of_event("media")) == 4)
    played = b"".join(
        base64.b64decode(m["media"]["payload"]) for m in harness.twilio.of_event("media")
    )
    assert played == greeting
    harness.twilio.stop()
    await harness.done.wait()
    await model.closed.wait()
    assert harness.session is not None and harness.session.end_reason == "caller hung up"
    assert harness.session.end_cause is EndReason.CALLER_HUNG_UP
    assert harness.services.metrics.get("hotelvoice_calls_ended_total", reason="hung_up") == 1
    harness.model.assert_clean()


async def test_dropped_twilio_socket_ends_the_call_and_closes_the_model(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery)
    model = await harness.model.next_session()
    await model.expect("response.create")
    response = await model.start_response()
    await model.send_audio(b"\xff" * 800, response=response)
    harness.twilio.drop()  # mid-response, no stop
    await harness.done.wait()
    await model.closed.wait()
    assert harness.session is not None and harness.session.state == "ended"
    assert "media socket closed" in (harness.session.end_reason or "")


class SlowTools:
    """A registry whose one tool never answers: the call's tool deadline must."""

    def tools(self) -> Sequence[Mapping[str, Any]]:
        return [
            {
                "type": "function",
                "name": "slow",
                "description": "never answers",
                "parameters": {"type": "object", "properties": {}},
            }
        ]

    async def execute(self, call: ToolCall, context: CallContext) -> ToolOutcome:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_tool_deadline_returns_an_error_result_to_the_model(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery, tools=SlowTools())
    model = await harness.model.next_session()
    await model.expect("response.create")
    t0 = trio.current_time()
    call_id = await model.call_function("slow", {})
    output = await model.expect("conversation.item.create")
    assert trio.current_time() - t0 == pytest.approx(8.0)
    assert output["item"]["call_id"] == call_id
    assert "did not answer in time" in json.loads(output["item"]["output"])["error"]
    await model.expect("response.create")
    assert harness.session is not None and harness.session.state == "listening"
    harness.twilio.stop()


async def test_silence_reprompts_then_says_goodbye_and_hangs_up(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery)
    model = await harness.model.next_session()
    await model.expect("response.create")
    t0 = trio.current_time()
    reprompt = await model.expect("response.create")
    assert trio.current_time() - t0 == pytest.approx(12.0)
    assert reprompt["response"]["instructions"] == REPROMPT_INSTRUCTIONS
    goodbye = await model.expect("response.create")
    assert trio.current_time() - t0 == pytest.approx(24.0)
    assert goodbye["response"]["instructions"] == GOODBYE_INSTRUCTIONS
    await model.speak(b"\xff" * 1600)
    await harness.done.wait()
    assert harness.session is not None and harness.session.end_reason == "caller silent"
    assert harness.session.stats.marks_heard == 2  # a mark per 100 ms of audio


async def test_max_call_duration_then_goodbye_deadline(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    t0 = trio.current_time()
    harness = await start_call(
        make_harness, nursery, max_call_duration_s=60.0, silence_timeout_s=1000.0
    )
    model = await harness.model.next_session()
    await model.expect("response.create")
    goodbye = await model.expect("response.create")
    assert goodbye["response"]["instructions"] == GOODBYE_INSTRUCTIONS
    assert trio.current_time() - t0 == pytest.approx(60.0, abs=0.01)
    session = harness.session_now()  # the ending is a state, with its own deadline
    assert session.machine.closing is Closing.CLOSING
    assert session.next_deadline() == pytest.approx(t0 + 75.0, abs=0.01)
    await harness.done.wait()  # the goodbye never plays: hang up at its own deadline
    assert harness.ended_at is not None
    assert harness.ended_at - t0 == pytest.approx(75.0, abs=0.01)
    # The ended-calls metric is labelled from the reason the call began to end.
    assert session.end_cause is EndReason.MAX_DURATION
    assert session.end_reason == "maximum call duration reached"
    metrics = harness.services.metrics
    assert metrics.get("hotelvoice_calls_ended_total", reason="max_duration") == 1
    assert metrics.total("hotelvoice_invalid_call_events_total") == 0


async def test_interrupted_state_times_out_back_to_listening(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery, echo_marks=False, silence_timeout_s=1000.0)
    model = await harness.model.next_session()
    await model.expect("response.create")
    response = await model.start_response()
    await model.send_audio(b"\xff" * 480, response=response)
    await harness.twilio.wait_for(lambda t: len(t.of_event("media")) == 3)
    await model.speech_started()
    await harness.twilio.wait_for(lambda t: len(t.of_event("clear")) == 1)
    session = harness.session_now()
    assert session.state == "interrupted"
    await trio.sleep(19.9)
    assert session.state == "interrupted"
    await trio.sleep(0.2)
    assert session.state == "listening"
    harness.twilio.stop()


async def test_model_drop_reconnects_once_with_the_conversation_replayed(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery, max_model_reconnects=1)
    first = await harness.model.next_session()
    await first.expect("response.create")
    await first.input_transcript("Do you allow dogs?")
    await first.speak(b"\xff" * 160, transcript="Yes, dogs are welcome.")
    await first.close(1011)
    second = await harness.model.next_session()
    await second.expect("session.update")
    user = await second.expect("conversation.item.create")
    assistant = await second.expect("conversation.item.create")
    assert user["item"]["content"][0]["text"] == "Do you allow dogs?"
    assert assistant["item"]["content"][0]["text"] == "Yes, dogs are welcome."
    assert second.of_type("response.create") == []  # no second greeting
    harness.twilio.media(base64.b64encode(b"\x11" * 160).decode())
    await second.expect("input_audio_buffer.append")
    await second.close(1011)  # the one reconnect is spent: the TwiML tail takes over
    await harness.done.wait()
    assert harness.session is not None
    assert harness.session.stats.reconnects == 1
    assert "model unavailable" in (harness.session.end_reason or "")


async def test_bad_twilio_input_is_counted_and_the_call_goes_on(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery)
    model = await harness.model.next_session()
    await model.expect("response.create")
    twilio = harness.twilio
    twilio.push_raw("{not json")
    twilio.push_raw('{"event": "bogus"}')
    twilio.media("***not base64***")
    twilio.push_raw("x" * 100_000)
    twilio.media(base64.b64encode(b"\x11" * 45_000).decode())  # 5.6 s in one frame
    twilio.media(base64.b64encode(b"\x22" * 160).decode())
    append = await model.expect("input_audio_buffer.append")
    assert base64.b64decode(append["audio"]) == b"\x22" * 160  # the oversized one was dropped
    metrics = harness.services.metrics
    assert metrics.total("hotelvoice_twilio_bad_messages_total") == 5
    assert metrics.get("hotelvoice_twilio_bad_messages_total", kind="oversized_payload") == 1
    assert harness.session_now().state == "listening"
    twilio.stop()


async def test_model_garbage_is_counted_and_the_call_goes_on(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    harness = await start_call(make_harness, nursery)
    model = await harness.model.next_session()
    await model.expect("response.create")
    await model.send_raw("garbage")
    await model.send_raw('{"type": "response.output_audio.delta", "delta": 5}')
    await model.speak(b"\xff" * 160)
    await harness.twilio.wait_for(lambda t: len(t.of_event("media")) == 1)
    assert harness.services.metrics.total("hotelvoice_model_bad_events_total") == 2
    harness.twilio.stop()


async def test_transfer_waits_for_the_goodbye_at_most_its_deadline_then_for_the_hand_over(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rest = await start_rest(nursery)
    harness = await start_call(make_harness, nursery, rest=rest, transfer_timeout_s=15.0)
    model = await harness.model.next_session()
    await model.expect("response.create")
    await model.call_function("transfer_to_human", {"department": "front_desk", "reason": "x"})
    await model.expect("response.create")
    t0 = trio.current_time()
    response = await model.start_response()  # a goodbye that never finishes
    await model.send_audio(b"\xff" * 160, response=response)
    request = await rest.wait_for_request()
    assert trio.current_time() - t0 == pytest.approx(15.0, abs=0.01)
    assert "+15550000000" in request.form["Twiml"]
    # REST accepted, but Twilio never stops the stream: the hand-over deadline ends the call.
    await harness.done.wait()
    assert harness.ended_at is not None
    assert harness.ended_at - t0 == pytest.approx(30.0, abs=0.01)
    assert "transfer did not complete" in (harness.session_now().end_reason or "")


async def test_a_finished_call_is_freed_without_the_cycle_collector(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    # The server collects cycles rarely (hotelvoice.web.server): a call must not be in one.
    harness: Harness = await make_harness()
    sessions: list[weakref.ref[CallSession]] = []
    gc.collect()
    gc.disable()
    try:
        harness.twilio.start(harness.services.tokens.mint(CALL, trio.current_time()))
        async with trio.open_nursery() as call:

            async def serve() -> None:
                def started(session: CallSession) -> None:
                    sessions.append(weakref.ref(session))

                await serve_media_stream(harness.twilio, harness.services, on_start=started)

            call.start_soon(serve)
            model = await harness.model.next_session()
            await model.expect("response.create")
            await model.speak(b"\xff" * 800)
            await harness.twilio.wait_for(lambda t: len(t.of_event("media")) > 0)
            harness.twilio.stop()
        await model.closed.wait()
        assert len(sessions) == 1
        assert sessions[0]() is None
    finally:
        gc.enable()
