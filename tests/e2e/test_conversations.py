"""Conversations in other words than the README's, through the real server on its embedded
defaults and the softphone: an espeak caller, the Piper agent, Whisper listening, the
telephone channel between. Each checks what a hotel would find afterwards: the store's
callbacks, leads and holds, the transfer asked of Twilio, the call's record.

The caller's lines are ones Whisper tiny.en hears from the softphone's espeak voice (its
"yes" is heard as "yet", so the yeses are "please do" and "that's right").
"""

from __future__ import annotations

import datetime as dt
import json

from hotelvoice.hotel.store import Store
from tests.e2e.conftest import LocalServer, softphone_call, transcript

SIDE_EFFECTS = ("create_lead", "generate_payment_link", "send_sms", "schedule_callback")


async def test_parking_and_breakfast_are_answered_and_nothing_is_booked(
    local_server: LocalServer,
) -> None:
    record, call = await softphone_call(
        local_server,
        ["Do you have parking?", "Is breakfast included?", "That's all, goodbye."],
    )
    heard = transcript(call)
    said = [turn.text.lower() for turn in call.turns if turn.role == "assistant"]
    assert any("parking" in text for text in said), heard
    assert any("breakfast" in text for text in said), heard
    tools = [turn.tool_name for turn in call.turns if turn.role == "tool"]
    assert not set(tools) & {*SIDE_EFFECTS, "transfer_to_human"}, heard
    # The goodbye hangs up (Status=completed); nothing was transferred (no TwiML to dial).
    asked = [r.form for r in local_server.rest.requests if r.call_sid == record.call_sid]
    assert all("Twiml" not in form for form in asked), asked
    with Store.open(local_server.db) as store:
        assert store.leads("default") == ()
        assert store.callbacks("default") == ()


async def test_a_callback_tomorrow_at_3_pm_lands_in_the_callbacks_table(
    local_server: LocalServer,
) -> None:
    _, call = await softphone_call(
        local_server,
        ["Can you call me back tomorrow at 3 pm?", "That's right.", "Thank you, goodbye."],
    )
    heard = transcript(call)
    with Store.open(local_server.db) as store:
        callbacks = store.callbacks("default")
    assert len(callbacks) == 1, heard
    (callback,) = callbacks
    # The hotel's zone on the embedded defaults is UTC: "tomorrow at 3 pm" there.
    assert local_server.settings.hotel_timezone == "UTC"
    when = callback.when.astimezone(dt.UTC)
    assert when.date() == call.started_at.astimezone(dt.UTC).date() + dt.timedelta(days=1)
    assert (when.hour, when.minute) == (15, 0), heard
    assert callback.phone == call.caller  # the number the caller is calling from
    tools = [turn.tool_name for turn in call.turns if turn.role == "tool"]
    assert tools == ["schedule_callback"], heard


async def test_a_broken_air_conditioner_is_put_through_to_maintenance_after_a_yes(
    local_server: LocalServer,
) -> None:
    _, call = await softphone_call(
        local_server, ["The air conditioner in room 212 is broken.", "Please do."]
    )
    heard = transcript(call)
    transfers = [turn for turn in call.turns if turn.tool_name == "transfer_to_human"]
    assert len(transfers) == 1, heard
    arguments = json.loads(transfers[0].tool_arguments or "{}")
    assert arguments["department"] == "maintenance", heard
    assert "212" in arguments["reason"], heard
    assert "air condition" in arguments["reason"].lower(), heard
    # Offered first, put through only on the yes: the offer is the agent's turn before it.
    before = [turn for turn in call.turns if turn.seq < transfers[0].seq]
    assert "maintenance" in next(t.text for t in reversed(before) if t.role == "assistant")


async def test_a_goodbye_ends_the_call_with_no_stay_recorded(local_server: LocalServer) -> None:
    # One short line: espeak pauses long at a comma or a full stop, and the detector then
    # hears "Great, thanks. Goodbye." as three turns.
    record, call = await softphone_call(local_server, ["Is breakfast included?", "Bye now."])
    heard = transcript(call)
    # The agent said goodbye and hung up: through Twilio's REST API, as the server does when
    # it has credentials (Twilio then ends the call).
    hang_ups = [r for r in local_server.rest.requests if r.call_sid == record.call_sid]
    assert [r.form.get("Status") for r in hang_ups] == ["completed"], (heard, call.end_reason)
    tools = [turn.tool_name for turn in call.turns if turn.role == "tool"]
    assert not set(tools) & {*SIDE_EFFECTS, "transfer_to_human"}, heard
    assert call.guest.get("check_in") is None, heard
    assert "stay" not in (call.summary or "").lower(), call.summary
    with Store.open(local_server.db) as store:
        assert store.leads("default") == ()
