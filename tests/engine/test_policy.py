"""The offline engine's dialogue policy, sans-IO: caller text and tool results in, actions out.

Tool results here are canned JSON in the hotel tools' shapes; ``test_policy_hotel.py`` runs
the same policy against the real tools and store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.engine.policy import (
    ALL_TOOLS,
    SIDE_EFFECT_TOOLS,
    SORRY,
    Action,
    CallTool,
    ConciergePolicy,
    Say,
)
from hotelvoice.language.intents import Intent, understand
from hotelvoice.properties.model import Property, RoomType

LA = ZoneInfo("America/Los_Angeles")
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=LA)  # a Wednesday morning at the hotel
TODAY = NOW.date()
CALLER = "+13105557788"
HOTEL = Property(
    id="sunset",
    name="Sunset Inn",
    timezone="America/Los_Angeles",
    location="12 Ocean Drive, Santa Monica",
    amenities=("Free parking", "Breakfast 7–10 AM"),
    room_types=(
        RoomType("king", "King Room", 10, 2, 18900),
        RoomType("suite", "Suite", 2, 4, 34900),
    ),
    departments={"front_desk": "+15550000000"},
)
TOOLS = frozenset({"check_availability", "create_lead", "transfer_to_human", "get_hotel_info"})

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
REFUSED = json.dumps(
    {
        "error": "No one can take a transfer at the moment. Offer a callback with "
        "schedule_callback or to pass on a message."
    }
)


def policy(tools: frozenset[str] = ALL_TOOLS, *, caller: str | None = CALLER) -> ConciergePolicy:
    concierge = ConciergePolicy(HOTEL, today=TODAY, tools=tools, now=NOW)
    if caller is not None:
        concierge.note(f"The caller's phone number is {caller}; confirm it before using it.")
    return concierge


def say(action: Action) -> str:
    assert isinstance(action, Say), action
    return action.text


def tool(action: Action, name: str) -> dict[str, Any]:
    assert isinstance(action, CallTool), action
    assert action.name == name
    return action.arguments


def talk(concierge: ConciergePolicy, lines: Sequence[str]) -> list[Action]:
    return [concierge.on_caller(line) for line in lines]


# ---------------------------------------------------------------------- stays and leads


def test_greeting_names_the_hotel() -> None:
    assert "Sunset Inn" in policy().greeting().text


def test_a_booking_asks_for_what_is_missing_then_checks_the_store() -> None:
    concierge = policy()
    assert "Which dates" in say(concierge.on_caller("Hi, I'd like to book a room."))
    assert "how many guests" in say(concierge.on_caller("December 4th to December 6th."))
    assert tool(concierge.on_caller("Two adults and one child."), "check_availability") == {
        "check_in": "2026-12-04",
        "check_out": "2026-12-06",
        "adults": 2,
        "children": 1,
    }


def test_everything_in_one_sentence_goes_straight_to_the_store() -> None:
    action = policy().on_caller("Do you have a suite for 2 adults from December 4 to 6?")
    assert tool(action, "check_availability") == {
        "check_in": "2026-12-04",
        "check_out": "2026-12-06",
        "adults": 2,
        "room_type": "suite",
    }


def test_the_offer_the_name_the_read_back_and_only_then_the_lead() -> None:
    concierge = policy()
    concierge.on_caller("A room for 2 adults, December 4 to 6.")
    offer = say(concierge.on_tool_result("check_availability", OFFER))
    assert "the King Room is free from Friday, December 4th" in offer
    assert "$189 a night, $378 in total" in offer and offer.endswith("reserve it?")
    assert "your name" in say(concierge.on_caller("Yes please."))
    read_back = say(concierge.on_caller("My name is Ada Lovelace."))
    assert read_back == (
        "So that's the King Room from Friday, December 4th to Sunday, December 6th, 2 nights, "
        "for 2 adults, under the name Ada Lovelace; our reservations team will confirm by "
        "phone or text. Shall I send the request?"
    )
    lead = concierge.on_caller("Yes.")
    assert tool(lead, "create_lead") == {
        "name": "Ada Lovelace",
        "check_in": "2026-12-04",
        "check_out": "2026-12-06",
        "adults": 2,
        "room_type": "king",
    }
    saved = say(concierge.on_tool_result("create_lead", '{"saved": true, "lead_id": "lead_1"}'))
    assert saved.startswith("Thank you, Ada Lovelace. I've passed your request")
    assert "hold the King Room" in saved and "$378" in saved and saved.endswith("Shall I do that?")
    hold = tool(concierge.on_caller("Sure, go ahead."), "generate_payment_link")
    assert hold == {
        "room_type": "king",
        "check_in": "2026-12-04",
        "check_out": "2026-12-06",
        "adults": 2,
        "guest_name": "Ada Lovelace",
    }
    held = concierge.on_tool_result(
        "generate_payment_link",
        '{"hold_id": "h1", "amount": "$378.00", "held_for_minutes": 30, "link_sent": true}',
    )
    assert "held for 30 minutes" in say(held) and "$378" in say(held)


def test_the_readme_conversation() -> None:
    """README.md's softphone lines, as a free-form recogniser writes them."""
    concierge = policy(tools=TOOLS)
    assert "Which dates" in say(concierge.on_caller("Hi, I'd like to book a room."))
    assert "how many guests" in say(concierge.on_caller("Next weekend."))
    check = tool(concierge.on_caller("Me and my wife."), "check_availability")
    assert check == {"check_in": "2026-12-04", "check_out": "2026-12-06", "adults": 2}
    concierge.on_tool_result("check_availability", OFFER)
    assert "your name" in say(concierge.on_caller("Yes please."))
    assert "under the name Mary Jones" in say(concierge.on_caller("My name is Mary Jones."))
    assert tool(concierge.on_caller("Yes."), "create_lead")["name"] == "Mary Jones"
    done = say(concierge.on_tool_result("create_lead", '{"saved": true}'))
    assert done.endswith("anything else I can help you with?")  # no payment tool offered
    ask = say(concierge.on_caller("Can I speak to a person?"))
    assert ask == "Of course. Shall I put you through to the front desk?"
    assert tool(concierge.on_caller("Yes."), "transfer_to_human") == {
        "department": "front_desk",
        "reason": "asked to speak to a person",
    }
    bye = concierge.on_tool_result("transfer_to_human", '{"transferring_to": "front desk"}')
    assert isinstance(bye, Say) and bye.end_call and "front desk" in bye.text


