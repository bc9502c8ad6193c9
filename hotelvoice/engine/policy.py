"""The offline engine's concierge: a deterministic dialogue policy, sans-IO.

It hears what the caller said (recognised text), keeps the booking's slots (dates, party,
room type, name), and answers with :class:`Say` or asks for a tool with :class:`CallTool`,
whose JSON result comes back through :meth:`ConciergePolicy.on_tool_result`. Understanding
is :mod:`hotelvoice.language.extraction`'s (dates, guests, transfer intent, intents, fallback
answers from the property's facts); availability and prices always come from the hotel's
tools, never from here.

The flow a caller meets: greeting → what they want → for a stay, the dates and the party
(asked for when missing) → ``check_availability`` → the offer → their name →
``create_lead`` → anything else? Asking for a person or a department (or an emergency) calls
``transfer_to_human`` at any point. A transfer the policy only infers (a problem reported, a
housekeeping request, noise) is offered first ("shall I put you through to maintenance?"):
a transfer ends the engine's part of the call, and a misheard line ("nah, I don't think so"
heard as "my door is broken") must not hand the caller away. A goodbye ends politely.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import attrs

from hotelvoice.language import extraction
from hotelvoice.language.extraction import DateRange, GuestCount, Intent
from hotelvoice.properties.model import Property


@attrs.frozen
class Say:
    text: str
    end_call: bool = False  # a goodbye: the bridge's transfer or hang-up follows


@attrs.frozen
class CallTool:
    name: str
    arguments: dict[str, Any]


Action = Say | CallTool

_NAME = re.compile(r"\b(?:my name is|this is|it's|it is|i am|i'm|name's)\s+([a-z]+(?:\s+[a-z]+)?)")
_STRAY_TO = re.compile(r"\bto\b(?= (?:next|this|the|tomorrow|tonight))")
_NOT_NAMES = frozenset(
    {"calling", "looking", "interested", "here", "not", "just", "trying", "wondering", "good"}
)


@attrs.define
class Slots:
    dates: DateRange | None = None
    party: GuestCount | None = None
    room_type: str | None = None
    pets: bool = False
    name: str | None = None


class ConciergePolicy:
    """One call's dialogue state. Feed it caller text and tool results; it returns actions."""

    def __init__(self, prop: Property, *, today: dt.date, tools: frozenset[str]) -> None:
        self.property = prop
        self.today = today
        self.tools = tools  # the tools the session offers; missing ones are not called
        self.slots = Slots()
        self.offered: dict[str, Any] | None = None  # the best offer last quoted
        self.awaiting: str | None = None  # last question: dates, party, name, book, transfer
        self.offered_transfer: extraction.TransferIntent | None = None
        self.misunderstood = 0

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
        """Context from the hotel (e.g. a returning caller's name)."""
        match = re.search(r"returning caller: ([A-Za-z][A-Za-z' -]+?)\.", text)
        if match and self.slots.name is None:
            self.slots.name = match.group(1).strip()

    # ------------------------------------------------------------------ the caller speaks

    def on_caller(self, text: str) -> Action:
        """What to do about one recognised caller utterance."""
        words = text.strip().lower()
        if not words:
            return self._not_understood()
        transfer = extraction.detect_transfer_intent(words)
        if transfer is not None and "transfer_to_human" in self.tools:
            offered = self.offered_transfer
            again = offered is not None and offered.department == transfer.department
            if transfer.reason.startswith(_EXPLICIT_TRANSFERS) or again:
                # Asked for, or said again after we offered it.
                self.awaiting = self.offered_transfer = None
                return _transfer(transfer)
            self.awaiting, self.offered_transfer = "transfer", transfer
            return Say(_offer_transfer(transfer))
        intent = extraction.classify_intent(words)
        learnt = self._learn(words)
        if intent is Intent.GOODBYE:
            return self.goodbye()
        awaiting, self.awaiting = self.awaiting, None
        offered, self.offered_transfer = self.offered_transfer, None
        if awaiting == "transfer" and offered is not None:
            if intent is Intent.CONFIRM:
                return _transfer(offered)
            if intent is Intent.DENY:
                return Say("All right. Is there anything else I can help you with?")
        if awaiting == "name" and self.slots.name is not None:
            return self._save_lead()
        if awaiting == "book":
            if intent is Intent.CONFIRM or (self.slots.name is not None and "name" in learnt):
                return self._ask_name_or_save()
            if intent is Intent.DENY:
                return Say("No problem. Is there anything else I can help you with?")
        if intent in (Intent.AVAILABILITY, Intent.PAYMENT) or (
            learnt & {"dates", "party"} and awaiting in (None, "dates", "party")
        ):
            return self._availability()
        if awaiting in ("dates", "party"):
            # Still missing what we asked for: ask again, with an example of what works.
            self.awaiting = awaiting
            if "name" in learnt:
                return Say(f"Thank you, {self.slots.name}. {self._question(awaiting)}")
            return Say(self._question(awaiting))
        if "name" in learnt and intent is Intent.UNKNOWN:
            return Say(f"Thank you, {self.slots.name}. How can I help you?")
        answer = extraction.fallback_answer(words, self.property)
        if answer is not None:
            self.misunderstood = 0
            return Say(f"{answer} Is there anything else?")
        if intent is Intent.CALLBACK:
            return Say(
                "Of course. Our team can call you back between "
                f"{extraction.spoken_time(self.property.callback_hours[0])} and "
                f"{extraction.spoken_time(self.property.callback_hours[1])}. "
                "Would you like me to connect you to the front desk to arrange it?"
            )
        if intent is Intent.CONFIRM and awaiting is None:
            return Say("Great. How can I help?")
        if intent is Intent.DENY:
            return Say("All right. Is there anything else I can help you with?")
        if intent is Intent.GREETING:
            return Say("Hello! How can I help you today?")
        return self._not_understood()

    def _learn(self, words: str) -> set[str]:
        learnt: set[str] = set()
        dates = extraction.extract_date_range(words, self.today)
        if dates is None:
            # The recogniser often hears a stray "to" before a relative date ("a room for two
            # adults to next weekend"), which reads as a range with no start.
            dates = extraction.extract_date_range(_STRAY_TO.sub(" ", words), self.today)
        if dates is not None:
            self.slots.dates = dates
            learnt.add("dates")
        party = extraction.extract_guests(words)
        if party is not None:
            self.slots.party = party
            learnt.add("party")
        for room in self.property.room_types:
            if room.name.lower() in words or f" {room.code} " in f" {words} ":
                self.slots.room_type = room.code
                learnt.add("room")
        if re.search(r"\b(dog|dogs|cat|cats|pet|pets|puppy)\b", words) and not re.search(
            r"\bno (dog|cat|pet)s?\b", words
        ):
            self.slots.pets = True
            learnt.add("pets")
        match = _NAME.search(words)
        if match:
            name = match.group(1).split()
            if name[0] not in _NOT_NAMES:
                self.slots.name = " ".join(part.capitalize() for part in name)
                learnt.add("name")
        return learnt

    @staticmethod
    def _question(awaiting: str) -> str:
        if awaiting == "dates":
            return "Which dates would you like? For example, next weekend, or December fourth."
        return "How many guests will there be? For example, two adults."

    def _availability(self) -> Action:
        slots = self.slots
        if slots.dates is None:
            self.awaiting = "dates"
            return Say("Certainly. For which dates would you like to stay?")
        if slots.party is None:
            self.awaiting = "party"
            return Say("And how many guests will there be?")
        if "check_availability" not in self.tools:
            return Say("I'm sorry, I can't check rooms right now. Let me connect you to the desk.")
        arguments: dict[str, Any] = {
            "check_in": slots.dates.check_in.isoformat(),
            "check_out": slots.dates.check_out.isoformat(),
            "adults": slots.party.adults,
        }
        if slots.party.children:
            arguments["children"] = slots.party.children
        if slots.pets:
            arguments["pets"] = True
        if slots.room_type:
            arguments["room_type"] = slots.room_type
        return CallTool("check_availability", arguments)

    def _ask_name_or_save(self) -> Action:
        if self.slots.name is None:
            self.awaiting = "name"
            return Say("May I have your name, please?")
        return self._save_lead()

    def _save_lead(self) -> Action:
        slots = self.slots
        if "create_lead" not in self.tools or slots.name is None:
            return Say("Thank you. Is there anything else I can help you with?")
        arguments: dict[str, Any] = {"name": slots.name}
        if slots.dates is not None:
            arguments["check_in"] = slots.dates.check_in.isoformat()
            arguments["check_out"] = slots.dates.check_out.isoformat()
        if slots.party is not None:
            arguments["adults"] = slots.party.adults
            if slots.party.children:
                arguments["children"] = slots.party.children
        room = (self.offered or {}).get("room_type") or slots.room_type
        if room:
            arguments["room_type"] = room
        return CallTool("create_lead", arguments)

    def _not_understood(self) -> Say:
        self.misunderstood += 1
        if self.misunderstood >= 3 and "transfer_to_human" in self.tools:
            return Say(
                "I'm sorry, I'm having trouble understanding. You can say: connect me to the "
                "front desk."
            )
        return Say(
            "Sorry, I didn't catch that. I can check rooms and prices, take a booking "
            "request, or connect you to the front desk."
        )

    # ------------------------------------------------------------------ tool results

    def on_tool_result(self, name: str, output: str) -> Say:
        """What to say once the tool ``name`` answered ``output`` (its JSON)."""
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
            who = f", {self.slots.name}" if self.slots.name else ""
            return Say(
                f"Thank you{who}. I've passed your request to our reservations team, who will "
                "confirm by phone or text. Is there anything else I can help you with?"
            )
        if name == "transfer_to_human":
            where = str(result.get("transferring_to") or "the front desk")
            return Say(f"Of course. I'm connecting you to {where} now. Goodbye!", end_call=True)
        return Say("Done. Is there anything else I can help you with?")

    def _relay_error(self, name: str, error: str) -> Say:
        if name == "transfer_to_human":
            return Say("I'm sorry, no one can take the call right now. Please call back later.")
        first = error.split(";")[0].strip().rstrip(".")
        if name == "check_availability":
            self.slots.dates = None
            self.awaiting = "dates"
            return Say(f"I'm sorry: {first}. Which dates would you like instead?")
        return Say(f"I'm sorry: {first}. Is there anything else I can help you with?")

    def _offer(self, result: dict[str, Any]) -> Say:
        offers = result.get("offers") or []
        slots = self.slots
        stay = (
            extraction.spoken_range(slots.dates, self.today)
            if slots.dates is not None
            else "those dates"
        )
        if not offers:
            party = slots.party
            if party is not None and not any(
                room.fits(party.adults, party.children) for room in self.property.room_types
            ):
                # Other dates would not help: keep them and ask who is coming instead (a
                # misheard "five adults" is corrected by the caller's next line).
                largest = max(room.max_guests for room in self.property.room_types)
                self.slots.party = None
                self.awaiting = "party"
                return Say(
                    f"I'm sorry, our rooms sleep at most {largest} guests. "
                    "How many guests will there be?"
                )
            self.slots.dates = None
            self.awaiting = "dates"
            return Say(
                f"I'm sorry, we have nothing available {stay}. Would you like to try other dates?"
            )
        best = offers[0]
        self.offered = best
        self.awaiting = "book"
        rate = best.get("nightly_rate")
        price = f", {_spoken_money(rate)} a night" if rate else ""
        total = _spoken_money(best.get("total_with_pet_fee") or best.get("total"))
        # Short: a caller on the phone keeps one offer in mind, not a list.
        return Say(
            f"Good news: the {best['name']} is free {stay}{price}, {total} in total. "
            "Shall I reserve it?"
        )


# Reasons of transfers the caller asked for in so many words (or that cannot wait).
_EXPLICIT_TRANSFERS = ("asked", "urgent", "wants to make a complaint")
_DEPARTMENT_NAMES = {"front_desk": "the front desk", "management": "a manager"}
_TRANSFER_OPENINGS = (
    ("maintenance issue", "I'm sorry about that."),
    ("noise complaint", "I'm sorry about the noise."),
    ("housekeeping request", "Of course."),
)


def _transfer(transfer: extraction.TransferIntent) -> CallTool:
    return CallTool(
        "transfer_to_human", {"department": transfer.department, "reason": transfer.reason}
    )


def _offer_transfer(transfer: extraction.TransferIntent) -> str:
    """ "I'm sorry about that. Shall I put you through to maintenance?" """
    opening = next(
        (said for reason, said in _TRANSFER_OPENINGS if transfer.reason.startswith(reason)),
        "Of course.",
    )
    where = _DEPARTMENT_NAMES.get(transfer.department, transfer.department.replace("_", " "))
    return f"{opening} Shall I put you through to {where}?"


def _spoken_money(amount: object) -> str:
    """``"$189.00"`` as said: ``"$189"``; cents only when there are some."""
    return re.sub(r"\.00\b", "", str(amount))
