"""What one caller utterance means: an intent and its slots, or nothing at all.

Pure. :func:`understand` reads free text (a free-form recogniser's "Room 212, the AC is
broken.", numbers in words as in "two adults", typed text) into a :class:`Reading`. It is
built to be **conservative**: an utterance it cannot place is :attr:`Intent.NONE`, with no
slots, so the concierge asks again instead of acting on a guess. The rules:

* **An intent needs its cue**, not just a word of its topic: a booking needs "book",
  "reserve", "a room", "availability", "a place to stay"... or an utterance made only of stay
  details ("2 adults and 2 kids", "next Friday for two nights"); "what's the forecast for the
  weekend" names a weekend but is not about a stay, so it is nothing.
* **A callback is the caller being called**: "call me back", "ring me tomorrow", "a
  callback", "have someone phone me"; "I could call you back later" is not one.
* **A yes or a no is the whole answer**: "yes", "sure, go for it", "yeah, book that", "no,
  that's not right". Hedged or mixed lines ("so, um, yeah, I mean...", "uh huh", "can you
  hear me okay?") are not a yes; a no with new details ("no, three adults") is a correction.
* **Negated details are dropped**: "not Tuesday, Wednesday" is Wednesday (Tuesday is kept
  as :attr:`Reading.replaced_day`, so a correction knows which day to move), "3 adults, not
  2" is 3 adults, "I don't want a room" is not a booking.
* **Order** when several apply: an emergency or a request for staff, a problem in a room, a
  callback, a payment, a text, a correction, a stay, a question about the hotel, a price, a
  name or a phone number, then goodbye, no, yes, thanks, a greeting, "hold on".
* **Context**: the concierge says what it has just asked for (``expecting``), and only then
  does a bare answer count: "Peter Novak" as a name, "two" as the party, "212" as a room,
  "3 pm" as the callback time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Literal

import attrs

from hotelvoice.language.dates import (
    DateRange,
    SaidStay,
    date_points,
    find_check_out,
    find_nights,
    find_stay,
    mentions_dates,
)
from hotelvoice.language.names import find_name
from hotelvoice.language.numbers import PhoneNumber, bare_room, find_room, split_phone
from hotelvoice.language.party import GuestCount, find_party
from hotelvoice.language.staff import TransferIntent, find_staff_need
from hotelvoice.language.text import Token, has, padded, phrase_at, tokens_of, words_of
from hotelvoice.language.when import Moment, find_moment
from hotelvoice.language.words import MONTH_NUMBERS, WEEKDAY_NUMBERS
from hotelvoice.properties.model import Property

Expecting = Literal["name", "phone", "party", "dates", "time", "room", "message", "choice"]
InfoTopic = Literal["check_in", "check_out", "pets", "location", "amenities", "policies", "contact"]


class Intent(StrEnum):
    """What an utterance is mainly about (see :func:`understand`)."""

    GREETING = "greeting"
    BOOK = "book"  # a stay: check availability
    PRICE = "price"  # what rooms cost, no dates
    INFO = "info"  # a fact about the hotel: get_hotel_info
    TRANSFER = "transfer"  # a person or a department asked for, or an emergency
    REPORT = "report"  # a problem or a request in a room, for staff
    CALLBACK = "callback"  # the hotel should call the caller
    SMS = "sms"  # text the caller something
    PAYMENT = "payment"  # pay, hold the room
    MESSAGE = "message"  # leave a message for staff
    NAME = "name"  # who is calling
    PHONE = "phone"  # a number to reach them
    CORRECTION = "correction"  # "no, three adults", "actually make it the 16th"
    YES = "yes"
    NO = "no"
    GOODBYE = "goodbye"
    THANKS = "thanks"
    HOLD = "hold"  # "one moment", "let me think"
    NONE = "none"  # nothing the concierge can act on


@attrs.frozen
class Reading:
    """One utterance understood: its intent and the details said with it (None: not said)."""

    intent: Intent
    stay: SaidStay | None = None
    check_out: dt.date | None = None  # a departure said alone ("leaving on the 20th")
    nights: int | None = None  # a length said without its start ("for three nights")
    party: GuestCount | None = None
    room_type: str | None = None
    pets: bool | None = None
    topic: InfoTopic | None = None
    amenity: str | None = None
    staff: TransferIntent | None = None
    room: str | None = None
    moment: Moment | None = None
    name: str | None = None
    phone: PhoneNumber | None = None
    sms_topic: str | None = None  # "location", "booking", "that" (what was just said)
    replaced_day: dt.date | None = None  # "not Tuesday, ...": the day being corrected
    affirmed: bool = False  # a yes came with it ("yes, and my name is ...")
    denied: bool = False  # a no came with it ("no, three adults")
    said: str = ""  # the utterance as said, for a message to pass on

    @property
    def dates(self) -> DateRange | None:
        return None if self.stay is None else self.stay.dates

    @property
    def urgent(self) -> bool:
        return self.staff is not None and self.staff.kind == "urgent"

    def slots(self, local_now: dt.datetime | None = None) -> dict[str, str | int | bool]:
        """The details as flat values (the benchmark's and the tests' vocabulary)."""
        slots: dict[str, str | int | bool] = {}
        if self.dates is not None:
            slots["check_in"] = self.dates.check_in.isoformat()
            slots["check_out"] = self.dates.check_out.isoformat()
        elif self.check_out is not None:
            slots["check_out"] = self.check_out.isoformat()
        if self.party is not None:
            slots["adults"] = self.party.adults
            if self.party.children:
                slots["children"] = self.party.children
        if self.pets:
            slots["pets"] = True
        if self.room_type is not None:
            slots["room_type"] = self.room_type
        if self.topic is not None:
            slots["topic"] = self.topic
        if self.amenity is not None:
            slots["amenity"] = self.amenity
        if self.staff is not None:
            slots["department"] = self.staff.department
            if self.staff.issue is not None and self.intent is Intent.REPORT:
                slots["issue"] = self.staff.issue
        if self.room is not None:
            slots["room"] = self.room
        if self.moment is not None and local_now is not None:
            moment = self.moment.resolve(local_now)
            if moment is not None:
                slots["when"] = moment.strftime("%Y-%m-%dT%H:%M")
        if self.name is not None:
            slots["name"] = self.name
        if self.phone is not None and self.phone.e164 is not None:
            slots["phone"] = self.phone.e164
        if self.sms_topic in ("location", "booking"):
            slots["topic"] = self.sms_topic
        return slots


# ============================================================================ vocabulary


def _word_set(text: str) -> frozenset[str]:
    """The words of ``text``: vocabularies are written as prose-like lines."""
    return frozenset(text.split())


# The words of a clean yes or no: one of the heads, and nothing but these around it.
_YES_HEADS = (
    "yes", "yeah", "yep", "yup", "ya", "sure", "ok", "alright", "all right", "correct",
    "right", "exactly", "absolutely", "definitely", "of course", "please do", "go ahead",
    "go for it", "do it", "do that", "book it", "book that", "sounds good", "sounds great",
    "sounds perfect", "that works", "perfect", "great", "fine", "lovely", "certainly",
    "wonderful", "excellent", "affirmative", "indeed", "send it", "yes please",
)  # fmt: skip
_YES_WORDS = _word_set(
    "yes yeah yep yup ya sure ok alright all right correct exactly absolutely definitely of "
    "course please do go ahead for it that is book send sounds good great perfect works fine "
    "lovely certainly wonderful excellent affirmative indeed thanks thank you would be so "
    "very much then the one this me us let awesome cool"
)
_NO_HEADS = (
    "no", "nope", "nah", "not really", "not right", "not correct", "incorrect", "wrong",
    "do not think so", "never mind", "cancel", "not now", "no thanks", "no thank you",
    "not quite", "negative", "do not",
)  # fmt: skip
_NO_WORDS = _word_set(
    "no nope nah not really right correct incorrect wrong i do think so never mind cancel "
    "now thanks thank you that is it quite negative please sorry actually please"
)
_GOODBYES = (
    "bye", "goodbye", "good bye", "bye bye", "that is all", "that is it", "that will be all",
    "that will be it", "that will do", "that is everything", "that should be it",
    "that should be all", "all set", "nothing else", "have a good day", "have a nice day",
    "have a great day", "have a good night", "have a nice night", "have a good one",
    "have a good evening", "have a nice evening", "have a good weekend", "have a great one",
    "take care", "see you", "talk to you later", "i am done", "good night", "i am good",
    "that is all i need", "that is all i needed", "that is everything i needed",
)  # fmt: skip
_THANKS = ("thanks", "thank you", "cheers", "appreciate it", "much appreciated")
_POLITE_WORDS = _word_set(
    "thanks thank you very much so a lot cheers appreciate it much appreciated great perfect "
    "ok wonderful awesome lovely that is again for your help all the really"
)
_GREETINGS = (
    "hello", "hi", "hey", "hiya", "howdy", "good morning", "good afternoon", "good evening",
    "is this the", "is that the", "am i calling the", "have i reached", "am i speaking to",
)  # fmt: skip
_HOLDS = (
    "hold on", "one moment", "just a moment", "a moment", "one second", "just a second",
    "a second", "give me a minute", "give me a second", "let me think", "let me check",
    "bear with me", "wait a moment", "wait a second", "wait a minute", "one sec",
    "just a sec", "hang on",
)  # fmt: skip
_FILLERS = _word_set(
    "um uh er ah hmm oh so well okay ok yes yeah no please sorry actually like i mean hi "
    "hello hey and also just"
)

# Booking cues; "stay" and "room" count only as a request ("looking for a room").
_BOOK_CUES = (
    "book", "booking", "reserve", "reservation", "reservations", "availability", "vacancy",
    "vacancies", "a room", "any rooms", "any room", "rooms available", "room available",
    "a place to stay", "place to stay", "a place for", "to stay", "like to stay",
    "want to stay", "stay with you", "staying with you", "anything open",
    "anything available", "anything free", "have anything", "got anything",
    "available rooms", "free rooms", "a suite", "rooms for", "rooms on",
)  # fmt: skip
_ROOM_NOUNS = _word_set("room rooms suite suites")
# A room asked for without any detail: "do you have a king room available".
_ROOM_ASKS = (
    "available", "do you have", "have you got", "is there", "are there", "i need",
    "we need", "looking for", "i want", "we want", "can i get", "could i get", "can we get",
)  # fmt: skip
# What a stay is asked for in ("a suite for 3 people", "anything available on Friday").
_LODGING_WORDS = _word_set(
    "room rooms suite suites king queen double twin single bed beds place anything something "
    "available availability vacancy vacancies"
)
_REQUEST_WORDS = _word_set(
    "need want like looking get have got book reserve available free open any is there "
    "would could can do"
)
# Words that may surround stay details without being about anything else.
_STAY_WORDS = _word_set(
    """
    for the a an and please it will be we are there of us just only on from to until till
    through thru i me myself my our with it is this that then um uh so ok yes no actually
    sorry meant make instead how about night nights arriving arrive leaving leave checking
    check in out staying stay total people person guests guest adults adult children child
    kids kid baby babies infant family couple wife husband partner friend friends mom dad
    mother father son daughter sons daughters party group both next coming this weekend week
    weeks day days tonight tomorrow today after starting start between by at also plus
    would like need want us two one room rooms and or but maybe around about roughly thank
    thanks looking
    """
)
_PRICE_CUES = (
    "how much", "price", "prices", "rate", "rates", "cost", "costs", "charge", "charging",
    "per night", "expensive", "cheap", "cheapest", "pricing", "nightly", "run", "go for",
)  # fmt: skip
_PRICE_WORDS = _word_set(
    """
    how much is a an the room rooms night per for what are your you do does it cost costs
    charge charging rate rates price prices pricing these days suite one stay would be that
    average nightly typically usually standard cheapest cheap expensive is there what's whats
    about roughly ballpark um uh so ok and please just can i ask tell me of nights week
    double queen king twin single family deluxe standard ocean view executive junior
    superior studio penthouse suites thank thanks go goes going run runs
    """
)
_AMENITIES = {
    "parking": "parking", "park": "parking", "garage": "parking", "valet": "parking",
    "breakfast": "breakfast", "pool": "pool", "swimming": "pool", "wifi": "wifi",
    "internet": "wifi", "gym": "gym", "fitness": "gym", "workout": "gym", "spa": "spa",
    "restaurant": "restaurant", "bar": "bar", "shuttle": "shuttle", "laundry": "laundry",
    "hot tub": "hot tub", "jacuzzi": "hot tub", "sauna": "sauna", "room service": "room service",
    "ev charging": "ev charging", "charger": "ev charging", "amenities": "", "facilities": "",
}  # fmt: skip
_CHECK_IN = ("check in", "checkin", "checking in", "arrive", "arrival", "get in")
_CHECK_OUT = ("check out", "checkout", "checking out", "leave", "departure", "depart")
_TIME_QUESTIONS = (
    "what time", "when", "how early", "how late", "time", "earliest", "latest", "by when",
    "early", "late", "what hour", "from what",
)  # fmt: skip
_PETS = ("pet", "pets", "dog", "dogs", "cat", "cats", "puppy", "kitten", "animal", "animals")
_PET_QUESTIONS = (
    "allow", "allowed", "bring", "welcome", "friendly", "policy", "accept", "take",
    "permitted", "ok", "fee", "can", "do you", "are", "is", "charge", "have", "with",
    "bringing", "traveling", "travelling",
)  # fmt: skip
_BRINGING_PETS = ("bringing", "bring", "with", "have", "traveling", "travelling", "plus")
_LOCATION = (
    "address", "located", "location", "where are you", "where is the hotel", "where is it",
    "directions", "how do i get to", "how do i get there", "how to get to", "how to get there",
    "how far", "get to the hotel", "get to you", "which part of town", "what street",
    "where exactly", "nearest", "what area", "are you near", "are you close to",
    "is it near", "is it close to", "is the hotel near", "is the hotel close to", "how close",
    "walking distance", "are you far from", "is it far",
)  # fmt: skip
_POLICIES = (
    "policy", "policies", "cancel", "cancellation", "refund", "smoking", "smoke",
    "age requirement", "minimum age", "rules", "quiet hours",
)  # fmt: skip
_CONTACT = ("email", "e mail", "your phone number", "your number", "fax", "contact you")
_CALL_ME = re.compile(
    r" (?:call|ring|phone) (?:me|us)(?: back)?(?= (back|tomorrow|today|tonight|later|at|on|in"
    r"|around|this|next|when|after|before|between|please|sometime|about|regarding|as|soon"
    r"|asp|asap|monday|tuesday|wednesday|thursday|friday|saturday|sunday|then|instead|once"
    r"|first|and|so|if|or|within|any|$) | $)"
)
# "can you call me mac tomorrow at 3pm": the recogniser heard "back" as another short word.
# One unknown word is let through only when a day or a time follows it, so "call me
# Ishmael" and "call me a taxi" stay names and errands.
_DAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_HOURS = r"(?:\d|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon)"
_CALL_ME_MISHEARD = re.compile(
    r" (?:call|ring|phone) (?:me|us) (?!a |an |the )[a-z]{2,8}"
    rf"(?= (?:tomorrow|today|tonight|this (?:morning|afternoon|evening)|(?:on )?{_DAYS}"
    rf"|at {_HOURS}) )"
)
_CALLBACK_CUES = (
    "callback", "get back to me", "give me a call", "give me a ring", "give us a call",
    "someone call me", "someone phone me", "someone ring me", "somebody call me",
    "call me back", "ring me back", "phone me back", "call us back", "return my call",
)  # fmt: skip
_SMS_CUES = (
    "text me", "text it", "text that", "text this", "text them", "text the", "text us",
    "send me a text", "send a text", "text message", "sms", "message me", "by text",
    "in a text", "as a text", "via text", "to my phone", "to my cell", "to my mobile",
    "on my phone", "on my cell",
)  # fmt: skip
# "send me a confirmation text", "send us the details in a text message".
_SEND_A_TEXT = re.compile(r" send (?:me|us) (?:a|an|the) (?:[a-z]+ ){0,2}(?:text|sms) ")
_PAYMENT_CUES = (
    "pay", "paying", "payment", "payment link", "credit card", "debit card", "card",
    "visa", "mastercard", "amex", "american express", "prepay", "pay now", "deposit",
)  # fmt: skip
_MESSAGE_CUES = (
    "leave a message", "take a message", "pass on a message", "pass a message",
    "a message for", "leave them a message",
)  # fmt: skip
# After "a call back, or a message?": the shorter answers.
_MESSAGE_ANSWERS = ("message", "pass it on", "pass that on", "pass on")
_CORRECTION_CUES = (
    "actually", "i meant", "meant", "make it", "make that", "change it to", "change that to",
    "instead", "rather", "correction", "i said", "no wait", "wait", "not", "change the",
    "change it", "change my", "sorry",
)  # fmt: skip
# The words of changing a detail ("actually, let's do the 20th instead", "no, make it 4 pm").
_CORRECTION_WORDS = _word_set(
    "actually meant make it that change to instead rather correction said wait not sorry let "
    "us do the please no yes i we how about then oh um uh am pm oclock at noon morning "
    "afternoon evening can could you one"
)
_NEGATORS = frozenset({"not", "never", "no", "without"})
_SMS_LOCATION = ("address", "directions", "location", "where you are")
_SMS_BOOKING = ("details", "confirmation", "booking", "reservation", "quote", "offer")


# ============================================================================ helpers


def _any(joined: str, phrases: Sequence[str]) -> str | None:
    return next((phrase for phrase in phrases if has(joined, phrase)), None)


def _negated_cue(words: Sequence[str], phrases: Sequence[str]) -> bool:
    """Whether every occurrence of ``phrases`` is negated ("i do not want a room")."""
    seen = False
    for phrase in phrases:
        for at in phrase_at(words, phrase):
            seen = True
            window = words[max(0, at - 4) : at]
            if not any(w in _NEGATORS for w in window):
                return False
    return seen


def _cue(words: Sequence[str], joined: str, phrases: Sequence[str]) -> bool:
    """A phrase of ``phrases`` said and not negated."""
    return _any(joined, phrases) is not None and not _negated_cue(words, phrases)


def _only(words: Sequence[str], heads: Sequence[str], allowed: frozenset[str]) -> bool:
    """Whether ``words`` hold one of ``heads`` and nothing outside ``allowed``."""
    joined = padded(words)
    return bool(words) and _any(joined, heads) is not None and all(w in allowed for w in words)


def _negated_clauses(text: str) -> tuple[str, list[str]]:
    """``text`` without its negated clauses ("not Tuesday", "not 2"), and those clauses."""
    kept: list[str] = []
    dropped: list[str] = []
    for clause in re.split(r"[,;.!?]+", text):
        words = clause.strip().lower().split()
        if len(words) >= 2 and words[0] == "not" and words[1] not in ("really", "sure", "quite"):
            dropped.append(clause)
        else:
            kept.append(clause)
    return ", ".join(kept), dropped


def _without(toks: Sequence[Token], spans: Sequence[tuple[int, int]]) -> list[Token]:
    return [t for i, t in enumerate(toks) if not any(a <= i < b for a, b in spans)]


def _room_type(words: Sequence[str], prop: Property | None) -> str | None:
    if prop is None:
        return None
    joined = padded(words)
    for room in prop.room_types:
        name = " ".join(words_of(room.name))
        short = name.removesuffix(" room")
        if has(joined, name) or has(joined, room.code.lower()) or has(joined, f"{short} room"):
            return room.code
    # A type named by its first word alone ("a king", "the suite") when it is unique.
    for room in prop.room_types:
        first = words_of(room.name)[0]
        if has(joined, f"a {first}") or has(joined, f"the {first}"):
            same = [r for r in prop.room_types if words_of(r.name)[0] == first]
            if len(same) == 1:
                return room.code
    return None


def _pets(words: Sequence[str], joined: str) -> bool | None:
    pet = _any(joined, _PETS)
    if pet is None:
        return None
    if has(joined, f"no {pet}") or _negated_cue(words, (pet,)):
        return False
    return True if _any(joined, _BRINGING_PETS) is not None else None


def _info_topic(words: Sequence[str], joined: str) -> tuple[InfoTopic | None, str | None]:
    for said, amenity in _AMENITIES.items():
        if has(joined, said):
            if said == "park" and not (has(joined, "park my") or has(joined, "park the")):
                continue  # "the park nearby" is not parking
            return "amenities", amenity or None
    timed = _any(joined, _TIME_QUESTIONS) is not None
    if timed and _any(joined, _CHECK_IN) is not None:
        return "check_in", None
    if timed and _any(joined, _CHECK_OUT) is not None:
        return "check_out", None
    pet_words = set(_PETS) | _FILLERS
    if _any(joined, _PETS) is not None and (
        _any(joined, _PET_QUESTIONS) is not None or all(w in pet_words for w in words)
    ):
        return "pets", None
    if _any(joined, _LOCATION) is not None:
        return "location", None
    if _any(joined, _POLICIES) is not None:
        return "policies", None
    if _any(joined, _CONTACT) is not None:
        return "contact", None
    return None, None


def _sms_topic(joined: str) -> str | None:
    if _any(joined, _SMS_LOCATION) is not None:
        return "location"
    if _any(joined, _SMS_BOOKING) is not None:
        return "booking"
    if any(has(joined, w) for w in ("it", "that", "this", "them")):
        return "that"
    return None


_NAME_WORDS = (
    _FILLERS
    | _word_set("you can could just under put")
    | _word_set(
        "my name is the this it i am last first full surname put under spelled that calling "
        "speaking here its it's s for reservation booking please thanks thank you"
    )
)
_PHONE_WORDS = (
    _FILLERS
    | _word_set("numbers")
    | _word_set(
        "my number is cell phone mobile you can reach me at on call it the best its use this "
        "here s text or try"
    )
)
_GREETING_WORDS = _FILLERS | _word_set(
    "hello hi hey hiya howdy good morning afternoon evening there is this that the am i "
    "calling have reached speaking to hotel inn"
)
_HOLIDAY_WORDS = _word_set(
    "christmas xmas eve new year years nye thanksgiving valentines halloween independence"
)


def _room_words(prop: Property | None, *, hotel: bool = False) -> frozenset[str]:
    """The words of the property's room type names (and, with ``hotel``, of its name)."""
    if prop is None:
        return frozenset()
    names = [room.name for room in prop.room_types] + [room.code for room in prop.room_types]
    if hotel:
        names.append(prop.name)
    return frozenset(w for name in names for w in words_of(name))