def test_a_returning_callers_name_is_read_back_before_the_lead() -> None:
    concierge = policy(tools=TOOLS)
    concierge.note("This is a returning caller: Grace Hopper. Greet them by name.")
    concierge.on_caller("a room for one adult december 4 to 5")
    concierge.on_tool_result("check_availability", OFFER)
    assert "under the name Grace Hopper" in say(concierge.on_caller("yes"))
    assert tool(concierge.on_caller("yes"), "create_lead")["name"] == "Grace Hopper"


def test_no_to_the_read_back_goes_back_to_the_slots() -> None:
    concierge = policy()
    concierge.on_caller("A room for 2 adults, December 4 to 6.")
    concierge.on_tool_result("check_availability", OFFER)
    concierge.on_caller("Yes.")
    concierge.on_caller("It's Peter Novak, N O V A K.")
    assert "What should I change" in say(concierge.on_caller("No, that's wrong."))
    assert concierge.pending is None
    # A correction checks the store again, then reads back again.
    again = tool(concierge.on_caller("No, three adults."), "check_availability")
    assert again["adults"] == 3
    concierge.on_tool_result("check_availability", OFFER)
    assert "for 3 adults, under the name Peter Novak" in say(concierge.on_caller("Yes."))


def test_a_name_corrected_at_the_read_back_is_read_back_again() -> None:
    concierge = policy(tools=TOOLS)
    concierge.on_caller("A room for 2 adults, December 4 to 6.")
    concierge.on_tool_result("check_availability", OFFER)
    assert "under the name Peter Nowak" in say(concierge.on_caller("Yes, my name is Peter Nowak."))
    again = say(concierge.on_caller("No, it's Novak, N O V A K."))
    assert "under the name Peter Novak" in again and again.endswith("Shall I send the request?")
    assert tool(concierge.on_caller("Yes."), "create_lead")["name"] == "Peter Novak"


def test_a_question_after_the_offer_comes_back_to_it() -> None:
    concierge = policy(tools=frozenset({"check_availability"}))
    concierge.on_caller("A room for 2 adults, December 4 to 6.")
    concierge.on_tool_result("check_availability", OFFER)
    answer = say(concierge.on_caller("Do you have parking?"))
    assert answer == "Yes, we have free parking. Shall I reserve the King Room?"


