"""Understanding "tomorrow at 3 pm" in a hotel's own time zone, for callbacks.

Pure: the property's local "now" comes in as an argument. ISO date-times are taken as they are
(naive ones are local to the hotel); otherwise a day ("today", "tomorrow", a weekday, a date
like "December 3rd") and a time ("3 pm", "15:30", "noon", "in 2 hours",
"morning") are read separately.
"""

from __future__ import annotations

import datetime as dt
import re

from hotelvoice.language import extraction

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PARTS_OF_DAY = {"morning": dt.time(10, 0), "afternoon": dt.time(15, 0), "evening": dt.time(17, 0)}
_CLOCK = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?\s?m\.?|p\.?\s?m\.?)?(?=\W|$)")
_RELATIVE = re.compile(r"\bin\s+(an?|\d+|one|two|three|four|five|six)\s+(hours?|minutes?|mins?)\b")
_SMALL = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


class WhenError(ValueError):
    """The text names no usable moment; the message says what is missing."""


def parse_when(text: str, local_now: dt.datetime) -> dt.datetime:
    """The moment ``text`` means, as an aware datetime in ``local_now``'s zone.

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
    lowered = cleaned.lower()
    relative = _RELATIVE.search(lowered)
    if relative is not None:
        amount = relative.group(1)
        count = _SMALL[amount] if amount in _SMALL else int(amount)
        unit = (
            dt.timedelta(hours=1)
            if relative.group(2).startswith("hour")
            else dt.timedelta(minutes=1)
        )
        return (local_now + count * unit).replace(second=0, microsecond=0)
    day = _day(lowered, local_now.date())
    clock = _time(lowered)
    if clock is None:
        raise WhenError(f"no time of day in {text!r}; ask the caller what time suits them")
    return dt.datetime.combine(day, clock, tzinfo=zone)


def _day(text: str, today: dt.date) -> dt.date:
    if "tomorrow" in text:
        return today + dt.timedelta(days=1)
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", text):
        return today
    for index, name in enumerate(WEEKDAYS):
        if re.search(rf"\b{name}\b", text):
            # "Friday" and "next Friday" both mean the coming one: for a callback the caller
            # rarely means a week later, and staff confirm the time anyway.
            ahead = (index - today.weekday()) % 7 or 7
            return today + dt.timedelta(days=ahead)
    dates = extraction.extract_date_range(text, today)
    if dates is not None:
        return dates.check_in
    return today


def _time(text: str) -> dt.time | None:
    if re.search(r"\b(noon|midday)\b", text):
        return dt.time(12, 0)
    for match in _CLOCK.finditer(text):
        hour = int(match.group(1))
        minute = int(match.group(2) or 0)
        meridiem = (match.group(3) or "").replace(".", "").replace(" ", "")
        if not meridiem and match.group(2) is None:
            # A bare number is a time only when it is said as one ("at 3").
            before = text[: match.start()].rstrip()
            if not before.endswith(("at", "around", "about", "by")):
                continue
            meridiem = "pm" if 1 <= hour <= 7 else ""  # "at 3" on a phone means the afternoon
        if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
            continue
        if meridiem == "pm" and hour != 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        return dt.time(hour, minute)
    for part, clock in PARTS_OF_DAY.items():
        if part in text:
            return clock
    return None
