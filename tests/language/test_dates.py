"""Stays from what callers say: written, recognised (numbers as words) and free-form text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotelvoice.language.dates import (
    DateRange,
    date_points,
    extract_date_range,
    find_stay,
    weekday_date,
)
from hotelvoice.language.text import tokens

TODAY = date(2026, 11, 25)  # a Wednesday, the day before Thanksgiving
YEAR_END = date(2026, 12, 28)  # a Monday, three days before New Year's Eve


def stay(check_in: str, check_out: str) -> DateRange:
    return DateRange(date.fromisoformat(check_in), date.fromisoformat(check_out))


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


def test_date_range_refuses_an_empty_or_backward_stay() -> None:
    with pytest.raises(ValueError, match="not after"):
        DateRange(TODAY, TODAY)
    assert stay("2026-12-24", "2026-12-27").nights == 3


# What a free-form recogniser writes: capitals, punctuation, digits and ordinals.
FREE_FORM = [
    ("January 15th to the 18th.", "2027-01-15", "2027-01-18"),
    ("From January 15 to 18, please.", "2027-01-15", "2027-01-18"),
    ("We'd arrive on the 5th and leave on the 8th of December.", "2026-12-05", "2026-12-08"),
    ("Check-in December 4, check-out December 6.", "2026-12-04", "2026-12-06"),
    ("Next Friday, for 2 nights.", "2026-12-04", "2026-12-06"),
    ("Tomorrow night.", "2026-11-26", "2026-11-27"),
    ("This weekend, if you have anything.", "2026-11-27", "2026-11-29"),
    ("December 24th to the 27th, 2026.", "2026-12-24", "2026-12-27"),
    ("12/24 - 12/27", "2026-12-24", "2026-12-27"),
    ("Friday to Sunday.", "2026-11-27", "2026-11-29"),
]


@pytest.mark.parametrize(("text", "check_in", "check_out"), FREE_FORM)
def test_free_form_dates(text: str, check_in: str, check_out: str) -> None:
    assert extract_date_range(text, TODAY) == stay(check_in, check_out)


def test_a_stay_says_whether_its_end_was_given() -> None:
    alone = find_stay(tokens("the 16th"), TODAY)
    assert alone is not None and not alone.end_said and alone.dates.nights == 1
    ranged = find_stay(tokens("the 16th to the 18th"), TODAY)
    assert ranged is not None and ranged.end_said
    length = find_stay(tokens("the 16th for 3 nights"), TODAY)
    assert length is not None and length.end_said and length.dates.nights == 3


def test_date_points_name_every_day_said() -> None:
    points = date_points(tokens("not tuesday wednesday"), TODAY)
    assert [p.day for p in points] == [date(2026, 12, 1), TODAY]  # today is a Wednesday
    assert [(p.start, p.end) for p in points] == [(1, 2), (2, 3)]
    assert date_points(tokens("what is the weather like"), TODAY) == []


@pytest.mark.parametrize("offset", range(7))
def test_one_weekday_rule(offset: int) -> None:
    """ "friday" is the coming one, today counting; "next friday" the one of next week."""
    today = date(2026, 11, 23) + timedelta(days=offset)  # Monday .. Sunday
    coming = weekday_date(4, 0, today)
    assert coming.weekday() == 4 and 0 <= (coming - today).days <= 6
    following = weekday_date(4, 1, today)
    monday = today + timedelta(days=7 - today.weekday())
    assert monday <= following < monday + timedelta(days=7)
    assert weekday_date(4, 2, today) == following + timedelta(days=7)


def test_a_weekday_said_on_that_day_is_today() -> None:
    friday = date(2026, 11, 27)
    assert extract_date_range("friday", friday) == DateRange(friday, friday + timedelta(days=1))
    found = extract_date_range("next friday", friday)
    assert found is not None and found.check_in == date(2026, 12, 4)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_never_raises(text: str) -> None:
    found = extract_date_range(text, TODAY)
    assert found is None or found.check_out > found.check_in
