"""The offline concierge against the hotel's real tools: a real SQLite store, the real
registry (which checks every argument against the tool's schema), no network.

Each conversation is the policy's caller lines and the tools' JSON answers, as the engine
session relays them; what it leaves in the store is what the hotel's staff see.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import attrs
import pytest

from hotelvoice.calls.ports import CallContext, ToolCall
from hotelvoice.engine.policy import ALL_TOOLS, Action, CallTool, ConciergePolicy, Say
from hotelvoice.hotel.concierge import Concierge
from hotelvoice.hotel.conversation import Conversation
from hotelvoice.hotel.payments import LocalPaymentLinks
from hotelvoice.hotel.store import AsyncStore
from hotelvoice.properties.book import PropertyBook
from hotelvoice.properties.model import Property, RoomType
from hotelvoice.wire import realtime as rt

UTC_NOW = dt.datetime(2026, 12, 3, 18, 15, tzinfo=dt.UTC)  # Thursday 10:15 in Los Angeles
CALLER = "+13105557788"
HOTEL_NUMBER = "+15551230001"
SUNSET = Property(
    id="sunset",
    name="Sunset Inn",
    timezone="America/Los_Angeles",
    phone_numbers=(HOTEL_NUMBER,),
    location="12 Ocean Drive, Santa Monica",
    amenities=("Free parking", "Outdoor pool", "Breakfast 7–10 AM"),
    room_types=(
        RoomType("king", "King Room", 10, 2, 18900, weekend_rate_cents=21900),
        RoomType("suite", "Suite", 2, 4, 34900),
    ),
    departments={"front_desk": "+15550000000", "maintenance": "+15550000003"},
)


@attrs.define
class Call:
    """One call: the policy, the hotel's tools, and what was said and done."""

    policy: ConciergePolicy
    concierge: Concierge
    replies: list[Say] = attrs.field(factory=list)
    tools: list[tuple[str, dict[str, object], dict[str, object]]] = attrs.field(factory=list)
    transferred_to: str | None = None

    async def say(self, lines: Sequence[str]) -> list[Say]:
        said: list[Say] = []
        for line in lines:
            action: Action = self.policy.on_caller(line)
            while isinstance(action, CallTool):
                outcome = await self.concierge.registry.execute(
                    ToolCall("call_1", action.name, json.dumps(action.arguments)),
                    CallContext("CA" + "1" * 32, CALLER, HOTEL_NUMBER),
                )
                result = json.loads(outcome.output)
                self.tools.append((action.name, action.arguments, result))
                if outcome.transfer is not None:
                    self.transferred_to = outcome.transfer.department
                action = self.policy.on_tool_result(action.name, outcome.output)
            said.append(action)
        self.replies += said
        return said

    def used(self) -> list[str]:
        return [name for name, _, _ in self.tools]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    async with await AsyncStore.open(tmp_path / "hotel.db") as opened:
        await opened.seed_property(SUNSET, SUNSET.today(UTC_NOW))
        yield opened


def call(store: AsyncStore, prop: Property = SUNSET) -> Call:
    concierge = Concierge(
        book=PropertyBook((prop,)),
        store=store,
        payments=LocalPaymentLinks(b"s" * 32, "https://hotel.example.com"),
        rest=None,  # texts wait in the outbox for staff
        timeout_s=5,
        clock=lambda: UTC_NOW,
    )
    policy = ConciergePolicy(
        prop, today=prop.today(UTC_NOW), tools=ALL_TOOLS, now=prop.now(UTC_NOW)
    )
    policy.note(f"The caller's phone number is {CALLER}; confirm it before using it.")
    return Call(policy, concierge)


async def test_parking_and_breakfast(store: AsyncStore) -> None:
    talk = call(store)
    parking, breakfast = await talk.say(["Hi, do you have parking?", "Is breakfast included?"])
    assert parking.text == "Yes, we have free parking. Anything else?"
    assert breakfast.text == "Yes, we have breakfast 7–10 AM. Anything else?"
    assert talk.used() == ["get_hotel_info", "get_hotel_info"]


