"""CallSession, sans-IO: Twilio messages and model events in, actions out, no sockets."""

from __future__ import annotations

import base64
import json
from typing import Any

import attrs
import pytest

from hotelvoice.calls.machine import EndReason, TransferPhase
from hotelvoice.calls.ports import ToolOutcome, TransferRequest
from hotelvoice.calls.session import (
    GOODBYE_INSTRUCTIONS,
    HAND_OVER_INSTRUCTIONS,
    HAND_OVER_LINE,
    MAX_BACKLOG_APPEND_FRAMES,
    REPROMPT_INSTRUCTIONS,
    Action,
    CallSession,
    HangUp,
    ReconnectModel,
    RunTool,
    ToModel,
    ToTwilio,
    TransferCall,
)
from hotelvoice.config import Settings
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw
from tests.calls.test_machine import transfer_phase_of

SID = "MZ" + "0" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def media(payload: bytes, stream_sid: str = SID) -> tw.Media:
    return tw.Media(1, stream_sid, "inbound", 1, 0, b64(payload))


def model_texts(actions: list[Action]) -> list[dict[str, Any]]:
    return [json.loads(a.text) for a in actions if isinstance(a, ToModel)]


def twilio_texts(actions: list[Action]) -> list[dict[str, Any]]:
    return [json.loads(a.text) for a in actions if isinstance(a, ToTwilio)]


def make(clock: Clock | None = None, **overrides: Any) -> CallSession:
    settings = attrs.evolve(Settings(), **overrides)
    return CallSession(call_sid="CA1", stream_sid=SID, settings=settings, clock=clock or Clock())


def ready(session: CallSession) -> list[Action]:
    return session.on_model(rt.SessionUpdated({}))


def delta(data: bytes, item: str = "item_1", response: str = "resp_1") -> rt.AudioDelta:
    return rt.AudioDelta(response, item, b64(data))


def speak(session: CallSession, data: bytes, item: str = "item_1") -> list[Action]:
    session.on_model(rt.ResponseCreated("resp_1"))
    return session.on_model(delta(data, item))


def marks(actions: list[Action]) -> list[str]:
    return [m["mark"]["name"] for m in twilio_texts(actions) if m["event"] == "mark"]


def test_greets_first_then_flushes_audio_buffered_while_connecting() -> None:
    session = make()
    assert session.on_twilio(media(b"\x01" * 160)) == []
    assert session.on_twilio(media(b"\x02" * 160)) == []
    actions = ready(session)
    events = model_texts(actions)
    assert events[0] == {"type": "response.create"}
    # One append for the whole backlog: it reaches the model at once, not a send apart each.
    assert [e["type"] for e in events[1:]] == ["input_audio_buffer.append"]
    assert base64.b64decode(events[1]["audio"]) == b"\x01" * 160 + b"\x02" * 160
    assert session.state == "listening"
    assert session.stats.frames_buffered == 2


