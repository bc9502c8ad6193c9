"""One call's conversation, sans-IO: who the concierge works for, what was said, what we learnt.

:func:`property_instructions` writes the system instructions from a property's facts (today's
date and time in the property's zone included, so the model resolves "next Friday").
:class:`Conversation` follows the call: caller and assistant turns from the transcription
events, tool calls and their results, the guest's details gathered from tool arguments and
from what the caller said, context to inject (a returning guest's name, their reservation),
and a :meth:`Conversation.summary` for the call record. Nothing here touches the store or a
clock: times come in as arguments.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome
from hotelvoice.language.dates import DateRange
from hotelvoice.language.intents import Intent, understand
from hotelvoice.language.spoken import spoken_range, spoken_time
from hotelvoice.properties.model import Property
from hotelvoice.wire import realtime as rt

Role = Literal["caller", "assistant", "tool"]
MAX_INSTRUCTION_ROOMS = 12


@attrs.frozen
class Turn:
    role: Role
    text: str
    at: dt.datetime
    tool_name: str | None = None
    tool_arguments: str | None = None
    tool_result: str | None = None


@attrs.define
class GuestInfo:
    """What the call taught us about the guest (None: not said)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    check_in: dt.date | None = None
    check_out: dt.date | None = None
    adults: int | None = None
    children: int | None = None
    room_type: str | None = None
    pets: bool | None = None
    reservation_id: str | None = None
    transfer_department: str | None = None
    topics: list[str] = attrs.field(factory=list)  # tools used / intents, in order, no repeats

    def as_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        return {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in data.items()
            if value not in (None, [])
        }


@attrs.frozen
class ReturningGuest:
    """What the store knows about a caller from earlier calls."""

    name: str | None = None
    reservation_id: str | None = None
    reservation_dates: tuple[dt.date, dt.date] | None = None
    room_type: str | None = None


def property_instructions(prop: Property, utc_now: dt.datetime) -> str:
    """System instructions for a call to ``prop`` at ``utc_now`` (timezone-aware)."""
    local = prop.now(utc_now)
    lines = [
        f"You are the friendly phone concierge of {prop.name}"
        + (f", {prop.location}." if prop.location else "."),
        f"Today is {local:%A, %B} {local.day}, {local.year}; the local time at the hotel is "
        f"{spoken_time(local.time())} ({prop.timezone}). Resolve dates like 'next Friday' or "
        "'this weekend' from today, and always pass dates to tools as YYYY-MM-DD.",
        "You are on a phone call: keep answers short and natural, one or two sentences; never "
        "read out lists, URLs, IDs or markup. Say prices in words a person would use.",
        "Greet the caller warmly as soon as the call starts, name the hotel and ask how you "
        "can help.",
        f"Check-in is from {spoken_time(prop.checkin_time)}; check-out is by "
        f"{spoken_time(prop.checkout_time)}.",
    ]
    if prop.pets_allowed:
        fee = ""
        if prop.pet_fee_cents:
            fee = f" The pet fee is {prop.money(prop.pet_fee_cents)} a night."
        lines.append(f"Pets are welcome. {prop.pet_policy or ''}{fee}".strip())
    else:
        lines.append(prop.pet_policy or "Pets are not allowed.")
    if prop.amenities:
        lines.append("Amenities: " + "; ".join(prop.amenities) + ".")
    for policy in prop.policies:
        lines.append(f"Policy: {policy}")
    if prop.room_types:
        rooms = []
        for room in prop.room_types[:MAX_INSTRUCTION_ROOMS]:
            rate = prop.money(room.nightly_rate_cents)
            weekend = (
                f", {prop.money(room.weekend_rate_cents)} on Friday and Saturday nights"
                if room.weekend_rate_cents not in (None, room.nightly_rate_cents)
                else ""
            )
            rooms.append(
                f"{room.name} (code {room.code}): sleeps {room.max_guests}, from {rate} a "
                f"night{weekend}"
            )
        lines.append("Room types: " + "; ".join(rooms) + ".")
    lines += [
        "Never promise a room, a price or a date without check_availability: availability "
        "changes by the minute. Quote the total it returns.",
        "To book, collect the guest's name and confirm their phone number, then use "
        "create_lead; offer generate_payment_link to hold the room (the link goes by text).",
        "Use send_sms only for what the caller asked to receive. Use schedule_callback when "
        "they want a call later (in the hotel's local time, within the callback hours "
        f"{spoken_time(prop.callback_hours[0])}–{spoken_time(prop.callback_hours[1])}).",
        "If the caller asks for a person, or you cannot help, use transfer_to_human with the "
        "right department, say you are connecting them, and say goodbye.",
        "If a tool returns an error, apologise briefly, relay what it says in plain words, "
        "and offer another way to help.",
    ]
    if prop.language and prop.language != "en":
        lines.append(f"Speak {prop.language} unless the caller uses another language.")
    return "\n".join(lines)


