"""Random event sequences against CallSession: it never raises, and its promises hold.

Whatever order Twilio messages, model events, tool results, transfer results and deadlines
arrive in (including nonsense), the session only ever answers with well-formed actions: no
truncation beyond the audio sent, nothing to Twilio after the end, and ``ended`` is final.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.calls.ports import ToolOutcome, TransferRequest
from hotelvoice.calls.session import CallSession, HangUp, ToModel, ToTwilio, TransferCall
from hotelvoice.config import Settings
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw
from tests.fakes.openai_models import validate_client_event
from tests.fakes.twilio_media import validate_outbound

SID = "MZ" + "1" * 32
ITEMS = ["item_a", "item_b", "item_c"]
RESPONSES = ["resp_a", "resp_b"]
CALLS = ["call_a", "call_b"]


def audio(n: int) -> str:
    return base64.b64encode(bytes(n)).decode()


events = st.one_of(
    st.builds(lambda: ("model", rt.SessionUpdated({}))),
    st.builds(
        lambda r, i, n: ("model", rt.AudioDelta(r, i, audio(n))),
        st.sampled_from(RESPONSES),
        st.sampled_from(ITEMS),
        st.integers(1, 2000),
    ),
    st.builds(
        lambda r, i: ("model", rt.AudioDone(r, i)),
        st.sampled_from(RESPONSES),
        st.sampled_from(ITEMS),
    ),
    st.builds(lambda r: ("model", rt.ResponseCreated(r)), st.sampled_from(RESPONSES)),
    st.builds(
        lambda r, status: ("model", rt.ResponseDone(r, status, None, (), None)),
        st.sampled_from(RESPONSES),
        st.sampled_from(["completed", "cancelled", "failed"]),
    ),
    st.builds(lambda: ("model", rt.SpeechStarted("user", 0))),
    st.builds(lambda: ("model", rt.SpeechStopped("user", 10))),
    st.builds(
        lambda r, c, name: ("model", rt.FunctionCallArgumentsDone(r, "f", c, name, "{}")),
        st.sampled_from(RESPONSES),
        st.sampled_from(CALLS),
        st.sampled_from(["get_hotel_info", "transfer_to_human", None]),
    ),
    st.builds(lambda t: ("model", rt.InputTranscriptCompleted("u", t)), st.text(max_size=20)),
    st.builds(
        lambda code: ("model", rt.RealtimeError(code, "m", "invalid_request_error", None, None)),
        st.sampled_from(
            ["conversation_already_has_active_response", "invalid_value", "session_expired", None]
        ),
    ),
    st.builds(lambda n: ("mark", n), st.integers(0, 12)),
    st.builds(
        lambda sid: ("twilio", tw.Media(1, sid, "inbound", 1, 0, audio(160))),
        st.sampled_from([SID, "MZother"]),
    ),
    st.builds(lambda: ("twilio", tw.Stop(9, SID, "AC1", "CA1"))),
    st.builds(lambda: ("twilio", tw.Dtmf(9, SID, "inbound_track", "0"))),
    st.builds(
        lambda c, transfer: ("tool", c, transfer),
        st.sampled_from(CALLS),
        st.booleans(),
    ),
    st.builds(lambda ok: ("transfer_result", ok), st.booleans()),
    st.builds(lambda dt: ("time", dt), st.floats(0.0, 40.0)),
    st.builds(lambda: ("model_lost",)),
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=400, deadline=None)
@given(st.booleans(), st.lists(events, max_size=80))
def test_any_sequence_keeps_the_session_consistent(
    start_ready: bool, sequence: list[tuple[Any, ...]]
) -> None:
    if start_ready:  # most interesting sequences begin with a ready session
        sequence = [
            ("model", rt.SessionUpdated({})),
            ("model", rt.ResponseCreated("resp_a")),
            *sequence,
        ]
    clock = Clock()
    session = CallSession(
        call_sid="CA1", stream_sid=SID, settings=attrs.evolve(Settings()), clock=clock
    )
    marks_sent: list[str] = []
    for step in sequence:
        was_ended = session.ended
        kind = step[0]
        if kind == "model":
            actions = session.on_model(step[1])
        elif kind == "twilio":
            actions = session.on_twilio(step[1])
        elif kind == "mark":
            name = marks_sent[step[1]] if step[1] < len(marks_sent) else f"m{step[1] + 500}"
            actions = session.on_twilio(tw.MarkEcho(3, SID, name))
        elif kind == "tool":
            transfer = TransferRequest("+15550000000", "front_desk") if step[2] else None
            actions = session.on_tool_result(step[1], ToolOutcome("{}", transfer))
        elif kind == "transfer_result":
            actions = session.on_transfer_result(step[1])
        elif kind == "time":
            clock.now += step[1]
            actions = session.on_deadline() if clock.now >= session.next_deadline() else []
        else:
            actions = session.on_model_lost("closed (1006)")
        hang_ups = 0
        for action in actions:
            if isinstance(action, ToTwilio):
                message = json.loads(action.text)
                validate_outbound(message)
                assert message["streamSid"] == SID
                if message["event"] == "mark":
                    marks_sent.append(message["mark"]["name"])
            elif isinstance(action, ToModel):
                event = json.loads(action.text)
                validate_client_event(event)
                if event["type"] == "conversation.item.truncate":
                    end_ms = event["audio_end_ms"]
                    assert 0 < end_ms <= session.ledger.heard_ms(event["item_id"])
                    assert end_ms <= session.ledger.sent_ms(event["item_id"])
            elif isinstance(action, HangUp):
                hang_ups += 1
            elif isinstance(action, TransferCall):
                assert session.state == "transferring"
        assert hang_ups <= 1
        if was_ended:
            assert session.ended
            assert not any(isinstance(a, ToTwilio) for a in actions)
        assert session.state in {
            "connecting",
            "listening",
            "speaking",
            "interrupted",
            "calling_tool",
            "transferring",
            "ended",
        }
        assert session.next_deadline() > float("-inf")
