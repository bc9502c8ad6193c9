"""The concierge's starting kit: system instructions and two real tools from the settings.

``get_hotel_info`` answers from the property's settings and ``transfer_to_human`` hands the
caller to a department. The full hotel registry (availability, leads, payments, SMS,
callbacks) builds on the same :class:`~hotelvoice.calls.ports.ToolRegistry` interface.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome, TransferRequest
from hotelvoice.config import Settings

log = logging.getLogger(__name__)

DEPARTMENTS = ("front_desk", "housekeeping", "management", "maintenance")
INFO_TOPICS = ("check_in", "check_out", "pets", "location", "contact")


def basic_instructions(settings: Settings, context: CallContext) -> str:
    """System instructions for a call to the hotel described by ``settings``."""
    lines = [
        f"You are the friendly phone concierge of {settings.hotel_name}"
        + (f" in {settings.hotel_location}." if settings.hotel_location else "."),
        "You are on a phone call: keep answers short and natural, one or two sentences, and "
        "never read out lists, URLs or markup.",
        "Greet the caller warmly as soon as the call starts, name the hotel and ask how you "
        "can help.",
        f"Check-in is from {settings.hotel_checkin_time}; check-out is by "
        f"{settings.hotel_checkout_time}.",
    ]
    if settings.hotel_pet_policy:
        lines.append(f"Pet policy: {settings.hotel_pet_policy}.")
    lines += [
        "Use get_hotel_info for hotel facts instead of guessing. If the caller asks for a "
        "person, or you cannot help, use transfer_to_human and tell them you are connecting "
        "them now.",
        "If a tool returns an error, apologise briefly and offer another way to help.",
    ]
    return "\n".join(lines)


class BasicHotelTools:
    """A :class:`~hotelvoice.calls.ports.ToolRegistry` over the single-property settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def tools(self) -> Sequence[Mapping[str, Any]]:
        return (
            {
                "type": "function",
                "name": "get_hotel_info",
                "description": "Facts about the hotel: check-in and check-out times, pet "
                "policy, location and how to reach the front desk.",
                "parameters": {
                    "type": "object",
                    "properties": {"topic": {"type": "string", "enum": list(INFO_TOPICS)}},
                    "required": ["topic"],
                    "additionalProperties": False,
                },
            },
            {
                "type": "function",
                "name": "transfer_to_human",
                "description": "Hand the caller to a member of staff. Say goodbye first.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "department": {"type": "string", "enum": list(DEPARTMENTS)},
                        "reason": {"type": "string", "description": "Why, in a few words."},
                    },
                    "required": ["department", "reason"],
                    "additionalProperties": False,
                },
            },
        )

    async def execute(self, call: ToolCall, context: CallContext) -> ToolOutcome:
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            return _error(f"The arguments for {call.name} were not valid JSON.")
        if not isinstance(arguments, dict):
            return _error(f"The arguments for {call.name} must be a JSON object.")
        if call.name == "get_hotel_info":
            return self._hotel_info(arguments)
        if call.name == "transfer_to_human":
            return self._transfer(arguments, context)
        log.warning("call %s: model called unknown tool %r", context.call_sid, call.name)
        return _error(f"There is no tool named {call.name!r}.")

    def _hotel_info(self, arguments: Mapping[str, Any]) -> ToolOutcome:
        topic = arguments.get("topic")
        s = self.settings
        facts = {
            "check_in": f"Check-in is from {s.hotel_checkin_time}.",
            "check_out": f"Check-out is by {s.hotel_checkout_time}.",
            "pets": s.hotel_pet_policy or "The hotel has not published a pet policy.",
            "location": s.hotel_location or "The hotel has not published its address.",
            "contact": (
                f"The front desk is at {s.front_desk_phone}."
                if s.front_desk_phone
                else "The front desk can be reached through this number."
            ),
        }
        if topic not in facts:
            return _error(f"topic must be one of {', '.join(INFO_TOPICS)}.")
        return ToolOutcome(json.dumps({"hotel": s.hotel_name, "answer": facts[topic]}))

    def _transfer(self, arguments: Mapping[str, Any], context: CallContext) -> ToolOutcome:
        department = arguments.get("department")
        reason = arguments.get("reason")
        if not isinstance(reason, str):
            reason = ""
        numbers = {
            "front_desk": self.settings.front_desk_phone,
            "housekeeping": self.settings.housekeeping_phone,
            "management": self.settings.management_phone,
            "maintenance": self.settings.maintenance_phone,
        }
        if department not in numbers or not numbers[department]:
            department = "front_desk"  # unknown or unstaffed departments go to the front desk
        number = numbers[department]
        if not number:
            return _error("Nobody can take the call right now. Offer to take a message.")
        log.info("call %s: transfer to %s requested (%s)", context.call_sid, department, reason)
        return ToolOutcome(
            json.dumps({"status": "transferring", "department": department}),
            transfer=TransferRequest(number=number, department=department, reason=reason),
        )


def _error(message: str) -> ToolOutcome:
    return ToolOutcome(json.dumps({"error": message}))