class Conversation:
    """The record of one call, fed by the bridge's events (sans-IO)."""

    def __init__(
        self,
        prop: Property,
        context: CallContext,
        *,
        started_at: dt.datetime,
        returning: ReturningGuest | None = None,
    ) -> None:
        self.property = prop
        self.context = context
        self.started_at = started_at
        self.returning = returning
        self.turns: list[Turn] = []
        self.guest = GuestInfo(phone=context.caller)
        if returning is not None:
            self.guest.name = returning.name
            self.guest.reservation_id = returning.reservation_id
        self.ended_at: dt.datetime | None = None
        self.end_reason: str | None = None
        self._function_names: dict[str, str] = {}

    @property
    def today(self) -> dt.date:
        return self.property.today(self.started_at)

    def instructions(self) -> str:
        return property_instructions(self.property, self.started_at)

    def context_items(self) -> list[dict[str, Any]]:
        """``conversation.item.create`` events to send before the greeting."""
        notes = self.context_notes()
        return [rt.system_text_item(note) for note in notes]

    def context_notes(self) -> list[str]:
        """What the model should know about this caller before it speaks."""
        notes: list[str] = []
        if self.context.caller:
            notes.append(
                f"The caller's phone number is {self.context.caller}; confirm it before "
                "using it for a booking, a text or a callback."
            )
        guest = self.returning
        if guest is not None:
            if guest.name:
                notes.append(
                    f"This is a returning caller: {guest.name}. Greet them by name, but let "
                    "them confirm who they are before discussing any booking."
                )
            if guest.reservation_id and guest.reservation_dates is not None:
                arrive, leave = guest.reservation_dates
                room = f" ({guest.room_type})" if guest.room_type else ""
                notes.append(
                    f"They hold reservation {guest.reservation_id}{room} from "
                    f"{arrive.isoformat()} to {leave.isoformat()}."
                )
        return notes

    # ------------------------------------------------------------------ events

    def on_model_event(self, event: rt.ServerEvent, now: dt.datetime) -> None:
        """Record transcripts; everything else is the call bridge's business."""
        if isinstance(event, rt.InputTranscriptCompleted):
            text = event.transcript.strip()
            if text:
                self.turns.append(Turn("caller", text, now))
                self._learn_from_caller(text)
        elif isinstance(event, rt.OutputTranscriptDone):
            text = event.transcript.strip()
            if text:
                self.turns.append(Turn("assistant", text, now))

    def on_tool_result(self, call: ToolCall, outcome: ToolOutcome, now: dt.datetime) -> None:
        self.turns.append(
            Turn(
                "tool",
                call.name,
                now,
                tool_name=call.name,
                tool_arguments=call.arguments,
                tool_result=outcome.output,
            )
        )
        if call.name not in self.guest.topics:
            self.guest.topics.append(call.name)
        try:
            arguments = json.loads(call.arguments or "{}")
            result = json.loads(outcome.output)
        except ValueError:
            return
        if isinstance(arguments, dict) and not _is_error(result):
            self._learn_from_arguments(call.name, arguments)
            if isinstance(result, dict):
                self._learn_from_result(result)
        if outcome.transfer is not None:
            self.guest.transfer_department = outcome.transfer.department

    def end(self, now: dt.datetime, reason: str | None) -> None:
        self.ended_at = now
        self.end_reason = reason

    def _learn_from_caller(self, text: str) -> None:
        """A stay and a party from what the caller said about a stay, not from any date in
        any line ("call me back tomorrow" is not a stay; "have a good weekend" neither)."""
        guest = self.guest
        reading = understand(text, today=self.today, prop=self.property)
        if reading.intent in (Intent.BOOK, Intent.CORRECTION):
            if guest.check_in is None and reading.dates is not None:
                guest.check_in, guest.check_out = reading.dates.check_in, reading.dates.check_out
            if guest.adults is None and reading.party is not None:
                guest.adults, guest.children = reading.party.adults, reading.party.children
        need = reading.staff
        if need is not None and guest.transfer_department is None:
            topic = f"asked for {need.department.replace('_', ' ')}"
            if topic not in guest.topics:
                guest.topics.append(topic)

    def _learn_from_arguments(self, name: str, arguments: Mapping[str, Any]) -> None:
        guest = self.guest
        for key in ("name", "email", "room_type"):
            value = arguments.get(key)
            if isinstance(value, str) and value.strip():
                setattr(guest, key, value.strip())
        phone = arguments.get("phone")
        if isinstance(phone, str) and phone.strip() and name == "create_lead":
            guest.phone = phone.strip()
        for key in ("check_in", "check_out"):
            value = arguments.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    setattr(guest, key, dt.date.fromisoformat(value))
        for key in ("adults", "children"):
            value = arguments.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(guest, key, value)
        pets = arguments.get("pets")
        if isinstance(pets, bool):
            guest.pets = pets

    def _learn_from_result(self, result: Mapping[str, Any]) -> None:
        reservation = result.get("reservation_id") or result.get("hold_id")
        if isinstance(reservation, str):
            self.guest.reservation_id = reservation

    # ------------------------------------------------------------------ the end

    def summary(self) -> str:
        """A few plain sentences for the call record and the staff who read it."""
        guest = self.guest
        who = guest.name or "An unnamed caller"
        if guest.phone:
            who += f" ({guest.phone})"
        parts = [f"{who} called {self.property.name}."]
        if (
            guest.check_in is not None
            and guest.check_out is not None
            and guest.check_out > guest.check_in  # the model's arguments may be backwards
        ):
            stay = spoken_range(DateRange(guest.check_in, guest.check_out), self.today)
            party = ""
            if guest.adults is not None:
                party = f" for {_count(guest.adults, 'adult')}"
                if guest.children:
                    party += f" and {_count(guest.children, 'child', 'children')}"
            room = f", {guest.room_type}" if guest.room_type else ""
            pets = ", with pets" if guest.pets else ""
            parts.append(f"Stay asked about: {stay}{party}{room}{pets}.")
        if guest.topics:
            parts.append("Topics: " + ", ".join(t.replace("_", " ") for t in guest.topics) + ".")
        if guest.reservation_id:
            parts.append(f"Reference: {guest.reservation_id}.")
        if guest.transfer_department:
            department = guest.transfer_department.replace("_", " ")
            parts.append(f"Transferred to {department}.")
        caller_turns = sum(1 for turn in self.turns if turn.role == "caller")
        if self.ended_at is not None:
            seconds = round((self.ended_at - self.started_at).total_seconds())
            parts.append(
                f"Call lasted {seconds} s with {_count(caller_turns, 'caller turn')}"
                + (f"; ended: {self.end_reason}." if self.end_reason else ".")
            )
        return " ".join(parts)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _is_error(result: object) -> bool:
    return isinstance(result, dict) and "error" in result
