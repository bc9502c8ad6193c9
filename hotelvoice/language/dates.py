"""Stays from what callers say: "January 15th to the 18th", "next Friday for 2 nights".

Pure: "today" is always a parameter. The rules, one per concept (the callback reader in
:mod:`~hotelvoice.language.when` uses the same ones for its day):

* **A date without a year** is the next occurrence on or after today; an end date without a
  year is the first occurrence after the check-in, so "December 30 to January 2" crosses the
  year.
* **A start with no end and no length** is one night ("tomorrow", "tonight", "the 20th").
* **A day of the month alone** ("the 16th") is the next such day; while a stay is being
  changed it is in that stay's month ("actually make it the 16th" of a January stay).
* **Weekdays**: a bare or "this" weekday is its next occurrence on or after today (today
  counts: "Friday" said on a Friday is today); **"next Friday" is the Friday of next calendar
  week** (weeks start on Monday), so on a Monday it is 11 days away and on a Saturday 6;
  "Friday after next" and "Friday the week after" are a week later still. Callers split on
  "next Friday"; this is the reading of the calendar, and the concierge always reads the
  date back ("Friday, December 11th"), so a caller who meant the other Friday says so.
* **Weekends**: "this weekend" is the coming Friday to Sunday (the current one when today is
  Friday or Saturday; on a Saturday it starts today); "next weekend" is the one after that,
  "the weekend after next" the one after that.
* **Holidays**: "christmas" alone is the night of Christmas Eve (Dec 24 to 25) and "new year's"
  alone the night of New Year's Eve (Dec 31 to Jan 1); as the end of a stay they are Dec 25
  and Jan 1.
* **Lengths**: "a week" is 7 nights, "three days" 3 nights (when nights are said too, nights
  win).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta

import attrs

from hotelvoice.language.text import Token, number_at, tokens, word_at
from hotelvoice.language.words import MONTH_NUMBERS, WEEKDAY_NUMBERS


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


_DAYPARTS = frozenset({"night", "morning", "afternoon", "evening"})
_OFFSET_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}
# Unit -> (nights per unit, preference). "days" counts as nights: callers say "three days"
# for a three-night stay, but when both are said ("three days two nights") nights win.
STAY_UNITS = {
    "night": (1, 0), "nights": (1, 0), "week": (7, 1), "weeks": (7, 1), "fortnight": (14, 1),
    "day": (1, 2), "days": (1, 2),
}  # fmt: skip
_MAX_NIGHTS = 366
_MAX_OFFSET_DAYS = 3660
# A number followed by one of these is a count or a clock time, not a day of the month.
NOT_A_DAY_AFTER = frozenset(
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
RANGE_WORDS = frozenset({"to", "till", "til", "until", "through", "thru", "and"})
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


def quantity(toks: Sequence[Token], i: int) -> tuple[int, int] | None:
    """``(value, next index)`` for a count: a cardinal, "a"/"an" (1), "(a) couple (of)" (2)."""
    w = word_at(toks, i)
    if w in ("a", "an"):
        if word_at(toks, i + 1) == "couple":
            return 2, i + 2 + (word_at(toks, i + 2) == "of")
        return 1, i + 1
    if w == "couple":
        return 2, i + 1 + (word_at(toks, i + 1) == "of")
    tok = number_at(toks, i)
    if tok is not None and not tok.ordinal:
        return tok.num or 0, i + 1
    return None


def _day_number(toks: Sequence[Token], i: int) -> int | None:
    tok = number_at(toks, i)
    if tok is not None and tok.num is not None and 1 <= tok.num <= 31:
        return tok.num
    return None


def _year(toks: Sequence[Token], i: int) -> tuple[int | None, int]:
    """An optional year after a day: "2027" or spoken "twenty twenty seven"."""
    tok = number_at(toks, i)
    if tok is None or tok.ordinal or tok.num is None:
        return None, i
    if tok.digits and len(tok.w) == 4 and 2000 <= tok.num <= 2099:
        return tok.num, i + 1
    after = number_at(toks, i + 1)
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


def _skip_daypart(toks: Sequence[Token], i: int) -> int:
    return i + 1 if word_at(toks, i) in _DAYPARTS else i


_Match = tuple[int, _Point] | None


def _match_offset(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "in two weeks", "a week from today", "3 days from tomorrow"."""
    if word_at(toks, i) == "in":
        q = quantity(toks, i + 1)
        if q is not None and (unit := _OFFSET_UNITS.get(word_at(toks, q[1]))):
            days = q[0] * unit
            end = q[1] + 1 + (word_at(toks, q[1] + 1) == "time")
            if 1 <= days <= _MAX_OFFSET_DAYS:
                return end, _Fixed(today + timedelta(days=days))
        return None
    q = quantity(toks, i)
    if q is None or not (unit := _OFFSET_UNITS.get(word_at(toks, q[1]))):
        return None
    if word_at(toks, q[1] + 1) != "from":
        return None
    base = {"today": 0, "now": 0, "tonight": 0, "tomorrow": 1}.get(word_at(toks, q[1] + 2))
    days = q[0] * unit
    if base is None or not 1 <= days <= _MAX_OFFSET_DAYS:
        return None
    return q[1] + 3, _Fixed(today + timedelta(days=base + days))


