"""What the offline concierge says, as the words its voice is given.

:func:`spoken_words` turns the policy's written replies ("$189.00 a night", "3 PM",
"December 4th") into plain words, so a caller hears "one hundred eighty nine dollars" rather
than a voice's guess at "$189.00", and hears the same words whichever voice speaks.
"""

from __future__ import annotations

import re
from typing import Final

from hotelvoice.language.words import ORDINAL_TEENS, ORDINAL_UNITS, TENS, UNITS

__all__ = ["number_words", "ordinal_words", "spoken_number", "spoken_words", "year_words"]

_UNITS: Final = ("", *ORDINAL_UNITS)
_TEEN_ORDINALS: Final = ORDINAL_TEENS
_TENS_ORDINALS: Final = {2: "twentieth", 3: "thirtieth"}
_CARDINALS: Final = {number: word for word, number in (UNITS | TENS).items()}
_MONEY: Final = re.compile(r"([$€£])\s?(\d[\d,]*)(?:\.(\d\d))?")
_CURRENCY_WORDS: Final = {"$": ("dollar", "dollars"), "€": ("euro", "euros"),
                          "£": ("pound", "pounds")}  # fmt: skip
_CLOCK: Final = re.compile(r"\b(\d{1,2})(?::(\d\d))?\s?([AaPp])(\.?)[Mm]\4(?![A-Za-z])")
_ORDINAL: Final = re.compile(r"\b(\d{1,2})(st|nd|rd|th)\b")
_YEAR: Final = re.compile(r"\b(20\d\d)\b")
_NUMBER: Final = re.compile(r"\d[\d,]*")


def spoken_number(n: int) -> str:
    """0–99 as words: 24 -> "twenty four"."""
    if not 0 <= n <= 99:
        raise ValueError(f"only 0–99 can be spoken here, got {n}")
    if n in _CARDINALS:
        return _CARDINALS[n]
    tens, units = divmod(n, 10)
    return f"{_CARDINALS[tens * 10]} {_CARDINALS[units]}"


def number_words(n: int) -> str:
    """0–999,999 as the voice should say it: 1250 -> "one thousand two hundred fifty"."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"only 0–999,999 can be spoken here, got {n}")
    if n < 100:
        return spoken_number(n)
    thousands, rest = divmod(n, 1000)
    words = [f"{number_words(thousands)} thousand"] if thousands else []
    hundreds, tail = divmod(rest, 100)
    if hundreds:
        words.append(f"{spoken_number(hundreds)} hundred")
    if tail:
        words.append(spoken_number(tail))
    return " ".join(words)


def ordinal_words(n: int) -> str:
    """1–31 as an ordinal: 24 -> "twenty fourth"."""
    if not 1 <= n <= 39:
        raise ValueError(f"only 1–39 are spoken as ordinals here, got {n}")
    if n < 10:
        return _UNITS[n]
    if n < 20:
        return _TEEN_ORDINALS[n - 10]
    tens, units = divmod(n, 10)
    if units == 0:
        return _TENS_ORDINALS[tens]
    return f"{spoken_number(tens * 10)} {_UNITS[units]}"


def _money(match: re.Match[str]) -> str:
    one, many = _CURRENCY_WORDS[match[1]]
    whole = int(match[2].replace(",", ""))
    cents = int(match[3] or 0)
    said = f"{number_words(whole)} {one if whole == 1 else many}"
    if cents:
        said += f" and {number_words(cents)} cent" + ("" if cents == 1 else "s")
    return said


def _clock(match: re.Match[str]) -> str:
    hour = number_words(int(match[1]))
    minutes = int(match[2] or 0)
    if minutes:
        hour += (" oh " if minutes < 10 else " ") + number_words(minutes)
    return f"{hour} {match[3].lower()} m"


def year_words(year: int) -> str:
    """2000–2099 as said: 2027 -> "twenty twenty seven", 2005 -> "twenty oh five"."""
    if not 2000 <= year <= 2099:
        raise ValueError(f"only 2000–2099 are spoken as years here, got {year}")
    rest = year - 2000
    if rest == 0:
        return "two thousand"
    return f"twenty {spoken_number(rest) if rest >= 10 else 'oh ' + spoken_number(rest)}"


def spoken_words(text: str) -> str:
    """``text`` as the words the engine's voice says, punctuation kept (the voice pauses at
    it): money, clock times, ordinals, years and other numbers spelled out, hyphens and
    ampersands read. "Check-in is from 3 PM." -> "Check in is from three p m."."""
    said = _MONEY.sub(_money, text)
    said = _CLOCK.sub(_clock, said)
    said = _ORDINAL.sub(lambda m: ordinal_words(int(m[1])), said)
    said = _YEAR.sub(lambda m: year_words(int(m[1])), said)
    said = _NUMBER.sub(lambda m: number_words(int(m[0].replace(",", ""))), said)
    said = said.replace("&", " and ").replace("\u2019", "'")
    return re.sub(r"(?<=\w)-(?=\w)", " ", said)
