"""Reading callback times in the hotel's own zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from hotelvoice.language.when import WhenError, parse_when

LA = ZoneInfo("America/Los_Angeles")
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=LA)  # a Wednesday morning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at 3 pm", dt.datetime(2026, 11, 26, 15, 0)),
        ("tomorrow at 3pm", dt.datetime(2026, 11, 26, 15, 0)),
        ("Tomorrow at 3:30 p.m.", dt.datetime(2026, 11, 26, 15, 30)),
        ("today at 4", dt.datetime(2026, 11, 25, 16, 0)),
        ("this afternoon", dt.datetime(2026, 11, 25, 15, 0)),
        ("tomorrow morning", dt.datetime(2026, 11, 26, 10, 0)),
        ("friday at noon", dt.datetime(2026, 11, 27, 12, 0)),
        ("monday at 9 am", dt.datetime(2026, 11, 30, 9, 0)),
        # Today is Wednesday: "wednesday" is today (the one weekday rule, language/dates.py),
        # "next wednesday" the Wednesday of next week.
        ("wednesday at 11 am", dt.datetime(2026, 11, 25, 11, 0)),
        ("next wednesday at 11 am", dt.datetime(2026, 12, 2, 11, 0)),
        ("next friday at 3", dt.datetime(2026, 12, 4, 15, 0)),
        ("Can you ring me tomorrow around 1 p.m.?", dt.datetime(2026, 11, 26, 13, 0)),
        ("call me back tomorrow at four pm", dt.datetime(2026, 11, 26, 16, 0)),
        ("tomorrow at three thirty pm", dt.datetime(2026, 11, 26, 15, 30)),
        ("Friday morning", dt.datetime(2026, 11, 27, 10, 0)),
        ("at 9", dt.datetime(2026, 11, 26, 9, 0)),  # 9 AM has passed today: tomorrow
        ("3 pm", dt.datetime(2026, 11, 25, 15, 0)),  # still ahead today
        ("at 9 in the evening", dt.datetime(2026, 11, 25, 21, 0)),
        ("3 o'clock", dt.datetime(2026, 11, 25, 15, 0)),
        ("in half an hour", dt.datetime(2026, 11, 25, 10, 30)),
        ("at 14:45", dt.datetime(2026, 11, 25, 14, 45)),
        ("in 2 hours", dt.datetime(2026, 11, 25, 12, 0)),
        ("in an hour", dt.datetime(2026, 11, 25, 11, 0)),
        ("in 30 minutes", dt.datetime(2026, 11, 25, 10, 30)),
        ("2026-12-01T15:00", dt.datetime(2026, 12, 1, 15, 0)),
        ("2026-12-01 09:15", dt.datetime(2026, 12, 1, 9, 15)),
    ],
)
def test_callback_times(text: str, expected: dt.datetime) -> None:
    assert parse_when(text, NOW) == expected.replace(tzinfo=LA)


def test_an_iso_time_with_an_offset_is_converted_to_the_hotels_zone() -> None:
    moment = parse_when("2026-12-01T23:00:00+00:00", NOW)
    assert moment.tzinfo == LA
    assert (moment.hour, moment.day) == (15, 1)


def test_a_date_in_words_with_a_time() -> None:
    assert parse_when("december 3rd at 10 am", NOW) == dt.datetime(2026, 12, 3, 10, tzinfo=LA)


@pytest.mark.parametrize(
    "text", ["whenever suits", "tomorrow", "room 12", "at 25:00", "for 3 nights", "2 adults"]
)
def test_no_time_of_day_is_an_error(text: str) -> None:
    with pytest.raises(WhenError, match="no time of day"):
        parse_when(text, NOW)
