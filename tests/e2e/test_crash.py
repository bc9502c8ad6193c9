"""A real ``hotelvoice serve`` killed (SIGKILL) in the middle of five calls keeps their turns up
to the last flush, and the next start closes them as interrupted; a reused CallSid is refused.

The server is a subprocess on a free loopback port with its own SQLite file; the model is the
scripted fake Realtime server running in this test (OPENAI_REALTIME_URL), the calls are the
fake Twilio webhook and Media Streams clients, signed with a test auth token.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import httpx
import pytest
import trio

from hotelvoice.hotel.records import FLUSH_INTERVAL_S
from hotelvoice.hotel.service import INTERRUPTED
from tests.e2e.conftest import place_call
from tests.fakes.realtime_server import FakeRealtimeServer, FakeSession, start_fake_realtime
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_webhook import inbound_call_form, signed_webhook

PUBLIC_URL = "https://hotel.example.com"
AUTH_TOKEN = "twilio-auth-token-for-crash-tests"
ACCOUNT_SID = "AC" + "7" * 32
CALLS = 5
TURN_GAP_S = 0.1  # between one call's turns (a caller line, then an answer)
RUN_S = 2.5  # how long the calls talk before the kill
# What a kill may lose: the writer's flush interval, one write, and scheduling slack on a
# busy machine. The bound is a second.
LOSS_BOUND_S = 1.0
SERVE_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class Server:
    port: int
    process: trio.Process

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def serving(db: Path, model: FakeRealtimeServer, log: Path) -> AsyncIterator[Server]:
    """``hotelvoice serve`` on ``db``; waits for /healthz. Killed (if still alive) on exit."""
    prefixes = ("HOTELVOICE_", "TWILIO_", "OPENAI_", "HOTEL_", "PUBLIC_URL", "STRIPE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(
        PUBLIC_URL=PUBLIC_URL,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE="http://127.0.0.1:9",  # nothing leaves loopback
        OPENAI_API_KEY="sk-test",
        OPENAI_REALTIME_URL=model.url,
        HOTELVOICE_DB=str(db),
        HOTELVOICE_SILENCE_TIMEOUT="3600",
    )
    port = free_port()
    argv = [sys.executable, "-m", "hotelvoice", "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--log-level", "INFO"]
    with log.open("ab") as out:
        process = await trio.lowlevel.open_process(
            argv, env=env, cwd=db.parent, stdout=out, stderr=out, stdin=None
        )
    server = Server(port, process)
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=2) as http:
            with trio.fail_after(SERVE_TIMEOUT_S):
                while True:
                    if process.returncode is not None:
                        raise AssertionError(f"hotelvoice serve exited ({process.returncode})")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    await trio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.kill()
        with trio.move_on_after(10):
            await process.wait()


@attrs.define
class LiveCall:
    call: FakeTwilioCall
    model: FakeSession
    sent: list[tuple[float, str]] = attrs.field(factory=list)  # (when, text) of each turn


@contextlib.asynccontextmanager
async def dial(server: Server, call_sid: str) -> AsyncIterator[FakeTwilioCall]:
    """The webhook, then the media stream it asks for, with ``start`` sent."""
    ws_url = server.http_url.replace("http://", "ws://")
    async with (
        httpx.AsyncClient(base_url=server.http_url, timeout=5) as http,
        place_call(http, ws_url, call_sid, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID) as call,
    ):
        yield call


async def run_call(
    server: Server,
    model: FakeRealtimeServer,
    n: int,
    go: trio.Event,
    lives: dict[str, LiveCall],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Place call ``n``; once its model session is known, report started; talk after ``go``
    until cancelled."""
    call_sid = new_sid("CA")
    async with dial(server, call_sid) as call:
        session = await model.next_session()
        await session.expect("response.create")
        live = lives[call_sid] = LiveCall(call, session)
        task_status.started()
        await go.wait()
        await talk(live, n)


async def talk(live: LiveCall, n: int) -> None:
    """Caller lines and answers, TURN_GAP_S apart, until cancelled."""
    for k in range(10_000):
        line = f"call {n} caller line {k}"
        live.sent.append((trio.current_time(), line))
        await live.model.input_transcript(line)
        await trio.sleep(TURN_GAP_S)
        answer = f"call {n} answer {k}"
        live.sent.append((trio.current_time(), answer))
        await live.model.speak(b"\xff" * 160, transcript=answer)
        await trio.sleep(TURN_GAP_S)