def test_a_long_backlog_goes_out_in_appends_of_at_most_a_second() -> None:
    frames = MAX_BACKLOG_APPEND_FRAMES * 2 + 3
    session = make(inbound_buffer_frames=frames)
    for i in range(frames):
        session.on_twilio(media(bytes([i % 256]) * 160))
    appends = [base64.b64decode(e["audio"]) for e in model_texts(ready(session))[1:]]
    assert [len(a) // 160 for a in appends] == [MAX_BACKLOG_APPEND_FRAMES] * 2 + [3]
    assert b"".join(appends) == b"".join(bytes([i % 256]) * 160 for i in range(frames))


def test_inbound_buffer_is_bounded_and_keeps_the_newest_audio() -> None:
    session = make(inbound_buffer_frames=3)
    for i in range(5):
        session.on_twilio(media(bytes([i]) * 160))
    (event,) = model_texts(ready(session))[1:]
    assert base64.b64decode(event["audio"])[::160] == bytes([2, 3, 4])
    assert session.stats.frames_dropped == 2


def test_inbound_passthrough_is_untouched_and_wrong_stream_dropped() -> None:
    session = make()
    ready(session)
    frame = media(bytes(range(160)))
    (action,) = session.on_twilio(frame)
    assert isinstance(action, ToModel)
    assert json.loads(action.text) == {"type": "input_audio_buffer.append", "audio": frame.payload}
    assert session.on_twilio(media(b"\x00" * 160, stream_sid="MZother")) == []
    assert session.stats.problems["wrong_stream_sid"] == 1


def test_outbound_frames_pass_through_with_a_unique_mark_each() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    audio = bytes(range(160))
    actions = speak(session, audio)
    sent = twilio_texts(actions)
    assert sent[0] == {"event": "media", "streamSid": SID, "media": {"payload": b64(audio)}}
    assert sent[1]["event"] == "mark" and sent[1]["streamSid"] == SID
    assert session.state == "speaking"
    more = session.on_model(delta(audio))
    assert len(set(marks(actions) + marks(more))) == 2


def test_odd_deltas_are_coalesced_into_160_byte_multiples() -> None:
    session = make()
    ready(session)
    session.on_model(rt.ResponseCreated("resp_1"))
    sizes = []
    for piece in (b"a" * 100, b"b" * 100, b"c" * 2000):
        for message in twilio_texts(session.on_model(delta(piece))):
            if message["event"] == "media":
                sizes.append(len(base64.b64decode(message["media"]["payload"])))
    assert all(size % 160 == 0 and size <= 800 for size in sizes)
    assert sum(sizes) == 2080  # 120 bytes wait for the end of the item
    tail = twilio_texts(session.on_model(rt.AudioDone("resp_1", "item_1")))
    assert len(base64.b64decode(tail[0]["media"]["payload"])) == 120
    assert session.ledger.sent_ms("item_1") == 2200 // 8


def test_playback_done_when_the_last_mark_echoes_after_the_response() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    names = marks(speak(session, b"\x00" * 320))
    session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    assert session.state == "speaking"  # Twilio is still playing
    session.on_twilio(tw.MarkEcho(2, SID, names[0]))
    assert session.state == "listening"


def test_the_models_own_goodbye_plays_then_the_call_hangs_up() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    names = marks(speak(session, b"\x00" * 320))
    bye = rt.ResponseDone("resp_1", "completed", None, (), None, end_call=True)
    assert session.on_model(bye) == []  # Twilio is still playing it
    (hang_up,) = session.on_twilio(tw.MarkEcho(2, SID, names[0]))
    assert hang_up == HangUp(EndReason.GOODBYE_PLAYED)


def test_a_goodbye_cut_short_by_the_caller_does_not_end_the_call() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    names = marks(speak(session, b"\x00" * 320))
    cut = rt.ResponseDone("resp_1", "cancelled", "turn_detected", (), None, end_call=True)
    session.on_model(cut)
    assert not [
        a for a in session.on_twilio(tw.MarkEcho(2, SID, names[0])) if isinstance(a, HangUp)
    ]
    assert session.state == "listening"


def test_the_end_call_convention_is_read_from_the_responses_metadata() -> None:
    done = {"type": "response.done", "event_id": "e1"}
    response = {"object": "realtime.response", "id": "resp_1", "status": "completed"}
    plain = rt.parse_server_event(json.dumps({**done, "response": response}))
    bye = rt.parse_server_event(
        json.dumps({**done, "response": {**response, "metadata": {rt.END_CALL_METADATA: "true"}}})
    )
    assert isinstance(plain, rt.ResponseDone) and not plain.end_call
    assert isinstance(bye, rt.ResponseDone) and bye.end_call


def test_barge_in_clears_truncates_at_heard_ms_and_drops_late_deltas() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    names = []
    session.on_model(rt.ResponseCreated("resp_1"))
    for _ in range(3):
        names += marks(session.on_model(delta(b"\x00" * 160)))
    session.on_twilio(tw.MarkEcho(2, SID, names[0]))
    actions = session.on_model(rt.SpeechStarted("item_user", 500))
    assert twilio_texts(actions) == [{"event": "clear", "streamSid": SID}]
    assert model_texts(actions) == [
        {
            "type": "conversation.item.truncate",
            "item_id": "item_1",
            "content_index": 0,
            "audio_end_ms": 20,
        }
    ]
    assert session.state == "interrupted"
    assert session.on_model(delta(b"\x00" * 160)) == []  # late delta of the cut item
    assert session.stats.late_deltas_dropped == 1
    for name in names[1:]:
        session.on_twilio(tw.MarkEcho(3, SID, name))
    assert session.stats.marks_flushed == 2 and session.ledger.heard_ms("item_1") == 20
    session.on_model(rt.SpeechStopped("item_user", 900))
    assert session.state == "listening"
    assert session.stats.barge_ins == 1 and session.stats.truncations == 1


def test_barge_in_with_nothing_heard_clears_without_truncate() -> None:
    session = make()
    ready(session)
    speak(session, b"\x00" * 160)
    actions = session.on_model(rt.SpeechStarted("item_user", 0))
    assert twilio_texts(actions) == [{"event": "clear", "streamSid": SID}]
    assert model_texts(actions) == []


def test_speech_with_nothing_playing_sends_nothing() -> None:
    session = make()
    ready(session)
    assert session.on_model(rt.SpeechStarted("item_user", 0)) == []
    assert session.state == "listening"


def function_call(
    session: CallSession, name: str, args: str, call_id: str = "call_1"
) -> list[Action]:
    session.on_model(rt.ResponseCreated("resp_t"))
    return session.on_model(rt.FunctionCallArgumentsDone("resp_t", "item_f", call_id, name, args))


def test_tool_round_trip_sends_output_then_one_response_create_after_response_done() -> None:
    session = make()
    ready(session)
    actions = function_call(session, "get_hotel_info", '{"topic":"pets"}')
    (run,) = actions
    assert isinstance(run, RunTool) and run.call.name == "get_hotel_info"
    assert session.state == "calling_tool"
    # The same call_id again (e.g. output_item.done handled too) never runs twice.
    again = rt.FunctionCallArgumentsDone("resp_t", "item_f", "call_1", "get_hotel_info", "{}")
    assert session.on_model(again) == []
    result = session.on_tool_result("call_1", ToolOutcome('{"answer":"yes"}'))
    assert model_texts(result) == [
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": '{"answer":"yes"}',
            },
        }
    ]
    done = session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    assert model_texts(done) == [{"type": "response.create"}]
    assert session.state == "listening"


