"""Understanding a caller without a model: stay dates, party size, transfer requests, intents.

Deterministic, pure helpers for the offline speech engine and the end-of-call summary. Input
is either speech-recogniser text (lower case, no punctuation, numbers as words: "january
fifteenth to the seventeenth", "two adults and one child") or written text ("Jan 15-17, 2
adults"); both are normalised to the same word tokens first. Nothing here reads a clock:
"today" is always a parameter.

Rules worth knowing (each is also documented where it is implemented):

* A date without a year is the next occurrence on or after today; an end date without a year
  is the first occurrence after the check-in, so "december 30 to january 2" crosses the year.
* A start with no end and no length is one night ("tomorrow", "tonight", "the 20th").
* "this weekend" is the coming Friday to Sunday (the current one when today is Friday or
  Saturday; on a Saturday it starts today); "next weekend" is the one after that.
* A bare or "this" weekday is its next occurrence on or after today; "next friday" is the
  Friday of next calendar week (weeks start on Monday).
* "christmas" alone is the night of Christmas Eve (Dec 24 to 25) and "new year's" alone the
  night of New Year's Eve (Dec 31 to Jan 1); as the end of a stay they are Dec 25 and Jan 1.
* "family of N" is 2 adults and N - 2 children.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from datetime import date, time, timedelta
from enum import StrEnum

import attrs

from hotelvoice.properties.model import DEPARTMENTS, Property

# ============================================================================ public values


@attrs.frozen
class DateRange:
    """A stay: arrive on ``check_in``, leave on ``check_out`` (always later)."""

    check_in: date
    check_out: date = attrs.field()

    @check_out.validator
    def _after_check_in(self, _attribute: attrs.Attribute[date], value: date) -> None:
        if value <= self.check_in:
            raise ValueError(f"check-out {value} is not after check-in {self.check_in}")

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days


@attrs.frozen
class GuestCount:
    """Who is staying: at least one adult, and any children."""

    adults: int = attrs.field(validator=attrs.validators.ge(1))
    children: int = attrs.field(default=0, validator=attrs.validators.ge(0))


@attrs.frozen
class TransferIntent:
    """The caller wants (or needs) staff: which department, and why in a few words."""

    department: str = attrs.field(validator=attrs.validators.in_(DEPARTMENTS))
    reason: str


class Intent(StrEnum):
    """What a caller's utterance is mainly about (see :func:`classify_intent`)."""

    AVAILABILITY = "availability"
    PRICE = "price"
    AMENITIES = "amenities"
    CHECKIN_TIME = "checkin_time"
    CHECKOUT_TIME = "checkout_time"
    PETS = "pets"
    LOCATION = "location"
    TRANSFER = "transfer"
    CALLBACK = "callback"
    SMS = "sms"
    PAYMENT = "payment"
    CONFIRM = "confirm"
    DENY = "deny"
    GOODBYE = "goodbye"
    GREETING = "greeting"
    UNKNOWN = "unknown"


# ============================================================================ tokens

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_ORD_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19,
}  # fmt: skip
_ORD_TENS = {"twentieth": 20, "thirtieth": 30}

# Recognisers write contractions without the apostrophe; both spellings end up as two words
# so that negations read the same ("dont" and "don't" are both "do not").
_SPOKEN_FORMS = {
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not",
    "cannot": "can not", "wont": "will not", "isnt": "is not", "arent": "are not",
    "wasnt": "was not", "werent": "were not", "havent": "have not", "hasnt": "has not",
    "hadnt": "had not", "couldnt": "could not", "wouldnt": "would not",
    "shouldnt": "should not", "aint": "is not", "im": "i am", "ive": "i have",
    "youre": "you are", "theyre": "they are", "wanna": "want to", "gonna": "going to",
    "tmrw": "tomorrow", "tmr": "tomorrow", "tomorow": "tomorrow", "tonite": "tonight",
    "okay": "ok", "thx": "thanks",
}  # fmt: skip

# Longer digit runs are phone or card numbers, never counts or days.
_DIGITS = re.compile(r"(\d{1,6})(st|nd|rd|th)?")


@attrs.frozen
class _Tok:
    """One normalised word; ``num`` is set for numbers, written as digits or as words."""

    w: str
    num: int | None = None
    ordinal: bool = False
    digits: bool = False


def _normalize(text: str) -> str:
    """Lower case, contractions expanded, written dates and ranges spelled as the recogniser
    would say them, and punctuation gone (except the slashes and colons inside numbers)."""
    s = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    s = re.sub(r"\bcan't\b", "can not", s)
    s = re.sub(r"\bwon't\b", "will not", s)
    s = re.sub(r"n't\b", " not", s)
    s = re.sub(r"'re\b", " are", s)
    s = re.sub(r"\bi'm\b", "i am", s)
    s = re.sub(r"'ll\b", " will", s)
    s = re.sub(r"'ve\b", " have", s)
    s = re.sub(r"'d\b", " would", s)
    s = s.replace("'", "")  # possessives: "new year's" -> "new years", as recognisers write
    # "Adults: 2" on a web form reads as "2 adults".
    s = re.sub(
        r"\b(adults?|children|child|kids?|guests?|people|persons)\s*[:=]\s*(\d+)", r"\2 \1", s
    )
    # ISO dates become US month/day/year so that one token shape covers both.
    s = re.sub(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", r"\2/\3/\1", s)
    s = re.sub(r"\bw/\s*", "with ", s)
    s = re.sub(r"(\d(?:st|nd|rd|th)?)\s*[-\u2013\u2014]+\s*(?=\d)", r"\1 to ", s)  # 15-17
    s = re.sub(r"\s[-\u2013\u2014]+\s", " to ", s)  # "friday - sunday"
    s = s.replace("&", " and ").replace("+", " and ")
    s = re.sub(r"(?<=\d)/(?=\d)", "\x00", s)
    s = re.sub(r"(?<=\d):(?=\d)", "\x01", s)
    s = re.sub(r"[^\w\s\x00\x01]|_", " ", s)
    s = re.sub(r"\bweek end\b", "weekend", s)
    s = re.sub(r"\bkey card\b", "keycard", s)  # so "key card" is not a payment card
    s = re.sub(r"\bwi fi\b", "wifi", s)
    return s.replace("\x00", "/").replace("\x01", ":")


def _tokens(text: str) -> list[_Tok]:
    """``text`` as tokens, with number words combined ("twenty first" is one ordinal 21)."""
    words = [
        part for raw in _normalize(text).split() for part in _SPOKEN_FORMS.get(raw, raw).split()
    ]
    toks: list[_Tok] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in _TENS and _UNITS.get(nxt, 10) < 10:
            toks.append(_Tok(f"{w} {nxt}", _TENS[w] + _UNITS[nxt]))
            i += 2
            continue
        if w in _TENS and _ORD_UNITS.get(nxt, 10) < 10:
            toks.append(_Tok(f"{w} {nxt}", _TENS[w] + _ORD_UNITS[nxt], ordinal=True))
            i += 2
            continue
        if w in _UNITS or w in _TENS:
            toks.append(_Tok(w, _UNITS.get(w) or _TENS[w]))
        elif w in _ORD_UNITS or w in _ORD_TENS:
            toks.append(_Tok(w, _ORD_UNITS.get(w) or _ORD_TENS[w], ordinal=True))
        elif m := _DIGITS.fullmatch(w):
            toks.append(_Tok(w, int(m[1]), ordinal=m[2] is not None, digits=True))
        else:
            toks.append(_Tok(w))
        i += 1
    return toks


def _w(toks: Sequence[_Tok], i: int) -> str:
    """The word at ``i``, or "" outside the text (so look-ahead never needs bounds checks)."""
    return toks[i].w if 0 <= i < len(toks) else ""


def _num(toks: Sequence[_Tok], i: int) -> _Tok | None:
    """The number token at ``i``, if there is one."""
    if 0 <= i < len(toks) and toks[i].num is not None:
        return toks[i]
    return None


def _phrase_at(words: Sequence[str], phrase: str) -> list[int]:
    """Where the words of ``phrase`` occur in ``words``, in order."""
    parts = phrase.split()
    n = len(parts)
    return [i for i in range(len(words) - n + 1) if list(words[i : i + n]) == parts]


def _padded(words: Sequence[str]) -> str:
    return " " + " ".join(words) + " "


def _has(padded: str, phrase: str) -> bool:
    return f" {phrase} " in padded


# ============================================================================ dates

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
# Full names only (plus two unambiguous abbreviations): "sat" and "wed" are ordinary words.
_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "thursday": 3, "thurs": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_DAYPARTS = frozenset({"night", "morning", "afternoon", "evening"})
_OFFSET_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}
# Unit -> (nights per unit, preference). "days" counts as nights: callers say "three days"
# for a three-night stay, but when both are said ("three days two nights") nights win.
_STAY_UNITS = {
    "night": (1, 0), "nights": (1, 0), "week": (7, 1), "weeks": (7, 1), "fortnight": (14, 1),
    "day": (1, 2), "days": (1, 2),
}  # fmt: skip
_MAX_NIGHTS = 366
_MAX_OFFSET_DAYS = 3660
# A number followed by one of these is a count or a clock time, not a day of the month.
_NOT_A_DAY_AFTER = frozenset(
    {
        "night", "nights", "day", "days", "week", "weeks", "adult", "adults", "child",
        "children", "kid", "kids", "people", "person", "persons", "guest", "guests", "room",
        "rooms", "bed", "beds", "pm", "am", "oclock", "minute", "minutes", "hour", "hours",
        "month", "months", "year", "years", "dollars", "dollar", "bucks", "percent", "pet",
        "pets", "dog", "dogs", "cat", "cats", "floor", "time", "times", "one", "ones", "thing",
        "things", "option", "choice", "step", "place", "call", "question", "name", "letter",
        "number", "party", "row", "line", "part", "half", "us", "more", "extra", "king",
        "queen", "double", "single", "twin", "suite", "of", "baby", "babies", "nightly",
    }
)  # fmt: skip
_RANGE_WORDS = frozenset({"to", "till", "til", "until", "through", "thru", "and"})
# Words that may come before a spoken ordinal day: "the fifth", "on fifth", "to the fifth".
_DAY_LEAD = frozenset({"the", "on", "from", "to", "till", "til", "until", "through", "thru",
                       "and", "between", "starting", "by"})  # fmt: skip