def _stay_word(tok: Token, room_words: frozenset[str]) -> bool:
    """A word stay details are made of: numbers, days, months, "adults", "nights", ..."""
    w = tok.w
    return (
        tok.num is not None
        or w in _STAY_WORDS
        or w in MONTH_NUMBERS
        or w in WEEKDAY_NUMBERS
        or w in _HOLIDAY_WORDS
        or w in room_words
        or bool(re.fullmatch(r"\d{1,2}/\d{1,2}(/\d{2,4})?", w))
    )


def _outside_name(words: Sequence[str], name: str) -> list[str]:
    """The words of an utterance that are not the name nor its spelled letters."""
    said = {part.lower() for part in name.split()}
    return [w for w in words if w not in said and len(w) > 1]


def _details_beside(words: Sequence[str], phrases: Sequence[str], today: dt.date) -> bool:
    """Whether stay details are said outside ``phrases`` ("have a good weekend" has none)."""
    rest = " ".join(words)
    for phrase in sorted(phrases, key=len, reverse=True):
        rest = re.sub(rf"\b{re.escape(phrase)}\b", " ", rest)
    toks = tokens_of(rest.split())
    return find_stay(toks, today) is not None or find_party(toks) is not None


# "is this the sunset inn", "have i reached harbour house": the name that follows is the
# hotel's, whatever it is.
_REACHED = re.compile(
    r"^(?:.* )?(?:is this|is that|have i reached|am i calling|am i speaking to|did i reach)"
    r"(?: the)?(?: [a-z]+){1,5}$"
)