async def test_a_callback_tomorrow_at_3_pm_lands_in_the_callbacks_table(
    store: AsyncStore,
) -> None:
    talk = call(store)
    read_back, done = await talk.say(["Please call me back tomorrow at 3 pm.", "Yes, please."])
    assert read_back.text == (
        "So that's a callback tomorrow, Friday, December 4th, at 3 PM to this number. "
        "Shall I book it?"
    )
    assert done.text.startswith("Done: we'll call you tomorrow at 3 PM.")
    (callback,) = await store.callbacks("sunset")
    assert callback.phone == CALLER
    assert callback.when == dt.datetime(2026, 12, 4, 23, 0, tzinfo=dt.UTC)  # 3 PM in LA
    assert await store.leads("sunset") == ()


async def test_a_broken_ac_in_a_numbered_room_goes_to_maintenance_after_a_yes(
    store: AsyncStore,
) -> None:
    talk = call(store)
    (offer,) = await talk.say(["Hi, the AC in room 212 is broken."])
    assert "maintenance" in offer.text and "212" in offer.text and talk.tools == []
    (goodbye,) = await talk.say(["Yes please."])
    assert goodbye.end_call and talk.transferred_to == "maintenance"
    ((name, arguments, _),) = talk.tools
    assert name == "transfer_to_human"
    assert "air conditioning" in str(arguments["reason"]) and "212" in str(arguments["reason"])


async def test_a_refused_transfer_becomes_a_callback_with_the_problem_in_it(
    store: AsyncStore,
) -> None:
    unstaffed = attrs.evolve(SUNSET, departments={})
    talk = call(store, unstaffed)
    await talk.say(["My air conditioner isn't working in room 305.", "Yes."])
    assert "call you back or pass on a message" in talk.replies[-1].text
    await talk.say(["A callback please.", "Tomorrow at 10 am.", "Yes."])
    (callback,) = await store.callbacks("sunset")
    assert "air conditioning" in callback.reason and "room 305" in callback.reason


async def test_a_goodbye_ends_the_call_and_records_no_stay(store: AsyncStore) -> None:
    talk = call(store)
    conversation = Conversation(
        SUNSET, CallContext("CA" + "2" * 32, CALLER, HOTEL_NUMBER), started_at=UTC_NOW
    )
    lines = ["Great, thanks. Goodbye."]
    for line in lines:
        conversation.on_model_event(rt.InputTranscriptCompleted("item_1", line), UTC_NOW)
    (bye,) = await talk.say(lines)
    assert bye.end_call and talk.tools == []
    assert conversation.guest.check_in is None and "Stay asked about" not in conversation.summary()


async def test_the_readme_conversation_saves_a_lead_and_transfers(store: AsyncStore) -> None:
    talk = call(store)
    await talk.say(
        [
            "Hi, I'd like to book a room.",
            "Next weekend.",
            "Me and my wife.",
            "Yes please.",
            "My name is Mary Jones.",
            "Yes.",
            "Can I speak to a person?",
            "Yes.",
        ]
    )
    assert talk.used() == ["check_availability", "create_lead", "transfer_to_human"]
    (lead,) = await store.leads("sunset")
    assert (lead.name, lead.adults, lead.phone) == ("Mary Jones", 2, CALLER)
    assert lead.check_in == dt.date(2026, 12, 11)  # next weekend's Friday
    assert talk.replies[-1].end_call and talk.transferred_to == "front_desk"


async def test_a_held_room_and_its_payment_link_after_the_lead(store: AsyncStore) -> None:
    talk = call(store)
    await talk.say(
        [
            "I need a room from January 15th to the 18th for 2 adults.",
            "Yes.",
            "It's Peter Novak, N O V A K.",
            "Yes.",
            "Yes, please.",
        ]
    )
    assert talk.used() == ["check_availability", "create_lead", "generate_payment_link"]
    _, hold, result = talk.tools[-1]
    assert hold["guest_name"] == "Peter Novak" and result["link_sent"] is True
    assert "on its way by text" in talk.replies[-1].text
    (lead,) = await store.leads("sunset")
    assert (lead.check_in, lead.check_out) == (dt.date(2027, 1, 15), dt.date(2027, 1, 18))


async def test_the_address_by_text_waits_in_the_outbox(store: AsyncStore) -> None:
    talk = call(store)
    await talk.say(["Could you text me the address?", "Yes."])
    (text,) = await store.sms_outbox("sunset")
    assert text.to == CALLER and "12 Ocean Drive" in text.body
