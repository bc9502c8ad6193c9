"""The word tables every reader and writer of English here shares: weekdays, months, numbers.

One table per concept, so the understanding (:mod:`~hotelvoice.language.dates`,
:mod:`~hotelvoice.language.when`), the concierge's own speech
(:mod:`~hotelvoice.language.spoken`) and the words the engine's voice is given
(``engine/phrases.py``) cannot drift apart. Lower-case names are what callers' text is matched
against; the capitalised ones are what the concierge writes.
"""

from __future__ import annotations

from typing import Final

WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                   "sunday")  # fmt: skip
MONTHS: Final = ("january", "february", "march", "april", "may", "june", "july", "august",
                 "september", "october", "november", "december")  # fmt: skip
WEEKDAY_NAMES: Final = tuple(name.capitalize() for name in WEEKDAYS)
MONTH_NAMES: Final = tuple(name.capitalize() for name in MONTHS)

# Weekday -> 0 (Monday) .. 6. Full names only, plus two unambiguous abbreviations: "sat",
# "wed" and "sun" are ordinary words.
WEEKDAY_NUMBERS: Final = {
    **{name: number for number, name in enumerate(WEEKDAYS)},
    "tues": 1,
    "thurs": 3,
}
# Month -> 1..12, with the abbreviations people write ("jan", "sept"); "may" is both.
MONTH_NUMBERS: Final = {
    **{name: number for number, name in enumerate(MONTHS, start=1)},
    **{name[:3]: number for number, name in enumerate(MONTHS, start=1) if name != "may"},
    "sept": 9,
}

UNITS: Final = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
TENS: Final = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
ORDINAL_UNITS: Final = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh",
                        "eighth", "ninth")  # fmt: skip
ORDINAL_TEENS: Final = ("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
                        "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                        "nineteenth")  # fmt: skip
ORDINAL_TENS: Final = {"twentieth": 20, "thirtieth": 30}
# Ordinal word -> value, 1..19 and the round tens ("twenty first" is "twenty" + "first").
ORDINALS: Final = {
    **{word: number for number, word in enumerate(ORDINAL_UNITS, start=1)},
    **{word: number for number, word in enumerate(ORDINAL_TEENS, start=10)},
    **ORDINAL_TENS,
}


def ordinal_suffix(n: int) -> str:
    """ "st", "nd", "rd" or "th" for ``n``: 1st, 12th, 22nd."""
    if 11 <= n % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