def stored(db: Path) -> dict[str, tuple[str | None, str | None, list[str]]]:
    """Every call in ``db``: (ended_at, end_reason, turn texts)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        calls = conn.execute("SELECT call_sid, ended_at, end_reason FROM calls").fetchall()
        return {
            sid: (
                ended,
                reason,
                [
                    text
                    for (text,) in conn.execute(
                        "SELECT text FROM call_turns WHERE call_sid = ? ORDER BY seq", (sid,)
                    )
                ],
            )
            for sid, ended, reason in calls
        }


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_sigkill_mid_call_loses_at_most_the_last_flush_and_restart_closes_the_calls(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    db = tmp_path / "hotelvoice.db"
    log = tmp_path / "serve.log"
    model = await start_fake_realtime(nursery, fail_fast=False)
    lives: dict[str, LiveCall] = {}
    async with serving(db, model, log) as server:
        go = trio.Event()
        async with trio.open_nursery() as calls:
            with trio.fail_after(30):
                # One at a time, so each model session is known to be its call's.
                for n in range(CALLS):
                    await calls.start(run_call, server, model, n, go, lives)
            go.set()
            await trio.sleep(RUN_S)
            killed_at = trio.current_time()
            server.process.send_signal(signal.SIGKILL)
            with trio.fail_after(10):
                await server.process.wait()
            calls.cancel_scope.cancel()
    after_kill = stored(db)
    assert set(after_kill) == set(lives)
    lost: list[float] = []
    kept = sent_total = 0
    for call_sid, live in lives.items():
        ended, _, texts = after_kill[call_sid]
        assert ended is None  # cut mid-call
        assert texts == [text for _, text in live.sent[: len(texts)]]  # in order, no gaps
        sent = [(when, text) for when, text in live.sent if when < killed_at]
        sent_total += len(sent)
        kept += len(texts)
        lost += [killed_at - when for when, _ in sent[len(texts) :]]
        old = [text for when, text in sent if when < killed_at - LOSS_BOUND_S]
        assert texts[: len(old)] == old, f"{call_sid}: turns older than {LOSS_BOUND_S} s lost"
    oldest_lost_ms = round(max(lost, default=0.0) * 1000)
    print(
        f"SIGKILL after {RUN_S} s of {CALLS} calls: {kept} of {sent_total} turns kept, "
        f"{len(lost)} lost, the oldest lost turn sent {oldest_lost_ms} ms before the kill "
        f"(flush interval {FLUSH_INTERVAL_S * 1000:.0f} ms)"
    )
    assert kept >= sent_total * 0.5  # the bulk of each call is there

    # The next start closes the five as interrupted, and keeps their turns.
    async with serving(db, model, log) as server:
        after_restart = stored(db)
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            await server.process.wait()
    for call_sid in lives:
        ended, reason, texts = after_restart[call_sid]
        assert ended is not None and reason == INTERRUPTED
        assert texts == after_kill[call_sid][2]
    text = await trio.Path(log).read_text()
    assert f"{CALLS} call records left open by an earlier process closed" in text


async def wait_for_metric(server: Server, *lines: str) -> None:
    """Polls ``/metrics`` until it holds every line. Raises AssertionError after 5 s."""
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for _ in range(100):
            metrics = (await http.get("/metrics")).text
            if all(line in metrics for line in lines):
                return
            await trio.sleep(0.05)
    raise AssertionError(metrics)


async def test_a_reused_call_sid_is_refused_and_its_record_untouched(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    db = tmp_path / "hotelvoice.db"
    model = await start_fake_realtime(nursery, fail_fast=False)
    call_sid = new_sid("CA")
    headers, fields = signed_webhook(
        PUBLIC_URL,
        "/twilio/voice",
        AUTH_TOKEN,
        inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID),
    )
    async with serving(db, model, tmp_path / "serve.log") as server:
        with trio.fail_after(30):
            async with dial(server, call_sid) as first:
                session = await model.next_session()
                await session.expect("response.create")
                await session.input_transcript("the real caller")
                # The same webhook again, while the first call is live: the stream tokens
                # remember the CallSid, so no second stream is offered.
                async with httpx.AsyncClient(base_url=server.http_url, timeout=5) as http:
                    replay = await http.post("/twilio/voice", data=fields, headers=headers)
                assert replay.status_code == 409, replay.text
                await first.hang_up()
            await wait_for_metric(server, "hotelvoice_calls_active 0")  # the record is saved
    # A restarted server has forgotten the tokens; the store still knows the call.
    async with serving(db, model, tmp_path / "serve2.log") as server:
        with trio.fail_after(30):
            async with dial(server, call_sid) as again:
                await again.wait_closed_by_server()
            await wait_for_metric(
                server, 'hotelvoice_stream_token_failures_total{reason="duplicate_call"} 1'
            )
    ended, reason, texts = stored(db)[call_sid]
    assert texts == ["the real caller"]
    assert ended is not None and reason != INTERRUPTED