def test_name_comes_from_output_item_added_when_done_lacks_it() -> None:
    session = make()
    ready(session)
    item = {"type": "function_call", "call_id": "call_9", "name": "get_hotel_info"}
    session.on_model(rt.OutputItemAdded("resp_t", item))
    actions = session.on_model(rt.FunctionCallArgumentsDone("resp_t", "i", "call_9", None, "{}"))
    assert isinstance(actions[0], RunTool) and actions[0].call.name == "get_hotel_info"


def test_transfer_waits_for_the_goodbye_then_transfers() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    function_call(session, "transfer_to_human", '{"department":"front_desk"}')
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    request = TransferRequest(number="+15550001111", department="front_desk")
    actions = session.on_tool_result("call_1", ToolOutcome('{"status":"transferring"}', request))
    assert model_texts(actions)[-1] == {"type": "response.create"}
    assert session.state == "transferring"
    session.on_model(rt.ResponseCreated("resp_bye"))
    names = marks(session.on_model(delta(b"\x00" * 160, item="item_bye", response="resp_bye")))
    assert session.on_model(rt.ResponseDone("resp_bye", "completed", None, (), None)) == []
    # Barge-in is not honoured during the goodbye of a transfer.
    assert session.on_model(rt.SpeechStarted("u", 0)) == []
    (transfer,) = session.on_twilio(tw.MarkEcho(4, SID, names[0]))
    assert transfer == TransferCall(request)
    assert session.on_transfer_result(True) == []
    session.on_twilio(tw.Stop(5, SID, "AC1", "CA1"))
    assert session.ended and session.end_reason == "transferred"


