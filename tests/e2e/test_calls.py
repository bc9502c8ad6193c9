"""End to end on loopback: Twilio's webhook and media stream against the real app under
Hypercorn, bridged to a scripted fake Realtime server; transfers through a fake Twilio REST.

Every client event the bridge sends is validated by the fake against openai's GA models, and
every message the app sends Twilio against Twilio's documented shapes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TypedDict

import pytest
import trio
from trio_websocket import ConnectionRejected

from hotelvoice.hotel.store import Store
from tests.e2e.conftest import ACCOUNT_SID, FRONT_DESK, PUBLIC_URL, Stack, expect_tool_output
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_webhook import inbound_call_form, parse_stream_twiml, signed_webhook

TIMEOUT = 15


def tagged(tag: int, nbytes: int) -> bytes:
    """Audio whose bytes say where it came from, so a mix-up cannot go unnoticed."""
    return bytes((tag * 7 + i) % 256 for i in range(nbytes))


class _Tampering(TypedDict, total=False):
    """How FakeTwilioCall.connect spoils the stream's signature."""

    bad_signature: bool
    sign: bool


async def test_webhook_answers_a_stream_with_a_token_and_a_fallback_tail(stack: Stack) -> None:
    call_sid = new_sid("CA")
    form = inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID)
    answer = await stack.webhook(form)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    twiml = parse_stream_twiml(answer.text)
    assert twiml.stream_url == "wss://hotel.example.com/twilio/media"
    assert twiml.status_callback == f"{PUBLIC_URL}/twilio/stream-status"
    assert twiml.parameters["CallSid"] == call_sid
    assert twiml.parameters["From"] == form["From"]
    assert twiml.parameters["To"] == form["To"]
    assert len(twiml.parameters["token"]) >= 20
    assert [verb for verb, _ in twiml.tail] == ["Say", "Dial"]
    assert twiml.tail[1][1] == FRONT_DESK


async def test_bad_signatures_are_refused_everywhere(stack: Stack) -> None:
    form = inbound_call_form(account_sid=ACCOUNT_SID)
    assert (await stack.webhook(form, signed=False)).status_code == 403
    tampered_headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", "wrong-token", form)
    response = await stack.http.post("/twilio/voice", data=fields, headers=tampered_headers)
    assert response.status_code == 403
    status = await stack.http.post("/twilio/stream-status", data={"StreamEvent": "stream-started"})
    assert status.status_code == 403
    for options in (_Tampering(bad_signature=True), _Tampering(sign=False)):
        with pytest.raises(ConnectionRejected) as refused:
            async with FakeTwilioCall.connect(
                stack.ws_url, public_url=PUBLIC_URL, auth_token="x", **options
            ):
                pass
        assert refused.value.status_code == 403
    assert stack.metrics.total("hotelvoice_signature_failures_total") == 5
    assert stack.model.sessions == []


async def test_signed_stream_status_callback_is_accepted(stack: Stack) -> None:
    form = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": new_sid("CA"),
        "StreamSid": new_sid("MZ"),
        "StreamEvent": "stream-error",
        "StreamError": "boom",
        "Timestamp": "2026-11-25T12:00Z",
    }
    headers, fields = signed_webhook(
        PUBLIC_URL, "/twilio/stream-status", "twilio-auth-token-for-tests", form
    )
    response = await stack.http.post("/twilio/stream-status", data=fields, headers=headers)
    assert response.status_code == 204