@pytest.mark.parametrize(
    ("correction", "check_in", "check_out"),
    [
        ("Actually, make it the 16th.", "2027-01-16", "2027-01-19"),  # the nights stay
        ("Sorry, leaving on the 20th.", "2027-01-15", "2027-01-20"),
        ("No, from the 10th to the 12th.", "2027-01-10", "2027-01-12"),
    ],
)
def test_corrections_to_the_dates(correction: str, check_in: str, check_out: str) -> None:
    concierge = policy()
    concierge.on_caller("I need a room from January 15th to the 18th for 2 adults.")
    concierge.on_tool_result("check_availability", OFFER)
    action = concierge.on_caller(correction)
    dates = tool(action, "check_availability")
    assert (dates["check_in"], dates["check_out"]) == (check_in, check_out)


def test_a_length_said_first_waits_for_the_arrival() -> None:
    concierge = policy()
    assert "Which dates" in say(concierge.on_caller("I need a room for three nights."))
    assert "how many guests" in say(concierge.on_caller("From next Friday."))
    dates = tool(concierge.on_caller("Just me."), "check_availability")
    assert (dates["check_in"], dates["check_out"]) == ("2026-12-04", "2026-12-07")


def test_not_tuesday_wednesday_moves_the_day_that_was_tuesday() -> None:
    concierge = policy()
    concierge.on_caller("A room on Tuesday for two adults.")  # Tuesday, December 1st
    concierge.on_tool_result("check_availability", OFFER)
    moved = tool(concierge.on_caller("Not Tuesday, Thursday."), "check_availability")
    assert (moved["check_in"], moved["check_out"]) == ("2026-11-26", "2026-11-27")


def test_a_party_no_room_fits_keeps_the_dates_and_asks_who_is_coming() -> None:
    concierge = policy()
    concierge.on_caller("a room for five adults december 4 to 6")
    none = say(concierge.on_tool_result("check_availability", '{"available": false}'))
    assert "sleep at most 4 guests" in none and concierge.asking == "party"
    assert tool(concierge.on_caller("me and my wife"), "check_availability") == {
        "check_in": "2026-12-04",
        "check_out": "2026-12-06",
        "adults": 2,
    }


def test_nothing_available_and_tool_errors_are_relayed_plainly() -> None:
    concierge = policy()
    concierge.on_caller("a room for two adults december 4 to 6")
    none = say(concierge.on_tool_result("check_availability", '{"available": false, "offers": []}'))
    assert "nothing available" in none and concierge.asking == "dates"
    error = say(
        concierge.on_tool_result(
            "check_availability", '{"error": "check-in 2026-11-20 is in the past"}'
        )
    )
    assert (
        error
        == "I'm sorry: check-in 2026-11-20 is in the past. Which dates would you like instead?"
    )


# ---------------------------------------------------------------------- facts


def test_parking_and_breakfast_come_from_the_hotels_tool() -> None:
    concierge = policy()
    assert tool(concierge.on_caller("Do you have parking?"), "get_hotel_info") == {
        "topic": "amenities"
    }
    listed = '{"hotel": "Sunset Inn", "answer": "Free parking, Breakfast 7–10 AM"}'
    assert say(concierge.on_tool_result("get_hotel_info", listed)) == (
        "Yes, we have free parking. Anything else?"
    )
    breakfast = concierge.on_caller("Is breakfast included?")
    assert tool(breakfast, "get_hotel_info") == {"topic": "amenities"}
    assert say(concierge.on_tool_result("get_hotel_info", listed)) == (
        "Yes, we have breakfast 7–10 AM. Anything else?"
    )


def test_facts_without_the_tool_come_from_the_property() -> None:
    concierge = policy(tools=frozenset())
    assert say(concierge.on_caller("What's your address?")) == (
        "Sunset Inn is at 12 Ocean Drive, Santa Monica. Anything else?"
    )
    assert say(concierge.on_caller("What time is check-in?")).startswith("Check-in is from 3 PM")


def test_a_question_while_a_read_back_waits_is_answered_then_asked_again() -> None:
    concierge = policy()
    concierge.on_caller("Please call me back tomorrow at 3 pm")
    concierge.on_caller("Is there parking?")
    answer = say(concierge.on_tool_result("get_hotel_info", '{"answer": "Free parking"}'))
    assert answer.startswith("Yes, we have free parking. So that's a callback tomorrow")
    assert tool(concierge.on_caller("Yes."), "schedule_callback")["when"] == "2026-11-26T15:00"


