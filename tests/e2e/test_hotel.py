"""The hotel through a whole call: the model asks the store, texts a payment link, and the call
is recorded; a returning caller is recognised. Real app under Hypercorn, fakes at the edges."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import trio

from hotelvoice.hotel.store import Store
from tests.e2e.conftest import Stack, expect_tool_output

TIMEOUT = 15
CALLER = "+15551230001"  # inbound_call_form's default From


def stay(days_ahead: int, nights: int) -> tuple[str, str]:
    start = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days_ahead)
    return start.isoformat(), (start + dt.timedelta(days=nights)).isoformat()


async def test_availability_from_the_store_reaches_the_model_and_the_call_is_recorded(
    stack: Stack,
) -> None:
    check_in, check_out = stay(10, 2)
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            update = await model.expect("session.update")
            instructions = update["session"]["instructions"]
            assert "Today is" in instructions and "King Room" in instructions
            names = {tool["name"] for tool in update["session"]["tools"]}
            assert names >= {"check_availability", "create_lead", "schedule_callback"}
            note = await model.expect("conversation.item.create")
            assert CALLER in note["item"]["content"][0]["text"]
            await model.expect("response.create")
            await model.speak(b"\xff" * 320, transcript="Hello, Sunset Inn, how can I help?")
            await model.input_transcript("do you have a room for two adults")
            call_id = await model.call_function(
                "check_availability", {"check_in": check_in, "check_out": check_out, "adults": 2}
            )
            created = await expect_tool_output(model)
            assert created["item"]["call_id"] == call_id
            answer = json.loads(created["item"]["output"])
            assert answer["available"] is True
            king = next(o for o in answer["offers"] if o["room_type"] == "king")
            assert king["rooms_left"] == 10
            assert king["total"] in {"$378.00", "$408.00", "$438.00"}  # weekday/weekend nights
            await model.expect("response.create")
            await call.hang_up()
            await model.closed.wait()
        await stack.wait_idle()
    with Store.open(Path(stack.settings.db_path)) as store:
        record = store.call_record(call.call_sid)
    assert record is not None
    assert record.ended_at is not None
    assert record.caller == CALLER
    assert [turn.role for turn in record.turns] == ["assistant", "caller", "tool"]
    assert record.turns[2].tool_name == "check_availability"
    assert record.guest["adults"] == 2
    assert "check availability" in (record.summary or "")


async def test_payment_link_is_texted_and_its_page_shows_the_stay(stack: Stack) -> None:
    check_in, check_out = stay(20, 3)
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as call:
            model = await stack.model.next_session()
            await model.expect("response.create")
            await model.call_function(
                "generate_payment_link",
                {
                    "room_type": "suite",
                    "check_in": check_in,
                    "check_out": check_out,
                    "adults": 2,
                    "guest_name": "Ada Lovelace",
                },
            )
            created = await expect_tool_output(model)
            answer = json.loads(created["item"]["output"])
            assert answer["link_sent"] is True
            assert answer["sent_to"] == CALLER
            await call.hang_up()
    (message,) = stack.rest.messages
    url = next(word for word in message["body"].split() if "/pay/" in word)
    assert url.startswith("https://hotel.example.com/pay/")
    page = await stack.http.get(url.removeprefix("https://hotel.example.com"))
    assert page.status_code == 200
    assert "Ada Lovelace" in page.text and answer["amount"] in page.text
    forged = await stack.http.get("/pay/abc.123.def")
    assert forged.status_code == 404


async def test_a_returning_caller_is_named_to_the_model(stack: Stack) -> None:
    with trio.fail_after(TIMEOUT):
        async with stack.dial() as first:
            model = await stack.model.next_session()
            await model.expect("response.create")
            await model.call_function("create_lead", {"name": "Grace Hopper"})
            created = await expect_tool_output(model)
            assert json.loads(created["item"]["output"])["saved"] is True
            await first.hang_up()
        await stack.wait_idle()
        async with stack.dial() as second:
            model = await stack.model.next_session()
            notes = [await model.expect("conversation.item.create") for _ in range(2)]
            texts = [note["item"]["content"][0]["text"] for note in notes]
            assert any("returning caller: Grace Hopper" in text for text in texts)
            await model.expect("response.create")
            await second.hang_up()