def _match_duration(toks: Sequence[Token], i: int) -> tuple[int, int, int] | None:
    """``(end, nights, rank)`` for "two nights", "a week", "couple of nights", "overnight"."""
    w = word_at(toks, i)
    if w == "overnight":
        return i + 1, 1, 0
    if w == "for" and word_at(toks, i + 1) == "the" and word_at(toks, i + 2) == "night":
        return i + 3, 1, 0
    q = quantity(toks, i)
    if q is None:
        return None
    unit = STAY_UNITS.get(word_at(toks, q[1]))
    if unit is None:
        return None
    nights = q[0] * unit[0]
    if not 1 <= nights <= _MAX_NIGHTS:
        return None
    return q[1] + 1, nights, unit[1]


def _match_relative(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "today", "tonight", "tomorrow (night)", "(the) day after tomorrow", "this evening"."""
    j = i + (word_at(toks, i) == "the")
    if [word_at(toks, j + k) for k in range(3)] == ["day", "after", "tomorrow"]:
        return _skip_daypart(toks, j + 3), _Fixed(today + timedelta(days=2))
    w = word_at(toks, i)
    if w in ("today", "tonight"):
        return _skip_daypart(toks, i + 1), _Fixed(today)
    if w == "tomorrow":
        return _skip_daypart(toks, i + 1), _Fixed(today + timedelta(days=1))
    if w == "this" and word_at(toks, i + 1) in _DAYPARTS - {"night"}:
        return i + 2, _Fixed(today)
    return None


def _lead_weeks(toks: Sequence[Token], i: int) -> tuple[int, int]:
    """``(weeks ahead, next index)`` after "this", "this coming", "the", "next"."""
    w = word_at(toks, i)
    if w == "this" and word_at(toks, i + 1) in ("coming", "upcoming"):
        return 0, i + 2
    if w in ("this", "the", "coming", "upcoming"):
        return 0, i + 1
    if w == "next":
        return 1, i + 1
    return 0, i


def _match_weekend(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "this weekend" is the coming Friday to Sunday, or the current one when today is Friday
    or Saturday (from today: a stay cannot start yesterday); on a Sunday the weekend is over,
    so it is the coming one. "next weekend" is the one after "this weekend", and "the weekend
    after next" the one after that."""
    weeks, j = _lead_weeks(toks, i)
    if word_at(toks, j) != "weekend":
        return None
    j += 1
    if (word_at(toks, j), word_at(toks, j + 1)) == ("after", "next"):
        weeks, j = max(weeks, 1) + 1, j + 2
    wd = today.weekday()
    friday = (
        today - timedelta(days=wd - 4) if wd in (4, 5) else today + timedelta(days=(4 - wd) % 7)
    )
    friday += timedelta(days=7 * weeks)
    return j, _Weekend(max(friday, today), friday + timedelta(days=2))


def _match_weekday(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "friday", "this friday", "next friday", "friday next week", "friday after next"."""
    weeks, j = _lead_weeks(toks, i)
    if word_at(toks, i) == "the":
        return None
    weekday = WEEKDAY_NUMBERS.get(word_at(toks, j))
    if weekday is None:
        return None
    j += 1
    if (word_at(toks, j), word_at(toks, j + 1)) == ("next", "week"):
        weeks, j = max(weeks, 1), j + 2
    elif (word_at(toks, j), word_at(toks, j + 1)) == ("after", "next"):
        weeks, j = max(weeks, 1) + 1, j + 2
    return _skip_daypart(toks, j), _Weekday(weekday, weeks)


def _match_holiday(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    for words, name in _HOLIDAY_WORDS:
        if all(word_at(toks, i + k) == word for k, word in enumerate(words)):
            return i + len(words), _Holiday(name)
    return None


_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?")


def _match_slash(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "12/24", "12/24/26", "12/24/2026" (US month first; ISO dates arrive in this shape)."""
    m = _SLASH_DATE.fullmatch(word_at(toks, i))
    if m is None:
        return None
    month, day = int(m[1]), int(m[2])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None  # "24/7" is not a date
    year = None if m[3] is None else int(m[3]) + (2000 if len(m[3]) == 2 else 0)
    return i + 1, _Day(day, month, year)


def _match_month_day(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "january 15", "jan 15th", "january the fifteenth", "december 24 2026"."""
    month = MONTH_NUMBERS.get(word_at(toks, i))
    if month is None:
        return None
    j = i + 1 + (word_at(toks, i + 1) == "the")
    day = _day_number(toks, j)
    if day is None or word_at(toks, j + 1) in NOT_A_DAY_AFTER - {"of"}:
        return None
    year, end = _year(toks, j + 1)
    return end, _Day(day, month, year)


def _match_day_month(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """ "15 january", "the 15th of january", "the fifteenth of jan"."""
    j = i + (word_at(toks, i) == "the")
    day = _day_number(toks, j)
    if day is None:
        return None
    j += 1 + (word_at(toks, j + 1) == "of")
    month = MONTH_NUMBERS.get(word_at(toks, j))
    if month is None:
        return None
    year, end = _year(toks, j + 1)
    return end, _Day(day, month, year)


def _match_day_only(toks: Sequence[Token], i: int, today: date, prior: bool) -> _Match:
    """A day of the month with no month: "the 20th", "the twentieth", "to 17" after a date,
    "the 1st of next month". Guarded against counts and ordinals that are not days
    ("the two of us", "the second floor", "first of all")."""
    has_the = word_at(toks, i) == "the"
    j = i + has_the
    tok = number_at(toks, j)
    day = _day_number(toks, j)
    if tok is None or day is None:
        return None
    lead = "the" if has_the else word_at(toks, i - 1)
    nxt = word_at(toks, j + 1)
    month: int | None = None
    year: int | None = None
    end = j + 1
    if nxt == "of":
        if word_at(toks, j + 2) in ("this", "next") and word_at(toks, j + 3) == "month":
            month, year, end = today.month, today.year, j + 4
            if word_at(toks, j + 2) == "next":
                month, year = (1, year + 1) if month == 12 else (month + 1, year)
        else:
            return None
    elif nxt in NOT_A_DAY_AFTER:
        return None
    if tok.ordinal:
        ok = tok.digits or lead in _DAY_LEAD
    else:
        ok = (
            (has_the and (nxt in _DAY_FOLLOW or month is not None))
            or (prior and lead in RANGE_WORDS)
            or _opens_day_range(toks, j)
        )
    return (end, _Day(day, month, year)) if ok else None


def _opens_day_range(toks: Sequence[Token], j: int) -> bool:
    """Whether the bare number at ``j`` starts "15 to 17 january"."""
    if word_at(toks, j + 1) not in RANGE_WORDS:
        return False
    k = j + 2 + (word_at(toks, j + 2) == "the")
    if _day_number(toks, k) is None:
        return False
    k += 1 + (word_at(toks, k + 1) == "of")
    return word_at(toks, k) in MONTH_NUMBERS


_POINT_MATCHERS: tuple[Callable[[Sequence[Token], int, date, bool], _Match], ...] = (
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


def _scan(toks: Sequence[Token], today: date) -> list[_Found]:
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


def _resolve_start(p: _Point, today: date, near: date | None = None) -> date | None:
    if isinstance(p, _Day):
        if p.month is None and near is not None:
            # A day of the month alone while a stay is being changed: that stay's month.
            return _day_on_or_after(p, max(today, near.replace(day=1)), strictly=False)
        return _day_on_or_after(p, today, strictly=False)
    if isinstance(p, _Fixed):
        return p.day
    if isinstance(p, _Weekend):
        return p.start
    if isinstance(p, _Holiday):
        return _holiday_on_or_after(p.name, today, strictly=False, night=True)
    return weekday_date(p.weekday, p.weeks, today)


def weekday_date(weekday: int, weeks: int, today: date) -> date:
    """The day a caller means by a weekday (0 is Monday): with ``weeks`` 0 ("friday", "this
    friday") its next occurrence on or after today; with ``weeks`` 1 ("next friday") that
    weekday in next calendar week (weeks start on Monday); 2 the week after (see the module
    docstring)."""
    if weeks == 0:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    monday = today + timedelta(days=7 - today.weekday())
    return monday + timedelta(days=7 * (weeks - 1) + weekday)


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


def _stay(
    toks: Sequence[Token], today: date, near: date | None = None
) -> tuple[date, date, bool] | None:
    """``(check-in, check-out, whether an end or a length was said)``."""
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
    check_in = _resolve_start(point, today, near)
    if check_in is None:
        return None
    check_out: date | None
    end_said = True
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
        end_said = False
    if check_out is None:
        return None
    return check_in, check_out, end_said


@attrs.frozen
class SaidStay:
    """A stay as said: its dates, and whether the caller gave its end (a date or a length);
    without one it is a single night by the rule above, which a correction may move."""

    dates: DateRange
    end_said: bool


@attrs.frozen
class DatePoint:
    """A day said somewhere in the text: ``toks[start:end]``, resolved as a start."""

    start: int
    end: int
    day: date


def find_stay(toks: Sequence[Token], today: date, near: date | None = None) -> SaidStay | None:
    """The stay ``toks`` describe (see :func:`extract_date_range`), or None. ``near``: the
    day a stay being changed starts, whose month a day of the month alone is in ("make it
    the 16th" of a January stay is January 16th)."""
    try:
        stay = _stay(toks, today, near)
    except (ValueError, OverflowError):  # a date past year 9999, or a day the month lacks
        return None
    if stay is None or stay[1] <= stay[0]:
        return None
    return SaidStay(DateRange(stay[0], stay[1]), stay[2])


def find_check_out(toks: Sequence[Token], today: date, near: date | None = None) -> date | None:
    """A departure said alone ("leaving on the 20th", "until Sunday"), for a stay that starts
    on ``near`` (or today); None when a start is said too, or no departure."""
    try:
        found = [f for f in _scan(toks, today) if f.point is not None]
        ends = [f for f in found if f.role == _END]
        if len(ends) != 1 or len(found) != 1 or ends[0].point is None:
            return None
        return _resolve_end(ends[0].point, near or today)
    except (ValueError, OverflowError):
        return None


def date_points(toks: Sequence[Token], today: date, near: date | None = None) -> list[DatePoint]:
    """Every day named in ``toks``, each resolved as a start ("next friday", "the 16th",
    "tomorrow"), left to right; lengths of stay are not days."""
    points: list[DatePoint] = []
    try:
        for found in _scan(toks, today):
            if found.point is None:
                continue
            day = _resolve_start(found.point, today, near)
            if day is not None:
                points.append(DatePoint(found.start, found.end, day))
    except (ValueError, OverflowError):
        return []
    return points


def find_nights(toks: Sequence[Token]) -> int | None:
    """A length of stay said ("for two nights", "a week"), whether or not a start is."""
    try:
        lengths = sorted((f for f in _scan(toks, _PROBE_DAY) if f.nights), key=lambda f: f.rank)
    except (ValueError, OverflowError):
        return None
    return lengths[0].nights if lengths else None


def mentions_dates(toks: Sequence[Token]) -> bool:
    """Whether ``toks`` name any day or length of stay at all, whichever day today is."""
    try:
        return bool(_scan(toks, _PROBE_DAY))
    except (ValueError, OverflowError):
        return False


_PROBE_DAY = date(2001, 1, 1)


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
    stay = find_stay(tokens(text), today)
    return None if stay is None else stay.dates