# ---------------------------------------------------------------------- callbacks


def test_a_callback_tomorrow_at_3_pm_is_read_back_and_booked_on_a_yes() -> None:
    concierge = policy()
    read_back = say(concierge.on_caller("Please call me back tomorrow at 3 pm"))
    assert read_back == (
        "So that's a callback tomorrow, Thursday, November 26th, at 3 PM to this number. "
        "Shall I book it?"
    )
    assert tool(concierge.on_caller("Yes please."), "schedule_callback") == {
        "phone": CALLER,
        "when": "2026-11-26T15:00",
        "reason": "The caller asked to be called back",
    }
    done = concierge.on_tool_result(
        "schedule_callback", '{"callback_id": "cb_1", "when": "tomorrow at 3 PM"}'
    )
    assert say(done).startswith("Done: we'll call you tomorrow at 3 PM.")


def test_a_callback_is_not_a_lead() -> None:
    concierge = policy()
    action = concierge.on_caller("Please call me back tomorrow at 3 pm")
    assert concierge.slots.stay is None and concierge.pending is not None
    assert concierge.pending.call.name == "schedule_callback"
    assert "callback" in say(action)


def test_a_callback_asks_for_the_time_and_the_number_it_lacks() -> None:
    concierge = policy(caller=None)
    assert "What day and time" in say(concierge.on_caller("Can someone call me back?"))
    assert "What time" in say(concierge.on_caller("On Monday."))
    assert "What number" in say(concierge.on_caller("At 10 am."))
    read_back = say(concierge.on_caller("It's 415-555-0199."))
    assert read_back == (
        "So that's a callback on Monday, November 30th, at 10 AM to 415-555-0199. Shall I book it?"
    )
    booked = tool(concierge.on_caller("Yes."), "schedule_callback")
    assert (booked["phone"], booked["when"]) == ("+14155550199", "2026-11-30T10:00")


@pytest.mark.parametrize(
    ("correction", "when"),
    [
        ("No, make it 4 pm.", "2026-11-26T16:00"),
        ("Not tomorrow, Friday.", "2026-11-27T15:00"),
        ("Actually Friday at 11.", "2026-11-27T11:00"),
    ],
)
def test_a_callback_corrected_before_the_yes(correction: str, when: str) -> None:
    concierge = policy()
    concierge.on_caller("Please call me back tomorrow at 3 pm")
    assert "Shall I book it?" in say(concierge.on_caller(correction))
    assert tool(concierge.on_caller("Yes."), "schedule_callback")["when"] == when


def test_a_callback_outside_the_hours_or_in_the_past_is_asked_again() -> None:
    concierge = policy()
    assert "between 9 AM and 6 PM" in say(concierge.on_caller("Call me back tomorrow at 8 pm."))
    assert "already passed" in say(concierge.on_caller("Today at 9 am."))
    assert concierge.pending is None


# ---------------------------------------------------------------------- staff


def test_a_broken_ac_in_a_numbered_room_is_offered_to_maintenance_then_transferred() -> None:
    concierge = policy()
    offer = say(concierge.on_caller("The AC in 212 is broken."))
    assert offer == (
        "I'm sorry about the air conditioning. Shall I put you through to maintenance about "
        "the air conditioning in room 212?"
    )
    moved = tool(concierge.on_caller("Yes."), "transfer_to_human")
    assert moved["department"] == "maintenance"
    assert "air conditioning" in moved["reason"] and "212" in moved["reason"]


def test_the_room_is_asked_for_when_a_fault_comes_without_one() -> None:
    concierge = policy()
    assert "Which room" in say(concierge.on_caller("My air conditioner isn't working."))
    offer = say(concierge.on_caller("Room 305."))
    assert offer.startswith("Thank you. Shall I put you through to maintenance")
    reason = tool(concierge.on_caller("Yes."), "transfer_to_human")["reason"]
    assert "air conditioning not working" in reason and "room 305" in reason


def test_a_declined_transfer_keeps_the_call() -> None:
    concierge = policy()
    concierge.on_caller("Could we get more towels in 310?")
    assert "anything else" in say(concierge.on_caller("No thanks."))
    assert concierge.pending is None and concierge.slots.need is None


