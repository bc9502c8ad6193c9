"""A call bridge wired to a scripted fake model on loopback and Twilio's side in memory.

Twilio's end of the media socket is held in memory (the network edge), so these tests run
under trio's autojump clock and every deadline can be checked to the millisecond.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import httpx
import pytest
import trio

from hotelvoice.calls.bridge import CallServices, serve_media_stream
from hotelvoice.calls.ports import CallContext, CallObservers, ToolRegistry
from hotelvoice.calls.session import CallSession
from hotelvoice.config import Settings
from hotelvoice.hotel.basic import BasicHotelTools, basic_instructions
from hotelvoice.metrics import Metrics
from hotelvoice.realtime.connector import OpenAIConnector
from hotelvoice.telephony.rest import TwilioRest
from hotelvoice.telephony.tokens import StreamTokens
from tests.fakes.realtime_server import FakeRealtimeServer, start_fake_realtime
from tests.fakes.twilio_media import validate_outbound
from tests.fakes.twilio_rest import FakeTwilioRest, start_fake_twilio_rest


async def start_rest(nursery: trio.Nursery) -> FakeTwilioRest:
    return await start_fake_twilio_rest(nursery, account_sid=ACCOUNT, auth_token="token")


ACCOUNT = "AC" + "a" * 32
CALL = "CA" + "b" * 32
STREAM = "MZ" + "c" * 32


class MemoryTwilio:
    """Twilio's side of one media socket. ``receive``/``send`` are what the bridge sees."""

    def __init__(self, *, echo_marks: bool = True) -> None:
        self._to_app, self._from_twilio = trio.open_memory_channel[str](math.inf)
        self.sent: list[dict[str, Any]] = []
        self.echo_marks = echo_marks
        self._sequence = 0
        self._changed = trio.Event()

    # --- the bridge's side
    async def receive(self) -> str:
        return await self._from_twilio.receive()

    async def send(self, data: str) -> None:
        message = json.loads(data)
        validate_outbound(message)
        assert message["streamSid"] == STREAM
        self.sent.append(message)
        if message["event"] == "mark" and self.echo_marks:
            self.push("mark", mark={"name": message["mark"]["name"]})
        self._changed.set()
        self._changed = trio.Event()
        await trio.lowlevel.checkpoint()

    # --- Twilio's side
    def push(self, event: str, **body: Any) -> None:
        self._sequence += 1
        message = {"event": event, "sequenceNumber": str(self._sequence), "streamSid": STREAM}
        message.update(body)
        self._to_app.send_nowait(json.dumps(message))

    def push_raw(self, text: str) -> None:
        self._to_app.send_nowait(text)

    def start(self, token: str) -> None:
        self._to_app.send_nowait(
            json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        )
        self.push(
            "start",
            start={
                "streamSid": STREAM,
                "accountSid": ACCOUNT,
                "callSid": CALL,
                "tracks": ["inbound"],
                "customParameters": {"token": token, "From": "+15551230001", "To": "+1555"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        )

    def media(self, payload: str) -> None:
        self.push(
            "media", media={"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload}
        )

    def stop(self) -> None:
        self.push("stop", stop={"accountSid": ACCOUNT, "callSid": CALL})

    def drop(self) -> None:
        self._to_app.close()

    def of_event(self, event: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["event"] == event]

    async def wait_for(self, predicate: Callable[[MemoryTwilio], bool]) -> None:
        while not predicate(self):
            await self._changed.wait()


@attrs.define
class Harness:
    model: FakeRealtimeServer
    services: CallServices
    twilio: MemoryTwilio
    session: CallSession | None = None
    done: trio.Event = attrs.Factory(trio.Event)
    ended_at: float | None = None

    def _started(self, session: CallSession) -> None:
        self.session = session

    def session_now(self) -> CallSession:
        """The live session (the bridge's), once the call has started."""
        assert self.session is not None, "the call has not started"
        return self.session

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        token = self.services.tokens.mint(CALL, trio.current_time())
        self.twilio.start(token)
        task_status.started()
        self.session = await serve_media_stream(self.twilio, self.services, on_start=self._started)
        self.ended_at = trio.current_time()
        self.done.set()


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def make_harness(nursery: trio.Nursery, http_client: httpx.AsyncClient) -> Callable[..., Any]:
    async def make(
        *,
        tools: ToolRegistry | None = None,
        echo_marks: bool = True,
        rest: FakeTwilioRest | None = None,
        observers: CallObservers | None = None,
        **overrides: Any,
    ) -> Harness:
        model = await start_fake_realtime(nursery, **overrides.pop("fake", {}))
        settings = attrs.evolve(
            Settings(
                openai_api_key="sk-test",
                openai_realtime_url=model.url,
                twilio_account_sid=ACCOUNT,
                front_desk_phone="+15550000000",
            ),
            **overrides,
        )

        def instructions(context: CallContext) -> str:
            return basic_instructions(settings, context)

        services = CallServices(
            settings=settings,
            metrics=Metrics(),
            tokens=StreamTokens(),
            tools=tools or BasicHotelTools(settings),
            connector=OpenAIConnector(
                url=model.url,
                model=settings.openai_model,
                api_key="sk-test",
                connect_timeout=settings.model_setup_timeout_s,
            ),
            rest=None
            if rest is None
            else TwilioRest(
                http_client, account_sid=ACCOUNT, auth_token="token", api_base=rest.base_url
            ),
            instructions=instructions,
            observers=observers,
        )
        return Harness(model=model, services=services, twilio=MemoryTwilio(echo_marks=echo_marks))

    return make