def test_failed_transfer_ends_the_stream_for_the_twiml_fallback() -> None:
    session = make()
    ready(session)
    function_call(session, "transfer_to_human", "{}")
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    session.on_tool_result("call_1", ToolOutcome("{}", TransferRequest("+1555", "front_desk")))
    session.on_model(rt.ResponseCreated("resp_bye"))
    (transfer,) = session.on_model(rt.ResponseDone("resp_bye", "completed", None, (), None))
    assert isinstance(transfer, TransferCall)
    session.on_transfer_result(False)
    assert session.ended and "transfer failed" in (session.end_reason or "")


def test_setup_deadline_ends_the_call() -> None:
    clock = Clock()
    session = make(clock, model_setup_timeout_s=5.0)
    assert session.next_deadline() == 105.0
    clock.now = 105.0
    assert session.on_deadline() == []
    assert session.ended and session.end_reason == "model setup timed out"


def test_silence_reprompts_once_then_says_goodbye_and_hangs_up() -> None:
    clock = Clock()
    session = make(clock, silence_timeout_s=10.0, goodbye_timeout_s=15.0, mark_interval_ms=20)
    ready(session)
    clock.now = session.next_deadline()
    assert clock.now == 110.0
    reprompt = model_texts(session.on_deadline())
    assert reprompt == [
        {"type": "response.create", "response": {"instructions": REPROMPT_INSTRUCTIONS}}
    ]
    assert session.next_deadline() == 120.0
    clock.now = 120.0
    goodbye = model_texts(session.on_deadline())
    assert goodbye[0]["response"]["instructions"] == GOODBYE_INSTRUCTIONS
    names = marks(speak(session, b"\x00" * 160, item="item_bye"))
    session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    (hang_up,) = session.on_twilio(tw.MarkEcho(9, SID, names[0]))
    assert hang_up == HangUp(EndReason.GOODBYE_PLAYED) and hang_up.reason.text == "goodbye played"
    assert session.next_deadline() == float("inf")  # no second hang-up


def test_caller_speech_resets_the_reprompt() -> None:
    clock = Clock()
    session = make(clock, silence_timeout_s=10.0)
    ready(session)
    clock.now = 110.0
    session.on_deadline()
    session.on_model(rt.SpeechStarted("u", 0))
    session.on_model(rt.SpeechStopped("u", 10))
    clock.now = session.next_deadline()
    assert (
        model_texts(session.on_deadline())[0]["response"]["instructions"] == REPROMPT_INSTRUCTIONS
    )


def test_goodbye_that_never_plays_hangs_up_at_its_deadline() -> None:
    clock = Clock()
    session = make(clock, max_call_duration_s=60.0, goodbye_timeout_s=15.0)
    ready(session)
    clock.now = 160.0
    assert model_texts(session.on_deadline())[0]["response"]["instructions"] == GOODBYE_INSTRUCTIONS
    assert session.next_deadline() == 175.0
    clock.now = 175.0
    (hang_up,) = session.on_deadline()
    assert hang_up == HangUp(EndReason.GOODBYE_TIMEOUT)
    assert hang_up.reason.text == "goodbye did not finish in time"


def test_model_lost_reconnects_once_and_replays_the_conversation() -> None:
    session = make(max_model_reconnects=1)
    ready(session)
    session.on_model(rt.InputTranscriptCompleted("u1", "Do you take dogs?"))
    session.on_model(rt.OutputTranscriptDone("r1", "a1", "Yes, small dogs."))
    (reconnect,) = session.on_model_lost("closed (1006)")
    assert isinstance(reconnect, ReconnectModel)
    assert session.state == "connecting"
    session.on_twilio(media(b"\x05" * 160))
    replay = model_texts(ready(session))
    assert replay[0] == rt.user_text_item("Do you take dogs?")
    assert replay[1] == rt.assistant_text_item("Yes, small dogs.")
    assert replay[2]["type"] == "input_audio_buffer.append"
    assert {"type": "response.create"} not in replay  # no second greeting
    assert session.on_model_lost("closed (1006)") == []
    assert session.ended and "model unavailable" in (session.end_reason or "")


@pytest.mark.parametrize(
    ("code", "ends"),
    [
        ("conversation_already_has_active_response", False),
        ("response_cancel_not_active", False),
        ("invalid_value", False),
        ("insufficient_quota", True),
    ],
)
def test_model_errors(code: str, ends: bool) -> None:
    session = make()
    ready(session)
    session.on_model(rt.RealtimeError(code, "msg", "invalid_request_error", None, None))
    assert session.ended is ends


