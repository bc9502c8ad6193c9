"""The offline engine's concierge: a deterministic dialogue policy on free text, sans-IO.

It hears what the caller said (a recogniser's transcript or typed text), understands it with
:func:`hotelvoice.language.intents.understand`, keeps the call's slots (the stay, the party,
the name, a callback time, a problem and its room), and answers with :class:`Say` or asks
for one of the hotel's seven tools with :class:`CallTool`, whose JSON result comes back
through :meth:`ConciergePolicy.on_tool_result`. Availability, prices and the hotel's facts
come from the tools, never from here (the property's own facts only when ``get_hotel_info``
is not offered).

The rules it keeps:

* **Read back, then act on a yes.** Every side effect (a lead, a room hold with its payment
  link, a text, a callback, a transfer, a message) is first read back with what will be done
  ("So that's a callback tomorrow, Friday, December 4th, at 3 PM to this number. Shall I book
  it?") and done only on a clean yes said right after that read-back (after anything else in
  between, the read-back is said again). A no or a correction goes back to the slot; anything
  else leaves the proposal waiting (and a goodbye asks about it once). ``check_availability``
  and ``get_hotel_info`` change nothing and need no yes.
* **An emergency transfers at once.** A caller reporting an emergency ("there's a fire",
  "someone is hurt", "call an ambulance": :mod:`hotelvoice.language.staff`) is put through
  to the front desk without a read-back; nothing else skips it, asking for a person included.
* **Never guess.** An utterance it cannot place gets exactly "Sorry, could you say that another
  way?" (with a short example after repeated failures) and changes nothing: no slot, no
  proposal, no tool.
* **A tool that is not offered is never called**; the caller hears what can be done instead.
* **Corrections** replace what they name: "no, three adults" the party, "not Tuesday,
  Wednesday" whichever date was Tuesday, and a lone new date ("actually make it the 16th")
  moves the arrival and keeps the number of nights; the stay is then checked again.
* **A refused transfer** (no one can take it) is followed by what the tool's answer asks: an
  offer of a callback or of passing on a message (saved with ``create_lead``'s notes).

The flow a caller meets for a stay: what they want → the dates and the party (asked for when
missing) → ``check_availability`` → the offer → their name → the read-back → ``create_lead``
→ an offer to hold the room and text a payment link (read back) → anything else? A goodbye
ends the call politely and records nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import attrs

from hotelvoice.language.answers import amenities_answer, fact_answer, price_answer
from hotelvoice.language.dates import DateRange
from hotelvoice.language.intents import Expecting, InfoTopic, Intent, Reading, understand
from hotelvoice.language.names import merge_name
from hotelvoice.language.numbers import spoken_phone
from hotelvoice.language.party import GuestCount
from hotelvoice.language.spoken import (
    counted,
    spoken_date,
    spoken_day,
    spoken_money,
    spoken_range,
    spoken_time,
)
from hotelvoice.language.staff import TransferIntent
from hotelvoice.language.when import Moment
from hotelvoice.properties.model import Property

SORRY = "Sorry, could you say that another way?"
ANYTHING_ELSE = "Is there anything else I can help you with?"
SIDE_EFFECT_TOOLS = frozenset(
    {"create_lead", "generate_payment_link", "send_sms", "schedule_callback", "transfer_to_human"}
)
# Every tool the concierge can call: the hotel's seven (hotel/concierge.py).
ALL_TOOLS = SIDE_EFFECT_TOOLS | {"check_availability", "get_hotel_info"}


@attrs.frozen
class Say:
    text: str
    end_call: bool = False  # a goodbye: the bridge's transfer or hang-up follows


@attrs.frozen
class CallTool:
    name: str
    arguments: dict[str, Any]


Action = Say | CallTool


@attrs.frozen
class Proposal:
    """A side effect read back to the caller, waiting for their yes."""

    kind: str  # lead, payment, sms, callback, transfer, message
    call: CallTool
    question: str  # the read-back, said again when needed


@attrs.define
class Slots:
    """What the call has established so far (None: not said)."""

    stay: DateRange | None = None
    nights: int | None = None  # a length said before the dates
    party: GuestCount | None = None
    room_type: str | None = None
    pets: bool = False
    name: str | None = None
    phone: str | None = None  # a number the caller gave (E.164)
    callback_day: dt.date | None = None  # a day said without a time yet
    callback_at: dt.datetime | None = None
    need: TransferIntent | None = None  # someone of the staff, asked for or needed
    room: str | None = None  # the caller's room number
    message: str | None = None
    sms: tuple[str, str] | None = None  # (what it is, the text)


# What the last question asked for -> what a bare answer to it may be.
_EXPECTING: dict[str, Expecting] = {
    "name": "name",
    "phone": "phone",
    "party": "party",
    "dates": "dates",
    "callback_time": "time",
    "room": "room",
    "message": "message",
    "refused": "choice",
}
_DEPARTMENT_NAMES = {"front_desk": "the front desk", "management": "a manager"}
_HINTS = {
    "lead_fix": "For example: the 16th to the 18th, three adults, or my name is Alex Smith.",
    "dates": "For example: from December 10th to the 12th.",
    "party": "For example: two adults and one child.",
    "name": "For example: my name is Alex Smith.",
    "callback_time": "For example: tomorrow at 3 PM.",
    "phone": "For example: 415-555-0199.",
}
_GENERAL_HINT = (
    "For example: I'd like a room for two adults next Friday, what time is check-in, "
    "or connect me to the front desk."
)
# Sentences of a tool's error written for a model, not for the caller.
_INSTRUCTION = re.compile(r"^(Offer|Ask|Say|Use|Try)\b")


def _department(name: str) -> str:
    return _DEPARTMENT_NAMES.get(name, name.replace("_", " "))


def _caller_words(error: str) -> str:
    """A tool's error as the caller may hear it: its sentences minus the model's orders."""
    sentences = re.split(r"(?<=[.;])\s+", error.strip())
    kept = [s.rstrip(";").strip() for s in sentences if s and not _INSTRUCTION.match(s)]
    said = " ".join(kept).strip() or "something went wrong"
    return said if said.endswith((".", "!", "?")) else f"{said}."


class ConciergePolicy:
    """One call's dialogue state. Feed it caller text and tool results; it returns actions.

    ``now`` is the hotel's local time when the call started (aware, in the property's zone);
    without it "in an hour" cannot be placed and the caller is asked for a clock time.
    """

    def __init__(
        self,
        prop: Property,
        *,
        today: dt.date,
        tools: frozenset[str] = frozenset(),
        now: dt.datetime | None = None,
    ) -> None:
        self.property = prop
        self.today = today
        self.now = now
        self.tools = tools  # the tools the session offers; missing ones are not called
        self.slots = Slots()
        self.caller_number: str | None = None  # from the hotel's note about the call
        self.offer: dict[str, Any] | None = None  # the best offer last quoted
        self.lead_saved = False
        self.held = False
        self.pending: Proposal | None = None  # a read-back waiting for a yes
        self.asking: str | None = None  # what the last question asked for
        self.goal: str | None = None  # stay, callback, sms, payment, message, staff
        self.last_answer: str | None = None  # a fact just said ("text me that")
        self.info_question: tuple[InfoTopic, str | None] | None = None
        self.misunderstood = 0
        self.goodbye_asked = False
        self.room_asked_for: TransferIntent | None = None  # the problem we asked the room for
        self.last_reply = ""

    # ------------------------------------------------------------------ openings

    def greeting(self) -> Say:
        return Say(f"Thank you for calling {self.property.name}. How can I help you today?")

    def reprompt(self) -> Say:
        return Say("Are you still there? I can check rooms and prices, or connect you to the desk.")

    def goodbye(self) -> Say:
        return Say(
            f"Thank you for calling {self.property.name}. You can call back any time. Goodbye!",
            end_call=True,
        )

    def note(self, text: str) -> None:
        """Context from the hotel: the caller's number, a returning caller's name."""
        number = re.search(r"caller's phone number is (\+\d{8,15})", text)
        if number is not None:
            self.caller_number = number.group(1)
        match = re.search(r"returning caller: ([A-Za-z][A-Za-z' -]+?)\.", text)
        if match and self.slots.name is None:
            self.slots.name = match.group(1).strip()

    # ------------------------------------------------------------------ the caller speaks

    def on_caller(self, text: str) -> Action:
        """What to do about one caller utterance (a transcript or typed text)."""
        return self._said(self._on_caller(text))

    def _said(self, action: Action) -> Action:
        """Remember the last thing said: a yes counts only right after its read-back."""
        if isinstance(action, Say):
            self.last_reply = action.text
        return action

    def _on_caller(self, text: str) -> Action:
        expecting = _EXPECTING.get(self.asking or "")
        near = self.slots.stay.check_in if self.slots.stay is not None else None
        if self.goal == "callback" and self.slots.callback_at is not None:
            near = self.slots.callback_at.date()
        reading = understand(
            text, today=self.today, prop=self.property, expecting=expecting, near=near
        )
        no_room = reading.intent in (Intent.NONE, Intent.NO) and self.slots.need is not None
        if self.asking == "room" and no_room:
            return self._propose_transfer("All right.")  # put through without a room number
        if reading.intent is Intent.NONE:
            return self._not_understood()
        self.misunderstood = 0
        if reading.urgent and "transfer_to_human" in self.tools and reading.staff is not None:
            # An emergency is put through at once (see the module docstring).
            self.pending = None
            return self._transfer_call(reading.staff, None)
        if self.pending is not None:
            action = self._answer_to_proposal(reading)
            if action is not None:
                return action
        return self._dispatch(reading)

    def _not_understood(self) -> Say:
        self.misunderstood += 1
        if self.misunderstood < 2:
            return Say(SORRY)
        return Say(f"{SORRY} {_HINTS.get(self.asking or '', _GENERAL_HINT)}")

    def _learn_contact(self, reading: Reading) -> None:
        if reading.name is not None:
            self.slots.name = merge_name(self.slots.name, reading.name)
        if reading.phone is not None and reading.phone.e164 is not None:
            self.slots.phone = reading.phone.e164

    def _answer_to_proposal(self, reading: Reading) -> Action | None:
        """A yes, a no, a correction or a goodbye to the read-back waiting; None: the caller
        said something else, handled as if nothing waited (the proposal stays for details
        questions, and is dropped for a new request)."""
        pending = self.pending
        assert pending is not None
        intent = reading.intent
        if intent is Intent.YES and not self.last_reply.endswith(pending.question):
            return Say(pending.question)  # something came between: read it back again
        if intent is Intent.YES:
            self.pending = None
            self.asking = None
            self.goodbye_asked = False
            return self._run(pending)
        if intent is Intent.NO:
            self.pending = None
            return self._declined(pending)
        if intent is Intent.GOODBYE:
            if self.goodbye_asked:
                return self.goodbye()
            self.goodbye_asked = True
            return Say(f"Before you go: {pending.question}")
        if intent in (Intent.INFO, Intent.PRICE, Intent.THANKS, Intent.GREETING, Intent.HOLD):
            return None  # answered, then the read-back is asked again
        self.pending = None
        if pending.kind == "callback" and (reading.moment is not None or reading.stay is not None):
            return self._callback(reading)  # "make it 4 pm", "not Tuesday, Wednesday"
        contact = intent in (Intent.NAME, Intent.PHONE)
        if contact and pending.kind in ("lead", "payment", "message", "callback", "sms"):
            # "No, it's Peter Novak": the same request, read back with the new name or number.
            self._learn_contact(reading)
            return self._propose_again(pending.kind)
        return None  # a correction or a new request: rebuilt from the slots

    def _propose_again(self, kind: str) -> Action:
        if kind == "lead":
            return self._propose_lead()
        if kind == "payment":
            return self._propose_payment(prefix="")
        if kind == "message":
            return self._propose_message()
        if kind == "callback":
            return self._callback(None)
        return self._sms(None)

    def _run(self, proposal: Proposal) -> Action:
        if proposal.call.name not in self.tools:  # offered when the tool was there
            return Say(f"I'm sorry, I can't do that right now. {ANYTHING_ELSE}")
        return proposal.call

    def _declined(self, proposal: Proposal) -> Say:
        kind = proposal.kind
        if kind == "callback":
            self.slots.callback_at = None
            self.asking = "callback_time"
            return Say("All right. What day and time would suit you instead?")
        if kind == "lead":
            self.asking = "lead_fix"
            return Say(
                "Sorry about that. What should I change: the dates, the number of guests, or "
                "the name?"
            )
        if kind == "transfer":
            self.slots.need = None
            self.goal = None
        self.asking = "anything_else"
        if kind in ("sms", "message"):
            return Say(f"All right, I won't send anything. {ANYTHING_ELSE}")
        return Say(f"All right. {ANYTHING_ELSE}")

    def _reask(self) -> str:
        """What to ask after answering a question: the read-back waiting, or anything else."""
        if self.pending is not None:
            return self.pending.question
        if self.asking in ("dates", "party", "name", "phone", "callback_time"):
            return self._question(self.asking)
        if self.asking == "reserve" and self.offer is not None:
            return f"Shall I reserve the {self.offer.get('name', 'room')}?"
        self.asking = "anything_else"
        return "Anything else?"

    # ------------------------------------------------------------------ what the caller wants

    def _dispatch(self, reading: Reading) -> Action:
        intent = reading.intent
        self._learn_contact(reading)
        asking = self.asking
        if intent is Intent.GOODBYE:
            return self.goodbye()
        if intent is Intent.HOLD:
            return Say("Of course, take your time.")
        if intent is Intent.GREETING:
            who = f", {reading.name}" if reading.name else ""
            return Say(f"Hello{who}! How can I help you today?")
        if intent is Intent.THANKS:
            if self.pending is not None:
                return Say(f"You're welcome. {self.pending.question}")
            self.asking = "anything_else"
            return Say(f"You're welcome. {ANYTHING_ELSE}")
        if intent in (Intent.BOOK, Intent.CORRECTION):
            self._merge_stay(reading)
            self.goal = "stay"
            return self._continue_stay()
        if intent is Intent.INFO and reading.topic is not None:
            return self._info(reading.topic, reading.amenity)
        if intent is Intent.PRICE:
            answer = price_answer(self.property, reading.room_type)
            if answer is None:
                return Say(f"I'm sorry, I don't have our rates to hand. {ANYTHING_ELSE}")
            self.last_answer = answer
            return Say(f"{answer} Tell me your dates and I can check the exact price.")
        if intent in (Intent.TRANSFER, Intent.REPORT):
            return self._staff(reading)
        if intent is Intent.CALLBACK:
            return self._callback(reading)
        if intent is Intent.SMS:
            return self._sms(reading.sms_topic)
        if intent is Intent.PAYMENT:
            return self._payment()
        if intent is Intent.MESSAGE:
            return self._message(reading, asking)
        if intent is Intent.NAME:
            return self._named(asking)
        if intent is Intent.PHONE:
            return self._numbered(reading, asking)
        if intent is Intent.YES:
            return self._yes(asking)
        if intent is Intent.NO:
            return self._no(asking)
        return self._not_understood()

    def _yes(self, asking: str | None) -> Action:
        if asking == "reserve" and self.offer is not None:
            return self._ask_name_or_propose_lead()
        if asking == "refused":
            return self._refused_choice(None)
        if asking == "offer_callback":
            return self._callback(None)
        if asking in ("dates", "party", "name", "phone", "callback_time"):
            return Say(f"Sure. {self._question(asking)}")
        if asking == "room":
            return Say("Which room are you in?")
        self.asking = None
        return Say("Sure. What can I do for you?")

    def _no(self, asking: str | None) -> Action:
        if asking == "anything_else":
            return self.goodbye()
        self.asking = "anything_else"
        if asking == "reserve":
            return Say(f"No problem. {ANYTHING_ELSE}")
        return Say(f"All right. {ANYTHING_ELSE}")

    # ------------------------------------------------------------------ stays and leads

    def _merge_stay(self, reading: Reading) -> None:
        slots = self.slots
        said = reading.stay
        if reading.nights is not None and said is None:
            # "for three nights": the stay keeps its arrival, or waits for one.
            slots.nights = reading.nights
            if slots.stay is not None:
                check_in = slots.stay.check_in
                slots.stay = DateRange(check_in, check_in + dt.timedelta(days=reading.nights))
        if said is not None:
            old = slots.stay
            new = said.dates
            if not said.end_said and slots.nights is not None and old is None:
                new = DateRange(new.check_in, new.check_in + dt.timedelta(days=slots.nights))
            if old is not None and reading.replaced_day is not None:
                if reading.replaced_day == old.check_out and new.check_in > old.check_in:
                    new = DateRange(old.check_in, new.check_in)
                else:
                    new = DateRange(new.check_in, new.check_in + (old.check_out - old.check_in))
            elif old is not None and not said.end_said and reading.intent is Intent.CORRECTION:
                # "actually make it the 16th": the arrival moves, the nights stay.
                new = DateRange(new.check_in, new.check_in + (old.check_out - old.check_in))
            slots.stay = new
        elif (
            reading.check_out is not None
            and slots.stay is not None
            and reading.check_out > slots.stay.check_in
        ):
            slots.stay = DateRange(slots.stay.check_in, reading.check_out)
        if reading.party is not None:
            slots.party = reading.party
        if reading.room_type is not None:
            slots.room_type = reading.room_type
        if reading.pets is not None:
            slots.pets = reading.pets

    def _question(self, asking: str) -> str:
        if asking == "dates":
            return "Which dates would you like?"
        if asking == "party":
            return "How many guests will there be?"
        if asking == "name":
            return "May I have your name, please?"
        if asking == "phone":
            return "What number should we use?"
        if asking == "callback_time":
            opens, closes = (spoken_time(t) for t in self.property.callback_hours)
            return f"What day and time would suit you? Our team calls between {opens} and {closes}."
        return ANYTHING_ELSE

    def _continue_stay(self) -> Action:
        slots = self.slots
        thanks = f"Thank you, {slots.name}. " if slots.name and self.asking == "name" else ""
        if slots.stay is None:
            self.asking = "dates"
            return Say(f"{thanks or 'Certainly. '}{self._question('dates')}")
        if slots.party is None:
            self.asking = "party"
            return Say(f"{thanks}And how many guests will there be?")
        if "check_availability" not in self.tools:
            self.asking = "anything_else"
            return Say(
                "I'm sorry, I can't check rooms right now. Our front desk can help you with "
                f"that. {ANYTHING_ELSE}"
            )
        self.asking = None
        self.offer = None
        self.lead_saved = self.held = False
        arguments: dict[str, Any] = {
            "check_in": slots.stay.check_in.isoformat(),
            "check_out": slots.stay.check_out.isoformat(),
            "adults": slots.party.adults,
        }
        if slots.party.children:
            arguments["children"] = slots.party.children
        if slots.pets:
            arguments["pets"] = True
        if slots.room_type:
            arguments["room_type"] = slots.room_type
        return CallTool("check_availability", arguments)

    def _ask_name_or_propose_lead(self) -> Action:
        if self.slots.name is None:
            self.asking = "name"
            return Say(self._question("name"))
        return self._propose_lead()

    def _stay_words(self) -> str:
        """ "the King Room from Friday, December 11th to Sunday, December 13th, 2 nights,
        for 2 adults" """
        slots = self.slots
        parts = []
        if self.offer is not None:
            parts.append(f"the {self.offer.get('name') or self.offer.get('room_type')}")
        if slots.stay is not None:
            parts.append(f"{spoken_range(slots.stay, self.today)},")
        if slots.party is not None:
            party = f"for {counted(slots.party.adults, 'adult')}"
            if slots.party.children:
                party += f" and {counted(slots.party.children, 'child', 'children')}"
            parts.append(party)
        return " ".join(parts).rstrip(",") if parts else "your request"

    def _to_number(self) -> str:
        number = self.slots.phone
        if number is not None and number != self.caller_number:
            return f"to {spoken_phone(number)}"
        return "to this number"

    def _propose_lead(self) -> Action:
        slots = self.slots
        if "create_lead" not in self.tools or slots.name is None:
            self.asking = "anything_else"
            return Say(
                "I'm sorry, I can't take booking requests right now; our front desk can. "
                f"{ANYTHING_ELSE}"
            )
        arguments: dict[str, Any] = {"name": slots.name}
        if slots.phone is not None:
            arguments["phone"] = slots.phone
        if slots.stay is not None:
            arguments["check_in"] = slots.stay.check_in.isoformat()
            arguments["check_out"] = slots.stay.check_out.isoformat()
        if slots.party is not None:
            arguments["adults"] = slots.party.adults
            if slots.party.children:
                arguments["children"] = slots.party.children
        room = (self.offer or {}).get("room_type") or slots.room_type
        if room:
            arguments["room_type"] = room
        if slots.pets:
            arguments["notes"] = "Bringing a pet."
        question = (
            f"So that's {self._stay_words()}, under the name {slots.name}; our reservations "
            "team will confirm by phone or text. Shall I send the request?"
        )
        return self._propose("lead", CallTool("create_lead", arguments), question)

    def _propose(self, kind: str, call: CallTool, question: str) -> Say:
        self.pending = Proposal(kind, call, question)
        self.goodbye_asked = False
        self.asking = None
        return Say(question)

    def _payment(self) -> Action:
        if "generate_payment_link" not in self.tools:
            return Say(
                "I'm sorry, I can't take payments on this line; our reservations team will "
                f"send you a way to pay. {ANYTHING_ELSE}"
            )
        if self.held:
            self.asking = "anything_else"
            return Say(
                f"Your room is already held, and the link to pay went by text. {ANYTHING_ELSE}"
            )
        if self.offer is None or self.slots.stay is None or self.slots.party is None:
            self.goal = "stay"
            return Say(
                "Once we've found you a room, I can hold it and text you a secure link to pay. "
                "Which dates would you like?"
            )
        if self.slots.name is None:
            self.goal = "payment"
            self.asking = "name"
            return Say(self._question("name"))
        return self._propose_payment(prefix="")

    def _propose_payment(self, *, prefix: str) -> Say:
        slots = self.slots
        offer = self.offer or {}
        assert slots.stay is not None
        assert slots.party is not None
        assert slots.name is not None
        arguments: dict[str, Any] = {
            "room_type": offer.get("room_type") or slots.room_type,
            "check_in": slots.stay.check_in.isoformat(),
            "check_out": slots.stay.check_out.isoformat(),
            "adults": slots.party.adults,
            "guest_name": slots.name,
        }
        if slots.party.children:
            arguments["children"] = slots.party.children
        if slots.pets:
            arguments["pets"] = True
        if slots.phone is not None:
            arguments["phone"] = slots.phone
        total = spoken_money(offer.get("total_with_pet_fee") or offer.get("total") or "")
        amount = f" the {total}" if total else ""
        question = (
            f"{prefix}I can hold the {offer.get('name', 'room')} for you now and text a link to "
            f"pay{amount} {self._to_number()}. Shall I do that?"
        )
        self.goal = "payment"
        return self._propose("payment", CallTool("generate_payment_link", arguments), question)

    def _named(self, asking: str | None) -> Action:
        name = self.slots.name
        if asking == "name" and self.goal == "payment" and self.offer is not None:
            return self._propose_payment(prefix=f"Thank you, {name}. ")
        if asking == "name" and self.goal == "message" and self.slots.message:
            return self._propose_message()
        offered = self.offer is not None and not self.lead_saved
        if offered and asking in ("name", "reserve", "lead_fix"):
            return self._propose_lead()  # "yes, my name is ...", or the name corrected
        if self.goal == "stay" and asking in ("dates", "party"):
            return self._continue_stay()
        return Say(f"Thank you, {name}. How can I help you?")

    def _numbered(self, reading: Reading, asking: str | None) -> Action:
        if reading.phone is None or reading.phone.e164 is None:
            self.asking = "phone"
            return Say("I didn't get the whole number. Could you say it with the area code?")
        if asking == "phone" and self.goal == "callback":
            return self._callback(None)
        if asking == "phone" and self.goal == "sms":
            return self._sms(None)
        return Say(f"Thank you, I've noted {spoken_phone(reading.phone.e164)}. How can I help?")

    # ------------------------------------------------------------------ facts

    def _info(self, topic: InfoTopic, amenity: str | None) -> Action:
        if "get_hotel_info" in self.tools:
            self.info_question = (topic, amenity)
            return CallTool("get_hotel_info", {"topic": topic})
        answer = fact_answer(topic, self.property, amenity)
        if answer is None:
            return Say(
                f"I'm sorry, I don't have that information. Our front desk can tell you. "
                f"{self._reask()}"
            )
        self.last_answer = answer
        return Say(f"{answer} {self._reask()}")

    # ------------------------------------------------------------------ staff

    def _staff(self, reading: Reading) -> Action:
        if reading.room is not None:
            self.slots.room = reading.room
        need = reading.staff or self.slots.need  # "212" answers "which room are you in?"
        if need is None:
            return self._not_understood()
        self.slots.need = need
        self.goal = "staff"
        if "transfer_to_human" not in self.tools:
            if "schedule_callback" in self.tools:
                self.asking = "offer_callback"
                return Say(
                    "I'm sorry, I can't put calls through right now. I can have someone call "
                    "you back. Would you like that?"
                )
            self.asking = "anything_else"
            return Say(f"I'm sorry, I can't put calls through right now. {ANYTHING_ELSE}")
        answered = self.asking == "room" and reading.room is not None
        needs_room = need.kind in ("fault", "housekeeping", "noise")
        if needs_room and self.slots.room is None and self.room_asked_for != need:
            self.room_asked_for = need  # once per problem
            self.asking = "room"
            return Say(f"{self._sorry_for(need)} Which room are you in?")
        return self._propose_transfer("Thank you." if answered else None)

    def _sorry_for(self, need: TransferIntent) -> str:
        if need.kind == "fault":
            return f"I'm sorry about the {need.issue or 'trouble'}."
        if need.kind == "noise":
            return "I'm sorry about the noise."
        if need.kind == "complaint":
            return "I'm sorry to hear that."
        return "Of course."

    def _propose_transfer(self, opening: str | None = None) -> Action:
        """Read back the transfer; ``opening`` replaces the sorry said before asking for the
        room (sorry once, not twice)."""
        need = self.slots.need
        assert need is not None
        room = self.slots.room
        where = _department(need.department)
        opening = opening or self._sorry_for(need)
        if need.kind == "fault":
            about = f"the {need.issue}" if need.issue else "the problem"
            in_room = f" in room {room}" if room else ""
            question = f"{opening} Shall I put you through to {where} about {about}{in_room}?"
        elif need.kind == "housekeeping":
            for_room = f" for room {room}" if room else ""
            question = (
                f"{opening} Shall I put you through to {where} about the {need.issue}{for_room}?"
            )
        elif need.kind == "reservation":
            question = f"{opening} Shall I put you through to {where} about your reservation?"
        else:
            question = f"{opening} Shall I put you through to {where}?"
        return self._propose("transfer", self._transfer_call(need, room), question)

    def _transfer_call(self, need: TransferIntent, room: str | None) -> CallTool:
        reason = need.reason
        if room is not None:
            reason = f"{reason}, room {room}"
        return CallTool("transfer_to_human", {"department": need.department, "reason": reason})

    def _refused_choice(self, reading: Reading | None) -> Action:
        can_call = "schedule_callback" in self.tools
        can_note = "create_lead" in self.tools
        if reading is None and can_call and not can_note:
            return self._callback(None)
        if reading is None and can_note and not can_call:
            return self._message(None, "refused")
        self.asking = "refused"
        return Say("Would you like a call back, or to leave a message?")

    # ------------------------------------------------------------------ callbacks

    def _local_now(self) -> dt.datetime:
        if self.now is not None:
            return self.now
        # Without the hotel's clock, the start of today: times today still count as ahead.
        return dt.datetime.combine(self.today, dt.time(0, 0), tzinfo=self.property.zone)

    def _callback_reason(self) -> str:
        need = self.slots.need
        if need is not None:
            room = f", room {self.slots.room}" if self.slots.room else ""
            return f"Transfer to {_department(need.department)} not possible: {need.reason}{room}"
        if self.slots.stay is not None:
            return f"About a stay {spoken_range(self.slots.stay, self.today)}"
        return "The caller asked to be called back"

    def _callback(self, reading: Reading | None) -> Action:
        slots = self.slots
        self.goal = "callback"
        if "schedule_callback" not in self.tools:
            self.asking = "anything_else"
            return Say(
                "I'm sorry, I can't book a call back right now; you're welcome to call us "
                f"again at any time. {ANYTHING_ELSE}"
            )
        if reading is not None:
            self._learn_moment(reading)
        if slots.callback_at is None:
            self.asking = "callback_time"
            if slots.callback_day is not None:
                day = spoken_date(slots.callback_day, self.today)
                opens, closes = (spoken_time(t) for t in self.property.callback_hours)
                return Say(
                    f"What time {day} would suit you? Our team calls between {opens} and {closes}."
                )
            return Say(f"Of course. {self._question('callback_time')}")
        problem = self._callback_problem(slots.callback_at)
        if problem is not None:
            slots.callback_at = None
            self.asking = "callback_time"
            return Say(problem)
        phone = slots.phone or self.caller_number
        if phone is None:
            self.asking = "phone"
            return Say("What number should we call you on?")
        at = slots.callback_at
        when = self._spoken_moment(at)
        question = f"So that's a callback {when} {self._to_number()}. Shall I book it?"
        arguments = {
            "phone": phone,
            "when": at.strftime("%Y-%m-%dT%H:%M"),
            "reason": self._callback_reason(),
        }
        return self._propose("callback", CallTool("schedule_callback", arguments), question)

    def _learn_moment(self, reading: Reading) -> None:
        slots = self.slots
        moment = reading.moment
        if moment is None and reading.stay is not None:
            moment = Moment(day=reading.stay.dates.check_in)
        if moment is None:
            return
        if moment.offset is not None and self.now is None:
            return  # "in an hour" without the hotel's clock: asked for a time instead
        if moment.day is None and moment.clock is not None and moment.offset is None:
            day = slots.callback_day or (slots.callback_at.date() if slots.callback_at else None)
            if day is not None:
                moment = Moment(day, moment.clock)
        elif moment.clock is None and moment.day is not None:
            old = slots.callback_at
            if old is not None and (reading.replaced_day in (None, old.date())):
                moment = Moment(moment.day, old.timetz().replace(tzinfo=None))
            else:
                slots.callback_day = moment.day
                slots.callback_at = None
                return
        resolved = moment.resolve(self._local_now())
        if resolved is not None:
            slots.callback_at = resolved
            slots.callback_day = None

    def _callback_problem(self, at: dt.datetime) -> str | None:
        opens, closes = self.property.callback_hours
        if self.now is not None and at <= self.now:
            return "That time has already passed. What time would suit you?"
        if not opens <= at.time() <= closes:
            return (
                f"Our team calls between {spoken_time(opens)} and {spoken_time(closes)}. "
                "What time in those hours would suit you?"
            )
        return None

    def _spoken_moment(self, at: dt.datetime) -> str:
        """ "tomorrow, Friday, December 4th, at 3 PM", "today at 4 PM", "on Monday, ..." """
        day = at.date()
        clock = spoken_time(at.time())
        delta = (day - self.today).days
        if delta == 0:
            return f"today at {clock}"
        full = spoken_day(day, self.today)
        if delta == 1:
            return f"tomorrow, {full}, at {clock}"
        return f"on {full}, at {clock}"

    # ------------------------------------------------------------------ texts and messages

    def _sms(self, topic: str | None) -> Action:
        self.goal = "sms"
        if topic is not None or self.slots.sms is None:
            content = self._sms_content(topic)
            if content is None:
                choices = "our address" + (", or your booking details" if self.offer else "")
                return Say(f"I can text you {choices}. What would you like me to send?")
            self.slots.sms = content
        what, body = self.slots.sms
        if "send_sms" not in self.tools:
            self.asking = "anything_else"
            return Say(
                f"I'm sorry, I can't send texts right now. Here it is: {body} {ANYTHING_ELSE}"
            )
        phone = self.slots.phone or self.caller_number
        if phone is None:
            self.asking = "phone"
            return Say("What number should I text?")
        question = f"So I'll text {what} {self._to_number()}. Shall I send it?"
        return self._propose("sms", CallTool("send_sms", {"to": phone, "message": body}), question)

    def _sms_content(self, topic: str | None) -> tuple[str, str] | None:
        prop = self.property
        if topic == "location" and prop.location:
            return "our address", f"{prop.name}: {prop.location}"
        if topic in ("booking", None, "that") and self.offer is not None:
            offer = self.offer
            stay = spoken_range(self.slots.stay, self.today) if self.slots.stay else ""
            total = spoken_money(offer.get("total_with_pet_fee") or offer.get("total") or "")
            body = f"{prop.name}: {offer.get('name')} {stay}, {total} in total.".replace(" ,", ",")
            return "the details of your booking", body
        if topic == "that" and self.last_answer is not None:
            return "that", f"{prop.name}: {self.last_answer}"
        return None

    def _message(self, reading: Reading | None, asking: str | None) -> Action:
        self.goal = "message"
        if "create_lead" not in self.tools:
            self.asking = "anything_else"
            return Say(f"I'm sorry, I can't take messages right now. {ANYTHING_ELSE}")
        if asking == "message" and reading is not None:
            self.slots.message = reading.said.strip()
        if not self.slots.message:
            self.asking = "message"
            return Say("Of course. What would you like me to pass on?")
        if self.slots.name is None:
            self.asking = "name"
            return Say("Thank you. And may I have your name, please?")
        return self._propose_message()

    def _propose_message(self) -> Action:
        slots = self.slots
        assert slots.name is not None
        assert slots.message is not None
        need = slots.need
        who = _department(need.department) if need is not None else "the front desk"
        notes = f"Message for {who}: {slots.message}"
        if slots.room:
            notes += f" (room {slots.room})"
        arguments: dict[str, Any] = {"name": slots.name, "notes": notes}
        if slots.phone is not None:
            arguments["phone"] = slots.phone
        question = (
            f'So I\'ll pass this message to {who}: "{slots.message}", from {slots.name}. '
            "Shall I send it?"
        )
        return self._propose("message", CallTool("create_lead", arguments), question)

    # ------------------------------------------------------------------ tool results

    def on_tool_result(self, name: str, output: str) -> Action:
        """What to do once the tool ``name`` answered ``output`` (its JSON)."""
        return self._said(self._on_tool_result(name, output))

    def _on_tool_result(self, name: str, output: str) -> Action:
        try:
            result = json.loads(output)
        except ValueError:
            result = {"error": "unreadable"}
        if not isinstance(result, dict):
            result = {"error": "unreadable"}
        error = result.get("error")
        if isinstance(error, str):
            return self._relay_error(name, error)
        if name == "check_availability":
            return self._offer(result)
        if name == "create_lead":
            return self._lead_saved()
        if name == "generate_payment_link":
            return self._held(result)
        if name == "send_sms":
            self.slots.sms = None
            self.asking = "anything_else"
            return Say(f"Sent. {ANYTHING_ELSE}")
        if name == "schedule_callback":
            when = str(result.get("when") or "")
            self.slots.callback_at = None
            self.goal = None
            self.asking = "anything_else"
            return Say(f"Done: we'll call you {when}. {ANYTHING_ELSE}".replace("  ", " "))
        if name == "transfer_to_human":
            where = str(result.get("transferring_to") or "the front desk")
            return Say(f"Of course. I'm connecting you to {where} now. Goodbye!", end_call=True)
        if name == "get_hotel_info":
            return self._info_answer(result)
        return Say(f"Done. {ANYTHING_ELSE}")

    def _relay_error(self, name: str, error: str) -> Action:
        said = _caller_words(error)
        if name == "transfer_to_human":
            offers = []
            if "schedule_callback" in self.tools:
                offers.append("arrange for someone to call you back")
            if "create_lead" in self.tools:
                offers.append("pass on a message")
            if not offers:
                self.asking = "anything_else"
                return Say(f"I'm sorry, no one can take the call right now. {ANYTHING_ELSE}")
            self.asking = "refused"
            choice = " or ".join(offers)
            ask = "Which would you prefer?" if len(offers) > 1 else "Would you like that?"
            return Say(f"I'm sorry, no one can take the call right now. I can {choice}. {ask}")
        if name == "check_availability":
            self.slots.stay = None
            self.asking = "dates"
            return Say(f"I'm sorry: {said} Which dates would you like instead?")
        if name == "schedule_callback":
            self.slots.callback_at = None
            self.asking = "callback_time"
            return Say(f"I'm sorry: {said} What time would suit you?")
        if name == "get_hotel_info" and self.info_question is not None:
            topic, amenity = self.info_question
            answer = fact_answer(topic, self.property, amenity)
            if answer is not None:
                return Say(f"{answer} {self._reask()}")
        self.asking = "anything_else"
        return Say(f"I'm sorry: {said} {ANYTHING_ELSE}")

    def _offer(self, result: dict[str, Any]) -> Say:
        offers = result.get("offers") or []
        slots = self.slots
        stay = spoken_range(slots.stay, self.today) if slots.stay is not None else "those dates"
        if not offers:
            party = slots.party
            if party is not None and not any(
                room.fits(party.adults, party.children) for room in self.property.room_types
            ):
                # Other dates would not help: keep them and ask who is coming instead (a
                # misheard "five adults" is corrected by the caller's next line).
                largest = max(room.max_guests for room in self.property.room_types)
                slots.party = None
                self.asking = "party"
                return Say(
                    f"I'm sorry, our rooms sleep at most {largest} guests. "
                    "How many guests will there be?"
                )
            slots.stay = None
            self.asking = "dates"
            return Say(
                f"I'm sorry, we have nothing available {stay}. Which other dates would you like?"
            )
        best = offers[0]
        self.offer = best
        self.asking = "reserve"
        rate = best.get("nightly_rate")
        price = f", {spoken_money(rate)} a night" if rate else ""
        total = spoken_money(best.get("total_with_pet_fee") or best.get("total"))
        # Short: a caller on the phone keeps one offer in mind, not a list.
        return Say(
            f"Good news: the {best['name']} is free {stay}{price}, {total} in total. "
            "Shall I reserve it?"
        )

    def _lead_saved(self) -> Say:
        slots = self.slots
        if self.goal == "message":
            slots.message = None
            self.asking = "anything_else"
            return Say(f"Thank you. I've passed your message on. {ANYTHING_ELSE}")
        self.lead_saved = True
        who = f", {slots.name}" if slots.name else ""
        said = (
            f"Thank you{who}. I've passed your request to our reservations team, who will "
            "confirm by phone or text."
        )
        can_hold = (
            "generate_payment_link" in self.tools
            and self.offer is not None
            and (slots.phone or self.caller_number) is not None
        )
        if can_hold:
            return self._propose_payment(prefix=f"{said} ")
        self.asking = "anything_else"
        return Say(f"{said} {ANYTHING_ELSE}")

    def _held(self, result: dict[str, Any]) -> Say:
        self.held = True
        self.asking = "anything_else"
        minutes = result.get("held_for_minutes")
        amount = spoken_money(result.get("amount") or "")
        held = f"the room is held for {minutes} minutes" if minutes else "the room is held"
        if result.get("link_sent"):
            return Say(
                f"Done: {held}, and the link to pay {amount} is on its way by text. {ANYTHING_ELSE}"
            )
        return Say(
            f"{held[0].upper()}{held[1:]}, but I couldn't text the payment link; our team will "
            f"send it to you. {ANYTHING_ELSE}"
        )

    def _info_answer(self, result: dict[str, Any]) -> Say:
        answer = str(result.get("answer") or "").strip()
        topic, amenity = self.info_question or ("", None)
        self.info_question = None
        if topic == "amenities" and answer:
            listed = [part.strip() for part in answer.rstrip(".").split(",")]
            answer = amenities_answer(amenity, listed) or answer
        if not answer:
            return Say(f"I'm sorry, I don't have that information. {self._reask()}")
        self.last_answer = answer
        return Say(f"{answer} {self._reask()}")
