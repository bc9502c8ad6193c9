"""What hotel callers say, as the JSGF grammar the offline engine's recogniser listens with.

Its output is the text :mod:`hotelvoice.language` reads: lower-case words, numbers
and dates as words ("two adults", "the twenty fourth"). Phrases taken from a property (room
types, amenities, the hotel's name) are kept only when all their words are in the decoder's
dictionary, and the fixed rules are checked by the tests.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from hotelvoice.language.intents import understand
from hotelvoice.language.words import MONTHS, ORDINAL_TEENS, ORDINAL_UNITS, WEEKDAYS
from hotelvoice.properties.model import Property
from hotelvoice.speech.grammar import (
    WORD,
    alternatives,
    in_dictionary,
    jsgf_grammar,
    known_phrase,
    spoken_number,
    words_of,
)

__all__ = ["FIRST_NAMES", "LAST_NAMES", "MONTHS", "WEEKDAYS", "hotel_grammar"]

_ORDINAL_UNITS: Final = ORDINAL_UNITS
_ORDINAL_TEENS: Final = ORDINAL_TEENS
# Amenities callers ask about whatever the property lists (the answer may be "no").
_COMMON_AMENITIES: Final = (
    "a pool", "a swimming pool", "parking", "free parking", "breakfast", "free breakfast",
    "wifi", "free wifi", "internet", "a gym", "a fitness center", "a spa", "a restaurant",
    "a bar", "an airport shuttle", "a shuttle", "laundry", "a hot tub", "a jacuzzi", "a sauna",
)  # fmt: skip
# Amenities said without "a": "do you have free parking", not "a free parking".
_MASS_NOUNS: Final = frozenset({"parking", "breakfast", "wifi", "internet", "laundry", "service",
                                "dining", "access", "coffee", "tea", "water"})  # fmt: skip
_ANY_DAY = dt.date(2001, 1, 1)  # what an amenity is does not depend on the day
# A modest list: enough for "my name is ..." to be recognised for tests and demos.
FIRST_NAMES: Final = (
    "james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas",
    "daniel", "peter", "paul", "mark", "chris", "mary", "patricia", "jennifer", "linda",
    "elizabeth", "susan", "sarah", "maria", "emily", "anna", "laura", "lisa", "karen", "emma",
    "olivia", "sophia",
)  # fmt: skip
LAST_NAMES: Final = (
    "smith", "jones", "johnson", "williams", "brown", "miller", "davis", "wilson", "taylor",
    "anderson", "garcia", "martinez", "lee", "clark", "walker", "wright", "hall", "young",
    "green", "nguyen", "patel", "kim", "chen",
)  # fmt: skip


def _amenity_phrase(amenity: str) -> str:
    """What a caller would call a listed amenity: the words before any number, with a
    leading number spoken ("24-hour gym" -> "twenty four hour gym", "breakfast 7–10 am" ->
    "breakfast"), cut at the first word the decoder does not know."""
    tokens = re.findall(r"[a-z0-9']+", amenity.lower().replace("\u2019", "'"))
    words: list[str] = []
    leading = True
    for token in tokens:
        if token.isdigit():
            if not leading or int(token) > 99:
                break
            words.extend(spoken_number(int(token)).split())
            continue
        leading = False
        if not WORD.fullmatch(token) or not in_dictionary(token):
            break
        words.append(token)
    if leading:  # numbers only
        return ""
    return " ".join(words)


def _ordinals() -> list[str]:
    days = list(_ORDINAL_UNITS) + list(_ORDINAL_TEENS) + ["twentieth", "thirtieth"]
    days += [f"twenty {o}" for o in _ORDINAL_UNITS] + ["thirty first"]
    return days


def hotel_grammar(prop: Property) -> str:
    """A JSGF grammar of what callers to ``prop`` say: greetings, availability and booking
    requests with dates and party sizes, room types, prices, amenities, pets, check-in and
    check-out times, location, transfers to staff, room problems, housekeeping requests,
    callbacks, texts, payment, names, yes/no, thanks and goodbye. Phrases from ``prop`` with
    words outside the dictionary (or amenities extraction would not recognise) are left out.
    The top rule is ``<utterance>``; its parts (``<booking>``, ``<price>``, ``<stay>``,
    ``<amenity>``, ``<transfer>``, ...) each mean one intent to
    :func:`~hotelvoice.language.intents.understand`, which the tests check on random
    sentences. Takes a few ms (the first call in a process reads the
    dictionary, about 0.1 s); a decoder loads it in about 70 ms.
    """
    rooms = ["room", "double room", "single room", "twin room", "king room", "queen room",
             "suite"]  # fmt: skip
    rooms += [" ".join(words_of(r.name)) for r in prop.room_types]
    rooms = list(dict.fromkeys(r for r in rooms if known_phrase(r)))
    # "an ocean suite" but "a king room": a wrong article is one more way to mishear.
    vowel = [r for r in rooms if r[0] in "aeiou"]
    consonant = [r for r in rooms if r[0] not in "aeiou"]
    amenities = list(_COMMON_AMENITIES)
    for listed in prop.amenities:
        phrase = _amenity_phrase(listed)
        # Only what extraction will recognise as an amenity ("beach towels" it would not).
        asked = understand(f"do you have {phrase}", today=_ANY_DAY)
        if known_phrase(phrase) and asked.topic == "amenities" and asked.amenity is not None:
            amenities.append(phrase)
            last = phrase.split()[-1]
            if not last.endswith("s") and last not in _MASS_NOUNS:
                amenities.append(f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}")
    hotel = " ".join(words_of(prop.name))
    names = [hotel] if known_phrase(hotel) else []
    names.append("the hotel")
    # "is this the sunset inn": with its "the" (extraction reads "is this the" as a greeting).
    the_names = [n if n.startswith("the ") else f"the {n}" for n in names]
    numbers = [spoken_number(n) for n in range(1, 7)]
    # The decoder compiles the grammar into one finite-state graph, copying a rule at every
    # place it is referenced: a date referenced from each request would make the graph (and
    # its loading) tens of times larger. So the stay details (dates, nights, party) are one
    # rule, referenced after whichever request takes them and alone (an answer). It has at
    # most three parts, not a loop: a loop of short words would match anything.
    rules = {
        "utterance": (
            "[<hello>] ((<booking> | <price>) [<stay>] | <question>) [please] [thank you | thanks] "
            "| <stay> | <alone> | <answer> | <closing> | <reached> | <name>"
        ),
        # "hello", "hi is this sunset inn", "is this the sunset inn": without a "hello" only
        # "is this the ..." says hello to extraction.
        "reached": "<hello> [(is this | is that) <hotel_name>] "
        "| (is this | is that | have i reached) <the_hotel>",
        "hello": "hello | hi | hi there | hello there | good morning | good afternoon "
        "| good evening",
        "hotel_name": alternatives(names + the_names),
        "the_hotel": alternatives(the_names),
        # --- requests that a stay can follow ("... for two nights from friday")
        "booking": (
            "do you have (a room | any rooms | any availability | any vacancies) "
            "| (do you have | have you got) (a room | any rooms | anything | <a_room>) available "
            "| is there a room available "
            "| (i'd like | i would like | i want | we'd like | we want) to (book | reserve) "
            "(a room | <a_room>) "
            "| [(i'd like | i would like | i want | i need | we'd like | we want) to "
            "| (can | could) (i | we) | i'm calling to] make a (reservation | booking) "
            "| (can | could) (i | we) (book | reserve) (a room | <a_room>) "
            "| (i | we) need a room | (i'm | we're) looking for a room"
        ),
        "price": (
            "how much (is it | is a room | is <a_room> | does it cost | would that be) "
            "[per night] "
            "| (what's | what is) (the | your) (rate | price) [for <a_room>] [per night] "
            "| what are your (rates | prices) "
            "| how much do you charge [per night | for a room] "
            "| what does a room cost [per night]"
        ),
        "a_room": " | ".join(
            f"({article} | the | one) ({alternatives(names)})"
            for article, names in (("a", consonant), ("an", vowel))
            if names
        ),
        # "and"/"to" only join parts: a stay starting with them matched noise ("and tonight").
        "stay": "<stay_part> [<more_stay>] [<more_stay>]",
        "stay_part": "[for | on | from | starting] <date> | for <nights> | [for] <party>",
        "more_stay": "[to | until | through | and] <stay_part>",
        "date": (
            "tonight | tomorrow [night] | the day after tomorrow | [this | next] <weekday> "
            "[night] | (this | next) weekend | (<month> [the] | the) <ordinal> [of <month>] "
            "| christmas | new year's eve"
        ),
        "weekday": alternatives(WEEKDAYS),
        "month": alternatives(MONTHS),
        "ordinal": alternatives(_ordinals()),
        "nights": (
            "(one | a) night | <several> nights | a week | two weeks | the weekend "
            "| a couple of nights"
        ),
        "several": alternatives(numbers[1:]),
        # Only as a whole answer: inside a stay these short words matched noise between dates
        # ("the fifth to only me through the eighth").
        "alone": "[it's] (just | only) (me | myself)",
        "party": (
            "(one adult | <several> (adults | people | guests)) [and (one child "
            "| <several> (children | kids))] | [it's] just me "
            "| one person "
            "| me and my (wife | husband | partner | friend) | a family of <several> "
            "| the two of us | a couple"
        ),
        # --- questions that take no stay
        "question": (
            "<amenity> | <pets> | <times> | <location> | <transfer> | <problem> "
            "| <housekeeping> | <callback> | <text_me> | <payment>"
        ),
        "amenity": (
            "(do you have | is there | have you got) <amenity_name> "
            "| is <amenity_name> included | what amenities do you have "
            "| does the room have <amenity_name>"
        ),
        "amenity_name": alternatives(amenities),
        "pets": (
            "can (i | we) bring (my | our | a) (dog | cat | pet) "
            "| (do you | does the hotel) allow (pets | dogs | cats) "
            "| are (pets | dogs) allowed | are you pet friendly | is the hotel pet friendly "
            "| i have a (small | big) dog"
        ),
        "times": (
            "(what time | when) is check (in | out) "
            "| what time can (i | we) check in | what time do (i | we) have to check out "
            "| can (i | we) (get | have) (an early check in | a late check out)"
        ),
        "location": (
            "where are you located | where is the hotel | (what's | what is) your address "
            "| how do i get there | how far are you from the (airport | beach | station "
            "| city center) | are you near the (beach | airport)"
        ),
        # --- staff and follow-ups
        "transfer": (
            "((can | could | may) i | (i'd like | i want | i need) to | let me) "
            "(speak | talk) (to | with) <staff> "
            "| [(can | could) you | please] ((transfer | connect) me | put me through) "
            "to <staff> "
            "| [(can | could) i have] ([the] front desk | reception | the manager "
            "| housekeeping | maintenance | the operator | a representative | a real person)"
        ),
        # Something wrong in the room, to extraction a transfer (maintenance; the wifi, keys
        # and noise: the front desk). Each list is referenced once where it can be: the
        # decoder copies a rule at every reference, and a larger graph decodes slower.
        "problem": (
            "(my | the) (<fixture> ((is not | isn't) working | is broken | (doesn't | does not "
            "| won't) work) | lights ((are not | aren't) working | don't work)) "
            "| (my | the) (toilet | sink | shower) is (leaking | clogged) "
            "| there's no (hot water | heat) "
            "| (my | our | the) room is ((too | very | really) (cold | hot | noisy) | too warm) "
            "| it's (too | very | really) (cold | hot | noisy) in (my | our | the) room "
            "| (can | could) someone (fix | repair) the (shower | toilet | heating "
            "| air conditioning | tv)"
        ),
        "fixture": (
            "air conditioning | air conditioner | heating | heater | thermostat | tv "
            "| television | shower | toilet | sink | fridge | door | lock | safe | remote "
            "| elevator | wifi | internet | key | key card"
        ),
        # Housekeeping requests. "could you clean the room" is left out: in bench/speech.py it
        # took "could you text me the address" and "is there a swimming pool".
        "housekeeping": (
            "((can | could) (i | we) (get | have) | (i | we) need | we ran out of "
            "| (can | could) (you | someone) (bring | send) [up] | please (bring | send) [up]) "
            "[some | a few] [more | extra | fresh] <supplies> "
            "| (can | could) (i | we) (get | have) an extra (blanket | pillow | towel) "
            "| (can | could) someone [come and] clean (my | our | the) room "
            "| (i'd like | i would like) (my | our | the) room cleaned"
        ),
        "supplies": (
            "towels | pillows | blankets | sheets | toiletries | toilet paper | soap | shampoo "
            "| hangers"
        ),
        "staff": (
            "a person | a real person | a human | someone | an agent | a representative "
            "| the operator | reception | the front desk | the manager | a manager "
            "| housekeeping | maintenance"
        ),
        "callback": (
            "((can | could) (you | someone) | i'd like you to) call me back [<later>] "
            "| call me back [<later>] | i'd like a call back [<later>]"
        ),
        "later": "later | tomorrow [morning | afternoon] | this (afternoon | evening)",
        "text_me": (
            "[(can | could) you] (text me | send me a text) [with] [the (details | address "
            "| confirmation | link)] "
            "| [(can | could) you] send [me] (it | that | the details | the address | the link) "
            "(by text | in a text | to my phone) "
            "| [(can | could) you] text (it | that | the details | the address | the link) to me"
        ),
        "payment": (
            "can i pay (by | with) (card | credit card | cash) | do you need a deposit "
            "| (how | when) do i pay"
        ),
        # --- short answers
        "answer": (
            "yes | yes please | yeah | yes that's right | that's right | that's correct "
            "| correct | sure | okay | [that] sounds (good | great) | [that's] perfect "
            "| that's great | that works | no | no thanks | no thank you "
            "| nope | not really | that's wrong | no that's wrong"
        ),
        "closing": (
            "thank you | thanks | thank you very much | thanks a lot | goodbye | bye | bye bye "
            "| that's all [thank you | thanks] | that's everything | have a nice day "
            "| thank you goodbye | no that's all thanks"
        ),
        # Names sound like anything short: only after "my name is" (a caller says it so).
        "name": "my name is <first_name> [<last_name>]",
        "first_name": alternatives(FIRST_NAMES),
        "last_name": alternatives(LAST_NAMES),
    }
    return jsgf_grammar("hotel", rules)
