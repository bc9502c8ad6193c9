"""SIGTERM and SIGINT of a real ``hotelvoice serve`` with live calls (web/drain.py).

The server runs as a subprocess on loopback against the scripted fake Realtime server and the
fake Twilio REST API, both run by the test; the calls dial in as Twilio does (a signed webhook,
then the media stream). What Twilio would do on its side is played by the test: once the REST
transfer arrives, it stops that call's stream.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio

from hotelvoice.web.drain import DRAINING_DIAL_MESSAGE
from tests.e2e.conftest import ACCOUNT_SID, AUTH_TOKEN, FRONT_DESK, PUBLIC_URL, place_call
from tests.fakes.realtime_server import FakeRealtimeServer, FakeSession, start_fake_realtime
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_rest import FakeTwilioRest, start_fake_twilio_rest
from tests.fakes.twilio_webhook import (
    inbound_call_form,
    parse_twiml_verbs,
    signed_webhook,
)
from tests.web.test_cli import free_port

CALLS = 5  # as in the finding: SIGTERM during 5 calls


async def say_something(session: FakeSession, event: dict[str, Any]) -> None:
    """The fake model's answer to every response.create (the greeting, the apology)."""
    await session.speak(b"\xff" * 1600)


@attrs.define
class Server:
    process: trio.Process
    url: str
    log: Path
    db: Path
    http: httpx.AsyncClient
    model: FakeRealtimeServer
    rest: FakeTwilioRest

    async def webhook(self, call_sid: str) -> httpx.Response:
        form = inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID)
        headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", AUTH_TOKEN, form)
        return await self.http.post("/twilio/voice", data=fields, headers=headers)

    @contextlib.asynccontextmanager
    async def dial(self) -> AsyncIterator[tuple[FakeTwilioCall, FakeSession]]:
        """A call as Twilio places it, once the concierge's greeting has played."""
        ws_url = self.url.replace("http://", "ws://")
        async with place_call(self.http, ws_url, new_sid("CA")) as call:
            model = await self.model.next_session()
            await call.wait_for_media(1600)
            yield call, model

    def records(self) -> dict[str, tuple[str | None, str | None]]:
        """``call_sid -> (ended_at, end_reason)`` from the server's store."""
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            rows = db.execute("SELECT call_sid, ended_at, end_reason FROM calls").fetchall()
        return {sid: (ended_at, reason) for sid, ended_at, reason in rows}


@contextlib.asynccontextmanager
async def serve(nursery: trio.Nursery, tmp_path: Path, **env: str) -> AsyncIterator[Server]:
    """``python -m hotelvoice serve`` on a free loopback port; killed if it outlives the test."""
    model = await start_fake_realtime(nursery, auto_respond_to_response_create=say_something)
    rest = await start_fake_twilio_rest(nursery, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)
    port = free_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE": rest.base_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_REALTIME_URL": model.url,
        "FRONT_DESK_PHONE": FRONT_DESK,
        "HOTELVOICE_DB": str(tmp_path / "hotelvoice.db"),
        "HOTELVOICE_SILENCE_TIMEOUT": "600",
        **env,
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "hotelvoice", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            with trio.fail_after(60):
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.poll() is None, log.read_text()
                    await trio.sleep(0.05)
            yield Server(process, url, log, tmp_path / "hotelvoice.db", http, model, rest)
    finally:
        if process.poll() is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


async def wait_draining(server: Server) -> dict[str, Any]:
    """Poll ``/healthz`` until it says 503 (the signal reaches the server asynchronously)."""
    with trio.fail_after(10):
        while True:
            health = await server.http.get("/healthz")
            if health.status_code == 503:
                # No keep-alive to a stopping server: Hypercorn would wait for the connection.
                assert health.headers["connection"] == "close"
                answer: dict[str, Any] = health.json()
                return answer
            await trio.sleep(0.01)


