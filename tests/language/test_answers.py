"""Short answers from a hotel's facts, and how the concierge says dates and times."""

from __future__ import annotations

from datetime import date, time

import pytest

from hotelvoice.language.answers import (
    amenities_answer,
    fact_answer,
    fallback_answer,
    pets_answer,
    price_answer,
)
from hotelvoice.language.dates import DateRange
from hotelvoice.language.spoken import spoken_date, spoken_money, spoken_range, spoken_time
from hotelvoice.properties.model import Property, RoomType

TODAY = date(2026, 11, 25)


SUNSET = Property(
    id="sunset",
    name="Sunset Inn",
    location="12 Ocean Drive, Santa Monica",
    checkin_time=time(15, 0),
    checkout_time=time(11, 30),
    pets_allowed=True,
    pet_fee_cents=2500,
    pet_policy="Dogs under 30 pounds only",
    amenities=("Outdoor pool", "free parking", "breakfast buffet", "Wi-Fi", "EV charging"),
    room_types=(
        RoomType("suite", "Executive Suite", 1, 4, 32900),
        RoomType("king", "King Room", 2, 2, 18900, weekend_rate_cents=21900),
    ),
)
BARE = Property(id="bare", name="Bare Hotel", location="Lisbon", checkout_time=time(11, 0))

ANSWERS = [
    ("what time is check in", SUNSET, "Check-in is from 3 PM."),
    ("when is checkout", SUNSET, "Check-out is by 11:30 AM."),
    ("when is checkout", BARE, "Check-out is by 11 AM."),
    (
        "can i bring my dog",
        SUNSET,
        "Yes, pets are welcome for a fee of $25.00 a night. Dogs under 30 pounds only.",
    ),
    ("pets", BARE, "I'm sorry, pets aren't allowed."),
    ("Is there a pool?", SUNSET, "Yes, we have outdoor pool."),
    ("do you have wifi", SUNSET, "Yes, we have Wi-Fi."),
    ("Is breakfast included?", SUNSET, "Yes, we have breakfast buffet."),
    (
        "is there a gym",
        SUNSET,
        "I don't see a gym listed; our amenities include outdoor pool, free parking and "
        "breakfast buffet.",
    ),
    (
        "what amenities do you have",
        SUNSET,
        "Our amenities include outdoor pool, free parking, breakfast buffet and Wi-Fi.",
    ),
    ("do you have a pool", BARE, None),
    ("where are you located", SUNSET, "Sunset Inn is at 12 Ocean Drive, Santa Monica."),
    ("where are you", BARE, "Bare Hotel is in Lisbon."),
    ("how much is a room", SUNSET, "Rooms start at $189.00 a night for a King Room."),
    ("how much is a room", BARE, None),
    ("can i speak to a person", SUNSET, None),
    ("yes", SUNSET, None),
    ("january 15 to 17", SUNSET, None),
    ("What's the weather like?", SUNSET, None),
]


@pytest.mark.parametrize(("text", "prop", "answer"), ANSWERS)
def test_fallback_answer(text: str, prop: Property, answer: str | None) -> None:
    assert fallback_answer(text, prop) == answer


def test_pet_policy_without_fee_and_cheapest_suite_takes_an() -> None:
    prop = Property(
        id="p",
        name="P",
        pets_allowed=True,
        pet_policy="Service animals only.",
        room_types=(RoomType("suite", "Executive Suite", 1, 4, 9900),),
        currency="EUR",
    )
    assert fallback_answer("pets", prop) == "Yes, pets are welcome. Service animals only."
    assert fallback_answer("rates", prop) == "Rooms start at €99.00 a night for an Executive Suite."


@pytest.mark.parametrize(
    ("clock", "said"),
    [(time(15), "3 PM"), (time(11), "11 AM"), (time(11, 30), "11:30 AM"), (time(12), "12 PM"),
     (time(0), "12 AM"), (time(23, 5), "11:05 PM")],
)  # fmt: skip
def test_spoken_time(clock: time, said: str) -> None:
    assert spoken_time(clock) == said


@pytest.mark.parametrize(
    ("day", "said"),
    [
        ("2026-11-25", "today"),
        ("2026-11-26", "tomorrow"),
        ("2026-11-24", "yesterday"),
        ("2026-12-24", "Thursday, December 24th"),
        ("2026-12-01", "Tuesday, December 1st"),
        ("2026-12-02", "Wednesday, December 2nd"),
        ("2026-12-03", "Thursday, December 3rd"),
        ("2026-12-11", "Friday, December 11th"),
        ("2026-12-22", "Tuesday, December 22nd"),
        ("2027-01-02", "Saturday, January 2nd, 2027"),
    ],
)
def test_spoken_date(day: str, said: str) -> None:
    assert spoken_date(date.fromisoformat(day), TODAY) == said


def stay(check_in: str, check_out: str) -> DateRange:
    return DateRange(date.fromisoformat(check_in), date.fromisoformat(check_out))


def test_the_hotels_own_amenity_list_answers_a_question_about_one() -> None:
    listed = ["Free parking", "Breakfast 7–10 AM", "Free Wi-Fi"]
    assert amenities_answer("breakfast", listed) == "Yes, we have breakfast 7–10 AM."
    assert amenities_answer("parking", listed) == "Yes, we have free parking."
    assert amenities_answer("pool", listed) == (
        "I don't see a pool listed; our amenities include free parking, breakfast 7–10 AM and "
        "free Wi-Fi."
    )
    assert amenities_answer(None, []) is None


def test_facts_by_topic() -> None:
    assert fact_answer("check_in", SUNSET) == "Check-in is from 3 PM."
    assert fact_answer("policies", BARE) is None
    assert fact_answer("contact", SUNSET) is None
    assert pets_answer(BARE) == "I'm sorry, pets aren't allowed."
    assert price_answer(SUNSET, "suite") == "The Executive Suite is from $329.00 a night."
    assert price_answer(BARE) is None


def test_money_is_said_without_empty_cents() -> None:
    assert spoken_money("$189.00") == "$189"
    assert spoken_money("$1,047.50") == "$1,047.50"


def test_spoken_range() -> None:
    assert (
        spoken_range(stay("2027-12-24", "2027-12-27"), date(2027, 6, 1))
        == "from Friday, December 24th to Monday, December 27th, 3 nights"
    )
    assert (
        spoken_range(stay("2026-11-26", "2026-11-27"), TODAY)
        == "from tomorrow to Friday, November 27th, 1 night"
    )
    assert (
        spoken_range(stay("2026-12-31", "2027-01-02"), TODAY)
        == "from Thursday, December 31st to Saturday, January 2nd, 2027, 2 nights"
    )