def test_a_refused_transfer_offers_a_callback_and_books_it_on_a_yes() -> None:
    concierge = policy()
    concierge.on_caller("The AC in 212 is broken.")
    concierge.on_caller("Yes.")
    offer = say(concierge.on_tool_result("transfer_to_human", REFUSED))
    assert offer == (
        "I'm sorry, no one can take the call right now. I can arrange for someone to call you "
        "back or pass on a message. Which would you prefer?"
    )
    assert "What day and time" in say(concierge.on_caller("A callback, please."))
    assert "Shall I book it?" in say(concierge.on_caller("Tomorrow at 10 am."))
    booked = tool(concierge.on_caller("Yes."), "schedule_callback")
    assert booked["when"] == "2026-11-26T10:00" and booked["phone"] == CALLER
    assert "maintenance" in booked["reason"] and "room 212" in booked["reason"]


def test_a_refused_transfer_can_leave_a_message_instead() -> None:
    concierge = policy()
    concierge.on_caller("I'd like to talk to the manager.")
    concierge.on_caller("Yes.")
    concierge.on_tool_result("transfer_to_human", REFUSED)
    assert "pass on" in say(concierge.on_caller("I'll leave a message."))
    assert "your name" in say(concierge.on_caller("The room was not cleaned today."))
    read_back = say(concierge.on_caller("It's Tom Baker."))
    assert read_back == (
        'So I\'ll pass this message to a manager: "The room was not cleaned today.", from '
        "Tom Baker. Shall I send it?"
    )
    saved = tool(concierge.on_caller("Yes."), "create_lead")
    assert saved == {
        "name": "Tom Baker",
        "notes": "Message for a manager: The room was not cleaned today.",
    }
    assert "passed your message on" in say(concierge.on_tool_result("create_lead", "{}"))


def test_an_emergency_is_put_through_at_once() -> None:
    action = policy().on_caller("There's a fire in the hallway!")
    assert tool(action, "transfer_to_human")["department"] == "front_desk"


def test_is_breakfast_included_is_not_a_transfer() -> None:
    action = policy().on_caller("Is breakfast included?")
    assert isinstance(action, CallTool) and action.name == "get_hotel_info"


# ---------------------------------------------------------------------- texts


def test_the_address_is_texted_after_a_read_back() -> None:
    concierge = policy()
    assert say(concierge.on_caller("Could you text me the address?")) == (
        "So I'll text our address to this number. Shall I send it?"
    )
    assert tool(concierge.on_caller("Yes please."), "send_sms") == {
        "to": CALLER,
        "message": "Sunset Inn: 12 Ocean Drive, Santa Monica",
    }
    assert say(concierge.on_tool_result("send_sms", '{"status": "queued"}')).startswith("Sent.")


# ---------------------------------------------------------------------- endings and noise


@pytest.mark.parametrize("line", ["Great, thanks. Goodbye.", "That's all, bye.", "bye"])
def test_goodbyes_end_the_call_and_record_nothing(line: str) -> None:
    concierge = policy()
    bye = concierge.on_caller(line)
    assert isinstance(bye, Say) and bye.end_call
    assert concierge.slots.stay is None and concierge.slots.party is None


def test_a_goodbye_while_a_read_back_waits_asks_about_it_once() -> None:
    concierge = policy()
    concierge.on_caller("Please call me back tomorrow at 3 pm")
    assert say(concierge.on_caller("Great, thanks, goodbye.")).startswith("Before you go: So")
    bye = concierge.on_caller("Bye.")
    assert isinstance(bye, Say) and bye.end_call


def test_no_more_questions_ends_the_call() -> None:
    concierge = policy()
    concierge.on_caller("What's your address?")
    concierge.on_tool_result("get_hotel_info", '{"answer": "12 Ocean Drive"}')
    bye = concierge.on_caller("No.")
    assert isinstance(bye, Say) and bye.end_call


def test_what_cannot_be_placed_gets_the_same_question_and_changes_nothing() -> None:
    concierge = policy()
    concierge.on_caller("Please call me back tomorrow at 3 pm")
    pending = concierge.pending
    replies = [say(concierge.on_caller(line)) for line in ("um", "purple elephant", "uh huh")]
    assert replies[0] == SORRY
    assert replies[1].startswith(SORRY) and "For example" in replies[1]
    assert concierge.pending == pending


