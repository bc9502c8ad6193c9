"""Who is coming: counts, companions, families, written and said."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.language.party import GuestCount, extract_guests

GUESTS = [
    ("2 adults and 1 child", 2, 1),
    ("two adults and one child", 2, 1),
    ("two adults one kid", 2, 1),
    ("2 adults, 2 kids", 2, 2),
    ("an adult and a child", 1, 1),
    ("one adult", 1, 0),
    ("three adults", 3, 0),
    ("twenty two adults", 22, 0),
    ("Adults: 2, Children: 1", 2, 1),
    ("two adults and two little ones", 2, 2),
    ("2 adults + 1 infant", 2, 1),
    ("me and my wife", 2, 0),
    ("my wife and i", 2, 0),
    ("it is me and my husband", 2, 0),
    ("my wife and our two kids", 2, 2),
    ("me and my husband and our three children", 2, 3),
    ("me and my two kids", 1, 2),
    ("just me and my son", 1, 1),
    ("my parents and i", 3, 0),
    ("family of four", 2, 2),
    ("a family of 5", 2, 3),
    ("family of two", 2, 0),
    ("family of five with three kids", 2, 3),
    ("just me", 1, 0),
    ("only myself", 1, 0),
    ("one person", 1, 0),
    ("i am traveling alone", 1, 0),
    ("by myself", 1, 0),
    ("four people", 4, 0),
    ("party of 4", 4, 0),
    ("a group of twelve", 12, 0),
    ("for 3 guests", 3, 0),
    ("four people including two kids", 2, 2),
    ("a room for two", 2, 0),
    ("we are three", 3, 0),
    ("there are 3 of us", 3, 0),
    ("the two of us", 2, 0),
    ("both of us", 2, 0),
    ("the two of us and our baby", 2, 1),
    ("a couple", 2, 0),
    ("we are a couple", 2, 0),
    ("a couple with two kids", 2, 2),
    ("a couple of adults", 2, 0),
    ("we have two kids", 2, 2),
    ("jan 15 to 17 for two adults", 2, 0),
]


@pytest.mark.parametrize(("text", "adults", "children"), GUESTS)
def test_guests(text: str, adults: int, children: int) -> None:
    assert extract_guests(text) == GuestCount(adults, children)


NO_GUESTS = [
    "",
    "what time is check in",
    "two nights",
    "a couple of nights",
    "room for two nights",
    "can i speak to a person",
    "i have a dog",
    "the 20th for two nights",
    "do you have two queen beds",
    "my room number is 12",
    "me and my friends",  # how many friends?
    "is it ok to bring the kids",
]


@pytest.mark.parametrize("text", NO_GUESTS)
def test_no_guests(text: str) -> None:
    assert extract_guests(text) is None


def test_guest_count_needs_an_adult() -> None:
    with pytest.raises(ValueError, match="adults"):
        GuestCount(0, 2)


FREE_FORM = [
    ("It'll be 2 adults.", 2, 0),
    ("2 adults and 1 child, please.", 2, 1),
    ("Three adults.", 3, 0),
    ("Me, my wife, and our 3 kids.", 2, 3),
    ("A family of 5.", 2, 3),
]


@pytest.mark.parametrize(("text", "adults", "children"), FREE_FORM)
def test_free_form_parties(text: str, adults: int, children: int) -> None:
    assert extract_guests(text) == GuestCount(adults, children)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_never_raises(text: str) -> None:
    party = extract_guests(text)
    assert party is None or (party.adults >= 1 and party.children >= 0)