# Words that may follow "the <cardinal>" for it to be a day ("the 20 for two nights").
_DAY_FOLLOW = frozenset({"", "to", "till", "til", "until", "through", "thru", "for", "and",
                         "check", "checking", "please", "or", "then", "leaving", "departing",
                         "arriving", "out", "instead"})  # fmt: skip

_START, _END, _ALSO, _NEUTRAL = "start", "end", "also", "neutral"
_START_WORDS = frozenset({"from", "starting", "start", "starts", "beginning", "arriving",
                          "arrive", "arrival", "checkin", "between"})  # fmt: skip
_END_WORDS = frozenset({"leaving", "leave", "departing", "depart", "departure", "checkout",
                        "out"})  # fmt: skip
_ADJACENT_END = frozenset({"to", "till", "til", "until", "through", "thru"})


@attrs.frozen
class _Day:
    """A calendar day as said: the month and year may be missing."""

    day: int
    month: int | None = None
    year: int | None = None


@attrs.frozen
class _Fixed:
    """A day already known exactly (today, tomorrow, "a week from today")."""

    day: date


@attrs.frozen
class _Weekday:
    """A weekday; ``weeks`` 0 is the coming one, 1 is next week's, 2 the week after."""

    weekday: int
    weeks: int = 0


@attrs.frozen
class _Weekend:
    """A Friday-to-Sunday weekend, already resolved."""

    start: date
    end: date


@attrs.frozen
class _Holiday:
    name: str


_Point = _Day | _Fixed | _Weekday | _Weekend | _Holiday


@attrs.frozen
class _Found:
    """Something date-like at ``toks[start:end]``: a point in time or a length of stay."""

    start: int
    end: int
    point: _Point | None = None
    nights: int | None = None
    rank: int = 0  # for lengths: which unit was said (nights beat weeks beat days)
    role: str = _NEUTRAL