def test_any_error_during_setup_is_fatal() -> None:
    session = make()
    session.on_model(
        rt.RealtimeError("unknown_parameter", "bad", "invalid_request_error", None, None)
    )
    assert session.ended


def test_stop_ends_the_call_and_nothing_happens_after() -> None:
    session = make()
    ready(session)
    session.on_twilio(tw.Stop(3, SID, "AC1", "CA1"))
    assert session.ended and session.end_reason == "caller hung up"
    assert session.on_twilio(media(b"\x00" * 160)) == []
    assert session.on_model(delta(b"\x00" * 160)) == []
    assert session.next_deadline() == float("inf")


def test_replay_skips_a_function_call_whose_result_never_came() -> None:
    session = make()
    ready(session)
    function_call(session, "get_hotel_info", '{"topic":"pets"}', call_id="call_done")
    session.on_tool_result("call_done", ToolOutcome('{"answer":"yes"}'))
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    function_call(session, "get_hotel_info", '{"topic":"location"}', call_id="call_lost")
    (reconnect,) = session.on_model_lost("closed (1006)")
    assert isinstance(reconnect, ReconnectModel)
    replay = model_texts(ready(session))
    call_ids = [e["item"].get("call_id") for e in replay if "item" in e]
    assert call_ids == ["call_done", "call_done"]  # the call and its output, nothing of call_lost
    assert replay[-1] == {"type": "response.create"}  # the question the lost tool served
    assert session.on_tool_result("call_lost", ToolOutcome("{}")) == []  # too late: dropped


def test_messages_for_another_stream_are_dropped() -> None:
    session = make()
    ready(session)
    assert session.on_twilio(tw.Stop(3, "MZother", "AC1", "CA1")) == []
    assert session.on_twilio(tw.MarkEcho(4, "MZother", "m1")) == []
    assert not session.ended
    assert session.stats.problems["wrong_stream_sid"] == 2


def test_marks_every_100_ms_of_audio_and_at_the_end_of_each_item() -> None:
    session = make()  # mark_interval_ms=100 by default
    ready(session)
    session.on_model(rt.ResponseCreated("resp_1"))
    per_delta = [marks(session.on_model(delta(b"\x00" * 160))) for _ in range(7)]
    assert [len(m) for m in per_delta] == [0, 0, 0, 0, 1, 0, 0]
    assert session.ledger.outstanding  # the last 40 ms are sent but not yet marked
    tail = marks(session.on_model(rt.AudioDone("resp_1", "item_1")))
    assert len(tail) == 1
    session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    session.on_twilio(tw.MarkEcho(2, SID, per_delta[4][0]))
    assert session.state == "speaking"
    session.on_twilio(tw.MarkEcho(3, SID, tail[0]))
    assert session.state == "listening"


def test_barge_in_with_unmarked_audio_still_clears_and_truncates_at_marked_ms() -> None:
    session = make()
    ready(session)
    session.on_model(rt.ResponseCreated("resp_1"))
    first = []
    for _ in range(7):
        first += marks(session.on_model(delta(b"\x00" * 160)))
    session.on_twilio(tw.MarkEcho(2, SID, first[0]))  # 100 ms heard; 40 ms sent, unmarked
    actions = session.on_model(rt.SpeechStarted("item_user", 0))
    assert twilio_texts(actions) == [{"event": "clear", "streamSid": SID}]
    assert model_texts(actions)[0]["audio_end_ms"] == 100
    assert not session.ledger.outstanding


def test_context_items_go_before_the_greeting_and_are_replayed_on_reconnect() -> None:
    note = rt.system_text_item("This is a returning caller: Ada.")
    settings = attrs.evolve(Settings())
    session = CallSession(
        call_sid="CA1", stream_sid=SID, settings=settings, clock=Clock(), context_items=[note]
    )
    first = model_texts(ready(session))
    assert first[0] == note
    assert first[1] == {"type": "response.create"}
    assert any(isinstance(a, ReconnectModel) for a in session.on_model_lost("dropped"))
    replay = model_texts(ready(session))
    assert replay[0] == note
    assert {"type": "response.create"} not in replay  # no second greeting