def _greeting(words: Sequence[str], prop: Property | None) -> bool:
    allowed = _GREETING_WORDS | _room_words(prop, hotel=True)
    if _only(words, _GREETINGS, allowed):
        return True
    said = " ".join(words)
    reached = _REACHED.match(said)
    if reached is None:
        return False
    lead = said.split(" is this")[0].split(" is that")[0].split(" have i")[0].split(" am i")[0]
    lead_words = lead.split() if lead != said else []
    return all(w in allowed for w in lead_words)


def _bare_number(toks: Sequence[Token]) -> int | None:
    """The one number in a short answer ("two", "just 2", "2 please")."""
    numbers = [t for t in toks if t.num is not None and not t.ordinal]
    others = [t for t in toks if t.num is None and t.w not in _FILLERS | {"of", "us", "we"}]
    if len(numbers) == 1 and not others and numbers[0].num is not None:
        return numbers[0].num
    return None


# ============================================================================ reading


def understand(
    text: str,
    *,
    today: dt.date,
    prop: Property | None = None,
    expecting: Expecting | None = None,
    near: dt.date | None = None,
) -> Reading:
    """What ``text`` means (see the module docstring); :attr:`Intent.NONE` when unsure.

    ``prop`` names the room types; ``expecting`` is what the concierge has just asked for;
    ``near`` the first day of a stay or callback being arranged, whose month a day of the
    month alone is in.
    """
    raw = text.strip()
    if not raw:
        return Reading(Intent.NONE)
    phone, rest = split_phone(raw)
    kept_text, negated = _negated_clauses(rest)
    name = find_name(kept_text, expecting=expecting == "name")
    words = words_of(kept_text)
    all_words = words_of(rest)
    if not words and phone is None:
        return Reading(Intent.NONE)
    toks = tokens_of(words)
    joined = padded(words)

    # The day a correction replaces: "not Tuesday, Wednesday" / "not tuesday wednesday".
    replaced: dt.date | None = None
    negated_spans: list[tuple[int, int]] = []
    for clause in negated:
        points = date_points(tokens_of(words_of(clause)), today, near)
        if points:
            replaced = points[0].day
    for point in date_points(toks, today, near):
        if point.start > 0 and toks[point.start - 1].w == "not":
            replaced = point.day
            negated_spans.append((point.start - 1, point.end))

    staff = find_staff_need(all_words if not negated else words)
    room = find_room(toks, fault=staff is not None or expecting == "room")
    masked = _without(toks, negated_spans + ([(room.start, room.end)] if room else []))
    stay = find_stay(masked, today, near)
    check_out = find_check_out(masked, today, near) if stay is None else None
    nights = find_nights(masked) if stay is None else None
    party = find_party(masked)
    room_type = _room_type(words, prop)
    pets = _pets(words, joined)
    moment = find_moment(masked, today)

    affirmed = _any(joined, _YES_HEADS) is not None and not _negated_cue(words, ("yes",))
    denied = bool(words) and words[0] in ("no", "nope", "nah")
    details = {
        "stay": stay is not None or check_out is not None or mentions_dates(masked),
        "party": party is not None,
        "room_type": room_type is not None,
    }
    said_details = any(details.values())

    def reading(intent: Intent, **slots: Any) -> Reading:
        base = Reading(intent, affirmed=affirmed, denied=denied, name=name, said=raw)
        return attrs.evolve(base, **slots)

    # --- answers to what the concierge has just asked
    if expecting == "message" and len(words) >= 3 and _any(joined, _GOODBYES) is None:
        return reading(Intent.MESSAGE)
    if expecting == "room" and staff is None:
        number = room.number if room is not None else bare_room(toks)
        if number is not None:
            return reading(Intent.REPORT, room=number)
    if expecting == "phone" and phone is not None:
        return reading(Intent.PHONE, phone=phone)
    if expecting == "party" and party is None and stay is None:
        count = _bare_number(masked)
        if count is not None and 1 <= count <= 20:
            return reading(Intent.BOOK, party=GuestCount(count))
    if expecting == "time" and moment is not None and staff is None and party is None:
        return reading(Intent.CALLBACK, moment=moment)

    # --- staff: an emergency, a person asked for, a problem in a room
    if staff is not None:
        intent = Intent.TRANSFER if staff.kind in ("urgent", "asked") else Intent.REPORT
        return reading(intent, staff=staff, room=None if room is None else room.number)

    callback = (
        _cue(words, joined, _CALLBACK_CUES)
        or bool(_CALL_ME.search(joined))
        or bool(_CALL_ME_MISHEARD.search(joined))
    )
    if callback and not _negated_cue(words, ("call", "ring", "phone", "callback")):
        return reading(Intent.CALLBACK, moment=moment, phone=phone)
    if _cue(words, joined, _PAYMENT_CUES) and not has(joined, "keycard"):
        return reading(Intent.PAYMENT, phone=phone)
    if (_cue(words, joined, _SMS_CUES) or _SEND_A_TEXT.search(joined)) and (
        _any(joined, ("text", "send", "message", "sms")) is not None
    ):
        return reading(Intent.SMS, sms_topic=_sms_topic(joined), phone=phone)
    if _cue(words, joined, _MESSAGE_CUES) or (
        expecting == "choice" and _cue(words, joined, _MESSAGE_ANSWERS)
    ):
        return reading(Intent.MESSAGE)

    topic, amenity = _info_topic(words, joined)
    stay_slots: dict[str, Any] = {
        "stay": stay,
        "check_out": check_out,
        "nights": nights,
        "party": party,
        "room_type": room_type,
        "pets": pets,
        "replaced_day": replaced,
    }
    room_words = _room_words(prop)
    correcting = (
        (_cue(all_words, padded(all_words), _CORRECTION_CUES) or denied or replaced is not None)
        and (said_details or moment is not None)
        # Only details and the words of changing them: "sorry, my kid is yelling" is not one.
        and all(_stay_word(t, room_words) or t.w in _CORRECTION_WORDS for t in toks)
    )
    if correcting:
        return reading(Intent.CORRECTION, moment=moment, **stay_slots)

    price_words = _PRICE_WORDS | _room_words(prop) | _FILLERS
    price_cue = _cue(words, joined, _PRICE_CUES)
    if price_cue and all(w in price_words for w in words) and stay is None and party is None:
        return reading(Intent.PRICE, room_type=room_type)
    if (
        price_cue
        and said_details
        and all(t.w in price_words or t.w in _FILLERS or _stay_word(t, room_words) for t in toks)
    ):
        return reading(Intent.BOOK, **stay_slots)  # the store answers with the price
    if not said_details and _only(words, _YES_HEADS, _YES_WORDS) and not denied:
        return reading(Intent.YES)  # "yeah, book that": a yes, not a new booking
    booked = _cue(words, joined, _BOOK_CUES)
    request = said_details and any(w in _REQUEST_WORDS for w in words)
    lodging = room_type is not None or any(w in _LODGING_WORDS for w in words)
    only_details = said_details and all(_stay_word(t, room_words) for t in toks)
    about_else = topic is not None and stay is None and party is None
    asks_for_room = any(w in _ROOM_NOUNS for w in words) and _cue(words, joined, _ROOM_ASKS)
    if (booked or only_details or (request and lodging) or asks_for_room) and not about_else:
        return reading(Intent.BOOK, **stay_slots)
    if topic is not None:
        return reading(Intent.INFO, topic=topic, amenity=amenity)
    if name is not None and (
        expecting == "name" or all(w in _NAME_WORDS for w in _outside_name(words, name))
    ):
        return reading(Intent.NAME, phone=phone)
    if phone is not None and all(w in _PHONE_WORDS for w in words):
        return reading(Intent.PHONE, phone=phone)
    if _any(joined, _GOODBYES) is not None and not _details_beside(words, _GOODBYES, today):
        return reading(Intent.GOODBYE)
    if _only(words, _NO_HEADS, _NO_WORDS):
        return reading(Intent.NO)
    if _only(words, _YES_HEADS, _YES_WORDS) and not denied:
        return reading(Intent.YES)
    if _only(words, _THANKS, _POLITE_WORDS):
        return reading(Intent.THANKS)
    if _greeting(words, prop):
        return reading(Intent.GREETING)
    if _any(joined, _HOLDS) is not None:
        return Reading(Intent.HOLD)
    return Reading(Intent.NONE)


_ANY_DAY = dt.date(2001, 1, 1)  # an utterance's intent does not depend on the day


def classify_intent(text: str) -> Intent:
    """The intent of ``text`` on its own, without context (see :func:`understand`)."""
    return understand(text, today=_ANY_DAY).intent
