"""The conversation manager: instructions, context, turns, guest details and the summary."""

from __future__ import annotations

import datetime as dt
import json

from openai.types.realtime.conversation_item_create_event import ConversationItemCreateEvent

from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome, TransferRequest
from hotelvoice.hotel.conversation import (
    Conversation,
    ReturningGuest,
    property_instructions,
)
from hotelvoice.properties.model import Property, RoomType
from hotelvoice.wire import realtime as rt

NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)  # 10 AM in Los Angeles
LATER = NOW + dt.timedelta(minutes=3)
HOTEL = Property(
    id="sunset",
    name="Sunset Inn",
    timezone="America/Los_Angeles",
    location="Santa Monica",
    pets_allowed=True,
    pet_fee_cents=2500,
    amenities=("outdoor pool",),
    policies=("No smoking.",),
    room_types=(RoomType("king", "King Room", 10, 2, 18900, weekend_rate_cents=21900),),
)
CALL = CallContext("CA1", "+15557654321", "+15551230001")


def test_instructions_carry_todays_date_in_the_hotels_zone_and_its_facts() -> None:
    text = property_instructions(HOTEL, NOW)
    assert "Today is Wednesday, November 25, 2026" in text
    assert "10 AM (America/Los_Angeles)" in text
    assert "Sunset Inn, Santa Monica" in text
    assert "King Room (code king): sleeps 2, from $189.00 a night, $219.00 on Friday" in text
    assert "pet fee is $25.00 a night" in text
    assert "Policy: No smoking." in text
    # Just before midnight UTC it is still the afternoon of the same day in Los Angeles, and
    # just after, the date in Los Angeles has not moved on.
    late = property_instructions(HOTEL, dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC))
    assert "Today is Wednesday, November 25" in late


def test_context_items_name_a_returning_guest_and_validate_as_ga_events() -> None:
    guest = ReturningGuest(
        name="Ada Lovelace",
        reservation_id="res_1",
        reservation_dates=(dt.date(2026, 12, 24), dt.date(2026, 12, 27)),
        room_type="king",
    )
    conversation = Conversation(HOTEL, CALL, started_at=NOW, returning=guest)
    items = conversation.context_items()
    for item in items:
        ConversationItemCreateEvent.model_validate(item)
    texts = [item["item"]["content"][0]["text"] for item in items]
    assert "+15557654321" in texts[0]
    assert "returning caller: Ada Lovelace" in texts[1]
    assert "res_1 (king) from 2026-12-24 to 2026-12-27" in texts[2]
    assert conversation.guest.name == "Ada Lovelace"


def test_turns_guest_details_and_summary() -> None:
    conversation = Conversation(HOTEL, CALL, started_at=NOW)
    conversation.on_model_event(rt.OutputTranscriptDone("r1", "i1", "Sunset Inn, hello!"), NOW)
    conversation.on_model_event(
        rt.InputTranscriptCompleted("i2", "two adults from december 24 to 27 please"), NOW
    )
    conversation.on_model_event(rt.InputTranscriptCompleted("i3", "   "), NOW)  # ignored
    arguments = {
        "name": "Ada Lovelace",
        "check_in": "2026-12-24",
        "check_out": "2026-12-27",
        "adults": 2,
        "room_type": "king",
    }
    conversation.on_tool_result(
        ToolCall("c1", "create_lead", json.dumps(arguments)),
        ToolOutcome(json.dumps({"saved": True, "lead_id": "lead_1"})),
        NOW,
    )
    conversation.on_tool_result(
        ToolCall("c2", "transfer_to_human", '{"department":"front_desk","reason":"x"}'),
        ToolOutcome('{"transferring_to":"front desk"}', TransferRequest("+1555", "front_desk")),
        NOW,
    )
    conversation.end(LATER, "transferred")
    guest = conversation.guest.as_dict()
    assert guest["name"] == "Ada Lovelace"
    assert guest["check_in"] == "2026-12-24"
    assert guest["adults"] == 2
    assert guest["transfer_department"] == "front_desk"
    assert [turn.role for turn in conversation.turns] == ["assistant", "caller", "tool", "tool"]
    summary = conversation.summary()
    assert summary.startswith("Ada Lovelace (+15557654321) called Sunset Inn.")
    assert "for 2 adults" in summary
    assert "create lead, transfer to human" in summary
    assert "Transferred to front desk." in summary
    assert "Call lasted 180 s with 1 caller turn; ended: transferred." in summary
    assert conversation.turns[0].text == "Sunset Inn, hello!"
    assert conversation.turns[2].tool_name == "create_lead"


def test_what_the_caller_says_fills_in_dates_and_party_when_no_tool_did() -> None:
    conversation = Conversation(HOTEL, CALL, started_at=NOW)
    conversation.on_model_event(
        rt.InputTranscriptCompleted("i1", "me and my wife for next weekend"), NOW
    )
    guest = conversation.guest
    assert guest.adults == 2
    assert guest.check_in is not None and guest.check_out is not None
    assert guest.check_out > guest.check_in > NOW.date()


def test_failed_tools_teach_nothing() -> None:
    conversation = Conversation(HOTEL, CALL, started_at=NOW)
    conversation.on_tool_result(
        ToolCall("c1", "create_lead", '{"name": "Bob", "phone": "123"}'),
        ToolOutcome('{"error": "phone must be a phone number"}'),
        NOW,
    )
    assert conversation.guest.name is None
    assert conversation.guest.phone == "+15557654321"
    assert conversation.guest.topics == ["create_lead"]