def test_model_lost_during_the_transfers_goodbye_transfers_and_times_the_hand_over() -> None:
    clock = Clock()
    session = make(clock, transfer_timeout_s=15.0)
    ready(session)
    function_call(session, "transfer_to_human", "{}")
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    request = TransferRequest("+1555", "front_desk")
    session.on_tool_result("call_1", ToolOutcome("{}", request))
    assert session.machine.transfer_phase is TransferPhase.PLAYBACK
    assert session.next_deadline() == 115.0
    clock.now = 107.0
    assert session.on_model_lost("closed (1006)") == [TransferCall(request)]
    assert transfer_phase_of(session.machine) is TransferPhase.REST
    assert session.next_deadline() == 122.0  # the REST phase has its own deadline
    assert session.on_transfer_result(True) == []
    assert transfer_phase_of(session.machine) is TransferPhase.HANDED_OVER
    clock.now = 122.0
    assert session.on_deadline() == []
    assert session.ended and session.end_reason == "transfer did not complete in time"
    assert session.end_cause is EndReason.TRANSFER_TIMEOUT


def test_a_truncation_confirmed_by_the_model_changes_nothing() -> None:
    session = make()
    ready(session)
    speak(session, b"\x00" * 160)
    assert session.on_model(rt.ItemTruncated("item_1", 10)) == []
    assert session.state == "speaking"


# --- shutting down (web/drain.py)

DESK = "+15550000000"
HAND_OVER = {"type": "response.create", "response": {"instructions": HAND_OVER_INSTRUCTIONS}}


def test_hand_over_apologises_then_transfers_to_the_front_desk() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    assert HAND_OVER_LINE in HAND_OVER_INSTRUCTIONS
    assert model_texts(session.hand_over(DESK)) == [HAND_OVER]
    assert session.state == "transferring" and session.machine.draining
    session.on_model(rt.ResponseCreated("resp_sorry"))
    names = marks(session.on_model(delta(b"\x00" * 160, item="item_sorry", response="resp_sorry")))
    assert session.on_model(rt.ResponseDone("resp_sorry", "completed", None, (), None)) == []
    assert session.on_model(rt.SpeechStarted("u", 0)) == []  # no barge-in on the apology
    (transfer,) = session.on_twilio(tw.MarkEcho(4, SID, names[0]))
    assert transfer == TransferCall(
        TransferRequest(number=DESK, department="front_desk", reason="the service is restarting")
    )
    assert session.on_transfer_result(True) == []
    session.on_twilio(tw.Stop(5, SID, "AC1", "CA1"))
    assert session.ended and session.end_reason == "handed over at shutdown"
    assert session.end_cause is EndReason.DRAINED
    assert session.metrics.get("hotelvoice_transfers_total", outcome="requested") == 1
    assert session.hand_over(DESK) == []  # over: nothing more


def test_hand_over_waits_for_the_answer_being_generated() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    session.on_model(rt.ResponseCreated("resp_1"))
    answer = marks(session.on_model(delta(b"\x00" * 160)))
    assert session.hand_over(DESK) == []  # a second response.create would be refused now
    assert session.state == "transferring"
    assert session.hand_over(DESK) == []  # asked twice: once is enough
    done = session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    assert model_texts(done) == [HAND_OVER]
    # The answer's end is not the apology: the transfer waits for the apology to play.
    assert not [a for a in done if isinstance(a, TransferCall)]
    session.on_model(rt.ResponseCreated("resp_sorry"))
    names = marks(session.on_model(delta(b"\x00" * 160, item="item_sorry", response="resp_sorry")))
    session.on_model(rt.ResponseDone("resp_sorry", "completed", None, (), None))
    heard = [*answer, *marks(done), *names]
    actions = [a for name in heard for a in session.on_twilio(tw.MarkEcho(9, SID, name))]
    assert [a for a in actions if isinstance(a, TransferCall)]
    assert session.metrics.get("hotelvoice_transfers_total", outcome="requested") == 1


