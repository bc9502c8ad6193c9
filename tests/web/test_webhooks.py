"""The voice webhook's answers that depend on the token store, in process (httpx over ASGI)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hotelvoice.config import Settings
from hotelvoice.metrics import Metrics
from hotelvoice.telephony.tokens import StreamTokens
from hotelvoice.web.app import create_app
from tests.fakes.serving import asgi_client

FRONT_DESK = "+15550000000"


def call(n: int) -> str:
    return f"CA{n:032x}"


async def test_when_tokens_are_full_the_front_desk_takes_the_call() -> None:
    metrics = Metrics()
    settings = Settings(validate_signatures=False, front_desk_phone=FRONT_DESK)
    app = create_app(
        settings, connector=None, hotel=False, metrics=metrics, tokens=StreamTokens(max_pending=1)
    )
    async with asgi_client(app) as http:
        first = await http.post("/twilio/voice", data={"CallSid": call(1)})
        assert "<Stream" in first.text
        flood = await http.post("/twilio/voice", data={"CallSid": call(2)})
    assert flood.status_code == 200
    verbs = [(child.tag, child.text) for child in ET.fromstring(flood.text)]
    assert verbs[-1] == ("Dial", FRONT_DESK)
    assert "Stream" not in flood.text
    assert metrics.get("hotelvoice_webhooks_total", outcome="tokens_full") == 1


async def test_unsigned_development_mode_reads_the_form_without_a_signature() -> None:
    app = create_app(Settings(validate_signatures=False), connector=None, hotel=False)
    async with asgi_client(app) as http:
        answer = await http.post("/twilio/voice", data={"CallSid": call(7), "From": "+1555"})
    assert answer.status_code == 200
    assert "<Stream" in answer.text


async def test_signatures_checked_with_no_token_refuse_everything_unread() -> None:
    metrics = Metrics()
    app = create_app(Settings(), connector=None, hotel=False, metrics=metrics)
    async with asgi_client(app) as http:
        answer = await http.post(
            "/twilio/voice", data={"CallSid": call(7)}, headers={"X-Twilio-Signature": "x"}
        )
    assert answer.status_code == 403
    refused = metrics.get("hotelvoice_webhooks_refused_total", route="voice", reason="no_token")
    assert refused == 1