def test_tools_the_session_does_not_offer_are_never_called() -> None:
    concierge = policy(tools=frozenset())
    for line in ("Can I speak to a person?", "Yes.", "Call me back tomorrow at 3 pm", "Yes."):
        assert isinstance(concierge.on_caller(line), Say)


# ---------------------------------------------------------------------- never without a yes

# Lines that may start anything: stays, names, problems, callbacks, texts, payment, staff.
REQUESTS = [
    "Hi, I'd like to book a room.",
    "Next weekend.",
    "January 15th to the 18th.",
    "2 adults",
    "Me and my wife.",
    "My name is Mary Jones.",
    "It's Peter Novak, N O V A K.",
    "No, three adults.",
    "Actually, make it the 16th.",
    "Not Tuesday, Wednesday.",
    "The AC in 212 is broken.",
    "Room 305.",
    "Can I speak to a person?",
    "I'd like to talk to the manager.",
    "Please call me back tomorrow at 3 pm",
    "Could you text me the address?",
    "Can I pay by card?",
    "I'll leave a message.",
    "555-123-4567",
    "Is breakfast included?",
    "No.",
    "No thanks.",
    "Great, thanks. Goodbye.",
]
DISTRACTORS = [
    "",
    "um",
    "Uh huh.",
    "Mhm.",
    "What's the weather like?",
    "Who won the game?",
    "I was wondering if",
    "Give me a sec.",
    "Can you hear me now?",
    "Yeah, so, like, um...",
    "I'll call you back later.",
    "My parents stayed there last summer.",
    "My laptop screen is cracked.",
    "Will it be sunny on the weekend?",
    "Sing me a song.",
    "Okay so um",
]
YESES = ["Yes.", "Yes please.", "Sure, go ahead.", "Yeah, that's right.", "Correct."]
RESULTS = {
    "check_availability": OFFER,
    "create_lead": '{"saved": true}',
    "generate_payment_link": '{"hold_id": "h", "amount": "$378.00", "link_sent": true}',
    "send_sms": '{"status": "queued"}',
    "schedule_callback": '{"when": "tomorrow at 3 PM"}',
    "transfer_to_human": REFUSED,
    "get_hotel_info": '{"answer": "Free parking"}',
}


def run(concierge: ConciergePolicy, lines: Sequence[str]) -> list[tuple[str, Action, str]]:
    """Each line with the action it led to (after any tool results) and the reply before it."""
    said: list[tuple[str, Action, str]] = []
    last = concierge.greeting().text
    for line in lines:
        action = concierge.on_caller(line)
        said.append((line, action, last))
        while isinstance(action, CallTool):
            action = concierge.on_tool_result(action.name, RESULTS[action.name])
        last = action.text
        if action.end_call:
            break
    return said


def test_a_whole_conversation_of_distractors_does_nothing() -> None:
    for start in ([], ["Please call me back tomorrow at 3 pm"], ["The AC in 212 is broken."]):
        concierge = policy()
        steps = run(concierge, [*start, *DISTRACTORS, *reversed(DISTRACTORS)])
        calls = [a for _, a, _ in steps if isinstance(a, CallTool)]
        assert not [c for c in calls if c.name in SIDE_EFFECT_TOOLS]
        replies = [a.text for line, a, _ in steps if isinstance(a, Say) and line in DISTRACTORS]
        assert all(r.startswith(SORRY) or r == "Of course, take your time." for r in replies)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(REQUESTS + DISTRACTORS), max_size=12))
def test_no_side_effect_without_a_yes(lines: list[str]) -> None:
    steps = run(policy(), lines)
    assert not [a for _, a, _ in steps if isinstance(a, CallTool) and a.name in SIDE_EFFECT_TOOLS]


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.sampled_from(REQUESTS + DISTRACTORS + YESES), max_size=14),
    tools=st.frozensets(st.sampled_from(sorted(ALL_TOOLS))),
)
def test_every_side_effect_answers_a_yes_to_a_read_back(
    lines: list[str], tools: frozenset[str]
) -> None:
    for line, action, before in run(policy(tools), lines):
        if isinstance(action, CallTool):
            assert action.name in tools
            if action.name in SIDE_EFFECT_TOOLS:
                assert understand(line, today=TODAY).intent is Intent.YES, line
                assert before.endswith("?"), before  # the read-back, a question