async def test_sigterm_drains_the_live_calls_then_hands_them_to_the_front_desk(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    async with (
        serve(nursery, tmp_path, HOTELVOICE_DRAIN_TIMEOUT="3") as server,
        contextlib.AsyncExitStack() as stack,
    ):
        live = [await stack.enter_async_context(server.dial()) for _ in range(CALLS)]
        calls = {call.call_sid: call for call, _ in live}
        server.process.send_signal(signal.SIGTERM)
        signalled = trio.current_time()
        # At once: load balancers are told, and new callers go to the front desk.
        health = await wait_draining(server)
        unhealthy_after = trio.current_time() - signalled
        assert health["status"] == "draining" and health["calls_active"] == CALLS
        assert health["phase"] == "draining" and 0 < health["hand_over_in_s"] <= 3
        answer = await server.webhook(new_sid("CA"))
        assert answer.status_code == 200
        assert parse_twiml_verbs(answer.text) == [
            ("Say", DRAINING_DIAL_MESSAGE),
            ("Dial", FRONT_DESK),
        ]
        # The live calls go on: the concierge still hears every caller.
        for call, model in live:
            await call.send_media(b"\x7f" * 160)
            await model.expect("input_audio_buffer.append")
        # ... until the drain timeout: then an apology each, and the REST transfer.
        handed_over: list[float] = []
        for _ in range(CALLS):
            request = await server.rest.wait_for_request()
            handed_over.append(trio.current_time() - signalled)
            assert request.authenticated
            assert request.form["Twiml"].endswith(f">{FRONT_DESK}</Dial></Response>")
            await calls[request.call_sid].hang_up()  # Twilio stops the stream
        for call, model in live:
            apology = model.of_type("response.create")[-1]
            assert "pass you to a colleague" in apology["response"]["instructions"]
            assert not call.violations
        with trio.fail_after(60):
            await server.process.wait()
        stopped_after = trio.current_time() - signalled
    assert server.process.returncode == 0, server.log.read_text()
    assert min(handed_over) >= 3.0  # not before HOTELVOICE_DRAIN_TIMEOUT
    records = server.records()
    assert {sid: reason for sid, (_, reason) in records.items()} == dict.fromkeys(
        calls, "handed over at shutdown"
    )
    assert all(ended_at is not None for ended_at, _ in records.values())
    server.model.assert_clean()
    log = server.log.read_text()
    assert "drained in" in log and "Traceback" not in log
    print(
        f"\n{CALLS} calls, HOTELVOICE_DRAIN_TIMEOUT=3: /healthz 503 after {unhealthy_after:.3f} s; "
        f"transfers at {min(handed_over):.2f}-{max(handed_over):.2f} s; exit 0 after "
        f"{stopped_after:.2f} s"
    )


@pytest.mark.parametrize(
    ("first", "second"), [(signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)]
)
async def test_a_second_signal_ends_the_calls_at_once_with_their_records_saved(
    nursery: trio.Nursery, tmp_path: Path, first: signal.Signals, second: signal.Signals
) -> None:
    async with (
        serve(nursery, tmp_path, HOTELVOICE_DRAIN_TIMEOUT="600") as server,
        contextlib.AsyncExitStack() as stack,
    ):
        live = [await stack.enter_async_context(server.dial()) for _ in range(2)]
        server.process.send_signal(first)
        await wait_draining(server)
        server.process.send_signal(second)
        signalled = trio.current_time()
        with trio.fail_after(60):  # well before the 600 s drain timeout
            await server.process.wait()
        stopped_after = trio.current_time() - signalled
        for call, _ in live:
            # Closed by the server: Twilio's TwiML tail then dials the front desk.
            assert await call.wait_closed_by_server() == 1000
    assert server.process.returncode == 0, server.log.read_text()
    assert server.rest.requests == []
    assert "Traceback" not in server.log.read_text()
    reasons = {reason for _, reason in server.records().values()}
    assert reasons == {"ended at shutdown (second signal)"}
    print(f"\n2 calls, second signal: exit 0 after {stopped_after:.2f} s")
