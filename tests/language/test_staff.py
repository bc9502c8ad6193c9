"""Who should take over: a person asked for, an emergency, a fault in a room, housekeeping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.language.staff import TransferIntent, find_staff_need
from hotelvoice.language.text import words_of
from hotelvoice.properties.model import DEPARTMENTS


def need(text: str) -> TransferIntent | None:
    return find_staff_need(words_of(text))


TRANSFERS = [
    ("can i speak to a person", "front_desk"),
    ("can I speak to a human?", "front_desk"),
    ("can i talk to someone", "front_desk"),
    ("i want to speak to a real person", "front_desk"),
    ("i need a live person", "front_desk"),
    ("let me speak to a representative", "front_desk"),
    ("representative", "front_desk"),
    ("operator please", "front_desk"),
    ("agent", "front_desk"),
    ("front desk please", "front_desk"),
    ("connect me to reception", "front_desk"),
    ("can you put me through to the front desk", "front_desk"),
    ("transfer me", "front_desk"),
    ("no but can i talk to someone", "front_desk"),
    ("i am locked out of my room", "front_desk"),
    ("my key card does not work", "front_desk"),
    ("the wifi isn't working", "front_desk"),
    ("this is an emergency", "front_desk"),
    ("can i speak to the manager", "management"),
    ("get me your supervisor", "management"),
    ("manager please", "management"),
    ("is the manager available", "management"),
    ("i want to make a complaint", "management"),
    ("id like to complain about my stay", "management"),
    ("can i get more towels", "housekeeping"),
    ("we need fresh towels please", "housekeeping"),
    ("please send someone to clean my room", "housekeeping"),
    ("room service to clean please", "housekeeping"),
    ("can someone bring extra pillows", "housekeeping"),
    ("we ran out of toilet paper", "housekeeping"),
    ("there are no towels in the bathroom", "housekeeping"),
    ("housekeeping", "housekeeping"),
    ("i need to speak to someone from housekeeping", "housekeeping"),
    ("the air conditioning is not working", "maintenance"),
    ("the ac isnt working", "maintenance"),
    ("there is no hot water", "maintenance"),
    ("my toilet is leaking", "maintenance"),
    ("the tv is broken", "maintenance"),
    ("the shower will not turn on", "maintenance"),
    ("i need someone to fix the shower", "maintenance"),
    ("maintenance please", "maintenance"),
    ("can i talk to maintenance", "maintenance"),
    ("my room is too cold", "maintenance"),
    ("it's really hot in our room", "maintenance"),
    ("the heating doesn't work and i'm freezing", "maintenance"),
    ("the room next door is very noisy", "front_desk"),
    ("there is loud music upstairs", "front_desk"),
    ("could we have more pillows", "housekeeping"),
]


@pytest.mark.parametrize(("text", "department"), TRANSFERS)
def test_transfer(text: str, department: str) -> None:
    intent = need(text)
    assert intent is not None
    assert intent.department == department
    assert intent.reason


NO_TRANSFERS = [
    "",
    "what time is check in",
    "no i dont need to talk to anyone",
    "no i don't need to talk to anyone",
    "i don't want to speak to a manager",
    "no need to transfer me",
    "nothing is broken",
    "i dont need towels",
    "no complaints at all",
    "is there daily housekeeping",
    "what's the cleaning fee",
    "do you have towels at the pool",
    "are you a real person",
    "who is the manager",
    "can i talk to you about my booking",
    "let me talk to my wife first",
    "how much is a room",
    "yes please",
    "is there a security deposit",
    "can you fix my booking",
    "my phone fell on the floor",
    "one person",  # a party size, not someone to talk to
    "a room for two people",
    "is it too cold to swim in the pool",
    "is the room by the elevator noisy",
    "it's not too noisy",
]


@pytest.mark.parametrize("text", NO_TRANSFERS)
def test_no_transfer(text: str) -> None:
    assert need(text) is None


# The same needs as a free-form recogniser writes them, and more of them.
FREE_FORM = [
    ("The AC in 212 is broken.", "maintenance", "fault", "air conditioning"),
    ("My air conditioner isn't working in room 305.", "maintenance", "fault", "air conditioning"),
    ("The A/C is making a horrible noise.", "maintenance", "fault", "air conditioning"),
    ("The toilet keeps running.", "maintenance", "fault", "toilet"),
    ("There's no heat in our room.", "maintenance", "fault", "heating"),
    ("The Wi-Fi isn't working.", "front_desk", "fault", "wifi"),
    ("I'm locked out of my room.", "front_desk", "fault", "key card"),
    ("Can we get some more towels, please?", "housekeeping", "housekeeping", "towels"),
    ("The people upstairs are so loud.", "front_desk", "noise", "noise"),
    ("Can I talk to the manager?", "management", "asked", None),
    ("There's a fire in the hallway!", "front_desk", "urgent", "there is a fire"),
    ("Call an ambulance, my husband is hurt.", "front_desk", "urgent", "ambulance"),
]


@pytest.mark.parametrize(("text", "department", "kind", "issue"), FREE_FORM)
def test_free_form_needs(text: str, department: str, kind: str, issue: str | None) -> None:
    found = need(text)
    assert found is not None
    assert (found.department, found.kind, found.issue) == (department, kind, issue)


NOT_FOR_STAFF = [
    "The toy my son got is broken.",  # not the hotel's
    "Wait, somebody's knocking at the door.",
    "Sorry, the baby is screaming.",
    "Is there an emergency exit near the room?",
    "It wouldn't hurt to ask.",
    "Is breakfast included?",
    "We'd like a party of four.",
    "Is the wifi free?",
]


@pytest.mark.parametrize("text", NOT_FOR_STAFF)
def test_not_for_staff(text: str) -> None:
    assert need(text) is None


def test_reasons_say_what_happened() -> None:
    found = need("the air conditioning is not working")
    assert found == TransferIntent(
        "maintenance",
        "maintenance issue: air conditioning not working",
        "fault",
        "air conditioning",
    )
    towels = need("can i get more towels")
    assert towels is not None and towels.reason == "housekeeping request: towels"
    person = need("can i speak to a person")
    assert person is not None and person.reason == "asked to speak to a person" and person.asked
    hot = need("our room is too hot")
    assert hot is not None and hot.reason == "maintenance issue: room too hot"
    loud = need("the people next door are so loud")
    assert loud is not None and loud.reason == "noise complaint: loud"
    with pytest.raises(ValueError, match="department"):
        TransferIntent("kitchen", "hungry")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_never_raises(text: str) -> None:
    found = need(text)
    assert found is None or found.department in DEPARTMENTS
