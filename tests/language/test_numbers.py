"""Phone numbers and room numbers in callers' words."""

from __future__ import annotations

import pytest

from hotelvoice.language.numbers import find_room, split_phone, spoken_phone
from hotelvoice.language.text import tokens


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("555-123-4567", "+15551234567"),
        ("My number is (212) 555 0142.", "+12125550142"),
        ("It's 1 415 555 0199.", "+14155550199"),
        ("+44 20 7946 0958", "+442079460958"),
        ("five five five one two three four five six seven", "+15551234567"),
        ("four one five, five five five, oh one nine nine", "+14155550199"),
    ],
)
def test_phone_numbers(text: str, e164: str) -> None:
    phone, rest = split_phone(text)
    assert phone is not None and phone.e164 == e164
    assert not any(c.isdigit() for c in rest)


def test_a_number_without_its_area_code_is_incomplete() -> None:
    phone, _ = split_phone("it's 555-1234")
    assert phone is not None and not phone.complete and phone.digits == "5551234"


@pytest.mark.parametrize(
    "text",
    ["from 2026-12-24 to 2026-12-27", "12/18 to 12/20", "at 10:30", "Jan 15-17", "room 212"],
)
def test_dates_times_and_rooms_are_not_phone_numbers(text: str) -> None:
    assert split_phone(text) == (None, text)


def test_spoken_phone() -> None:
    assert spoken_phone("+14155550199") == "415-555-0199"
    assert spoken_phone("+442079460958") == "+442079460958"


@pytest.mark.parametrize(
    ("text", "room"),
    [
        ("Room 212", "212"),
        ("room number 1207", "1207"),
        ("room four twelve", "412"),
        ("room three oh five", "305"),
        ("room twelve oh seven", "1207"),
        ("room two hundred twelve", "212"),
        ("we're in 33", "33"),
        ("I'm staying in 418", "418"),
        ("I'm in room 27 and the fan is broken", "27"),
    ],
)
def test_room_numbers(text: str, room: str) -> None:
    found = find_room(tokens(text))
    assert found is not None and found.number == room


def test_in_and_a_number_is_a_room_only_beside_a_fault() -> None:
    said = tokens("the AC in 212 is broken")
    assert find_room(said) is None
    found = find_room(said, fault=True)
    assert found is not None and found.number == "212"
    sent = find_room(tokens("could you send extra pillows up to 1508"), fault=True)
    assert sent is not None and sent.number == "1508"
    assert find_room(tokens("the heater in 2027 is broken"), fault=True) is None  # a year


@pytest.mark.parametrize(
    "text", ["a room for two adults", "in 2 hours", "room for 3 nights", "the 21st", "2 rooms"]
)
def test_not_room_numbers(text: str) -> None:
    assert find_room(tokens(text), fault=True) is None
