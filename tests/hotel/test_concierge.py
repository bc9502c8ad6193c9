"""The hotel tools through the registry, on a real SQLite store, with fakes at the network edge."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from openai.types.realtime.realtime_function_tool import RealtimeFunctionTool

from hotelvoice.calls.ports import CallContext, ToolCall
from hotelvoice.hotel.concierge import Concierge
from hotelvoice.hotel.payments import LocalPaymentLinks, StripePaymentLinks
from hotelvoice.hotel.store import AsyncStore
from hotelvoice.properties.book import PropertyBook
from hotelvoice.properties.model import Property, RoomType
from hotelvoice.telephony.rest import TwilioRest
from tests.fakes.stripe import start_fake_stripe
from tests.fakes.twilio_rest import FakeTwilioRest, start_fake_twilio_rest

NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)  # 10:00 in Los Angeles, a Wednesday
ACCOUNT = "AC" + "3" * 32
TOKEN = "rest-token"
HOTEL_NUMBER = "+15551230001"
CALLER = "+15557654321"

SUNSET = Property(
    id="sunset",
    name="Sunset Inn",
    timezone="America/Los_Angeles",
    phone_numbers=(HOTEL_NUMBER,),
    location="12 Ocean Drive, Santa Monica",
    pets_allowed=True,
    pet_fee_cents=2500,
    pet_policy="Dogs welcome.",
    amenities=("outdoor pool", "free parking"),
    policies=("No smoking.",),
    room_types=(
        RoomType("king", "King Room", 2, 2, 18900, weekend_rate_cents=21900),
        RoomType("suite", "Suite", 1, 4, 34900, pets_allowed=False),
    ),
    departments={"front_desk": "+15550000000", "housekeeping": "+15550000002"},
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    async with await AsyncStore.open(tmp_path / "hotel.db") as opened:
        await opened.seed_property(SUNSET, SUNSET.today(NOW))
        yield opened


@pytest.fixture
async def twilio(nursery: trio.Nursery) -> FakeTwilioRest:
    return await start_fake_twilio_rest(nursery, account_sid=ACCOUNT, auth_token=TOKEN)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def concierge(store: AsyncStore, twilio: FakeTwilioRest, http: httpx.AsyncClient) -> Concierge:
    rest = TwilioRest(http, account_sid=ACCOUNT, auth_token=TOKEN, api_base=twilio.base_url)
    return Concierge(
        book=PropertyBook((SUNSET,)),
        store=store,
        payments=LocalPaymentLinks(b"s" * 32, "https://hotel.example.com"),
        rest=rest,
        timeout_s=5,
        clock=lambda: NOW,
    )


CALL = CallContext("CA1", CALLER, HOTEL_NUMBER)


async def run(concierge: Concierge, tool: str, /, **arguments: Any) -> dict[str, Any]:
    outcome = await concierge.registry.execute(
        ToolCall("call_1", tool, json.dumps(arguments)), CALL
    )
    result: dict[str, Any] = json.loads(outcome.output)
    return result


async def test_the_tool_list_is_valid_for_a_ga_session(concierge: Concierge) -> None:
    names = []
    for tool in concierge.registry.tools():
        RealtimeFunctionTool.model_validate(tool)
        assert set(tool) == {"type", "name", "description", "parameters"}
        assert tool["description"]
        names.append(tool["name"])
    assert names == [
        "check_availability",
        "create_lead",
        "generate_payment_link",
        "transfer_to_human",
        "send_sms",
        "schedule_callback",
        "get_hotel_info",
    ]
    schema = concierge.registry.schema("check_availability")["parameters"]
    assert schema["required"] == ["check_in", "check_out", "adults"]
    assert schema["properties"]["check_in"] == {
        "type": "string",
        "format": "date",
        "description": "Arrival date.",
    }


async def test_availability_prices_every_night_with_the_weekend_rate(concierge: Concierge) -> None:
    # Thursday 3rd to Sunday 6th December: Thu 189, Fri 219, Sat 219.
    answer = await run(
        concierge, "check_availability", check_in="2026-12-03", check_out="2026-12-06", adults=2
    )
    assert answer["available"] is True
    assert answer["nights"] == 3
    king = next(offer for offer in answer["offers"] if offer["room_type"] == "king")
    assert king["total"] == "$627.00"
    assert [night["rate"] for night in king["nightly_rates"]] == ["$189.00", "$219.00", "$219.00"]
    assert king["rooms_left"] == 2


async def test_pets_add_the_fee_and_rule_out_rooms_without_pets(concierge: Concierge) -> None:
    answer = await run(
        concierge,
        "check_availability",
        check_in="2026-12-01",
        check_out="2026-12-03",
        adults=2,
        pets=True,
    )
    assert [offer["room_type"] for offer in answer["offers"]] == ["king"]
    assert answer["offers"][0]["pet_fee"] == "$50.00"
    assert answer["offers"][0]["total_with_pet_fee"] == "$428.00"
    assert any("Suite" in reason for reason in answer["why_not_others"])


async def test_nothing_fits_explains_why(concierge: Concierge) -> None:
    answer = await run(
        concierge, "check_availability", check_in="2026-12-01", check_out="2026-12-02", adults=5
    )
    assert answer["available"] is False
    assert answer["why_not"]
    assert "suggestion" in answer


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"check_in": "2026-11-20", "check_out": "2026-11-22", "adults": 2}, "past"),
        ({"check_in": "2026-12-05", "check_out": "2026-12-05", "adults": 2}, "after"),
        ({"check_in": "2026-12-01", "check_out": "2026-12-03", "adults": 0}, "adult"),
        ({"check_in": "2026-12-01", "check_out": "2027-02-01", "adults": 2}, "30"),
        ({"check_in": "tomorrow", "check_out": "2026-12-03", "adults": 2}, "check_in"),
        (
            {"check_in": "2026-12-01", "check_out": "2026-12-03", "adults": 2, "room_type": "loft"},
            "King Room",
        ),
    ],
)
async def test_bad_requests_get_errors_the_model_can_relay(
    concierge: Concierge, arguments: dict[str, Any], fragment: str
) -> None:
    answer = await run(concierge, "check_availability", **arguments)
    assert set(answer) == {"error"}
    assert fragment in answer["error"]


async def test_a_lead_defaults_to_the_callers_number(
    concierge: Concierge, store: AsyncStore
) -> None:
    answer = await run(
        concierge,
        "create_lead",
        name="Ada Lovelace",
        check_in="2026-12-24",
        check_out="2026-12-27",
        adults=2,
        room_type="king",
        notes="anniversary",
    )
    assert answer["saved"] is True
    assert answer["phone"] == CALLER
    (lead,) = await store.leads("sunset")
    assert lead.id == answer["lead_id"]
    assert lead.name == "Ada Lovelace"
    assert lead.call_sid == "CA1"
    assert lead.check_in == dt.date(2026, 12, 24)
    assert lead.notes == "anniversary"


async def test_a_lead_with_a_bad_phone_or_email_is_refused(
    concierge: Concierge, store: AsyncStore
) -> None:
    bad_phone = await run(concierge, "create_lead", name="Ada", phone="555-1234")
    assert "country code" in bad_phone["error"]
    bad_email = await run(concierge, "create_lead", name="Ada", email="ada-at-example")
    assert "email" in bad_email["error"]
    assert await store.leads("sunset") == ()


async def test_payment_link_holds_the_room_records_the_link_and_texts_it(
    concierge: Concierge, store: AsyncStore, twilio: FakeTwilioRest
) -> None:
    answer = await run(
        concierge,
        "generate_payment_link",
        room_type="suite",
        check_in="2026-12-01",
        check_out="2026-12-03",
        adults=2,
        guest_name="Ada Lovelace",
    )
    assert answer["amount"] == "$698.00"
    assert answer["held_for_minutes"] == 30
    assert answer["link_sent"] is True
    assert answer["sent_to"] == CALLER
    hold = await store.get_hold(answer["hold_id"])
    assert hold is not None and hold.is_active(NOW)
    (message,) = twilio.messages
    assert message["to"] == CALLER
    assert message["from"] == HOTEL_NUMBER
    token = message["body"].split("/pay/")[1].split(" ")[0]
    link = await store.payment_link(token)
    assert link is not None
    assert link.amount_cents == 69800
    assert link.hold_id == hold.id
    (sms,) = await store.sms_outbox("sunset")
    assert sms.status == "queued"
    assert sms.provider_id == message["sid"]
    # The only suite is now held: the same request is sold out.
    again = await run(
        concierge, "check_availability", check_in="2026-12-02", check_out="2026-12-04", adults=3
    )
    assert again["available"] is False


async def test_a_payment_failure_releases_the_hold(
    store: AsyncStore, http: httpx.AsyncClient
) -> None:
    concierge = Concierge(
        book=PropertyBook((SUNSET,)),
        store=store,
        payments=StripePaymentLinks(http, "sk_test_x", "http://127.0.0.1:9"),
        rest=None,
        timeout_s=5,
        clock=lambda: NOW,
    )
    answer = await run(
        concierge,
        "generate_payment_link",
        room_type="suite",
        check_in="2026-12-01",
        check_out="2026-12-03",
        adults=2,
        guest_name="Ada",
    )
    assert "not held" in answer["error"]
    offers = await store.availability(
        "sunset", dt.date(2026, 12, 1), dt.date(2026, 12, 3), 3, now=NOW
    )
    assert [offer.room_type for offer in offers.offers] == ["suite"]


async def test_stripe_not_answering_releases_the_hold_and_says_so(
    store: AsyncStore, http: httpx.AsyncClient, nursery: trio.Nursery, tmp_path: Path
) -> None:
    stripe = await start_fake_stripe(nursery, api_key="sk_test_x")
    stripe.stall = True
    concierge = Concierge(
        book=PropertyBook((SUNSET,)),
        store=store,
        payments=StripePaymentLinks(http, "sk_test_x", stripe.base_url),
        rest=None,
        timeout_s=0.5,  # real time: the store's threads and the socket are real
        clock=lambda: NOW,
    )
    with trio.fail_after(10):  # a bound on a hang, far above the deadline
        answer = await run(
            concierge,
            "generate_payment_link",
            room_type="suite",
            check_in="2026-12-01",
            check_out="2026-12-03",
            adults=2,
            guest_name="Ada",
        )
    assert "did not answer in time; the room is not held" in answer["error"]
    assert [path for path, _, _ in stripe.requests] == ["/v1/prices"]  # it stalled, not failed
    with sqlite3.connect(tmp_path / "hotel.db") as conn:
        holds = conn.execute("SELECT status FROM holds").fetchall()
    assert holds == [("released",)]
    offers = await store.availability(
        "sunset", dt.date(2026, 12, 1), dt.date(2026, 12, 3), 3, now=NOW
    )
    assert [offer.room_type for offer in offers.offers] == ["suite"]


async def test_a_locked_database_does_not_stretch_a_tools_deadline(
    store: AsyncStore, tmp_path: Path
) -> None:
    concierge = Concierge(
        book=PropertyBook((SUNSET,)),
        store=store,
        payments=LocalPaymentLinks(b"s" * 32, "https://hotel.example.com"),
        rest=None,
        timeout_s=0.5,  # real time: a locked SQLite is waited on in a thread
        clock=lambda: NOW,
    )
    stay = {"check_in": "2026-12-01", "check_out": "2026-12-03", "adults": 2}
    with contextlib.closing(sqlite3.connect(tmp_path / "hotel.db")) as other:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock throughout
        with trio.fail_after(5):  # a bound on a hang (the busy timeout was 5 s per write)
            lead = await run(concierge, "create_lead", name="Ada", **stay)
            held = await run(
                concierge, "generate_payment_link", room_type="suite", guest_name="Ada", **stay
            )
            # A read is not held up by the lock (WAL) nor by the writes that waited on it.
            seen = await run(concierge, "check_availability", **stay)
        assert "create_lead timed out after 0.5 s" in lead["error"]
        assert "generate_payment_link timed out after 0.5 s" in held["error"]
        assert seen["available"] is True
        other.execute("ROLLBACK")
    # Nothing that timed out was written behind the tool's back, and the store works.
    assert await store.leads("sunset") == ()
    with sqlite3.connect(tmp_path / "hotel.db") as conn:
        assert conn.execute("SELECT count(*) FROM holds").fetchone() == (0,)
    saved = await run(concierge, "create_lead", name="Ada", **stay)
    assert saved["saved"] is True


async def test_transfer_goes_to_the_department_or_the_front_desk(concierge: Concierge) -> None:
    outcome = await concierge.registry.execute(
        ToolCall("t1", "transfer_to_human", '{"department": "housekeeping", "reason": "towels"}'),
        CALL,
    )
    assert outcome.transfer is not None
    assert (outcome.transfer.number, outcome.transfer.department) == (
        "+15550000002",
        "housekeeping",
    )
    other = await concierge.registry.execute(
        ToolCall("t2", "transfer_to_human", '{"department": "spa", "reason": "massage"}'), CALL
    )
    assert other.transfer is not None
    assert other.transfer.department == "front_desk"
    assert "front desk" in json.loads(other.output)["note"]


async def test_send_sms_records_and_sends_then_failures_are_recorded(
    concierge: Concierge, store: AsyncStore, twilio: FakeTwilioRest
) -> None:
    answer = await run(concierge, "send_sms", to="+1 (555) 765-4321", message="12 Ocean Drive")
    assert answer == {"sent_to": CALLER, "status": "queued"}
    twilio.fail_with = 500
    failed = await run(concierge, "send_sms", to=CALLER, message="second")
    assert "could not be sent" in failed["error"]
    statuses = {sms.body: sms for sms in await store.sms_outbox("sunset")}
    first, second = statuses["12 Ocean Drive"], statuses["second"]
    assert (first.status, second.status) == ("queued", "failed")
    assert "HTTP 500" in (second.error or "")
    assert TOKEN not in (second.error or "")


async def test_without_twilio_an_sms_is_saved_for_staff(store: AsyncStore) -> None:
    concierge = Concierge(
        book=PropertyBook((SUNSET,)),
        store=store,
        payments=LocalPaymentLinks(b"s" * 32, "https://h"),
        rest=None,
        timeout_s=5,
        clock=lambda: NOW,
    )
    answer = await run(concierge, "send_sms", to=CALLER, message="hello")
    assert answer["status"] == "saved for staff"
    (sms,) = await store.sms_outbox("sunset")
    assert sms.status == "unsent"


async def test_callback_tomorrow_at_3pm_is_hotel_time(
    concierge: Concierge, store: AsyncStore
) -> None:
    answer = await run(
        concierge, "schedule_callback", phone=CALLER, when="tomorrow at 3 pm", reason="group rates"
    )
    assert answer["when"] == "tomorrow at 3 PM"
    (callback,) = await store.callbacks("sunset")
    # 15:00 in Los Angeles on 26 November is 23:00 UTC.
    assert callback.when == dt.datetime(2026, 11, 26, 23, 0, tzinfo=dt.UTC)
    assert callback.reason == "group rates"


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("tomorrow at 8 pm", "between 9 AM and 6 PM"),
        ("today at 9:30 am", "past"),
        ("whenever", "no time of day"),
        ("2026-11-26T07:00", "between"),
    ],
)
async def test_callbacks_outside_hours_or_in_the_past_are_refused(
    concierge: Concierge, when: str, fragment: str
) -> None:
    answer = await run(concierge, "schedule_callback", phone=CALLER, when=when, reason="x")
    assert fragment in answer["error"]


async def test_hotel_info_comes_from_the_property(concierge: Concierge) -> None:
    assert (await run(concierge, "get_hotel_info", topic="check_in"))["answer"] == (
        "Check-in is from 3 PM."
    )
    assert "pool" in (await run(concierge, "get_hotel_info", topic="amenities"))["answer"]


async def test_the_registry_serves_the_bridge_with_the_dialed_property(
    concierge: Concierge,
) -> None:
    outcome = await concierge.registry.execute(
        ToolCall("call_9", "get_hotel_info", '{"topic": "location"}'),
        CallContext("CA9", CALLER, HOTEL_NUMBER),
    )
    assert json.loads(outcome.output)["answer"] == "12 Ocean Drive, Santa Monica"
