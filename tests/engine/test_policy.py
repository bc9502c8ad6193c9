"""The offline engine's dialogue policy, sans-IO: caller text and tool results in, actions out."""

from __future__ import annotations

import datetime as dt
import json

from hotelvoice.engine.policy import CallTool, ConciergePolicy, Say
from hotelvoice.properties.model import Property, RoomType

TODAY = dt.date(2026, 11, 25)
HOTEL = Property(
    id="sunset",
    name="Sunset Inn",
    location="12 Ocean Drive, Santa Monica",
    room_types=(
        RoomType("king", "King Room", 10, 2, 18900),
        RoomType("suite", "Suite", 2, 4, 34900),
    ),
    departments={"front_desk": "+15550000000"},
)
TOOLS = frozenset({"check_availability", "create_lead", "transfer_to_human", "get_hotel_info"})


def policy() -> ConciergePolicy:
    return ConciergePolicy(HOTEL, today=TODAY, tools=TOOLS)


OFFER = json.dumps(
    {
        "available": True,
        "offers": [
            {
                "room_type": "king",
                "name": "King Room",
                "nightly_rate": "$189.00",
                "total": "$378.00",
            },
            {"room_type": "suite", "name": "Suite", "nightly_rate": "$349.00", "total": "$698.00"},
        ],
    }
)


def test_greeting_names_the_hotel() -> None:
    assert "Sunset Inn" in policy().greeting().text


def test_a_booking_asks_for_what_is_missing_then_checks_the_store() -> None:
    concierge = policy()
    first = concierge.on_caller("hi i'd like to book a room")
    assert isinstance(first, Say) and "which dates" in first.text
    second = concierge.on_caller("december fourth to december sixth")
    assert isinstance(second, Say) and "how many guests" in second.text
    third = concierge.on_caller("two adults and one child")
    assert third == CallTool(
        "check_availability",
        {"check_in": "2026-12-04", "check_out": "2026-12-06", "adults": 2, "children": 1},
    )


def test_everything_in_one_sentence_goes_straight_to_the_store() -> None:
    action = policy().on_caller("do you have a suite for two adults from december 4 to 6")
    assert action == CallTool(
        "check_availability",
        {"check_in": "2026-12-04", "check_out": "2026-12-06", "adults": 2, "room_type": "suite"},
    )


def test_the_offer_then_a_name_then_a_lead() -> None:
    concierge = policy()
    concierge.on_caller("a room for two adults december 4 to 6")
    offer = concierge.on_tool_result("check_availability", OFFER)
    assert "the King Room is free from Friday, December 4th" in offer.text
    assert "$189 a night, $378 in total" in offer.text
    assert offer.text.endswith("reserve it?")
    ask = concierge.on_caller("yes please")
    assert isinstance(ask, Say) and "your name" in ask.text
    lead = concierge.on_caller("my name is ada lovelace")
    assert lead == CallTool(
        "create_lead",
        {
            "name": "Ada Lovelace",
            "check_in": "2026-12-04",
            "check_out": "2026-12-06",
            "adults": 2,
            "room_type": "king",
        },
    )
    thanks = concierge.on_tool_result("create_lead", '{"saved": true, "lead_id": "lead_1"}')
    assert "Thank you, Ada Lovelace" in thanks.text


def test_a_returning_callers_name_is_used_without_asking() -> None:
    concierge = policy()
    concierge.note("This is a returning caller: Grace Hopper. Greet them by name.")
    concierge.on_caller("a room for one adult december 4 to 5")
    concierge.on_tool_result("check_availability", OFFER)
    assert concierge.on_caller("yes") == CallTool(
        "create_lead",
        {
            "name": "Grace Hopper",
            "check_in": "2026-12-04",
            "check_out": "2026-12-05",
            "adults": 1,
            "room_type": "king",
        },
    )


def test_asking_for_a_person_transfers_at_any_point() -> None:
    action = policy().on_caller("can i speak to a person please")
    assert isinstance(action, CallTool) and action.name == "transfer_to_human"
    assert action.arguments["department"] == "front_desk"
    goodbye = policy().on_tool_result("transfer_to_human", '{"transferring_to": "front desk"}')
    assert goodbye.end_call and "front desk" in goodbye.text


def test_a_transfer_only_inferred_is_offered_before_it_is_made() -> None:
    concierge = policy()
    offer = concierge.on_caller("the air conditioning is not working")
    assert offer == Say("I'm sorry about that. Shall I put you through to maintenance?")
    assert concierge.on_caller("yes please") == CallTool(
        "transfer_to_human",
        {"department": "maintenance", "reason": "maintenance issue: air conditioning not working"},
    )
    # Declined: the call goes on.
    concierge = policy()
    assert "housekeeping" in concierge.on_caller("can i get some extra towels").text  # type: ignore[union-attr]
    declined = concierge.on_caller("no thanks")
    assert isinstance(declined, Say) and "anything else" in declined.text
    assert concierge.awaiting is None and concierge.offered_transfer is None
    # Said again after the offer: put through.
    concierge = policy()
    concierge.on_caller("the room is really noisy")
    again = concierge.on_caller("the guests next door are so noisy")
    assert isinstance(again, CallTool) and again.arguments["department"] == "front_desk"
    # Another department's matter after the offer: that one is offered instead.
    concierge = policy()
    concierge.on_caller("my tv is broken")
    assert "housekeeping" in concierge.on_caller("we need more towels").text  # type: ignore[union-attr]
    # Something else entirely after the offer is simply answered.
    concierge = policy()
    concierge.on_caller("my tv is broken")
    assert concierge.on_caller("what time is check out").text.startswith("Check-out")  # type: ignore[union-attr]


def test_nothing_available_and_tool_errors_are_relayed_plainly() -> None:
    concierge = policy()
    concierge.on_caller("a room for two adults december 4 to 6")
    none = concierge.on_tool_result("check_availability", '{"available": false, "offers": []}')
    assert "nothing available" in none.text and concierge.awaiting == "dates"
    error = concierge.on_tool_result(
        "check_availability", '{"error": "check-in 2026-11-20 is in the past"}'
    )
    assert "check-in 2026-11-20 is in the past" in error.text


def test_a_party_no_room_fits_keeps_the_dates_and_asks_who_is_coming() -> None:
    concierge = policy()
    concierge.on_caller("a room for five adults december 4 to 6")
    none = concierge.on_tool_result("check_availability", '{"available": false, "offers": []}')
    assert "sleep at most 4 guests" in none.text and concierge.awaiting == "party"
    # The caller corrects the party: the same dates are checked again.
    assert concierge.on_caller("me and my wife") == CallTool(
        "check_availability", {"check_in": "2026-12-04", "check_out": "2026-12-06", "adults": 2}
    )


def test_facts_come_from_the_property_and_goodbye_ends_the_call() -> None:
    concierge = policy()
    where = concierge.on_caller("where are you located")
    assert isinstance(where, Say) and "12 Ocean Drive" in where.text
    bye = concierge.on_caller("that's all thank you goodbye")
    assert isinstance(bye, Say) and bye.end_call


def test_repeated_misunderstanding_offers_the_front_desk() -> None:
    concierge = policy()
    texts = [concierge.on_caller("purple elephant").text for _ in range(3)]  # type: ignore[union-attr]
    assert "didn't catch" in texts[0]
    assert "front desk" in texts[2]


def test_tools_the_session_does_not_offer_are_never_called() -> None:
    concierge = ConciergePolicy(HOTEL, today=TODAY, tools=frozenset())
    action = concierge.on_caller("can i speak to a person")
    assert isinstance(action, Say)
