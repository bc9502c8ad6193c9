"""The hotel's tools: what the model can do for a caller, on the real store.

``check_availability``, ``create_lead``, ``generate_payment_link``, ``transfer_to_human``,
``send_sms``, ``schedule_callback`` and ``get_hotel_info``, registered on a
:class:`~hotelvoice.hotel.registry.FunctionRegistry` with schemas derived from their
signatures. Each tool learns its call through a :class:`ToolContext` (the property chosen by
the dialed number, the caller, the time), never from globals. Failures the caller should hear
about are :class:`~hotelvoice.hotel.registry.ToolError`\\ s with plain words for the model;
everything else is the registry's business (logged, an apology for the model).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

import attrs
import trio

from hotelvoice.calls.ports import CallContext, ToolOutcome, TransferRequest
from hotelvoice.clock import utc_now
from hotelvoice.hotel.payments import PaymentError, PaymentLinks
from hotelvoice.hotel.registry import FunctionRegistry, ToolError
from hotelvoice.hotel.store import AsyncStore, AvailabilityError, Night, RoomOffer
from hotelvoice.language.answers import pets_answer
from hotelvoice.language.spoken import spoken_date, spoken_time
from hotelvoice.language.when import WhenError, parse_when
from hotelvoice.properties.book import PropertyBook, normalise_e164
from hotelvoice.properties.model import Property
from hotelvoice.telephony.rest import TwilioRest, TwilioRestError

log = logging.getLogger(__name__)

MAX_SMS_CHARS = 1600
# Of a payment link's deadline, what is kept back to release the hold if the link fails.
RELEASE_RESERVE_S = 1.0
RELEASE_SHARE = 0.25  # ... at most this share of the time left, for short deadlines
RELEASE_WAIT_S = 1.0  # how long a release waits for the store, even past the deadline
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
InfoTopic = Literal["check_in", "check_out", "pets", "location", "amenities", "policies", "contact"]


@attrs.frozen
class ToolContext:
    """What a tool knows about the call it serves."""

    call_sid: str
    caller: str | None
    dialed: str | None
    hotel: Property
    now: dt.datetime  # UTC, when the tool started

    @property
    def local_now(self) -> dt.datetime:
        return self.hotel.now(self.now)

    @property
    def today(self) -> dt.date:
        return self.hotel.today(self.now)


class Concierge:
    """The tools of every property this deployment serves, on one store."""

    def __init__(
        self,
        *,
        book: PropertyBook,
        store: AsyncStore,
        payments: PaymentLinks,
        rest: TwilioRest | None,
        timeout_s: float,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.book = book
        self.store = store
        self.payments = payments
        self.rest = rest
        self.clock = clock
        # The call's ToolRegistry: each tool learns its call through context_for.
        self.registry = FunctionRegistry(
            timeout_s=timeout_s, context_type=ToolContext, context_factory=self.context_for
        )
        for tool in (
            self.check_availability,
            self.create_lead,
            self.generate_payment_link,
            self.transfer_to_human,
            self.send_sms,
            self.schedule_callback,
            self.get_hotel_info,
        ):
            self.registry.register(tool)

    def context_for(self, call: CallContext) -> ToolContext:
        return ToolContext(
            call_sid=call.call_sid,
            caller=call.caller,
            dialed=call.dialed,
            hotel=self.book.for_number(call.dialed),
            now=self.clock(),
        )

    # ------------------------------------------------------------------ availability

    async def check_availability(
        self,
        context: ToolContext,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int = 0,
        pets: bool = False,
        room_type: str | None = None,
    ) -> dict[str, Any]:
        """Check which rooms are free for every night of a stay, with nightly and total prices.

        Args:
            check_in: Arrival date.
            check_out: Departure date (the morning after the last night).
            adults: Number of adults.
            children: Number of children.
            pets: Whether the guests bring a pet.
            room_type: One room type's code or name, to ask about that type only.
        """
        prop = context.hotel
        try:
            found = await self.store.availability(
                prop.id,
                check_in,
                check_out,
                adults,
                children,
                pets,
                room_type,
                now=context.now,
                today=context.today,
            )
        except AvailabilityError as exc:
            raise ToolError(str(exc)) from None
        nights = (check_out - check_in).days
        answer: dict[str, Any] = {
            "check_in": check_in,
            "check_out": check_out,
            "nights": nights,
            "available": bool(found.offers),
            "offers": [_offer(prop, offer) for offer in found.offers],
        }
        if found.reasons:
            answer["why_not_others" if found.offers else "why_not"] = list(found.reasons)
        if not found.offers:
            answer["suggestion"] = (
                "Offer other dates, fewer guests per room, or to take their details."
            )
        return answer

    # ------------------------------------------------------------------ leads and payment

    async def create_lead(
        self,
        context: ToolContext,
        name: str,
        phone: str | None = None,
        email: str | None = None,
        check_in: dt.date | None = None,
        check_out: dt.date | None = None,
        adults: int | None = None,
        children: int | None = None,
        room_type: str | None = None,
        notes: str = "",
    ) -> dict[str, Any]:
        """Save the caller's details and wishes so the reservations team follows up.

        Args:
            name: The guest's full name.
            phone: Phone number in international format; default: the number calling.
            email: Email address, if given.
            check_in: Wished arrival date.
            check_out: Wished departure date.
            adults: Number of adults.
            children: Number of children.
            room_type: Preferred room type's code or name.
            notes: Anything else worth knowing (requests, budget, occasion).
        """
        if not name.strip():
            raise ToolError("Ask for the guest's name first.")
        number = _phone(phone or context.caller, "phone") if (phone or context.caller) else None
        if email is not None and not EMAIL.match(email.strip()):
            raise ToolError(f"{email!r} is not an email address; ask the caller to spell it.")
        prop = context.hotel
        if room_type is not None and prop.room_type(room_type) is None:
            raise ToolError(_unknown_room(prop, room_type))
        lead = await self.store.create_lead(
            prop.id,
            call_sid=context.call_sid,
            name=name.strip(),
            phone=number,
            email=email.strip() if email else None,
            check_in=check_in,
            check_out=check_out,
            adults=adults,
            children=children,
            room_type=room_type,
            notes=notes,
            now=context.now,
        )
        return {"saved": True, "lead_id": lead.id, "phone": number}

    async def generate_payment_link(
        self,
        context: ToolContext,
        room_type: str,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        guest_name: str,
        children: int = 0,
        pets: bool = False,
        phone: str | None = None,
    ) -> dict[str, Any]:
        """Hold a room and text the guest a link to pay for the stay; the hold lasts a while.

        Args:
            room_type: The room type's code or name, from check_availability.
            check_in: Arrival date.
            check_out: Departure date.
            adults: Number of adults.
            guest_name: The guest's full name.
            children: Number of children.
            pets: Whether the guests bring a pet.
            phone: Where to text the link, in international format; default: the caller.
        """
        prop = context.hotel
        target = phone or context.caller
        number = _phone(target, "phone") if target else None
        try:
            hold = await self.store.hold_room(
                prop.id,
                room_type,
                check_in,
                check_out,
                adults,
                children,
                pets,
                guest_name=guest_name,
                phone=number,
                now=context.now,
                today=context.today,
            )
        except AvailabilityError as exc:
            raise ToolError(str(exc)) from None
        description = (
            f"{prop.name}: {room_type}, {check_in.isoformat()} to {check_out.isoformat()}"
            f" ({(check_out - check_in).days} nights), {guest_name}"
        )
        # The link must be made and recorded before the tool's deadline, with time left to
        # give the room back if it is not: no hold is left behind without its link.
        deadline = trio.current_effective_deadline()
        left = deadline - trio.current_time()
        problem = "The payment system did not answer in time"
        try:
            with trio.move_on_at(deadline - min(RELEASE_RESERVE_S, left * RELEASE_SHARE)):
                link = await self.payments.create(
                    amount_cents=hold.grand_total_cents,
                    currency=hold.currency,
                    description=description,
                    metadata={
                        "hold_id": hold.id,
                        "property": prop.id,
                        "call_sid": context.call_sid,
                    },
                    now=context.now,
                    expires_at=hold.expires_at,
                )
                await self.store.record_payment_link(
                    token=link.token,
                    property_id=prop.id,
                    hold_id=hold.id,
                    amount_cents=hold.grand_total_cents,
                    currency=hold.currency,
                    description=description,
                    url=link.url,
                    provider=link.provider,
                    provider_id=link.provider_id,
                    expires_at=link.expires_at,
                    now=context.now,
                )
                problem = ""
        except PaymentError as exc:
            log.warning("call %s: payment link failed: %s", context.call_sid, exc)
            problem = "The payment system is not answering"
        except BaseException:
            # Cancelled from outside (the call ended) or the store failed: give the room back.
            await self._release(context, hold.id)
            raise
        if problem:
            if "in time" in problem:
                log.warning("call %s: payment link timed out", context.call_sid)
            released = await self._release(context, hold.id)
            held = (
                "the room is not held"
                if released
                else f"the room may stay held for up to {prop.hold_minutes} minutes"
            )
            raise ToolError(
                f"{problem}; {held}. Offer to save their details with create_lead so the "
                "team can call back."
            )
        minutes = round((hold.expires_at - context.now).total_seconds() / 60)
        answer: dict[str, Any] = {
            "hold_id": hold.id,
            "amount": prop.money(hold.grand_total_cents),
            "held_for_minutes": minutes,
        }
        if number is None:
            answer["link_sent"] = False
            answer["note"] = "No phone number to text the link to; ask for one."
            return answer
        body = (
            f"{prop.name}: pay {prop.money(hold.grand_total_cents)} to confirm your stay "
            f"{check_in:%b} {check_in.day}–{check_out:%b} {check_out.day}: {link.url} "
            f"(held for {minutes} minutes)"
        )
        status = await self._text(context, number, body)
        answer["link_sent"] = status != "failed"
        answer["sms_status"] = status
        answer["sent_to"] = number
        return answer

    async def _release(self, context: ToolContext, hold_id: str) -> bool:
        """Gives a hold back, even past the tool's deadline (shielded, at most RELEASE_WAIT_S).
        Waits on the store; returns whether it is released. Never raises."""
        with trio.CancelScope(shield=True), trio.move_on_after(RELEASE_WAIT_S):
            try:
                await self.store.release_hold(hold_id)
                log.info("call %s: hold %s released", context.call_sid, hold_id)
                return True
            except Exception:
                log.exception("call %s: hold %s could not be released", context.call_sid, hold_id)
                return False
        log.error("call %s: hold %s could not be released in time", context.call_sid, hold_id)
        return False

    # ------------------------------------------------------------------ people and messages

    async def transfer_to_human(
        self,
        context: ToolContext,
        department: Annotated[
            str, "front_desk, housekeeping, management or maintenance; others reach the desk"
        ],
        reason: Annotated[str, "Why, in a few words, for the person who answers."],
    ) -> ToolOutcome:
        """Hand the caller to a member of staff. Say you are connecting them, then goodbye."""
        prop = context.hotel
        chosen, number = prop.department_number(department)
        if number is None:
            raise ToolError(
                "No one can take a transfer at the moment. Offer a callback with "
                "schedule_callback or to pass on a message."
            )
        answer = {"transferring_to": chosen.replace("_", " "), "reason": reason}
        if chosen != department.strip().lower().replace(" ", "_"):
            answer["note"] = f"{department} is not a department here; the front desk will help."
        outcome = ToolOutcome(
            _json(answer), transfer=TransferRequest(number=number, department=chosen, reason=reason)
        )
        return outcome

    async def send_sms(
        self,
        context: ToolContext,
        to: Annotated[str, "Phone number in international format, e.g. +15551234567."],
        message: Annotated[str, "The text to send, short and plain."],
    ) -> dict[str, Any]:
        """Send the caller a text message, e.g. the address or a confirmation they asked for."""
        number = _phone(to, "to")
        if not message.strip():
            raise ToolError("The message is empty.")
        if len(message) > MAX_SMS_CHARS:
            raise ToolError(f"The message is too long ({len(message)} characters); shorten it.")
        status = await self._text(context, number, message.strip())
        if status == "failed":
            raise ToolError("The text could not be sent. Offer to read it out instead.")
        return {"sent_to": number, "status": status}

    async def _text(self, context: ToolContext, number: str, body: str) -> str:
        """Record an SMS in the outbox and hand it to Twilio when we can; returns its status."""
        prop = context.hotel
        queued = await self.store.enqueue_sms(
            property_id=prop.id, call_sid=context.call_sid, to=number, body=body, now=context.now
        )
        sender = context.dialed or (prop.phone_numbers[0] if prop.phone_numbers else None)
        if self.rest is None or sender is None:
            await self.store.update_sms(
                queued.id,
                status="unsent",
                error="no Twilio credentials or sending number; staff must send it",
                now=self.clock(),
            )
            return "saved for staff"
        try:
            sent = await self.rest.send_sms(to=number, sender=sender, body=body)
        except TwilioRestError as exc:
            log.warning("call %s: SMS failed: %s", context.call_sid, exc)
            await self.store.update_sms(
                queued.id, status="failed", error=str(exc), now=self.clock()
            )
            return "failed"
        await self.store.update_sms(
            queued.id, status=sent.status, provider_id=sent.sid, now=self.clock()
        )
        return sent.status

    async def schedule_callback(
        self,
        context: ToolContext,
        phone: Annotated[str, "Number to call back, international format."],
        when: Annotated[
            str, "When, in the hotel's local time: 2026-12-01T15:00, or 'tomorrow at 3 pm'."
        ],
        reason: Annotated[str, "What the call is about."],
    ) -> dict[str, Any]:
        """Book a call back from the hotel's staff at a time that suits the caller."""
        prop = context.hotel
        number = _phone(phone, "phone")
        local_now = context.local_now
        try:
            moment = parse_when(when, local_now)
        except WhenError as exc:
            raise ToolError(str(exc)) from None
        if moment <= local_now:
            raise ToolError(f"{_spoken_moment(moment, context.today)} is in the past.")
        opens, closes = prop.callback_hours
        if not opens <= moment.timetz().replace(tzinfo=None) <= closes:
            raise ToolError(
                f"Callbacks are between {spoken_time(opens)} and {spoken_time(closes)} hotel time; "
                f"{spoken_time(moment.time())} is outside that. Offer a time within those hours."
            )
        callback = await self.store.create_callback(
            property_id=prop.id,
            call_sid=context.call_sid,
            phone=number,
            when=moment.astimezone(dt.UTC),
            reason=reason,
            now=context.now,
        )
        return {
            "callback_id": callback.id,
            "when": _spoken_moment(moment, context.today),
            "phone": number,
        }

    def get_hotel_info(self, context: ToolContext, topic: InfoTopic) -> dict[str, Any]:
        """Facts about the hotel: check-in and out, pets, location, amenities, policies, contact."""
        prop = context.hotel
        facts = {
            "check_in": f"Check-in is from {spoken_time(prop.checkin_time)}.",
            "check_out": f"Check-out is by {spoken_time(prop.checkout_time)}.",
            "pets": pets_answer(prop),
            "location": prop.location or "The hotel has not published its address.",
            "amenities": ", ".join(prop.amenities) or "No amenities are listed.",
            "policies": " ".join(prop.policies) or "No special policies are listed.",
            "contact": "The front desk can be reached on this number at any time.",
        }
        return {"hotel": prop.name, "answer": facts[topic]}