def test_hand_over_while_the_model_connects_transfers_at_once() -> None:
    session = make()
    (transfer,) = session.hand_over(DESK)
    assert isinstance(transfer, TransferCall) and transfer.request.number == DESK
    assert ready(session) == []  # the model that connects now does not greet
    session.on_transfer_result(False)  # refused: the socket closes, the TwiML tail dials
    assert session.ended and session.end_cause is EndReason.DRAINED
    assert session.end_reason == (
        "handed over at shutdown (transfer failed; TwiML fallback takes over)"
    )


def test_tool_results_during_the_hand_over_ask_for_no_new_answer() -> None:
    session = make()
    ready(session)
    function_call(session, "get_hotel_info", '{"topic":"pets"}')
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    assert model_texts(session.hand_over(DESK)) == [HAND_OVER]
    result = session.on_tool_result("call_1", ToolOutcome('{"answer":"yes"}'))
    assert [m["type"] for m in model_texts(result)] == ["conversation.item.create"]


def test_hand_over_with_no_front_desk_says_goodbye_and_hangs_up() -> None:
    session = make(mark_interval_ms=20)
    ready(session)
    goodbye = session.hand_over(None)
    assert model_texts(goodbye) == [
        {"type": "response.create", "response": {"instructions": GOODBYE_INSTRUCTIONS}}
    ]
    names = marks(speak(session, b"\x00" * 160))
    session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    (hang_up,) = session.on_twilio(tw.MarkEcho(2, SID, names[0]))
    assert isinstance(hang_up, HangUp)
    session.finish(hang_up.reason)
    assert session.end_reason == "ended at shutdown" and session.end_cause is EndReason.SHUTDOWN


def test_hand_over_leaves_a_transfer_under_way_alone() -> None:
    session = make()
    ready(session)
    function_call(session, "transfer_to_human", '{"department":"housekeeping"}')
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    request = TransferRequest(number="+15550001111", department="housekeeping")
    session.on_tool_result("call_1", ToolOutcome("{}", request))
    assert session.hand_over(DESK) == []
    assert not session.machine.draining
    session.on_model(rt.ResponseCreated("resp_bye"))
    (transfer,) = session.on_model(rt.ResponseDone("resp_bye", "completed", None, (), None))
    assert transfer == TransferCall(request)


def test_twilios_stop_before_its_rest_answer_still_reads_as_handed_over() -> None:
    session = make()
    (transfer,) = session.hand_over(DESK)
    assert isinstance(transfer, TransferCall)
    session.on_twilio(tw.Stop(5, SID, "AC1", "CA1"))  # the REST answer is still on its way
    assert session.ended and session.end_cause is EndReason.DRAINED


def test_twilios_stop_before_its_rest_answer_reads_as_transferred() -> None:
    session = make()
    ready(session)
    function_call(session, "transfer_to_human", '{"department":"housekeeping"}')
    session.on_model(rt.ResponseDone("resp_t", "completed", None, (), None))
    request = TransferRequest(number="+15550001111", department="housekeeping")
    session.on_tool_result("call_1", ToolOutcome("{}", request))
    session.on_model(rt.ResponseCreated("resp_bye"))
    (transfer,) = session.on_model(rt.ResponseDone("resp_bye", "completed", None, (), None))
    assert transfer == TransferCall(request)
    session.on_twilio(tw.Stop(5, SID, "AC1", "CA1"))  # the REST answer is still on its way
    assert session.ended and session.end_cause is EndReason.TRANSFERRED


def test_an_answer_that_never_ends_delays_the_transfer_only_to_its_deadline() -> None:
    clock = Clock()
    session = make(clock, transfer_timeout_s=15.0)
    ready(session)
    session.on_model(rt.ResponseCreated("resp_1"))
    assert session.hand_over(DESK) == []  # the apology waits for this answer
    clock.now += 15.0
    (transfer,) = session.on_deadline()
    assert isinstance(transfer, TransferCall)
    # The answer ends at last: too late for an apology, the transfer is under way.
    done = session.on_model(rt.ResponseDone("resp_1", "completed", None, (), None))
    assert model_texts(done) == []
