"""The real app under Hypercorn (trio worker) on loopback, a scripted fake Realtime server,
a fake Twilio REST server, and fake Twilio calls dialling in the way Twilio does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import attrs
import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from hypercorn.typing import ASGIFramework

from hotelvoice.config import Settings, settings_from_env
from hotelvoice.hotel.store import CallRecord as StoredCall
from hotelvoice.hotel.store import Store
from hotelvoice.metrics import Metrics
from hotelvoice.softphone.client import CallOptions, CallRecord, SoftphoneCall
from hotelvoice.softphone.script import load_lines, parse_entry
from hotelvoice.web.app import create_app
from hotelvoice.web.server import patch_hypercorn
from tests.fakes.realtime_server import FakeRealtimeServer, FakeSession, start_fake_realtime
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_rest import FakeTwilioRest, start_fake_twilio_rest
from tests.fakes.twilio_webhook import inbound_call_form, parse_stream_twiml, signed_webhook

PUBLIC_URL = "https://hotel.example.com"
AUTH_TOKEN = "twilio-auth-token-for-tests"
ACCOUNT_SID = "AC" + "1" * 32
FRONT_DESK = "+15550000000"
LOCAL_ACCOUNT_SID = "AC" + "5" * 32
ENGINE_KEY = "engine-key-for-tests"  # WS /v1/realtime's bearer key


async def expect_tool_output(model: FakeSession) -> dict[str, Any]:
    """The next ``function_call_output`` the bridge adds (skipping the hotel's context notes)."""
    while True:
        created = await model.expect("conversation.item.create")
        if created["item"]["type"] == "function_call_output":
            return created


@attrs.define
class Stack:
    http_url: str
    ws_url: str
    settings: Settings
    metrics: Metrics
    model: FakeRealtimeServer
    rest: FakeTwilioRest
    http: httpx.AsyncClient

    async def webhook(self, form: dict[str, str], *, signed: bool = True) -> httpx.Response:
        headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", AUTH_TOKEN, form)
        if not signed:
            headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
        return await self.http.post("/twilio/voice", data=fields, headers=headers)

    async def wait_metric(self, name: str, value: int, **labels: str) -> None:
        """Wait until the app's counter reaches ``value`` (it moves after socket traffic)."""
        for _ in range(2000):
            if self.metrics.get(name, **labels) == value:
                return
            await trio.sleep(0.005)
        raise AssertionError(f"{name}{labels} is {self.metrics.get(name, **labels)}, not {value}")

    async def wait_idle(self) -> None:
        """Wait until no call is active (a call's end is logged after its socket closes)."""
        await self.wait_metric("hotelvoice_calls_active", 0)

    @asynccontextmanager
    async def dial(self, **options: Any) -> AsyncIterator[FakeTwilioCall]:
        """Place a call like Twilio: the webhook, then the media stream it asks for."""
        async with place_call(self.http, self.ws_url, new_sid("CA"), **options) as call:
            yield call


@asynccontextmanager
async def place_call(
    http: httpx.AsyncClient,
    ws_url: str,
    call_sid: str,
    *,
    auth_token: str = AUTH_TOKEN,
    account_sid: str = ACCOUNT_SID,
    **options: Any,
) -> AsyncIterator[FakeTwilioCall]:
    """Place a call like Twilio on the server ``http`` talks to: the signed voice webhook, then
    the media stream its TwiML asks for, on ``ws_url``, with ``start`` sent."""
    form = inbound_call_form(call_sid=call_sid, account_sid=account_sid)
    headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", auth_token, form)
    answer = await http.post("/twilio/voice", data=fields, headers=headers)
    assert answer.status_code == 200, answer.text
    twiml = parse_stream_twiml(answer.text)
    async with FakeTwilioCall.connect(
        ws_url,
        public_url=PUBLIC_URL,
        auth_token=auth_token,
        call_sid=call_sid,
        account_sid=account_sid,
        parameters=twiml.parameters,
        **options,
    ) as call:
        await call.start()
        yield call


@pytest.fixture
async def stack(
    nursery: trio.Nursery, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Stack]:
    model = await start_fake_realtime(nursery)
    rest = await start_fake_twilio_rest(nursery, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    settings = Settings(
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=rest.base_url,
        openai_api_key="sk-test",
        openai_realtime_url=model.url,
        front_desk_phone=FRONT_DESK,
        housekeeping_phone="+15550000001",
        db_path=str(tmp_path / "hotelvoice.db"),
    )
    marker = request.node.get_closest_marker("settings")
    if marker is not None:
        settings = attrs.evolve(settings, **marker.kwargs)
    metrics = Metrics()
    app = create_app(settings, metrics=metrics)
    patch_hypercorn()  # as run_server does
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    config.worker_class = "trio"
    shutdown = trio.Event()
    stopped = trio.Event()

    async def run(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        # A plain ASGI callable, as in hotelvoice.web.server: hypercorn's TypedDicts are stricter.
        asgi = cast("ASGIFramework", app)
        await serve(asgi, config, shutdown_trigger=shutdown.wait, task_status=task_status)
        stopped.set()

    binds: list[str] = await nursery.start(run)
    http_url = binds[0]
    async with httpx.AsyncClient(base_url=http_url, timeout=10) as http:
        yield Stack(
            http_url=http_url,
            ws_url=http_url.replace("http://", "ws://"),
            settings=settings,
            metrics=metrics,
            model=model,
            rest=rest,
            http=http,
        )
    shutdown.set()  # a graceful stop runs the app's shutdown, which closes its REST client
    with trio.fail_after(10):
        await stopped.wait()


@attrs.frozen
class LocalServer:
    url: str
    db: Path
    rest: FakeTwilioRest
    metrics: Metrics
    settings: Settings


@pytest.fixture
async def local_server(nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[LocalServer]:
    rest = await start_fake_twilio_rest(
        nursery, account_sid=LOCAL_ACCOUNT_SID, auth_token=AUTH_TOKEN
    )
    # The embedded defaults, as `hotelvoice serve` reads them, plus Twilio credentials so
    # the transfer goes to the (fake) REST API instead of the TwiML fallback.
    settings = settings_from_env(
        {
            "TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE": rest.base_url,
            "FRONT_DESK_PHONE": FRONT_DESK,
            "HOTEL_NAME": "Sunset Inn",
            "HOTEL_LOCATION": "12 Ocean Drive, Santa Monica",
            "HOTELVOICE_DB": str(tmp_path / "hotelvoice.db"),
            "HOTELVOICE_ENGINE_KEY": ENGINE_KEY,
        },
        dotenv=None,
    )
    assert settings.openai_api_key is None  # the offline engine answers
    metrics = Metrics()
    app = create_app(settings, metrics=metrics)
    patch_hypercorn()  # as run_server does
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    shutdown = trio.Event()
    stopped = trio.Event()

    async def run(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        # A plain ASGI callable, as in hotelvoice.web.server: hypercorn's TypedDicts are stricter.
        asgi = cast("ASGIFramework", app)
        await serve(asgi, config, shutdown_trigger=shutdown.wait, task_status=task_status)
        stopped.set()

    binds: list[str] = await nursery.start(run)
    yield LocalServer(binds[0], tmp_path / "hotelvoice.db", rest, metrics, settings)
    shutdown.set()
    with trio.fail_after(15):
        await stopped.wait()


async def softphone_call(server: LocalServer, said: Sequence[str]) -> tuple[CallRecord, StoredCall]:
    """Call ``server`` with the softphone saying ``said`` (espeak, its default caller voice),
    as the README's ``hotelvoice call`` does; the softphone's record of the call and the
    server's, once the server has saved it."""
    lines = await trio.to_thread.run_sync(lambda: load_lines([parse_entry(text) for text in said]))
    options = CallOptions(
        server=server.url,
        public_url="http://127.0.0.1:8080",  # the server's PUBLIC_URL default
        auth_token=AUTH_TOKEN,
        account_sid=LOCAL_ACCOUNT_SID,
        speed=5.0,  # call time runs 5x: generous turn deadlines keep a busy machine in step
        max_seconds=300,
        greeting_timeout_s=60,
        answer_timeout_s=60,
        # A caller being put through waits for the hand-over rather than hanging up as the
        # goodbye ends: at 5x the default 0.7 s of quiet is 0.14 s, less than the engine may
        # take on a busy machine between its last sentence and the end of its response.
        quiet_s=5.0,
    )
    with trio.fail_after(180):
        record = await SoftphoneCall(options, lines).run()
    assert record.clean, record
    # The call's record is written once the server has seen the stream end.
    for _ in range(400):
        with Store.open(server.db) as store:
            call = store.call_record(record.call_sid)
        if call is not None and call.ended_at is not None:
            return record, call
        await trio.sleep(0.05)
    raise AssertionError(f"the server saved no record of {record.call_sid}")


def transcript(call: StoredCall) -> str:
    """The server's record of the call as lines, for assertion messages."""
    return "\n".join(f"{turn.role}: {turn.text} {turn.tool_result or ''}" for turn in call.turns)
