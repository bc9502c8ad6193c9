"""Phone numbers and room numbers in what callers say.

Pure. The rules:

* **Phone numbers** are 7 or more digits written together or in groups ("555-123-4567",
  "(212) 555 0142", "+44 20 7946 0958") or said digit by digit ("four one five, five five
  five..." with "oh" for zero). A number with a ``+`` is taken as written; 10 digits are a
  North American number (+1, the country of the hotels this runs for); 11 digits starting
  with 1 likewise. Anything else (7 digits without an area code, 8 or 9 digits) is
  incomplete: the concierge asks again rather than guess a prefix.
* **Room numbers** follow "room" (or "rm", "room number"): "room 212", "room four twelve",
  "room three oh five" (said digit groups are joined: "twelve oh seven" is 1207,
  "two hundred twelve" is 212); or come after "in", "to" or "for" as 3–4 digits beside a
  fault or a request ("the AC in 212", "more towels to 221"); or after "we're in" / "I'm in"
  ("we're in 33").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from hotelvoice.language.text import Token, word_at

_GROUPED = re.compile(r"(?<![\w/:.])(\+\s?)?\(?\d[\d\s().\-]{5,}\d(?![\w/:])")
_SAID_DIGITS = {"oh": 0, "o": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4,
                "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}  # fmt: skip
_SAID_RUN = re.compile(
    r"\b(?:(?:oh|o|zero|one|two|three|four|five|six|seven|eight|nine)[\s,.-]+){6,}"
    r"(?:oh|o|zero|one|two|three|four|five|six|seven|eight|nine)\b",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
# Words after a number that make it a count or a time, never a room.
_NOT_A_ROOM_AFTER = frozenset(
    {"am", "pm", "oclock", "hour", "hours", "minute", "minutes", "day", "days", "night",
     "nights", "week", "weeks", "adult", "adults", "people", "guests", "children", "kids",
     "dollars", "percent", "of", "to", "th", "st", "nd", "rd"}
)  # fmt: skip


@attrs.frozen
class PhoneNumber:
    """A phone number said: its digits, and the E.164 form when it is complete."""

    digits: str
    e164: str | None

    @property
    def complete(self) -> bool:
        return self.e164 is not None


def _as_phone(plus: bool, digits: str) -> PhoneNumber:
    if plus and 8 <= len(digits) <= 15:
        return PhoneNumber(digits, f"+{digits}")
    if len(digits) == 10 and digits[0] not in "01":
        return PhoneNumber(digits, f"+1{digits}")
    if len(digits) == 11 and digits[0] == "1" and digits[1] not in "01":
        return PhoneNumber(digits, f"+{digits}")
    return PhoneNumber(digits, None)


def split_phone(text: str) -> tuple[PhoneNumber | None, str]:
    """The first phone number in ``text`` (see the module docstring) and the text without it,
    so that its digits are not read as dates, counts or rooms."""
    for match in _GROUPED.finditer(text):
        written = match.group(0)
        if _ISO_DATE.search(written):
            continue
        digits = re.sub(r"\D", "", written)
        if len(digits) < 7 or len(digits) > 15:
            continue
        rest = f"{text[: match.start()]} {text[match.end() :]}"
        return _as_phone(match.group(1) is not None, digits), rest
    said = _SAID_RUN.search(text)
    if said is not None:
        digits = "".join(str(_SAID_DIGITS[w.lower()]) for w in re.findall(r"[a-zA-Z]+", said[0]))
        rest = f"{text[: said.start()]} {text[said.end() :]}"
        return _as_phone(False, digits), rest
    return None, text


def spoken_phone(number: str) -> str:
    """An E.164 number as the concierge reads it back: "+14155550199" -> "415-555-0199";
    other countries' numbers as written."""
    if number.startswith("+1") and len(number) == 12:
        return f"{number[2:5]}-{number[5:8]}-{number[8:]}"
    return number


@attrs.frozen
class RoomNumber:
    """A room number said at ``toks[start:end]``."""

    number: str
    start: int
    end: int


def _said_number(toks: Sequence[Token], i: int) -> tuple[str, int] | None:
    """Digits said or written from ``toks[i]``: ``(digits, next index)``."""
    parts: list[str] = []
    hundreds: int | None = None
    j = i
    while j < len(toks) and len("".join(parts)) < 5:
        tok = toks[j]
        if tok.w in ("oh", "o", "zero") and parts:
            parts.append("0")
        elif tok.w == "hundred" and parts and hundreds is None and len(parts) == 1:
            hundreds = int(parts.pop()) * 100
        elif tok.num is not None and not tok.ordinal and (tok.digits or tok.num < 100):
            if tok.digits and parts:
                break  # "room 212 2 adults": a written number stands alone
            parts.append(str(tok.num))
        else:
            break
        j += 1
    if hundreds is not None:
        rest = int("".join(parts)) if parts else 0
        if rest >= 100:
            return None
        return str(hundreds + rest), j
    if not parts:
        return None
    return "".join(parts), j


def bare_room(toks: Sequence[Token]) -> str | None:
    """The room number that is a whole answer ("212", "two twelve", "room 305")."""
    start = 1 if toks and toks[0].w in ("room", "rm") else 0
    said = _said_number(toks, start)
    if said is None or said[1] != len(toks):
        return None
    return said[0]


def find_room(toks: Sequence[Token], *, fault: bool = False) -> RoomNumber | None:
    """The room number in ``toks`` (see the module docstring); ``fault``: the caller reports
    a problem, so "in 212" is a room too."""
    for i, tok in enumerate(toks):
        w = tok.w
        if w in ("room", "rm") or (w == "number" and word_at(toks, i - 1) == "room"):
            j = i + 1
            if word_at(toks, j) in ("number", "no"):
                j += 1
            said = _said_number(toks, j)
            if said is not None and word_at(toks, said[1]) not in _NOT_A_ROOM_AFTER:
                return RoomNumber(said[0].lstrip("0") or "0", i, said[1])
        if w in ("in", "to", "for") and tok is not toks[-1]:
            nxt = toks[i + 1]
            before = (word_at(toks, i - 2), word_at(toks, i - 1))
            staying = w == "in" and (
                before in (("we", "are"), ("i", "am")) or before[1] in ("staying", "stay")
            )
            said = _said_number(toks, i + 1)
            if said is None or word_at(toks, said[1]) in _NOT_A_ROOM_AFTER:
                continue
            if nxt.digits and 2000 <= int(said[0]) <= 2099 and not staying:
                continue  # "in 2027" is a year
            if staying or (fault and nxt.digits and len(said[0]) in (3, 4)):
                return RoomNumber(said[0], i, said[1])
    return None
