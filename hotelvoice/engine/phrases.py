"""What the offline concierge says, as words and as a grammar.

:func:`spoken_words` turns the policy's written replies ("$189.00 a night", "3 PM",
"December 4th") into the plain words the engine's voice is given, so a caller hears "one
hundred eighty nine dollars" rather than espeak's "one hundred and eighty nine point zero
zero dollars", and so a listener knows exactly which words to expect.

:func:`agent_grammar` is a JSGF grammar of those words for one property: every clause the
policy (:mod:`hotelvoice.engine.policy`) can say, with its dates, prices, times,
room names, departments, caller names and the property's own facts as slots. The softphone
recognises the agent's side of a call with it. A reply is split into clauses at its
punctuation, because the voice pauses there and a speech detector may cut the audio at any of
those pauses; the grammar accepts any sequence of clauses. Tool errors relayed word for word
(free text from the store) are the one thing it cannot know in advance.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Final

from hotelvoice.engine.grammar import FIRST_NAMES, LAST_NAMES
from hotelvoice.language.answers import fallback_answer
from hotelvoice.language.spoken import spoken_time
from hotelvoice.language.words import MONTHS, ORDINAL_TEENS, ORDINAL_UNITS, WEEKDAYS
from hotelvoice.properties.model import DEPARTMENTS, Property
from hotelvoice.speech.grammar import in_dictionary, jsgf_grammar, spoken_number

__all__ = ["agent_grammar", "spoken_clauses", "spoken_words"]

_UNITS: Final = ("", *ORDINAL_UNITS)
_TEEN_ORDINALS: Final = ORDINAL_TEENS
_TENS_ORDINALS: Final = {2: "twentieth", 3: "thirtieth"}
_MONEY: Final = re.compile(r"([$€£])\s?(\d[\d,]*)(?:\.(\d\d))?")
_CURRENCY_WORDS: Final = {"$": ("dollar", "dollars"), "€": ("euro", "euros"),
                          "£": ("pound", "pounds")}  # fmt: skip
_CLOCK: Final = re.compile(r"\b(\d{1,2})(?::(\d\d))?\s?([AaPp])(\.?)[Mm]\4(?![A-Za-z])")
_ORDINAL: Final = re.compile(r"\b(\d{1,2})(st|nd|rd|th)\b")
_YEAR: Final = re.compile(r"\b(20\d\d)\b")
_NUMBER: Final = re.compile(r"\d[\d,]*")
_CLAUSE_END: Final = re.compile(r"[.,;:!?]+(?:\s|$)|\s+-\s+")

# Amenities callers ask about: each asked once to collect the property's answers.
_AMENITY_QUESTIONS: Final = ("pool", "parking", "breakfast", "wifi", "gym", "spa", "restaurant",
                             "bar", "shuttle", "laundry", "amenities")  # fmt: skip


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


def spoken_clauses(text: str) -> list[str]:
    """``text`` as lower-case clauses of dictionary spelling, split where the voice pauses."""
    clauses = []
    for part in _CLAUSE_END.split(spoken_words(text)):
        words = re.findall(r"[a-z']+", part.lower())
        if words:
            clauses.append(" ".join(w.strip("'") for w in words if w.strip("'")))
    return [c for c in clauses if c]


def _fixed_replies(prop: Property) -> list[str]:
    """Every reply whose words do not depend on the call (the policy's own phrasing)."""
    name = prop.name
    start, end = (spoken_time(t) for t in prop.callback_hours)
    anything_else = "Is there anything else I can help you with?"
    replies = [
        f"Thank you for calling {name}. How can I help you today?",
        "Are you still there? I can check rooms and prices, or connect you to the desk.",
        f"Thank you for calling {name}. You can call back any time. Goodbye!",
        f"No problem. {anything_else}",
        f"Thank you. {anything_else}",
        f"All right. {anything_else}",
        f"Done. {anything_else}",
        f"Of course. Our team can call you back between {start} and {end}. "
        "Would you like me to connect you to the front desk to arrange it?",
        "Great. How can I help?",
        "Hello! How can I help you today?",
        "How else can I help you?",
        "Certainly. For which dates would you like to stay?",
        "And how many guests will there be?",
        "I'm sorry, I can't check rooms right now. Let me connect you to the desk.",
        "May I have your name, please?",
        "Sorry, I didn't catch that. I can check rooms and prices, take a booking request, "
        "or connect you to the front desk.",
        "I'm sorry, I'm having trouble understanding. You can say: connect me to the front desk.",
        "I'm sorry, no one can take the call right now. Please call back later.",
    ]
    return replies + [f"{answer} Is there anything else?" for answer in _fact_replies(prop)]


def _fact_replies(prop: Property) -> list[str]:
    """The answers the policy gives from the property's facts."""
    questions = ["what time is check in", "what time is check out", "can i bring my dog",
                 "where are you located", "how much is a room"]  # fmt: skip
    questions += [f"do you have {amenity}" for amenity in _AMENITY_QUESTIONS]
    answers = (fallback_answer(q, prop) for q in questions)
    return [a for a in answers if a is not None]


def _known(phrase: str) -> bool:
    words = re.sub(r"<[^>]*>|[()\[\]|]", " ", phrase).split()
    return all(in_dictionary(word) for word in words)


def _alternatives(phrases: Iterable[str]) -> str:
    unique = list(dict.fromkeys(p for p in phrases if p))
    return " | ".join(unique) if unique else "<NULL>"


def agent_grammar(prop: Property, today: dt.date) -> str:
    """A JSGF grammar of what the offline concierge says for ``prop`` in calls from ``today``
    on (see the module docstring). Replies with words the recogniser's dictionary lacks are
    left out. Takes a few milliseconds (the first call in a process reads the dictionary)."""
    anything_else = "is there anything else i can help you with"
    which_dates = "which dates would you like for example next weekend or december fourth"
    how_many = "how many guests will there be for example two adults"
    templates = [
        f"thank you <person> ({which_dates} | {how_many} | how can i help you)",
        which_dates,
        how_many,
        "thank you [<person>] i've passed your request to our reservations team who will "
        f"confirm by phone or text {anything_else}",
        "good news the <room> is free <stay> [<money> a night] <money> in total shall i reserve it",
        "i'm sorry we have nothing available <stay> would you like to try other dates",
        "i'm sorry our rooms sleep at most <count> guests how many guests will there be",
        "of course i'm connecting you to <department> now goodbye",
        "(i'm sorry about that | i'm sorry about the noise | of course) "
        "shall i put you through to <department>",
    ]
    fixed = [" ".join(spoken_clauses(reply)) for reply in _fixed_replies(prop)]
    rooms = [" ".join(spoken_clauses(room.name)) for room in prop.room_types]
    # The property's departments, and any the policy may offer (it names them all).
    named = {*prop.departments, *DEPARTMENTS}
    departments = [" ".join(spoken_clauses(d.replace("_", " "))) for d in sorted(named)]
    rules = {
        "agent": "<reply>+",
        "reply": _alternatives(t for t in templates + fixed if _known(t)),
        "person": "<first_name> [<last_name>]",
        "stay": "from <date> to <date> <count> (night | nights)",
        "date": "today | tomorrow | <weekday> <month> <ordinal> [<year>]",
        "room": _alternatives(r for r in rooms if _known(r)),
        "department": _alternatives(
            ["front desk", "the front desk", "a manager", *(d for d in departments if _known(d))]
        ),
        "first_name": _alternatives(FIRST_NAMES),
        "last_name": _alternatives(LAST_NAMES),
        "weekday": _alternatives(WEEKDAYS),
        "month": _alternatives(MONTHS),
        "ordinal": _alternatives(ordinal_words(n) for n in range(1, 32)),
        "year": _alternatives(year_words(today.year + i) for i in range(3)),
        "count": _alternatives(number_words(n) for n in range(1, 31)),
        "money": "<amount> (dollar | dollars | euros | pounds) [and <small> cents]",
        "amount": "<small> thousand [<small> hundred] [<small>] | <small> hundred [<small>] "
        "| <small>",
        "small": _alternatives(number_words(n) for n in range(1, 100)),
    }
    return jsgf_grammar("agent", rules)
