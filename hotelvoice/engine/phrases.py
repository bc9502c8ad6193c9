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

# What the policy names when it offers staff (the issues of hotelvoice.language.staff).
_ISSUES: Final = ("air conditioning", "heating", "hot water", "toilet", "shower", "tv",
                  "lights", "towels", "pillows", "blankets", "sheets", "room cleaning", "wifi",
                  "key card", "room", "door", "sink", "fridge", "trouble")  # fmt: skip
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
    opens, closes = (spoken_time(t) for t in prop.callback_hours)
    anything_else = "Is there anything else I can help you with?"
    call_hours = f"Our team calls between {opens} and {closes}."
    sorry = "Sorry, could you say that another way?"
    replies = [
        f"Thank you for calling {name}. How can I help you today?",
        "Are you still there? I can check rooms and prices, or connect you to the desk.",
        f"Thank you for calling {name}. You can call back any time. Goodbye!",
        f"No problem. {anything_else}",
        f"All right. {anything_else}",
        f"You're welcome. {anything_else}",
        f"Done. {anything_else}",
        f"Sent. {anything_else}",
        f"All right, I won't send anything. {anything_else}",
        f"Thank you. I've passed your message on. {anything_else}",
        "Sure. What can I do for you?",
        "Hello! How can I help you today?",
        "How else can I help you?",
        "Of course, take your time.",
        "Certainly. Which dates would you like?",
        "Which dates would you like?",
        "And how many guests will there be?",
        "How many guests will there be?",
        "May I have your name, please?",
        "Thank you. And may I have your name, please?",
        "Sorry about that. What should I change: the dates, the number of guests, or the name?",
        "All right. What day and time would suit you instead?",
        f"Of course. What day and time would suit you? {call_hours}",
        "What number should we call you on?",
        "What number should I text?",
        "That time has already passed. What time would suit you?",
        f"{call_hours[:-1]}. What time in those hours would suit you?",
        "Of course. What would you like me to pass on?",
        "Would you like a call back, or to leave a message?",
        "I'm sorry, no one can take the call right now. I can arrange for someone to call you "
        "back or pass on a message. Which would you prefer?",
        f"I'm sorry, no one can take the call right now. {anything_else}",
        "I'm sorry, I can't put calls through right now. I can have someone call you back. "
        "Would you like that?",
        "I'm sorry, I can't check rooms right now. Our front desk can help you with that. "
        f"{anything_else}",
        "I'm sorry, I can't book a call back right now; you're welcome to call us again at "
        f"any time. {anything_else}",
        f"I'm sorry, I can't take messages right now. {anything_else}",
        f"I'm sorry, I can't take booking requests right now; our front desk can. {anything_else}",
        "I'm sorry, I can't take payments on this line; our reservations team will send you "
        f"a way to pay. {anything_else}",
        f"I'm sorry, I can't put calls through right now. {anything_else}",
        "I didn't get the whole number. Could you say it with the area code?",
        "So I'll text our address to this number. Shall I send it?",
        sorry,
        f"{sorry} For example: I'd like a room for two adults next Friday, what time is "
        "check-in, or connect me to the front desk.",
        f"{sorry} For example: from December 10th to the 12th.",
        f"{sorry} For example: two adults and one child.",
        f"{sorry} For example: my name is Alex Smith.",
        f"{sorry} For example: tomorrow at 3 PM.",
    ]
    replies += [f"{answer} Anything else?" for answer in _fact_replies(prop)]
    price = fallback_answer("how much is a room", prop)
    if price is not None:
        replies.append(f"{price} Tell me your dates and I can check the exact price.")
    return replies


def _fact_replies(prop: Property) -> list[str]:
    """The answers the policy gives from the property's facts."""
    questions = ["what time is check in", "what time is check out", "can i bring my dog",
                 "where are you located"]  # fmt: skip
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
    which_dates = "[and] which dates would you like"
    how_many = "[and] how many guests will there be"
    sorry_openings = (
        "(i'm sorry about the <issue> | i'm sorry about the noise | i'm sorry to hear that "
        "| of course | thank you | all right)"
    )
    templates = [
        f"thank you <person> ({which_dates} | {how_many} | how can i help you)",
        "hello <person> how can i help you today",
        which_dates,
        how_many,
        "thank you [<person>] i've passed your request to our reservations team who will "
        f"confirm by phone or text ({anything_else} | i can hold the <room> for you now and "
        "text a link to pay the <money> to this number shall i do that)",
        "good news the <room> is free <stay> [<money> a night] <money> in total shall i reserve it",
        "so that's the <room> <stay> for <count> (adult | adults) [and <count> (child "
        "| children)] under the name <person> our reservations team will confirm by phone or "
        "text shall i send the request",
        "i'm sorry we have nothing available <stay> which other dates would you like",
        "i'm sorry our rooms sleep at most <count> guests how many guests will there be",
        "of course i'm connecting you to <department> now goodbye",
        f"{sorry_openings} shall i put you through to <department> [about the <issue>]",
        f"{sorry_openings} which room are you in",
        "so that's a callback (today at <clock> | tomorrow <weekday> <month> <ordinal> at "
        "<clock> | on <weekday> <month> <ordinal> at <clock>) to this number shall i book it",
        f"done we'll call you (today | tomorrow | <weekday> <month> <ordinal>) at <clock> "
        f"{anything_else}",
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
        "issue": _alternatives(_ISSUES),
        "clock": "<small> (a | p) m",
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