def _on(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _thanksgiving(year: int) -> date:
    """The fourth Thursday of November (US)."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)


# name -> (the night a stay "for" it starts, the day itself). Christmas and New Year's are
# celebrated the evening before, so a stay "for christmas" is the night of the 24th.
_HOLIDAYS: dict[str, tuple[Callable[[int], date], Callable[[int], date]]] = {
    "christmas": (_on(12, 24), _on(12, 25)),
    "christmas_eve": (_on(12, 24), _on(12, 24)),
    "christmas_day": (_on(12, 25), _on(12, 25)),
    "new_years_eve": (_on(12, 31), _on(12, 31)),
    "new_years": (_on(12, 31), _on(1, 1)),
    "new_years_day": (_on(1, 1), _on(1, 1)),
    "thanksgiving": (_thanksgiving, _thanksgiving),
    "valentines": (_on(2, 14), _on(2, 14)),
    "halloween": (_on(10, 31), _on(10, 31)),
    "independence_day": (_on(7, 4), _on(7, 4)),
}
_HOLIDAY_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("christmas", "eve"), "christmas_eve"),
    (("xmas", "eve"), "christmas_eve"),
    (("christmas", "day"), "christmas_day"),
    (("xmas", "day"), "christmas_day"),
    (("christmas",), "christmas"),
    (("xmas",), "christmas"),
    (("new", "years", "eve"), "new_years_eve"),
    (("new", "year", "eve"), "new_years_eve"),
    (("nye",), "new_years_eve"),
    (("new", "years", "day"), "new_years_day"),
    (("new", "year", "day"), "new_years_day"),
    (("new", "years"), "new_years"),
    (("new", "year"), "new_years"),
    (("thanksgiving",), "thanksgiving"),
    (("valentines", "day"), "valentines"),
    (("valentines",), "valentines"),
    (("halloween",), "halloween"),
    (("independence", "day"), "independence_day"),
)


def _quantity(toks: Sequence[_Tok], i: int) -> tuple[int, int] | None:
    """``(value, next index)`` for a count: a cardinal, "a"/"an" (1), "(a) couple (of)" (2)."""
    w = _w(toks, i)
    if w in ("a", "an"):
        if _w(toks, i + 1) == "couple":
            return 2, i + 2 + (_w(toks, i + 2) == "of")
        return 1, i + 1
    if w == "couple":
        return 2, i + 1 + (_w(toks, i + 1) == "of")
    tok = _num(toks, i)
    if tok is not None and not tok.ordinal:
        return tok.num or 0, i + 1
    return None


def _day_number(toks: Sequence[_Tok], i: int) -> int | None:
    tok = _num(toks, i)
    if tok is not None and tok.num is not None and 1 <= tok.num <= 31:
        return tok.num
    return None


def _year(toks: Sequence[_Tok], i: int) -> tuple[int | None, int]:
    """An optional year after a day: "2027" or spoken "twenty twenty seven"."""
    tok = _num(toks, i)
    if tok is None or tok.ordinal or tok.num is None:
        return None, i
    if tok.digits and len(tok.w) == 4 and 2000 <= tok.num <= 2099:
        return tok.num, i + 1
    after = _num(toks, i + 1)
    if (
        tok.w == "twenty"
        and after is not None
        and after.num is not None
        and not after.digits
        and not after.ordinal
        and 10 <= after.num <= 99
    ):
        return 2000 + after.num, i + 2
    return None, i


def _skip_daypart(toks: Sequence[_Tok], i: int) -> int:
    return i + 1 if _w(toks, i) in _DAYPARTS else i


_Match = tuple[int, _Point] | None


def _match_offset(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "in two weeks", "a week from today", "3 days from tomorrow"."""
    if _w(toks, i) == "in":
        q = _quantity(toks, i + 1)
        if q is not None and (unit := _OFFSET_UNITS.get(_w(toks, q[1]))):
            days = q[0] * unit
            end = q[1] + 1 + (_w(toks, q[1] + 1) == "time")
            if 1 <= days <= _MAX_OFFSET_DAYS:
                return end, _Fixed(today + timedelta(days=days))
        return None
    q = _quantity(toks, i)
    if q is None or not (unit := _OFFSET_UNITS.get(_w(toks, q[1]))):
        return None
    if _w(toks, q[1] + 1) != "from":
        return None
    base = {"today": 0, "now": 0, "tonight": 0, "tomorrow": 1}.get(_w(toks, q[1] + 2))
    days = q[0] * unit
    if base is None or not 1 <= days <= _MAX_OFFSET_DAYS:
        return None
    return q[1] + 3, _Fixed(today + timedelta(days=base + days))


def _match_duration(toks: Sequence[_Tok], i: int) -> tuple[int, int, int] | None:
    """``(end, nights, rank)`` for "two nights", "a week", "couple of nights", "overnight"."""
    w = _w(toks, i)
    if w == "overnight":
        return i + 1, 1, 0
    if w == "for" and _w(toks, i + 1) == "the" and _w(toks, i + 2) == "night":
        return i + 3, 1, 0
    q = _quantity(toks, i)
    if q is None:
        return None
    unit = _STAY_UNITS.get(_w(toks, q[1]))
    if unit is None:
        return None
    nights = q[0] * unit[0]
    if not 1 <= nights <= _MAX_NIGHTS:
        return None
    return q[1] + 1, nights, unit[1]


def _match_relative(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "today", "tonight", "tomorrow (night)", "(the) day after tomorrow", "this evening"."""
    j = i + (_w(toks, i) == "the")
    if (_w(toks, j), _w(toks, j + 1), _w(toks, j + 2)) == ("day", "after", "tomorrow"):
        return _skip_daypart(toks, j + 3), _Fixed(today + timedelta(days=2))
    w = _w(toks, i)
    if w in ("today", "tonight"):
        return _skip_daypart(toks, i + 1), _Fixed(today)
    if w == "tomorrow":
        return _skip_daypart(toks, i + 1), _Fixed(today + timedelta(days=1))
    if w == "this" and _w(toks, i + 1) in _DAYPARTS - {"night"}:
        return i + 2, _Fixed(today)
    return None


def _lead_weeks(toks: Sequence[_Tok], i: int) -> tuple[int, int]:
    """``(weeks ahead, next index)`` after "this", "this coming", "the", "next"."""
    w = _w(toks, i)
    if w == "this" and _w(toks, i + 1) in ("coming", "upcoming"):
        return 0, i + 2
    if w in ("this", "the", "coming", "upcoming"):
        return 0, i + 1
    if w == "next":
        return 1, i + 1
    return 0, i


def _match_weekend(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "this weekend" is the coming Friday to Sunday, or the current one when today is Friday
    or Saturday (from today: a stay cannot start yesterday); on a Sunday the weekend is over,
    so it is the coming one. "next weekend" is the one after "this weekend", and "the weekend
    after next" the one after that."""
    weeks, j = _lead_weeks(toks, i)
    if _w(toks, j) != "weekend":
        return None
    j += 1
    if (_w(toks, j), _w(toks, j + 1)) == ("after", "next"):
        weeks, j = max(weeks, 1) + 1, j + 2
    wd = today.weekday()
    friday = (
        today - timedelta(days=wd - 4) if wd in (4, 5) else today + timedelta(days=(4 - wd) % 7)
    )
    friday += timedelta(days=7 * weeks)
    return j, _Weekend(max(friday, today), friday + timedelta(days=2))


def _match_weekday(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "friday", "this friday", "next friday", "friday next week", "friday after next"."""
    weeks, j = _lead_weeks(toks, i)
    if _w(toks, i) == "the":
        return None
    weekday = _WEEKDAYS.get(_w(toks, j))
    if weekday is None:
        return None
    j += 1
    if (_w(toks, j), _w(toks, j + 1)) == ("next", "week"):
        weeks, j = max(weeks, 1), j + 2
    elif (_w(toks, j), _w(toks, j + 1)) == ("after", "next"):
        weeks, j = max(weeks, 1) + 1, j + 2
    return _skip_daypart(toks, j), _Weekday(weekday, weeks)


def _match_holiday(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    for words, name in _HOLIDAY_WORDS:
        if all(_w(toks, i + k) == word for k, word in enumerate(words)):
            return i + len(words), _Holiday(name)
    return None


_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?")


def _match_slash(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "12/24", "12/24/26", "12/24/2026" (US month first; ISO dates arrive in this shape)."""
    m = _SLASH_DATE.fullmatch(_w(toks, i))
    if m is None:
        return None
    month, day = int(m[1]), int(m[2])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None  # "24/7" is not a date
    year = None if m[3] is None else int(m[3]) + (2000 if len(m[3]) == 2 else 0)
    return i + 1, _Day(day, month, year)


def _match_month_day(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "january 15", "jan 15th", "january the fifteenth", "december 24 2026"."""
    month = _MONTHS.get(_w(toks, i))
    if month is None:
        return None
    j = i + 1 + (_w(toks, i + 1) == "the")
    day = _day_number(toks, j)
    if day is None or _w(toks, j + 1) in _NOT_A_DAY_AFTER - {"of"}:
        return None
    year, end = _year(toks, j + 1)
    return end, _Day(day, month, year)


def _match_day_month(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """ "15 january", "the 15th of january", "the fifteenth of jan"."""
    j = i + (_w(toks, i) == "the")
    day = _day_number(toks, j)
    if day is None:
        return None
    j += 1 + (_w(toks, j + 1) == "of")
    month = _MONTHS.get(_w(toks, j))
    if month is None:
        return None
    year, end = _year(toks, j + 1)
    return end, _Day(day, month, year)


def _match_day_only(toks: Sequence[_Tok], i: int, today: date, prior: bool) -> _Match:
    """A day of the month with no month: "the 20th", "the twentieth", "to 17" after a date,
    "the 1st of next month". Guarded against counts and ordinals that are not days
    ("the two of us", "the second floor", "first of all")."""
    has_the = _w(toks, i) == "the"
    j = i + has_the
    tok = _num(toks, j)
    day = _day_number(toks, j)
    if tok is None or day is None:
        return None
    lead = "the" if has_the else _w(toks, i - 1)
    nxt = _w(toks, j + 1)
    month: int | None = None
    year: int | None = None
    end = j + 1
    if nxt == "of":
        if _w(toks, j + 2) in ("this", "next") and _w(toks, j + 3) == "month":
            month, year, end = today.month, today.year, j + 4
            if _w(toks, j + 2) == "next":
                month, year = (1, year + 1) if month == 12 else (month + 1, year)
        else:
            return None
    elif nxt in _NOT_A_DAY_AFTER:
        return None
    if tok.ordinal:
        ok = tok.digits or lead in _DAY_LEAD
    else:
        ok = (
            (has_the and (nxt in _DAY_FOLLOW or month is not None))
            or (prior and lead in _RANGE_WORDS)
            or _opens_day_range(toks, j)
        )
    return (end, _Day(day, month, year)) if ok else None


def _opens_day_range(toks: Sequence[_Tok], j: int) -> bool:
    """Whether the bare number at ``j`` starts "15 to 17 january"."""
    if _w(toks, j + 1) not in _RANGE_WORDS:
        return False
    k = j + 2 + (_w(toks, j + 2) == "the")
    if _day_number(toks, k) is None:
        return False
    k += 1 + (_w(toks, k + 1) == "of")
    return _w(toks, k) in _MONTHS


_POINT_MATCHERS: tuple[Callable[[Sequence[_Tok], int, date, bool], _Match], ...] = (
    _match_relative,
    _match_weekend,
    _match_weekday,
    _match_holiday,
    _match_slash,
    _match_month_day,
    _match_day_month,
    _match_day_only,
)


def _role(words: Sequence[str], start: int, floor: int, between: bool) -> str:
    """Whether the point at ``start`` opens the stay, closes it, or is another night ("friday
    and saturday"), from the few words before it (never reaching into the previous match)."""
    k = start - 1
    while k >= floor and words[k] in ("the", "on"):
        k -= 1
    if k >= floor:
        # "to"/"until" count only right before the date: "i want to book friday" is a start.
        if words[k] in _ADJACENT_END:
            return _END
        if words[k] == "and":
            return _END if between else _ALSO
    for k in range(start - 1, max(floor, start - 4) - 1, -1):
        w = words[k]
        if w == "in" and k > 0 and words[k - 1] in ("check", "checking"):
            return _START
        if w in _START_WORDS:
            return _START
        if w in _END_WORDS:
            return _END
    return _NEUTRAL


def _scan(toks: Sequence[_Tok], today: date) -> list[_Found]:
    """Every date point and length of stay in ``toks``, left to right, with roles."""
    words = [t.w for t in toks]
    found: list[_Found] = []
    i = floor = 0
    between = prior = False
    while i < len(toks):
        hit: _Found | None = None
        offset = _match_offset(toks, i, today, prior)
        if offset is not None:
            hit = _Found(i, offset[0], point=offset[1])
        elif (length := _match_duration(toks, i)) is not None:
            hit = _Found(i, length[0], nights=length[1], rank=length[2])
        else:
            for matcher in _POINT_MATCHERS:
                match = matcher(toks, i, today, prior)
                if match is not None:
                    hit = _Found(i, match[0], point=match[1])
                    break
        if hit is None:
            i += 1
            continue
        if hit.point is not None:
            if "between" in words[max(floor, i - 3) : i]:
                between = True
            hit = attrs.evolve(hit, role=_role(words, i, floor, between))
            prior = True
        found.append(hit)
        i = floor = hit.end
    return found


def _valid(year: int, month: int, day: int) -> bool:
    return 1 <= year <= 9999 and day <= calendar.monthrange(year, month)[1]


def _day_on_or_after(p: _Day, first: date, strictly: bool) -> date | None:
    """The first date matching ``p`` that is on (or, ``strictly``, after) ``first``."""
    if p.month is not None and p.year is not None:
        return date(p.year, p.month, p.day) if _valid(p.year, p.month, p.day) else None
    if p.month is None:
        year, month = first.year, first.month
        for _ in range(13):
            if _valid(year, month, p.day):
                d = date(year, month, p.day)
                if d > first or (d == first and not strictly):
                    return d
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None
    for year in range(first.year, first.year + 9):  # eight years always include a Feb 29
        if _valid(year, p.month, p.day):
            d = date(year, p.month, p.day)
            if d > first or (d == first and not strictly):
                return d
    return None


def _holiday_on_or_after(name: str, first: date, strictly: bool, night: bool) -> date:
    when = _HOLIDAYS[name][0 if night else 1]
    for year in range(first.year, first.year + 3):
        d = when(year)
        if d > first or (d == first and not strictly):
            return d
    raise ValueError(name)  # unreachable: every holiday happens once a year


def _resolve_start(p: _Point, today: date) -> date | None:
    if isinstance(p, _Day):
        return _day_on_or_after(p, today, strictly=False)
    if isinstance(p, _Fixed):
        return p.day
    if isinstance(p, _Weekend):
        return p.start
    if isinstance(p, _Holiday):
        return _holiday_on_or_after(p.name, today, strictly=False, night=True)
    # Weekdays: the coming one (today counts), or the one in next calendar week for "next".
    if p.weeks == 0:
        return today + timedelta(days=(p.weekday - today.weekday()) % 7)
    monday = today + timedelta(days=7 - today.weekday())
    return monday + timedelta(days=7 * (p.weeks - 1) + p.weekday)


def _resolve_end(p: _Point, check_in: date) -> date | None:
    """An end point is the first matching day after the check-in."""
    if isinstance(p, _Day):
        return _day_on_or_after(p, check_in, strictly=True)
    if isinstance(p, _Fixed):
        return p.day
    if isinstance(p, _Weekend):
        return p.end
    if isinstance(p, _Holiday):
        return _holiday_on_or_after(p.name, check_in, strictly=True, night=False)
    return check_in + timedelta(days=(p.weekday - check_in.weekday() - 1) % 7 + 1)


def _infer_month(start: _Day, end: _Day) -> _Day:
    """ "from the 15th to the 17th of january": the start takes the end's month (or the month
    before, for "the 28th to the 2nd of february")."""
    assert end.month is not None
    if start.day < end.day:
        return _Day(start.day, end.month, end.year)
    if end.month == 1:
        return _Day(start.day, 12, None if end.year is None else end.year - 1)
    return _Day(start.day, end.month - 1, end.year)


def _stay(toks: Sequence[_Tok], today: date) -> tuple[date, date] | None:
    found = _scan(toks, today)
    points = [f for f in found if f.point is not None]
    start = next((f for f in points if f.role == _START), None) or next(
        (f for f in points if f.role == _NEUTRAL), None
    )
    if start is None or start.point is None:
        return None
    end = next((f for f in points if f.role == _END and f is not start), None) or next(
        (f for f in points if f.role == _ALSO and f.start > start.start), None
    )
    lengths = sorted((f for f in found if f.nights), key=lambda f: (f.rank, f.start))
    point = start.point
    if (
        isinstance(point, _Day)
        and point.month is None
        and end is not None
        and isinstance(end.point, _Day)
        and end.point.month is not None
    ):
        point = _infer_month(point, end.point)
    check_in = _resolve_start(point, today)
    if check_in is None:
        return None
    check_out: date | None
    if end is not None and end.point is not None:
        check_out = _resolve_end(end.point, check_in)
        # "friday and saturday": the last night named, so leave the morning after.
        if check_out is not None and end.role == _ALSO and not isinstance(end.point, _Weekend):
            check_out += timedelta(days=1)
    elif lengths:
        check_out = check_in + timedelta(days=lengths[0].nights or 1)
    elif isinstance(point, _Weekend):
        check_out = point.end
    else:
        check_out = check_in + timedelta(days=1)
    if check_out is None:
        return None
    return check_in, check_out


def extract_date_range(text: str, today: date) -> DateRange | None:
    """The stay the caller describes, or None when ``text`` names no usable start date.

    Understands month-day forms ("january 15 to 17", "jan 15th - 17th", "from the 15th to
    the 17th of january", "march 3 to april 2"), numeric ones ("12/24 to 12/27",
    "2026-12-24 to 2026-12-27"), relative ones ("tonight", "tomorrow for two nights", "a week
    from today", "in two weeks"), weekdays and weekends ("next friday for 3 nights", "friday
    to sunday", "this weekend"), check-in/check-out phrasing, lengths ("a night", "couple of
    nights", "a week" = 7 nights, "three days" = 3 nights) and a few holidays (see the module
    docstring). A start alone is one night. Contradictions (an explicit check-out on or before
    the check-in, "april 31") give None.
    """
    try:
        stay = _stay(_tokens(text), today)
    except (ValueError, OverflowError):  # a date past year 9999, or a day the month lacks
        return None
    if stay is None or stay[1] <= stay[0]:
        return None
    return DateRange(*stay)


# ============================================================================ guests

_ADULT_NOUNS = frozenset({"adult", "adults", "grownup", "grownups", "grown"})
_CHILD_NOUNS = frozenset(
    {
        "child", "children", "kid", "kids", "son", "sons", "daughter", "daughters", "baby",
        "babies", "infant", "infants", "toddler", "toddlers", "teenager", "teenagers", "teen",
        "teens", "boy", "boys", "girl", "girls", "grandchild", "grandchildren", "grandkid",
        "grandkids", "grandson", "grandsons", "granddaughter", "granddaughters", "newborn",
        "kiddos", "kiddo", "minor", "minors",
    }
)  # fmt: skip
_PEOPLE_NOUNS = frozenset({"people", "persons", "person", "guests", "guest", "pax",
                           "travelers", "travellers"})  # fmt: skip
# Someone who comes along with the caller; "friend" and "mom" count, "boss" does not (callers
# often book for a boss without travelling).
_COMPANIONS = frozenset(
    {
        "wife", "husband", "partner", "spouse", "girlfriend", "boyfriend", "fiance", "fiancee",
        "friend", "friends", "mom", "mum", "mother", "dad", "father", "brother", "brothers",
        "sister", "sisters", "colleague", "colleagues", "coworker", "coworkers", "grandma",
        "grandmother", "grandpa", "grandfather", "aunt", "aunts", "uncle", "uncles", "roommate",
        "buddy", "buddies", "cousin", "cousins",
    }
)  # fmt: skip
_PAIRS = frozenset({"parents", "grandparents", "inlaws"})
_PLURAL_ONLY = frozenset(
    w for w in _COMPANIONS | _CHILD_NOUNS if w.endswith("s") or w == "children"
)
_ADJECTIVES = frozenset({"little", "young", "small", "more", "other", "grown", "teenage",
                         "older", "younger", "extra", "additional", "total"})  # fmt: skip
_COUPLE_LEAD = frozenset({"a", "the", "young", "married", "older", "retired"})
_POSSESSIVES = frozenset({"my", "our", "the", "his", "her", "with"})
_ALONE = ("just me", "only me", "just myself", "only myself", "by myself", "on my own",
          "alone", "solo", "just for me", "only for me", "just one person")  # fmt: skip
_WE = frozenset({"we", "our", "us", "family"})
_MAX_PARTY = 99  # larger numbers are room numbers, years or prices


def extract_guests(text: str) -> GuestCount | None:
    """Who is coming, or None when ``text`` says nothing about it.

    "2 adults and 1 child", "two adults one kid", "me and my wife" (2), "my wife and our two
    kids" (2 + 2), "four people"/"party of 4"/"for 3 guests" (all adults), "a couple" (2),
    "just me" (1). Rules: the caller counts as an adult alongside any companion they name
    ("my wife" = 2 adults); "family of N" is 2 adults and N - 2 children; a total that comes
    with a number of children ("four people, two of them kids") is split; children alone
    come with one adult, or two when the caller says "we"/"our"/"us"/"family". Children
    mentioned without a number ("my wife and the kids") are not counted.
    """
    toks = _tokens(text)
    words = [t.w for t in toks]
    padded = _padded(words)
    adults = children = companions = 0
    said_adults = said_children = couple = False
    total: int | None = None
    family: int | None = None
    us: int | None = None
    i = 0
    while i < len(toks):
        w = words[i]
        if w in ("family", "party", "group") and _w(toks, i + 1) == "of":
            tok = _num(toks, i + 2)
            if tok is not None and tok.num is not None and not tok.ordinal:
                if 1 <= tok.num <= _MAX_PARTY:
                    if w == "family":
                        family = tok.num
                    else:
                        total = tok.num
                i += 3
                continue
        if w == "couple" and _w(toks, i - 1) in _COUPLE_LEAD:
            nxt = _w(toks, i + 1)
            if (
                nxt != "of"
                and nxt not in _STAY_UNITS
                and _num(toks, i + 1) is None
                and nxt not in _ADULT_NOUNS | _CHILD_NOUNS | _PEOPLE_NOUNS
            ):
                couple = True
                i += 1
                continue
        if w == "both" and (_w(toks, i + 1), _w(toks, i + 2)) == ("of", "us"):
            us = 2
            i += 3
            continue
        if w in _PAIRS or (w, _w(toks, i + 1)) == ("in", "laws"):
            companions += 2
            i += 1 if w in _PAIRS else 2
            continue
        q = _quantity(toks, i)
        is_number = _num(toks, i) is not None
        if q is not None and 1 <= q[0] <= _MAX_PARTY:
            value, j = q
            while _w(toks, j) in _ADJECTIVES:
                j += 1
            noun = _w(toks, j)
            if noun == "ones" and _w(toks, j - 1) == "little":
                noun = "kids"
            if noun in _ADULT_NOUNS:
                adults += value
                said_adults = True
            elif noun in _CHILD_NOUNS:
                children += value
                said_children = True
            elif noun in _COMPANIONS:
                companions += value
            elif noun == "of" and _w(toks, j + 1) == "us" and is_number:
                us = value
                j += 1
            elif noun in _PEOPLE_NOUNS and is_number:
                total = value
            elif is_number and _counts_party(toks, i):
                total = value
                j = i
            else:
                i += 1
                continue
            i = j + 1
            continue
        if w in _COMPANIONS and w not in _PLURAL_ONLY and _w(toks, i - 1) in _POSSESSIVES:
            companions += 1
        elif w in _CHILD_NOUNS and w not in _PLURAL_ONLY and _w(toks, i - 1) in _POSSESSIVES:
            children += 1
            said_children = True
        i += 1
    return _party(
        adults if said_adults else None,
        children if said_children else None,
        total=total,
        family=family,
        us=us,
        companions=companions,
        couple=couple,
        alone=any(_has(padded, phrase) for phrase in _ALONE),
        we=any(w in _WE for w in words),
    )


def _counts_party(toks: Sequence[_Tok], i: int) -> bool:
    """ "a room for two", "we are three", "us two": a bare number that counts people."""
    before = (_w(toks, i - 2), _w(toks, i - 1))
    nxt = _w(toks, i + 1)
    if nxt in _NOT_A_DAY_AFTER or nxt in _MONTHS or nxt in _RANGE_WORDS or nxt in _STAY_UNITS:
        return False
    if _num(toks, i + 1) is not None or (_num(toks, i) or _Tok("")).ordinal:
        return False
    if before[1] == "for" and before[0] in ("room", "reservation", "booking", "table", "something"):
        return True
    return before in (("we", "are"), ("there", "are")) or before[1] == "us"


def _party(
    adults: int | None,
    children: int | None,
    *,
    total: int | None,
    family: int | None,
    us: int | None,
    companions: int,
    couple: bool,
    alone: bool,
    we: bool,
) -> GuestCount | None:
    """Combine what was said, most explicit first (see :func:`extract_guests`)."""
    if family is not None:
        if adults is not None:
            return GuestCount(adults, children if children is not None else max(family - adults, 0))
        if children is not None:
            return GuestCount(max(family - children, 1), children)
        return GuestCount(2 if family >= 2 else 1, max(family - 2, 0))
    kids = children or 0
    if adults is not None:
        everyone = total if total is not None else us
        if children is None and everyone is not None and everyone > adults:
            kids = everyone - adults
        return GuestCount(adults, kids)
    if couple or companions:
        # The caller comes too: "me and my wife" and "my wife" are both two adults.
        return GuestCount((2 if couple else 1) + companions, kids)
    if us is not None:
        # "the two of us and our baby": "us" are the grown-ups.
        return GuestCount(us, kids)
    if total is not None:
        # "four people, two of them kids": the total includes the children.
        return GuestCount(max(total - kids, 1), kids)
    if kids:
        return GuestCount(2 if we else 1, kids)
    if alone:
        return GuestCount(1)
    return None


# ============================================================================ transfers

_NEGATORS = frozenset({"not", "never", "nobody", "nothing", "without", "neither", "nor"})
_CLAUSE_BREAKS = frozenset({"but", "however", "actually", "though", "although", "so"})
_CONNECT_VERBS = (
    "speak to", "speak with", "talk to", "talk with", "connect me", "connect", "transfer me",
    "transfer", "put me through", "put me in touch", "get me", "give me", "need", "want",
    "would like", "can i get", "could i get", "can i have", "could i have", "may i have",
    "get ahold of", "get a hold of", "reach", "is there", "looking for", "ask for", "bring",
    "send",
)  # fmt: skip
_SELF_CONNECT = ("transfer me", "connect me", "put me through", "put me in touch")
# Words allowed between a connecting verb and its target ("speak to the front desk").
_TARGET_FILLERS = frozenset({"a", "an", "the", "to", "with", "your", "some", "real", "live",
                             "actual", "me", "us", "through", "in", "touch", "one", "of",
                             "someone", "somebody", "from", "please", "speak", "talk",
                             "directly", "now"})  # fmt: skip
# target -> department; generic targets go to the front desk.
_TARGETS = {
    "real person": "", "live person": "", "actual person": "", "human being": "",
    "person": "", "human": "", "someone": "", "somebody": "", "anyone": "", "anybody": "",
    "representative": "", "rep": "", "agent": "", "operator": "", "staff": "",
    "employee": "", "member of staff": "",
    "receptionist": "front_desk", "reception": "front_desk", "front desk": "front_desk",
    "the desk": "front_desk", "concierge": "front_desk",
    "manager": "management", "general manager": "management", "supervisor": "management",
    "management": "management", "someone in charge": "management",
    "housekeeping": "housekeeping", "house keeping": "housekeeping",
    "maintenance": "maintenance", "engineering": "maintenance", "engineer": "maintenance",
}  # fmt: skip
# Short utterances that are themselves a request ("representative", "front desk please").
_BARE_TARGETS = ("representative", "operator", "agent", "human", "person", "real person",
                 "live person", "reception", "receptionist", "front desk", "manager",
                 "supervisor", "housekeeping", "maintenance")  # fmt: skip
_QUESTION_STARTS = frozenset({"are", "is", "am", "what", "when", "where", "who", "how", "do",
                              "does", "was", "were"})  # fmt: skip
_COMPLAINTS = ("complaint", "complaints", "complain", "complaining")
_MAINTENANCE_ISSUES = (
    "not working", "does not work", "do not work", "will not work", "stopped working",
    "quit working", "can not turn on", "will not turn on", "will not turn off",
    "can not turn off", "will not open", "will not close", "will not lock", "will not flush",
    "out of order", "broken", "broke down", "leak", "leaks", "leaking", "leaky", "dripping",
    "clogged", "overflowing", "flooded", "flooding", "no hot water", "no water", "no power",
    "no electricity", "no heat", "no heating", "power is out", "power went out",
    "power outage", "maintenance",
)  # fmt: skip
# Safety first: these go straight to the front desk, whatever else is said.
_URGENT = (
    "emergency", "ambulance", "injured", "bleeding", "on fire", "there is a fire",
    "call the police", "call security", "locked out", "hurt",
)  # fmt: skip
# Things that can be fixed: "fix the shower" is maintenance, "fix my booking" is not.
_FIXABLE = (
    "air conditioning", "air conditioner", "ac", "heater", "heating", "thermostat",
    "hot water", "toilet", "shower", "sink", "bathtub", "tub", "faucet", "tap", "tv",
    "television", "lights", "light", "lamp", "fridge", "refrigerator", "minibar", "microwave",
    "door", "window", "lock", "safe", "elevator", "lift", "fan", "outlet", "ice machine",
    "remote",
)  # fmt: skip
_MAINTENANCE_OBJECTS = (*_FIXABLE, "room", "water", "power")
# A room at the wrong temperature needs its heating or cooling seen to (maintenance); a noisy
# one needs the front desk (neighbours, a room move). Only as statements: "is it too cold to
# swim" and "is the room noisy" are questions, not problems.
_TEMPERATURE_ISSUES = (
    "too cold", "too hot", "too warm", "too stuffy", "freezing", "boiling", "very cold",
    "very hot", "really cold", "really hot", "so cold", "so hot",
)  # fmt: skip
_NOISE_ISSUES = ("too noisy", "too loud", "noisy", "loud", "noise")
_FIX_VERBS = ("fix", "repair", "fixed", "repaired", "fixing")
# Keys and the network are the front desk's job, not maintenance's.
_FRONT_DESK_OBJECTS = ("keycard", "key", "keys", "wifi", "internet")
_HOUSEKEEPING_ITEMS = (
    "towel", "towels", "sheets", "linens", "bedding", "pillow", "pillows", "blanket",
    "blankets", "toiletries", "shampoo", "conditioner", "soap", "toilet paper", "tissues",
    "housekeeping", "house keeping", "maid", "hangers", "trash", "garbage",
    "turndown", "crib", "cot", "rollaway",
)  # fmt: skip
# Asking for an item is a request only with one of these ("is there daily housekeeping" is not).
_HOUSEKEEPING_CUES = (
    "please", "need", "needs", "can i get", "could i get", "can we get", "could we get",
    "can i have", "could i have", "can we have", "could we have", "can someone", "could someone",
    "can somebody", "send", "bring", "more", "extra", "fresh", "another", "ran out",
    "out of", "no", "not been", "was not", "were not", "has not", "have not", "never",
    "change", "replace", "want", "would like", "new", "dirty",
)  # fmt: skip
_HOUSEKEEPING_ACTIONS = (
    "clean my room", "clean our room", "clean the room", "room cleaned", "make up the room",
    "make up my room", "make up our room", "come clean", "to clean", "room is dirty",
    "room was dirty", "dirty room", "room serviced", "service the room", "service my room",
    "need cleaning", "needs cleaning", "cleaning please",
)  # fmt: skip


def _negated(words: Sequence[str], at: int, bare_no: bool = False) -> bool:
    """Whether a negation governs the words starting at ``at``: "i do not need towels", "no
    need to transfer me", "no one". ``bare_no``: a plain "no" right before counts too ("no
    complaints"); it does not for items, where "no towels" is the problem."""
    if bare_no and at > 0 and words[at - 1] == "no":
        return True
    for k in range(at - 1, max(-1, at - 6), -1):
        w = words[k]
        if w in _CLAUSE_BREAKS:
            return False
        if w in _NEGATORS:
            return True
        if w == "no" and k + 1 < len(words) and words[k + 1] in ("need", "one"):
            return True
    return False


def _first(
    words: Sequence[str], phrases: Sequence[str], bare_no: bool = False
) -> tuple[int, str] | None:
    """The earliest non-negated occurrence of any of ``phrases``: ``(position, phrase)``."""
    best: tuple[int, str] | None = None
    for phrase in phrases:
        for at in _phrase_at(words, phrase):
            if not _negated(words, at, bare_no) and (best is None or at < best[0]):
                best = (at, phrase)
    return best


def _asked_for(words: Sequence[str]) -> str | None:
    """The department ("" for anyone) when the caller asks to be put through to someone:
    a connecting verb right before a staff target ("speak to the manager", "i need someone
    from housekeeping"), "is the manager available", "transfer me", or a short utterance
    that is only a target ("representative", "front desk please")."""
    verb_ends = [
        at + len(verb.split())
        for verb in _CONNECT_VERBS
        for at in _phrase_at(words, verb)
        if not _negated(words, at)
    ]
    found: list[tuple[int, str]] = []
    for target, department in _TARGETS.items():
        for at in _phrase_at(words, target):
            # "one person", "two people": a party size, not someone to talk to.
            if _negated(words, at, bare_no=True) or (at > 0 and _is_number(words[at - 1])):
                continue
            after_at = at + len(target.split())
            after = words[after_at] if after_at < len(words) else ""
            near_verb = any(
                end <= at and all(w in _TARGET_FILLERS for w in words[end:at]) for end in verb_ends
            )
            available = department == "management" and after in ("available", "around", "there")
            bare = len(words) <= 4 and target in _BARE_TARGETS and words[0] not in _QUESTION_STARTS
            if near_verb or available or bare:
                found.append((at, department))
    if found:
        # A named department beats a plain "someone": "someone from housekeeping".
        return min(found, key=lambda f: (not f[1], f[0]))[1]
    for phrase in _SELF_CONNECT:
        if any(not _negated(words, at) for at in _phrase_at(words, phrase)):
            return ""
    return None


def _is_number(word: str) -> bool:
    """A count as a token's word: "two", "twenty one", "3"."""
    return word.isdigit() or word.split(" ", 1)[0] in _UNITS or word.split(" ", 1)[0] in _TENS


def _object_of(words: Sequence[str], candidates: Sequence[str]) -> str | None:
    padded = _padded(words)
    return next((obj for obj in candidates if _has(padded, obj)), None)


def detect_transfer_intent(text: str) -> TransferIntent | None:
    """Whether the caller needs staff, and which department; None otherwise.

    A request to be connected ("can i speak to a person / the manager / reception"), a
    complaint (management), an emergency or a lock-out (front desk), something broken or not
    working or a room too cold or hot (maintenance; keys and wifi go to the front desk), a
    noisy room (front desk) or a housekeeping request ("can i get more towels"). Questions
    that merely mention these ("what time is check in", "is there daily housekeeping") and
    negated ones ("no i don't need to talk to anyone", "nothing is broken") give None. Order
    when several apply: an emergency, a department named explicitly, a complaint,
    maintenance, noise, housekeeping, and the front desk for a plain "a person".
    """
    words = [t.w for t in _tokens(text)]
    if not words:
        return None
    padded = _padded(words)
    urgent = _first(words, _URGENT)
    if urgent is not None:
        return TransferIntent("front_desk", f"urgent: {urgent[1]}")
    asked = _asked_for(words)
    if asked:
        label = {"front_desk": "the front desk", "management": "a manager"}.get(asked, asked)
        return TransferIntent(asked, f"asked for {label}")
    if _first(words, _COMPLAINTS, bare_no=True) is not None:
        return TransferIntent("management", "wants to make a complaint")
    issue = _first(words, _MAINTENANCE_ISSUES)
    fix = _first(words, _FIX_VERBS)
    if issue is None and fix is not None and _object_of(words, _FIXABLE) is not None:
        issue = (fix[0], "needs fixing")
    statement = words[0] not in _QUESTION_STARTS
    if issue is None and statement:
        issue = _first(words, _TEMPERATURE_ISSUES)
    if issue is not None:
        desk = _object_of(words, _FRONT_DESK_OBJECTS)
        if desk is not None:
            return TransferIntent("front_desk", f"{desk} {issue[1]}")
        obj = _object_of(words, _MAINTENANCE_OBJECTS)
        what = issue[1] if obj is None or obj in issue[1] else f"{obj} {issue[1]}"
        return TransferIntent("maintenance", f"maintenance issue: {what}")
    noise = _first(words, _NOISE_ISSUES) if statement else None
    if noise is not None:
        return TransferIntent("front_desk", f"noise complaint: {noise[1]}")
    action = _first(words, _HOUSEKEEPING_ACTIONS)
    item = _first(words, _HOUSEKEEPING_ITEMS)
    if action is not None:
        return TransferIntent("housekeeping", "housekeeping request: room cleaning")
    if item is not None and any(_has(padded, cue) for cue in _HOUSEKEEPING_CUES):
        return TransferIntent("housekeeping", f"housekeeping request: {item[1]}")
    if asked is not None:
        return TransferIntent("front_desk", "asked to speak to a person")
    return None


# ============================================================================ intents

# (intent, weight, phrases): an intent scores the weight once per phrase found. Specific
# topics weigh more than the short words of conversation (yes, no, thanks), so "yes how much
# is it" is PRICE; a stated date or party adds 1 to AVAILABILITY; a detected transfer is 4.
_INTENT_PHRASES: tuple[tuple[Intent, int, tuple[str, ...]], ...] = (
    (Intent.AVAILABILITY, 2, (
        "do you have a room", "do you have any rooms", "any rooms", "any room", "a room for",
        "rooms for", "room available", "rooms available", "availability", "vacancy",
        "vacancies", "book", "booking", "reserve", "reservation", "need a room",
        "want a room", "looking for a room", "get a room", "stay", "staying",
    )),
    (Intent.AVAILABILITY, 1, ("available", "free", "open")),
    (Intent.PRICE, 2, (
        "how much", "rate", "rates", "price", "prices", "pricing", "cost", "costs",
        "expensive", "cheap", "cheapest", "per night", "a night cost", "charge for a room",
    )),
    (Intent.AMENITIES, 2, (
        "pool", "swimming", "parking", "park", "garage", "valet", "breakfast", "wifi",
        "internet", "gym", "fitness", "spa", "restaurant", "bar", "amenities", "amenity",
        "facilities", "shuttle", "laundry", "hot tub", "jacuzzi", "sauna",
    )),
    (Intent.CHECKIN_TIME, 3, ("check in time", "checkin time", "early check in", "early checkin")),
    (Intent.CHECKOUT_TIME, 3, (
        "check out time", "checkout time", "late check out", "late checkout",
    )),
    (Intent.PETS, 3, (
        "dog", "dogs", "cat", "cats", "pet", "pets", "puppy", "kitten", "animal", "animals",
        "pet friendly", "service animal",
    )),
    (Intent.LOCATION, 2, (
        "where are you", "where is the hotel", "where is it", "address", "directions",
        "located", "location", "how do i get there", "how to get there", "get to you",
        "how far", "far from", "close to", "near", "nearby",
    )),
    (Intent.CALLBACK, 3, (
        "call me back", "call back", "callback", "ring me back", "give me a call",
        "call me later", "call me tomorrow", "call me", "phone me",
    )),
    (Intent.SMS, 3, (
        "text me", "send me a text", "send me a message", "text message", "sms",
        "send it to my phone", "send me the link", "text it", "send a text", "message me",
        "text the", "text that", "by text", "in a text", "to my phone", "to my cell",
    )),
    (Intent.PAYMENT, 2, (
        "pay", "paying", "payment", "card", "credit card", "debit", "deposit",
        "visa", "mastercard", "amex", "prepay", "invoice", "payment link",
    )),
    (Intent.CONFIRM, 1, (
        "yes", "yeah", "yep", "yup", "sure", "ok", "alright", "correct", "right", "exactly",
        "absolutely", "definitely", "of course", "perfect", "great", "uh huh", "mhm",
    )),
    (Intent.CONFIRM, 2, (
        "yes please", "please do", "go ahead", "sounds good", "that works", "thats right",
        "that is right", "thats correct", "that is correct", "sure thing", "book it",
        "lets do it", "do it",
    )),
    (Intent.DENY, 1, ("no", "nope", "nah", "wrong", "negative")),
    (Intent.DENY, 2, (
        "not really", "no thanks", "no thank you", "thats wrong", "that is wrong",
        "not right", "not correct", "incorrect", "i do not think so", "never mind",
        "not quite", "not that",
    )),
    (Intent.GOODBYE, 2, (
        "bye", "goodbye", "good bye", "thats all", "that is all", "thats it", "that is it",
        "thats everything", "nothing else", "have a good day", "have a nice day",
        "have a great day", "have a good night", "take care", "see you", "i am done",
        "that will be all", "that will do",
    )),
    (Intent.GOODBYE, 1, ("thank you", "thanks", "cheers")),
    (Intent.GREETING, 1, (
        "hello", "hi", "hey", "hiya", "howdy", "good morning", "good afternoon", "good evening",
        "hi there", "is this the", "is that the", "have i reached",
    )),
)  # fmt: skip
_CHECKIN_WORDS = ("check in", "checkin", "checking in", "arrival")
_CHECKOUT_WORDS = ("check out", "checkout", "checking out", "departure")
_TIME_CUES = ("what time", "when", "how early", "how late", "time", "earliest", "latest", "by when")
_PRICE_CONTEXT = ("room", "rooms", "night", "nights", "nightly", "stay", "suite")
# Ties go to the first in this order: the more specific and the more actionable first.
_PRIORITY = (
    Intent.TRANSFER, Intent.CALLBACK, Intent.SMS, Intent.PAYMENT, Intent.CHECKIN_TIME,
    Intent.CHECKOUT_TIME, Intent.PETS, Intent.LOCATION, Intent.AMENITIES, Intent.PRICE,
    Intent.AVAILABILITY, Intent.GOODBYE, Intent.DENY, Intent.CONFIRM, Intent.GREETING,
)  # fmt: skip
_CONVERSATIONAL = (Intent.CONFIRM, Intent.DENY, Intent.GOODBYE, Intent.GREETING)
_PROBE_DAY = date(2001, 1, 1)  # any day will do to ask whether a date was said at all


def _intent_scores(text: str) -> dict[Intent, int]:
    toks = _tokens(text)
    words = [t.w for t in toks]
    padded = _padded(words)
    scores = dict.fromkeys(_PRIORITY, 0)
    for intent, weight, phrases in _INTENT_PHRASES:
        scores[intent] += weight * sum(_has(padded, phrase) for phrase in phrases)
    timed = any(_has(padded, cue) for cue in _TIME_CUES)
    if timed and any(_has(padded, w) for w in _CHECKIN_WORDS):
        scores[Intent.CHECKIN_TIME] += 3
    if timed and any(_has(padded, w) for w in _CHECKOUT_WORDS):
        scores[Intent.CHECKOUT_TIME] += 3
    if scores[Intent.PRICE] and any(_has(padded, w) for w in _PRICE_CONTEXT):
        scores[Intent.PRICE] += 1  # "how much is a room with breakfast" is about the room
    # Dates or a party size alone ("the 20th for two adults") answer an availability
    # question; next to another topic ("how much for friday") they are only its details.
    topical = (Intent.AVAILABILITY, *_CONVERSATIONAL)
    if not any(score for intent, score in scores.items() if intent not in topical):
        if any(f.point is not None or f.nights for f in _safe_scan(toks)):
            scores[Intent.AVAILABILITY] += 1
        if extract_guests(text) is not None:
            scores[Intent.AVAILABILITY] += 1
    if detect_transfer_intent(text) is not None:
        scores[Intent.TRANSFER] += 4
    return scores


def _safe_scan(toks: Sequence[_Tok]) -> list[_Found]:
    try:
        return _scan(toks, _PROBE_DAY)
    except (ValueError, OverflowError):
        return []


def classify_intent(text: str) -> Intent:
    """The main intent of ``text`` by deterministic phrase scoring (see ``_INTENT_PHRASES``):
    the highest score wins, ties go to the earlier intent in ``_PRIORITY``, and nothing
    matched is UNKNOWN. Check-in/out time needs a time cue ("what time", "when", "early")."""
    scores = _intent_scores(text)
    best = max(_PRIORITY, key=lambda intent: (scores[intent], -_PRIORITY.index(intent)))
    return best if scores[best] > 0 else Intent.UNKNOWN


# ============================================================================ answers

# keyword said -> (words that find it in Property.amenities, how to name it when missing)
_AMENITY_GROUPS: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (("pool", "swimming"), ("pool", "swimming"), "a pool"),
    (("parking", "park", "garage", "valet"), ("parking", "garage", "valet"), "parking"),
    (("breakfast",), ("breakfast",), "breakfast"),
    (("wifi", "internet"), ("wifi", "wi-fi", "wi fi", "internet"), "wifi"),
    (("gym", "fitness"), ("gym", "fitness"), "a gym"),
    (("spa",), ("spa",), "a spa"),
    (("restaurant",), ("restaurant", "dining"), "a restaurant"),
    (("bar",), ("bar", "lounge"), "a bar"),
    (("shuttle",), ("shuttle",), "a shuttle"),
    (("laundry",), ("laundry",), "laundry"),
    (("hot tub", "jacuzzi"), ("hot tub", "jacuzzi", "whirlpool"), "a hot tub"),
    (("sauna",), ("sauna",), "a sauna"),
)


def spoken_time(t: time) -> str:
    """``t`` as said on the phone: "3 PM", "11 AM", "11:30 AM", "12 PM"."""
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _listing(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _lower_first(text: str) -> str:
    """ "Outdoor pool" -> "outdoor pool" mid-sentence, but "EV charging" and "Wi-Fi" stay."""
    first = text.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]


def _amenities_answer(words: Sequence[str], prop: Property) -> str | None:
    if not prop.amenities:
        return None
    padded = _padded(words)
    offered = [_lower_first(a.strip()) for a in prop.amenities if a.strip()]
    for said, finds, name in _AMENITY_GROUPS:
        if any(_has(padded, s) for s in said):
            have = [a for a in offered if any(f in a.lower() for f in finds)]
            # "Yes, we do: outdoor pool" reads well whether or not the listing has an article.
            if have:
                return f"Yes, we do: {_listing(have)}."
            return f"I don't see {name} listed; our amenities include {_listing(offered[:3])}."
    return f"Our amenities include {_listing(offered[:3])}."


def _pets_answer(prop: Property) -> str:
    policy = f" {_sentence(prop.pet_policy)}" if prop.pet_policy and prop.pet_policy.strip() else ""
    if not prop.pets_allowed:
        return f"I'm sorry, pets aren't allowed.{policy}"
    fee = f" for a fee of {prop.money(prop.pet_fee_cents)} a night" if prop.pet_fee_cents else ""
    return f"Yes, pets are welcome{fee}.{policy}"


def _article(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"


def fallback_answer(text: str, prop: Property) -> str | None:
    """A short spoken answer from ``prop``'s facts when ``text`` asks about check-in or
    check-out time, pets, amenities, location or price; None for anything else (or when the
    property lacks the fact). Price is the cheapest room type's nightly rate."""
    intent = classify_intent(text)
    if intent is Intent.CHECKIN_TIME:
        return f"Check-in is from {spoken_time(prop.checkin_time)}."
    if intent is Intent.CHECKOUT_TIME:
        return f"Check-out is by {spoken_time(prop.checkout_time)}."
    if intent is Intent.PETS:
        return _pets_answer(prop)
    if intent is Intent.AMENITIES:
        return _amenities_answer([t.w for t in _tokens(text)], prop)
    if intent is Intent.LOCATION:
        if not prop.location or not prop.location.strip():
            return None
        # A street address has a number in it; a bare city does not ("is in Lisbon").
        where = "at" if any(c.isdigit() for c in prop.location) else "in"
        return f"{prop.name} is {where} {prop.location.strip()}."
    if intent is Intent.PRICE and prop.room_types:
        room = min(prop.room_types, key=lambda r: r.nightly_rate_cents)
        rate = prop.money(room.nightly_rate_cents)
        return f"Rooms start at {rate} a night for {_article(room.name)} {room.name}."
    return None


_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")  # fmt: skip


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def spoken_date(d: date, today: date) -> str:
    """ "today", "tomorrow", "yesterday", or "Friday, December 24th" (", 2027" when ``d`` is
    not in today's year). English names regardless of the machine's locale."""
    delta = (d - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    said = f"{_WEEKDAY_NAMES[d.weekday()]}, {_MONTH_NAMES[d.month - 1]} {_ordinal(d.day)}"
    return said if d.year == today.year else f"{said}, {d.year}"


def spoken_range(r: DateRange, today: date) -> str:
    """ "from Friday, December 24th to Monday, December 27th, 3 nights"."""
    nights = f"{r.nights} night" + ("" if r.nights == 1 else "s")
    return f"from {spoken_date(r.check_in, today)} to {spoken_date(r.check_out, today)}, {nights}"
