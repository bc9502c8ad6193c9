"""How the concierge says dates, times and money: "Friday, December 4th", "3 PM", "$189".

Pure, and in English whatever the machine's locale (the names come from
:mod:`~hotelvoice.language.words`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time

from hotelvoice.language.dates import DateRange
from hotelvoice.language.words import MONTH_NAMES, WEEKDAY_NAMES, ordinal_suffix


def spoken_time(t: time) -> str:
    """``t`` as said on the phone: "3 PM", "11 AM", "11:30 AM", "12 PM"."""
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def spoken_day(d: date, today: date) -> str:
    """ "Friday, December 24th" (", 2027" when ``d`` is not in today's year)."""
    said = (
        f"{WEEKDAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}{ordinal_suffix(d.day)}"
    )
    return said if d.year == today.year else f"{said}, {d.year}"


def spoken_date(d: date, today: date) -> str:
    """ "today", "tomorrow", "yesterday", or "Friday, December 24th" (", 2027" when ``d`` is
    not in today's year)."""
    delta = (d - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    return spoken_day(d, today)


def spoken_range(r: DateRange, today: date) -> str:
    """ "from Friday, December 24th to Monday, December 27th, 3 nights"."""
    nights = f"{r.nights} night" + ("" if r.nights == 1 else "s")
    return f"from {spoken_date(r.check_in, today)} to {spoken_date(r.check_out, today)}, {nights}"


def spoken_money(amount: object) -> str:
    """``"$189.00"`` as said: ``"$189"``; cents only when there are some."""
    return re.sub(r"\.00\b", "", str(amount))


def listing(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 adult", "2 adults", "2 children"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
