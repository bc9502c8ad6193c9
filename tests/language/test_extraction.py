"""The offline understanding helpers: dates, party size, transfers, intents and answers, on
recogniser-style text (lower case, numbers as words) and written text alike."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.language.extraction import (
    DateRange,
    GuestCount,
    Intent,
    TransferIntent,
    classify_intent,
    detect_transfer_intent,
    extract_date_range,
    extract_guests,
    fallback_answer,
    spoken_date,
    spoken_range,
    spoken_time,
)
from hotelvoice.properties.model import DEPARTMENTS, Property, RoomType

TODAY = date(2026, 11, 25)  # a Wednesday, the day before Thanksgiving
YEAR_END = date(2026, 12, 28)  # a Monday, three days before New Year's Eve


def stay(check_in: str, check_out: str) -> DateRange:
    return DateRange(date.fromisoformat(check_in), date.fromisoformat(check_out))


# ============================================================================ dates

DATES_LATE_NOVEMBER = [
    # month and day, written and spoken
    ("January 15 to 17", "2027-01-15", "2027-01-17"),
    ("jan 15th - 17th", "2027-01-15", "2027-01-17"),
    ("Jan 15-17", "2027-01-15", "2027-01-17"),
    ("jan 15 through 17", "2027-01-15", "2027-01-17"),
    ("from the 15th to the 17th of january", "2027-01-15", "2027-01-17"),
    ("january fifteenth to the seventeenth", "2027-01-15", "2027-01-17"),
    ("the fifteenth to the seventeenth of january", "2027-01-15", "2027-01-17"),
    ("15 to 17 january", "2027-01-15", "2027-01-17"),
    ("Jan 15-17, 2 adults", "2027-01-15", "2027-01-17"),
    ("march 3 to april 2", "2027-03-03", "2027-04-02"),
    ("jan 30 to 2", "2027-01-30", "2027-02-02"),
    ("december twenty first to the twenty third", "2026-12-21", "2026-12-23"),
    ("december twenty-first for three nights", "2026-12-21", "2026-12-24"),
    ("the thirty first of december for two nights", "2026-12-31", "2027-01-02"),
    ("Dec. 20th\u201323rd", "2026-12-20", "2026-12-23"),
    ("i need a room from the 5th of december to the 8th", "2026-12-05", "2026-12-08"),
    ("a night on december 5th", "2026-12-05", "2026-12-06"),
    ("november 24", "2027-11-24", "2027-11-25"),
    ("february 29", "2028-02-29", "2028-03-01"),
    ("december 30 to january 2", "2026-12-30", "2027-01-02"),
    # numeric
    ("12/24 to 12/27", "2026-12-24", "2026-12-27"),
    ("12/24-12/27", "2026-12-24", "2026-12-27"),
    ("12/24/2026 to 12/27/2026", "2026-12-24", "2026-12-27"),
    ("12/24/26 to 12/27/26", "2026-12-24", "2026-12-27"),
    ("2026-12-24 to 2026-12-27", "2026-12-24", "2026-12-27"),
    ("from 12/20 for a week", "2026-12-20", "2026-12-27"),
    ("dec 20 2026 to dec 23 2026", "2026-12-20", "2026-12-23"),
    ("december 20th, 2026 for 3 nights", "2026-12-20", "2026-12-23"),
    ("january fifteenth twenty twenty seven for one night", "2027-01-15", "2027-01-16"),
    # relative
    ("tonight", "2026-11-25", "2026-11-26"),
    ("just for tonight", "2026-11-25", "2026-11-26"),
    ("tomorrow", "2026-11-26", "2026-11-27"),
    ("tomorrow night", "2026-11-26", "2026-11-27"),
    ("tomorrow for two nights", "2026-11-26", "2026-11-28"),
    ("tonight for a couple of nights", "2026-11-25", "2026-11-27"),
    ("tonight and tomorrow", "2026-11-25", "2026-11-27"),
    ("tonight until friday", "2026-11-25", "2026-11-27"),
    ("the day after tomorrow", "2026-11-27", "2026-11-28"),
    ("a week from today", "2026-12-02", "2026-12-03"),
    ("a week from tomorrow", "2026-12-03", "2026-12-04"),
    ("a fortnight from today", "2026-12-09", "2026-12-10"),
    ("in two weeks", "2026-12-09", "2026-12-10"),
    ("in 3 days for 2 nights", "2026-11-28", "2026-11-30"),
    ("for three days starting tomorrow", "2026-11-26", "2026-11-29"),
    ("three days two nights from friday", "2026-11-27", "2026-11-29"),
    # weekdays and weekends
    ("this weekend", "2026-11-27", "2026-11-29"),
    ("the weekend", "2026-11-27", "2026-11-29"),
    ("next weekend", "2026-12-04", "2026-12-06"),
    ("next week end", "2026-12-04", "2026-12-06"),
    ("the weekend after next", "2026-12-11", "2026-12-13"),
    ("next weekend for three nights", "2026-12-04", "2026-12-07"),
    ("friday", "2026-11-27", "2026-11-28"),
    ("this friday", "2026-11-27", "2026-11-28"),
    ("this coming friday", "2026-11-27", "2026-11-28"),
    ("wednesday", "2026-11-25", "2026-11-26"),
    ("next wednesday", "2026-12-02", "2026-12-03"),
    ("next monday", "2026-11-30", "2026-12-01"),
    ("next friday for 3 nights", "2026-12-04", "2026-12-07"),
    ("friday next week", "2026-12-04", "2026-12-05"),
    ("friday after next", "2026-12-11", "2026-12-12"),
    ("friday to sunday", "2026-11-27", "2026-11-29"),
    ("Friday - Sunday", "2026-11-27", "2026-11-29"),
    ("from friday until monday", "2026-11-27", "2026-11-30"),
    ("monday through thursday", "2026-11-30", "2026-12-03"),
    ("i want to book friday to sunday", "2026-11-27", "2026-11-29"),
    ("this friday and saturday", "2026-11-27", "2026-11-29"),
    ("friday and saturday nights", "2026-11-27", "2026-11-29"),
    ("arriving monday leaving thursday", "2026-11-30", "2026-12-03"),
    ("overnight on friday", "2026-11-27", "2026-11-28"),
    ("for a fortnight starting monday", "2026-11-30", "2026-12-14"),
    # check-in / check-out phrasing and lengths
    ("for a week starting december 20th", "2026-12-20", "2026-12-27"),
    ("check in december 20 check out december 23", "2026-12-20", "2026-12-23"),
    ("Check-in: Dec 20, check-out: Dec 23", "2026-12-20", "2026-12-23"),
    ("check out on the 30th check in on the 28th", "2026-11-28", "2026-11-30"),
    ("i'd like to check in tomorrow and check out sunday", "2026-11-26", "2026-11-29"),
    ("arriving on the 28th leaving on the 30th", "2026-11-28", "2026-11-30"),
    ("checking in the 28th and out the 30th", "2026-11-28", "2026-11-30"),
    ("between the 3rd and the 5th", "2026-12-03", "2026-12-05"),
    ("the 20th for two nights", "2026-12-20", "2026-12-22"),
    ("the twentieth for two nights", "2026-12-20", "2026-12-22"),
    ("the 5th", "2026-12-05", "2026-12-06"),
    ("the 25th", "2026-11-25", "2026-11-26"),
    ("on the 1st of next month", "2026-12-01", "2026-12-02"),
    ("the 28th for a week", "2026-11-28", "2026-12-05"),
    ("a couple nights starting the 3rd", "2026-12-03", "2026-12-05"),
    ("one night on the twenty eighth", "2026-11-28", "2026-11-29"),
    # holidays
    ("christmas", "2026-12-24", "2026-12-25"),
    ("a room for xmas", "2026-12-24", "2026-12-25"),
    ("christmas eve", "2026-12-24", "2026-12-25"),
    ("christmas day for two nights", "2026-12-25", "2026-12-27"),
    ("new year's eve", "2026-12-31", "2027-01-01"),
    ("new years eve", "2026-12-31", "2027-01-01"),
    ("new years", "2026-12-31", "2027-01-01"),
    ("christmas to new years", "2026-12-24", "2027-01-01"),
    ("from christmas eve to the 27th", "2026-12-24", "2026-12-27"),
    ("we'd like to come on thanksgiving", "2026-11-26", "2026-11-27"),
]


@pytest.mark.parametrize(("text", "check_in", "check_out"), DATES_LATE_NOVEMBER)
def test_dates_in_late_november(text: str, check_in: str, check_out: str) -> None:
    assert extract_date_range(text, TODAY) == stay(check_in, check_out)


DATES_AT_YEAR_END = [
    ("january 15", "2027-01-15", "2027-01-16"),
    ("jan 2 to 5", "2027-01-02", "2027-01-05"),
    ("december 30 to january 2", "2026-12-30", "2027-01-02"),
    ("december thirty first for three nights", "2026-12-31", "2027-01-03"),
    ("from the 30th to the 2nd", "2026-12-30", "2027-01-02"),
    ("from the 30th to the 2nd of january", "2026-12-30", "2027-01-02"),
    ("the 20th for two nights", "2027-01-20", "2027-01-22"),
    ("12/24 to 12/27", "2027-12-24", "2027-12-27"),
    ("tomorrow", "2026-12-29", "2026-12-30"),
    ("a week from today", "2027-01-04", "2027-01-05"),
    ("in two weeks", "2027-01-11", "2027-01-12"),
    ("this weekend", "2027-01-01", "2027-01-03"),
    ("next weekend", "2027-01-08", "2027-01-10"),
    ("friday", "2027-01-01", "2027-01-02"),
    ("next friday", "2027-01-08", "2027-01-09"),
    ("new year's eve", "2026-12-31", "2027-01-01"),
    ("new years day", "2027-01-01", "2027-01-02"),
    ("tonight until new years day", "2026-12-28", "2027-01-01"),
    ("christmas", "2027-12-24", "2027-12-25"),
    ("thanksgiving", "2027-11-25", "2027-11-26"),
    ("valentines day", "2027-02-14", "2027-02-15"),
]


@pytest.mark.parametrize(("text", "check_in", "check_out"), DATES_AT_YEAR_END)
def test_dates_at_year_end(text: str, check_in: str, check_out: str) -> None:
    assert extract_date_range(text, YEAR_END) == stay(check_in, check_out)


NO_DATES = [
    "",
    "hello",
    "what time is check in",
    "do you have parking",
    "two adults and one child",
    "i have a question",
    "may i ask something",
    "first of all how much is it",
    "the second floor please",
    "the two of us",
    "are you open 24/7",
    "call me at 5",
    "my room number is 215",
    "give me a minute",
    "in a minute",
    "a couple of questions",
    "sometime next week",  # no day: the engine should ask
    "sometime in january",
    "until friday",  # an end without a start
    "for two nights",  # a length without a start
    "i need a room",
    "can i bring my dog",
    "april 31",
    "2026-12-27 to 2026-12-24",  # explicit years the wrong way round
    "friday to tomorrow",
    "thirty second",
]


@pytest.mark.parametrize("text", NO_DATES)
def test_no_date_range(text: str) -> None:
    assert extract_date_range(text, TODAY) is None


WEEKENDS = [
    # today, "this weekend", "next weekend"
    ("2026-11-23", ("2026-11-27", "2026-11-29"), ("2026-12-04", "2026-12-06")),  # Monday
    ("2026-11-24", ("2026-11-27", "2026-11-29"), ("2026-12-04", "2026-12-06")),
    ("2026-11-25", ("2026-11-27", "2026-11-29"), ("2026-12-04", "2026-12-06")),
    ("2026-11-26", ("2026-11-27", "2026-11-29"), ("2026-12-04", "2026-12-06")),
    ("2026-11-27", ("2026-11-27", "2026-11-29"), ("2026-12-04", "2026-12-06")),  # Friday
    ("2026-11-28", ("2026-11-28", "2026-11-29"), ("2026-12-04", "2026-12-06")),  # Saturday
    ("2026-11-29", ("2026-12-04", "2026-12-06"), ("2026-12-11", "2026-12-13")),  # Sunday
]


@pytest.mark.parametrize(("today", "this", "following"), WEEKENDS)
def test_this_and_next_weekend_through_the_week(
    today: str, this: tuple[str, str], following: tuple[str, str]
) -> None:
    day = date.fromisoformat(today)
    assert extract_date_range("this weekend", day) == stay(*this)
    assert extract_date_range("next weekend", day) == stay(*following)


@pytest.mark.parametrize("offset", range(7))
def test_next_weekday_is_in_next_calendar_week(offset: int) -> None:
    today = date(2026, 11, 23) + timedelta(days=offset)  # Monday .. Sunday
    found = extract_date_range("next friday", today)
    assert found is not None
    assert found.check_in == date(2026, 12, 4)
    coming = extract_date_range("friday", today)
    assert coming is not None
    assert coming.check_in == (date(2026, 11, 27) if offset <= 4 else date(2026, 12, 4))


def vocabulary(*lines: str) -> list[str]:
    return [word for line in lines for word in line.split()]


DATE_WORDS = vocabulary(
    "january february march april may june july august september october november december",
    "jan feb dec sept monday tuesday wednesday thursday friday saturday sunday",
    "today tonight tomorrow day after weekend week weeks night nights days fortnight",
    "this next coming the of to till until through and between from starting in for a an",
    "check out checking leaving arriving couple few christmas eve new years thanksgiving",
    "first second third fifteenth twentieth thirtieth twenty thirty one two three",
    "seven thirteen ninety month 0 1 2 12 15 17 28 29 30 31 32 99 2026 2099 9999",
    "12/24 12/31/9999 2/29 24/7 13/40 2026-12-24 9999-12-31 15th 31st - , 's",
    "adults kids please no not",
)


@settings(max_examples=400, deadline=None)
@given(
    words=st.lists(st.sampled_from(DATE_WORDS), max_size=14),
    today=st.one_of(
        st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
        st.sampled_from([date.min, date.max, date(9999, 12, 25), date(2028, 2, 29)]),
    ),
)
def test_date_range_from_date_words_is_none_or_valid(words: list[str], today: date) -> None:
    found = extract_date_range(" ".join(words), today)
    assert found is None or found.check_out > found.check_in


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_never_raises(text: str) -> None:
    found = extract_date_range(text, TODAY)
    assert found is None or found.check_out > found.check_in
    party = extract_guests(text)
    assert party is None or (party.adults >= 1 and party.children >= 0)
    transfer = detect_transfer_intent(text)
    assert transfer is None or transfer.department in DEPARTMENTS
    assert isinstance(classify_intent(text), Intent)


def test_date_range_refuses_an_empty_or_backward_stay() -> None:
    with pytest.raises(ValueError, match="not after"):
        DateRange(TODAY, TODAY)
    assert stay("2026-12-24", "2026-12-27").nights == 3


# ============================================================================ guests

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


# ============================================================================ transfers

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
    intent = detect_transfer_intent(text)
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
    assert detect_transfer_intent(text) is None


def test_transfer_reasons_say_what_happened() -> None:
    assert detect_transfer_intent("the air conditioning is not working") == TransferIntent(
        "maintenance", "maintenance issue: air conditioning not working"
    )
    assert detect_transfer_intent("can i get more towels") == TransferIntent(
        "housekeeping", "housekeeping request: towels"
    )
    assert detect_transfer_intent("can i speak to a person") == TransferIntent(
        "front_desk", "asked to speak to a person"
    )
    assert detect_transfer_intent("our room is too hot") == TransferIntent(
        "maintenance", "maintenance issue: room too hot"
    )
    assert detect_transfer_intent("the people next door are so loud") == TransferIntent(
        "front_desk", "noise complaint: loud"
    )
    with pytest.raises(ValueError, match="department"):
        TransferIntent("kitchen", "hungry")


# ============================================================================ intents

INTENTS = [
    ("do you have a room", Intent.AVAILABILITY),
    ("any rooms for friday", Intent.AVAILABILITY),
    ("i'd like to reserve a room", Intent.AVAILABILITY),
    ("i want to book", Intent.AVAILABILITY),
    ("do you have availability next weekend", Intent.AVAILABILITY),
    ("january 15 to 17", Intent.AVAILABILITY),
    ("the 20th for two adults", Intent.AVAILABILITY),
    ("how much is a room", Intent.PRICE),
    ("what's the rate for friday", Intent.PRICE),
    ("how much for a room for two nights", Intent.PRICE),
    ("what are your prices", Intent.PRICE),
    ("do you have a pool", Intent.AMENITIES),
    ("is parking available", Intent.AMENITIES),
    ("do you have wi-fi", Intent.AMENITIES),
    ("what amenities do you have", Intent.AMENITIES),
    ("is breakfast included", Intent.AMENITIES),
    ("what time is check in", Intent.CHECKIN_TIME),
    ("how early can i check in", Intent.CHECKIN_TIME),
    ("when is checkout", Intent.CHECKOUT_TIME),
    ("late checkout", Intent.CHECKOUT_TIME),
    ("what time do we have to check out", Intent.CHECKOUT_TIME),
    ("can i bring my dog", Intent.PETS),
    ("are you pet friendly", Intent.PETS),
    ("pets", Intent.PETS),
    ("where are you located", Intent.LOCATION),
    ("what's the address", Intent.LOCATION),
    ("can i get directions", Intent.LOCATION),
    ("can i speak to a person", Intent.TRANSFER),
    ("the ac is broken", Intent.TRANSFER),
    ("call me back", Intent.CALLBACK),
    ("can you call me back tomorrow", Intent.CALLBACK),
    ("text me the details", Intent.SMS),
    ("can you send me a text", Intent.SMS),
    ("send the address to my phone", Intent.SMS),
    ("can i get the details by text", Intent.SMS),
    ("can i pay by card", Intent.PAYMENT),
    ("how much is the deposit", Intent.PAYMENT),
    ("yes", Intent.CONFIRM),
    ("yeah that's right", Intent.CONFIRM),
    ("sure", Intent.CONFIRM),
    ("correct", Intent.CONFIRM),
    ("please do", Intent.CONFIRM),
    ("yes please book it", Intent.CONFIRM),
    ("no", Intent.DENY),
    ("nope", Intent.DENY),
    ("not really", Intent.DENY),
    ("no thank you", Intent.DENY),
    ("that's not right", Intent.DENY),
    ("no i dont need to talk to anyone", Intent.DENY),
    ("bye", Intent.GOODBYE),
    ("thank you that's it", Intent.GOODBYE),
    ("no that's all", Intent.GOODBYE),
    ("hello", Intent.GREETING),
    ("good morning", Intent.GREETING),
    ("is this the sunset inn", Intent.GREETING),
    ("have i reached the hotel", Intent.GREETING),
    ("one person", Intent.AVAILABILITY),
    ("my room is too noisy", Intent.TRANSFER),
    ("blah blah", Intent.UNKNOWN),
    ("", Intent.UNKNOWN),
]


@pytest.mark.parametrize(("text", "intent"), INTENTS)
def test_classify_intent(text: str, intent: Intent) -> None:
    assert classify_intent(text) is intent


def test_intent_values_are_strings() -> None:
    member: str = Intent.CHECKIN_TIME  # typed as the str it is, to compare it with one
    assert member == "checkin_time"
    assert Intent("unknown") is Intent.UNKNOWN


# ============================================================================ answers

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
    ("do you have a pool", SUNSET, "Yes, we do: outdoor pool."),
    ("do you have wifi", SUNSET, "Yes, we do: Wi-Fi."),
    (
        "is there a gym",
        SUNSET,
        "I don't see a gym listed; our amenities include outdoor pool, free parking and "
        "breakfast buffet.",
    ),
    (
        "what amenities do you have",
        SUNSET,
        "Our amenities include outdoor pool, free parking and breakfast buffet.",
    ),
    ("do you have a pool", BARE, None),
    ("where are you located", SUNSET, "Sunset Inn is at 12 Ocean Drive, Santa Monica."),
    ("where are you", BARE, "Bare Hotel is in Lisbon."),
    ("how much is a room", SUNSET, "Rooms start at $189.00 a night for a King Room."),
    ("how much is a room", BARE, None),
    ("can i speak to a person", SUNSET, None),
    ("yes", SUNSET, None),
    ("january 15 to 17", SUNSET, None),
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