async def test_stream_token_is_single_use(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            replay_parameters = call.parameters
            async with FakeTwilioCall.connect(
                stack.ws_url,
                public_url=PUBLIC_URL,
                auth_token="twilio-auth-token-for-tests",
                call_sid=call.call_sid,
                account_sid=ACCOUNT_SID,
                parameters=replay_parameters,
            ) as replay:
                await replay.start()
                assert await replay.wait_closed_by_server() == 1000
            assert len(stack.model.sessions) == 1
            assert stack.metrics.get("hotelvoice_stream_token_failures_total", reason="used") == 1
            await call.hang_up()


async def test_greeting_and_audio_pass_through_unchanged_both_ways(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            update = await model.expect("session.update")
            session = update["session"]
            assert session["type"] == "realtime"
            assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
            assert session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
            assert session["audio"]["input"]["turn_detection"]["interrupt_response"] is True
            assert {tool["name"] for tool in session["tools"]} >= {"transfer_to_human"}
            assert model.headers["authorization"] == "Bearer sk-test"
            await model.expect("response.create")  # the model greets first
            caller = b"".join(tagged(i, 160) for i in range(10))
            for i in range(10):
                await call.send_media(caller[i * 160 : (i + 1) * 160])
            greeting = tagged(99, 1600)
            await model.speak(greeting)
            await call.wait_for_media(len(greeting))
            assert bytes(call.media_out) == greeting
            while len(model.audio_in) < len(caller):
                await model.expect("input_audio_buffer.append")
            assert bytes(model.audio_in) == caller
            await call.hang_up()
            await model.closed.wait()
        call.assert_clean()
        stack.model.assert_clean()
    await stack.wait_idle()


async def test_barge_in_clears_twilio_and_truncates_to_what_was_heard(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial(auto_mark="manual") as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            response = await model.start_response()
            # 300 ms in 20 ms deltas: a mark after every 100 ms of audio.
            await model.send_audio(tagged(1, 2400), response=response)
            await call.wait_for(lambda c: len(c.pending_marks) == 3)
            await call.echo_marks(1)  # the caller heard the first 100 ms
            await model.speech_started()
            await call.wait_for(lambda c: c.clears == 1)
            truncate = await model.expect("conversation.item.truncate")
            assert truncate["item_id"] == response.item_id
            assert truncate["audio_end_ms"] == 100
            assert len(call.marks_flushed) == 2
            # A late delta of the cut item must not reach the caller.
            late = {
                "type": "response.output_audio.delta",
                "response_id": response.response_id,
                "item_id": response.item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": base64.b64encode(tagged(2, 160)).decode(),
            }
            await model.send(late)
            before = len(call.media_out)
            await model.speak(tagged(3, 160))
            await call.wait_for_media(before + 160)
            assert bytes(call.media_out[before:]) == tagged(3, 160)
            await call.hang_up()
        stack.model.assert_clean()
        call.assert_clean()


async def test_tool_round_trip(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            call_id = await model.call_function("get_hotel_info", {"topic": "check_in"})
            created = await expect_tool_output(model)
            assert created["item"]["type"] == "function_call_output"
            assert created["item"]["call_id"] == call_id
            assert "Check-in is from" in json.loads(created["item"]["output"])["answer"]
            await model.expect("response.create")
            await call.hang_up()
        stack.model.assert_clean()


async def test_transfer_plays_the_goodbye_then_updates_the_call(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial(auto_mark="realtime", playback_speed=4.0) as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            await model.call_function(
                "transfer_to_human", {"department": "housekeeping", "reason": "towels"}
            )
            await expect_tool_output(model)
            await model.expect("response.create")
            goodbye = tagged(5, 1600)
            await model.speak(goodbye)
            request = await stack.rest.wait_for_request()
            assert bytes(call.played) == goodbye  # the goodbye finished before the transfer
            assert request.call_sid == call.call_sid
            assert "<Dial" in request.form["Twiml"] and "+15550000001" in request.form["Twiml"]
            await stack.wait_metric("hotelvoice_transfers_total", 1, outcome="handed_over")
            await call.hang_up()  # Twilio stops the stream once the call is redirected


async def test_failed_transfer_closes_the_stream_so_twiml_dials_the_front_desk(
    stack: Stack,
) -> None:
    stack.rest.fail_with = 500
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            await model.call_function(
                "transfer_to_human", {"department": "front_desk", "reason": "x"}
            )
            await model.expect("response.create")
            await model.speak(tagged(6, 320))
            assert await call.wait_closed_by_server() == 1000
    assert stack.metrics.get("hotelvoice_transfers_total", outcome="failed") == 1


async def test_caller_hangs_up_mid_response(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            response = await model.start_response()
            await model.send_audio(tagged(7, 800), response=response)
            await call.wait_for_media(160)
            await call.drop()
        await model.closed.wait()
        await stack.wait_idle()


@pytest.mark.settings(max_model_reconnects=1, model_setup_timeout_s=30.0)
async def test_model_drops_reconnect_ask_again_then_the_offline_engine_takes_over(
    stack: Stack,
) -> None:
    with trio.fail_after(60):  # the offline engine's speech loads on this first fallback
        async with stack.dial() as call:
            first = await stack.model.next_session()
            await first.expect("response.create")
            response = await first.start_response()
            await first.send_audio(tagged(8, 480), response=response)
            await call.wait_for_media(160)
            await first.close(1011)  # mid-answer
            second = await stack.model.next_session()
            await second.expect("session.update")
            await second.expect("response.create")  # the cut-off answer, asked for again
            await second.speak(tagged(9, 800))
            await call.wait_for_media(480 + 800)
            heard = len(call.media_out)
            await second.close(1011)  # the budget is spent: the offline engine answers
            await stack.wait_metric(
                "hotelvoice_model_fallbacks_total", 1, reason="reconnects_exhausted"
            )
            await call.wait_for_media(heard + 8000)  # its apology: a second of it at least
            while True:  # until it has said all of it
                before = len(call.media_out)
                await trio.sleep(1.0)
                if len(call.media_out) == before:
                    break
            assert not call.closed_by_server
            await call.hang_up()
        await stack.wait_idle()
    stack.model.assert_clean()
    with Store.open(Path(stack.settings.db_path)) as store:
        record = store.call_record(call.call_sid)
    assert record is not None and record.end_reason == "caller hung up"
    said = [turn.text for turn in record.turns if turn.role == "assistant"]
    assert said[-1].startswith("Sorry, one moment."), said  # one apology, no new greeting


async def test_bad_input_is_survived_and_other_calls_are_undisturbed(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as bad, stack.dial() as good:
            bad_model = await stack.model.next_session()
            good_model = await stack.model.next_session()
            await bad_model.expect("response.create")
            await good_model.expect("response.create")
            for garbage in ("{", "[]", '{"event":"media"}', '{"event":"nope"}', "x" * 70_000):
                await bad.send_raw(garbage)
            await bad.send_raw(
                json.dumps(
                    {
                        "event": "media",
                        "streamSid": bad.stream_sid,
                        "sequenceNumber": "9",
                        "media": {"payload": "%%%"},
                    }
                )
            )
            await bad.send_raw(
                json.dumps(
                    {
                        "event": "media",
                        "streamSid": "MZ" + "9" * 32,
                        "sequenceNumber": "10",
                        "media": {
                            "track": "inbound",
                            "chunk": "1",
                            "timestamp": "0",
                            "payload": "AAAA",
                        },
                    }
                )
            )
            await bad_model.send_raw("not json at all")
            for i in range(5):
                await good.send_media(tagged(20 + i, 160))
                await bad.send_media(tagged(40 + i, 160))
            await good_model.speak(tagged(60, 320))
            await bad_model.speak(tagged(61, 320))
            await good.wait_for_media(320)
            await bad.wait_for_media(320)
            assert bytes(good.media_out) == tagged(60, 320)
            assert bytes(bad.media_out) == tagged(61, 320)
            while len(good_model.audio_in) < 800:
                await good_model.expect("input_audio_buffer.append")
            while len(bad_model.audio_in) < 800:
                await bad_model.expect("input_audio_buffer.append")
            assert bytes(good_model.audio_in) == b"".join(tagged(20 + i, 160) for i in range(5))
            assert bytes(bad_model.audio_in) == b"".join(tagged(40 + i, 160) for i in range(5))
            await bad.hang_up()
            await good.hang_up()
    assert stack.metrics.total("hotelvoice_twilio_bad_messages_total") == 7
    assert stack.metrics.total("hotelvoice_model_bad_events_total") == 1


async def test_health_and_metrics(stack: Stack) -> None:
    health = await stack.http.get("/healthz")
    assert health.json() == {
        "status": "ok",
        "version": "0.1.0",
        "backend": "openai+local",
        "calls_active": 0,
    }
    await stack.webhook(inbound_call_form(account_sid=ACCOUNT_SID))
    metrics = (await stack.http.get("/metrics")).text
    assert 'hotelvoice_webhooks_total{outcome="stream"} 1' in metrics
    assert "# TYPE hotelvoice_webhooks_total counter" in metrics
    assert "twilio-auth-token-for-tests" not in metrics


@pytest.mark.settings(silence_timeout_s=0.2, goodbye_timeout_s=5.0)
async def test_silent_caller_gets_a_reprompt_a_goodbye_and_a_rest_hang_up(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial(auto_mark="realtime", playback_speed=8.0) as call:
            model = await stack.model.next_session()
            await model.expect("response.create")  # greeting
            reprompt = await model.expect("response.create")
            assert "silent" in reprompt["response"]["instructions"]
            goodbye = await model.expect("response.create")
            assert "goodbye" in goodbye["response"]["instructions"]
            await model.speak(tagged(11, 800))
            request = await stack.rest.wait_for_request()
            assert request.form == {"Status": "completed"}
            assert request.call_sid == call.call_sid
            assert bytes(call.played) == tagged(11, 800)  # the goodbye was heard in full
            assert await call.wait_closed_by_server() == 1000
