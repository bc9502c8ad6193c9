"""The routes while the server drains (web/drain.py): ``/healthz`` says 503 at once, and a new
call is answered with TwiML that dials the front desk of the property whose number was dialed."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from hotelvoice.config import Settings
from hotelvoice.web.app import HotelvoiceApp, create_app
from hotelvoice.web.drain import (
    DRAINING_DIAL_MESSAGE,
    DRAINING_NO_DESK_MESSAGE,
    DrainPhase,
    stop_budget,
)
from tests.fakes.serving import asgi_client
from tests.fakes.twilio_webhook import inbound_call_form, parse_twiml_verbs

PROPERTIES = """
[[property]]
id = "sunset"
name = "Sunset Inn"
phone_numbers = ["+15551230001"]
[property.departments]
front_desk = "+15551230000"
[[property.room_type]]
code = "king"
name = "King"
count = 1
max_guests = 2
rate = 100

[[property]]
id = "harbour"
name = "Harbour House"
phone_numbers = ["+15554560001"]
[property.departments]
front_desk = "+15554560000"
[[property.room_type]]
code = "king"
name = "King"
count = 1
max_guests = 2
rate = 100
"""


def make_app(tmp_path: Path) -> HotelvoiceApp:
    properties = tmp_path / "properties.toml"
    properties.write_text(PROPERTIES)
    settings = Settings(validate_signatures=False, properties_file=str(properties))
    return create_app(settings, hotel=False, connector=None)


async def test_health_turns_503_at_once_and_asks_for_no_keep_alive(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = app.quart.test_client()
    serving = await client.get("/healthz")
    assert serving.status_code == 200 and "connection" not in serving.headers
    app.drain.begin()
    draining = await client.get("/healthz")
    assert draining.status_code == 503
    assert draining.headers["connection"] == "close"
    body = await draining.get_json()
    assert body["status"] == "draining" and body["phase"] == str(DrainPhase.DRAINING)
    assert body["hand_over_in_s"] == pytest.approx(app.drain.settings.drain_timeout_s, abs=1)


@pytest.mark.parametrize(
    ("dialed", "desk"), [("+15554560001", "+15554560000"), ("+15551230001", "+15551230000")]
)
async def test_a_new_call_dials_the_front_desk_of_the_property_it_rang(
    tmp_path: Path, dialed: str, desk: str
) -> None:
    app = make_app(tmp_path)
    app.drain.begin()
    async with asgi_client(app) as http:
        answer = await http.post(
            "/twilio/voice", data=inbound_call_form(call_sid="CA" + "1" * 32, to=dialed)
        )
    assert answer.status_code == 200
    assert answer.headers["connection"] == "close"
    verbs = parse_twiml_verbs(answer.text)
    assert verbs == [("Say", DRAINING_DIAL_MESSAGE), ("Dial", desk)]
    assert app.drain.metrics.get("hotelvoice_webhooks_total", outcome="draining") == 1


async def test_with_no_front_desk_a_new_call_hears_an_apology_and_the_hang_up(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(validate_signatures=False), hotel=False, connector=None)
    app.drain.begin()
    async with asgi_client(app) as http:
        answer = await http.post("/twilio/voice", data=inbound_call_form(call_sid="CA" + "2" * 32))
    verbs = parse_twiml_verbs(answer.text)
    assert verbs == [("Say", DRAINING_NO_DESK_MESSAGE), ("Hangup", "")]


def test_the_stop_budget_covers_the_drain_the_hand_over_and_the_records() -> None:
    settings = Settings()
    # 120 s of drain, a hand-over bounded by three transfer deadlines (45 s), the records
    # (6 s, twice: the hand-over's and the cut's), Hypercorn's 5 s: what systemd must allow.
    assert stop_budget(settings) == pytest.approx(120 + 45 + 6 + 6 + 5)
    assert stop_budget(attrs.evolve(settings, drain_timeout_s=30.0)) < stop_budget(settings)