def _offer(prop: Property, offer: RoomOffer) -> dict[str, Any]:
    rates = {rate for _, rate in offer.nightly_rates}
    answer: dict[str, Any] = {
        "room_type": offer.room_type,
        "name": offer.name,
        "rooms_left": offer.free_rooms,
        "total": prop.money(offer.total_cents),
    }
    if len(rates) == 1:
        answer["nightly_rate"] = prop.money(rates.pop())
    else:
        answer["nightly_rates"] = [_night(prop, night) for night in offer.nightly_rates]
    if offer.pet_fee_cents:
        answer["pet_fee"] = prop.money(offer.pet_fee_cents)
        answer["total_with_pet_fee"] = prop.money(offer.grand_total_cents)
    return answer


def _night(prop: Property, night: Night) -> dict[str, str]:
    day, cents = night
    return {"night": f"{day:%a} {day.isoformat()}", "rate": prop.money(cents)}


def _phone(text: str | None, field: str) -> str:
    number = normalise_e164(text or "")
    if number is None:
        raise ToolError(
            f"{field} must be a phone number with its country code, like +15551234567; "
            f"got {text!r}. Ask the caller to repeat it."
        )
    return number


def _unknown_room(prop: Property, wanted: str) -> str:
    known = ", ".join(f"{room.name} ({room.code})" for room in prop.room_types)
    return f"There is no room type {wanted!r}; the hotel has {known}."


def _spoken_moment(moment: dt.datetime, today: dt.date) -> str:
    return f"{spoken_date(moment.date(), today)} at {spoken_time(moment.time())}"


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
