"""Run by ``test_lazy_engine.py`` in a fresh interpreter (``-m tests.e2e.lazy_engine_probe``):
the real app under Hypercorn with an OpenAI key whose Realtime URL nobody answers on loopback.

Prints one JSON object: which speech modules the process had loaded once serving, whether the
offline engine's kit existed then, and the same after one call, which OpenAI cannot take and
the offline engine answers as the fallback (its greeting is audio Twilio receives).
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any, cast

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from hotelvoice.config import Settings
from hotelvoice.engine.connector import FallbackConnector, LocalConnector
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import load_property_book
from hotelvoice.web.app import create_app, default_connector
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_webhook import inbound_call_form, parse_stream_twiml, signed_webhook

PUBLIC_URL = "https://hotel.example.com"
AUTH_TOKEN = "twilio-auth-token-for-tests"
ACCOUNT_SID = "AC" + "1" * 32
# What loads models or native speech libraries: none of it may be imported before a fallback.
HEAVY_PREFIXES = (
    "numpy",
    "hotelvoice.codec.g711",
    "hotelvoice.codec.resample",
    "ctranslate2",
    "onnxruntime",
    "piper",
    "espeakng_loader",
    "hotelvoice.engine.session",
    "hotelvoice.engine.speech",
    "hotelvoice.speech.",
)


def heavy_modules() -> list[str]:
    return sorted(name for name in sys.modules if name.startswith(HEAVY_PREFIXES))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: connecting there is refused


async def place_call(http_url: str) -> int:
    """A call as Twilio places it; returns the bytes of agent audio heard."""
    import httpx

    call_sid = new_sid("CA")
    form = inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID)
    headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", AUTH_TOKEN, form)
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as http:
        answer = await http.post("/twilio/voice", data=fields, headers=headers)
    twiml = parse_stream_twiml(answer.text)
    async with FakeTwilioCall.connect(
        http_url.replace("http://", "ws://"),
        public_url=PUBLIC_URL,
        auth_token=AUTH_TOKEN,
        call_sid=call_sid,
        account_sid=ACCOUNT_SID,
        parameters=twiml.parameters,
    ) as call:
        await call.start()
        await call.wait_for_media(8000)  # a second of the greeting
        heard = len(call.media_out)
        await call.hang_up()
    return heard


async def main() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hotelvoice-lazy-"))
    settings = Settings(
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        openai_api_key="sk-test",
        openai_realtime_url=f"ws://127.0.0.1:{closed_port()}/v1/realtime",
        db_path=str(work / "hotelvoice.db"),
    )
    metrics = Metrics()
    connector = default_connector(settings, load_property_book(settings), metrics)
    assert isinstance(connector, FallbackConnector)
    engine = connector.fallback
    assert isinstance(engine, LocalConnector)
    app = create_app(settings, connector=connector, metrics=metrics)
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    done = trio.Event()
    result: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(
            lambda task_status: serve(
                cast("ASGIFramework", app),
                config,
                shutdown_trigger=done.wait,
                task_status=task_status,
            )
        )
        result["serving"] = {"heavy": heavy_modules(), "kit": engine.kit is not None}
        heard = await place_call(binds[0])
        for _ in range(1000):  # the call's end is counted once its tasks have stopped
            if not metrics.total("hotelvoice_calls_active"):
                break
            await trio.sleep(0.01)
        result["after_fallback"] = {
            # The engine loaded within the setup deadline: else it would have ended the call.
            "hung_up": metrics.get("hotelvoice_calls_ended_total", reason="hung_up"),
            "timed_out": metrics.get("hotelvoice_calls_ended_total", reason="timed_out"),
            "heavy": heavy_modules(),
            "kit": engine.kit is not None,
            "heard": heard,
            "fallbacks": metrics.total("hotelvoice_model_fallbacks_total"),
        }
        done.set()
    return result


if __name__ == "__main__":
    print(json.dumps(trio.run(main)))
