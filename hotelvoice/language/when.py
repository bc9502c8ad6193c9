"""Moments for callbacks: "tomorrow at 3 pm", "Monday at 10am", "in an hour", in the hotel's zone.

Pure: the hotel's local "now" comes in as an argument. The day is read by the stay reader's
rules (:mod:`~hotelvoice.language.dates`: "Friday" is the coming one, today counting; "next
Friday" the Friday of next calendar week), the time of day by these:

* **Clock times**: "3 pm", "3pm", "3 p.m.", "three pm", "15:30", "3:30 p.m.", "3 o'clock",
  "noon", "midday". A bare hour said as a time ("at 3", "around 4", "3 o'clock") is in the
  afternoon from 1 to 7 and in the morning from 8 to 11 (a phone call at 3 means 3 PM),
  unless a part of the day says otherwise ("at 9 in the evening").
* **Parts of the day** alone: morning 10 AM, afternoon 3 PM, evening 5 PM (the concierge
  reads the time back, so the caller can name another).
* **No day**: the next such time, today if it is still ahead, otherwise tomorrow.
* **Relative**: "in 2 hours", "in 30 minutes", "in an hour" from now, to the minute.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import attrs

from hotelvoice.language.dates import date_points
from hotelvoice.language.text import Token, tokens, word_at

PARTS_OF_DAY = {"morning": dt.time(10, 0), "afternoon": dt.time(15, 0), "evening": dt.time(17, 0)}
_AFTERNOON_PARTS = frozenset({"afternoon", "evening", "night", "tonight"})
_TIME_LEADS = frozenset({"at", "around", "about", "by", "after", "before", "till", "until"})
_UNITS_AFTER = frozenset({"hour", "hours", "minute", "minutes", "mins", "min", "day", "days",
                          "night", "nights", "week", "weeks", "adults", "people", "guests",
                          "of", "dollars", "percent"})  # fmt: skip
_COLON = re.compile(r"(\d{1,2}):(\d{2})")


class WhenError(ValueError):
    """The text names no usable moment; the message says what is missing."""


@attrs.frozen
class Moment:
    """A moment as said: a day and a time of day, either possibly missing, or an offset from
    now ("in 2 hours")."""

    day: dt.date | None = None
    clock: dt.time | None = None
    offset: dt.timedelta | None = None

    def resolve(self, local_now: dt.datetime) -> dt.datetime | None:
        """The aware moment in ``local_now``'s zone, or None without a time of day."""
        if self.offset is not None:
            return (local_now + self.offset).replace(second=0, microsecond=0)
        if self.clock is None:
            return None
        if self.day is not None:
            return dt.datetime.combine(self.day, self.clock, tzinfo=local_now.tzinfo)
        moment = dt.datetime.combine(local_now.date(), self.clock, tzinfo=local_now.tzinfo)
        return moment if moment > local_now else moment + dt.timedelta(days=1)


def _meridiem(hour: int, meridiem: str | None, part: str | None) -> int | None:
    """The 24-hour hour of ``hour`` said with "am"/"pm" or a part of the day, or bare."""
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        if meridiem == "pm":
            return hour % 12 + 12
        return hour % 12
    if hour > 12:
        return hour if hour <= 23 else None
    if part == "morning":
        return hour % 12
    if part in _AFTERNOON_PARTS:
        return hour % 12 + 12
    return hour + 12 if 1 <= hour <= 7 else hour


def find_clock(toks: Sequence[Token]) -> dt.time | None:
    """The time of day said in ``toks`` (see the module docstring), or None."""
    words = [t.w for t in toks]
    part = next((w for w in words if w in PARTS_OF_DAY or w in _AFTERNOON_PARTS), None)
    for i, tok in enumerate(toks):
        nxt = word_at(toks, i + 1)
        if tok.w in ("noon", "midday"):
            return dt.time(12, 0)
        colon = _COLON.fullmatch(tok.w)
        if colon is not None:
            hour, minute = int(colon[1]), int(colon[2])
            meridiem = nxt if nxt in ("am", "pm") else None
            hour24 = _meridiem(hour, meridiem, part)
            if hour24 is not None and minute <= 59:
                return dt.time(hour24, minute)
            continue
        if tok.num is None or tok.ordinal:
            continue
        minute = 0
        after = nxt
        minutes = toks[i + 1] if i + 1 < len(toks) else None
        if (
            minutes is not None
            and minutes.num is not None
            and not minutes.digits
            and not minutes.ordinal
            and 10 <= minutes.num <= 59
            and word_at(toks, i + 2) in ("am", "pm")
        ):
            minute, after = minutes.num, word_at(toks, i + 2)  # "three thirty pm"
        if after in ("am", "pm"):
            hour24 = _meridiem(tok.num, after, part)
        elif after == "oclock" or (
            word_at(toks, i - 1) in _TIME_LEADS and after not in _UNITS_AFTER
        ):
            hour24 = _meridiem(tok.num, None, part)
        else:
            continue
        if hour24 is not None:
            return dt.time(hour24, minute)
    if part in PARTS_OF_DAY:
        return PARTS_OF_DAY[part]
    return None


def _offset(toks: Sequence[Token]) -> dt.timedelta | None:
    for i, tok in enumerate(toks):
        if tok.w != "in":
            continue
        amount = word_at(toks, i + 1)
        count = 1 if amount in ("a", "an") else toks[i + 1].num if i + 1 < len(toks) else None
        if [amount, word_at(toks, i + 2), word_at(toks, i + 3)] == ["half", "an", "hour"]:
            return dt.timedelta(minutes=30)
        if count is None or (i + 1 < len(toks) and toks[i + 1].ordinal):
            continue
        unit = word_at(toks, i + 2)
        if unit in ("hour", "hours") and 1 <= count <= 12:
            return dt.timedelta(hours=count)
        if unit in ("minute", "minutes", "mins") and 1 <= count <= 600:
            return dt.timedelta(minutes=count)
    return None


def find_moment(toks: Sequence[Token], today: dt.date) -> Moment | None:
    """The moment ``toks`` name: a day, a time of day, or an offset; None if none is said."""
    offset = _offset(toks)
    if offset is not None:
        return Moment(offset=offset)
    points = date_points(toks, today)
    day = points[0].day if points else None
    clock = find_clock(toks)
    if day is None and clock is None:
        return None
    return Moment(day, clock)


def parse_when(text: str, local_now: dt.datetime) -> dt.datetime:
    """The moment ``text`` means, as an aware datetime in ``local_now``'s zone.

    ISO date-times are taken as they are (naive ones are local to the hotel); otherwise the
    rules of the module docstring apply.

    Raises WhenError when no time of day can be found or the text cannot be read.
    """
    zone = local_now.tzinfo
    cleaned = text.strip()
    try:
        moment = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        pass
    else:
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
    said = find_moment(tokens(cleaned), local_now.date())
    resolved = None if said is None else said.resolve(local_now)
    if resolved is None:
        raise WhenError(f"no time of day in {text!r}; ask the caller what time suits them")
    return resolved
