"""``hotelvoice serve --workers 2``, for real: a parent and two worker processes on one
loopback port, against the fake Realtime server and the fake Twilio REST API run by the test.

Which worker takes a connection is the kernel's choice; each worker says who it is in
``/healthz`` and in its log lines, so the test sends webhooks through keep-alive connections
it knows the worker of and reads from the log which worker took each call's stream.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import trio

from tests.e2e.conftest import ACCOUNT_SID, AUTH_TOKEN, FRONT_DESK, PUBLIC_URL
from tests.fakes.realtime_server import FakeRealtimeServer, FakeSession, start_fake_realtime
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_rest import FakeTwilioRest, start_fake_twilio_rest
from tests.fakes.twilio_webhook import inbound_call_form, parse_stream_twiml, signed_webhook
from tests.web.test_cli import free_port

WORKERS = ("worker0", "worker1")


async def say_something(session: FakeSession, event: dict[str, Any]) -> None:
    await session.speak(b"\xff" * 1600)


@attrs.define
class Workers:
    process: trio.Process
    url: str
    log: Path
    db: Path
    model: FakeRealtimeServer
    rest: FakeTwilioRest
    clients: dict[str, httpx.AsyncClient]  # a keep-alive connection to each worker

    async def webhook(self, worker: str, call_sid: str) -> httpx.Response:
        form = inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID)
        headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", AUTH_TOKEN, form)
        return await self.clients[worker].post("/twilio/voice", data=fields, headers=headers)

    def stream_worker(self, call_sid: str) -> str | None:
        """The worker whose log says it started ``call_sid``'s stream."""
        found = re.search(rf"(worker\d) \S+: call {call_sid}: stream \S+ started", self.read_log())
        return found.group(1) if found else None

    async def wait_stream_worker(self, call_sid: str) -> str:
        with trio.fail_after(5):
            while True:
                worker = self.stream_worker(call_sid)
                if worker is not None:
                    return worker
                await trio.sleep(0.02)

    def worker_pids(self) -> list[int]:
        pids = re.findall(r"worker \d started \(pid (\d+)\)", self.read_log())
        assert len(pids) == len(WORKERS)
        return [int(pid) for pid in pids]

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")

    async def metric(self, worker: str, line: str) -> None:
        """Wait until ``worker``'s /metrics has ``line`` (others publish once a second)."""
        with trio.fail_after(10):
            while True:
                if line in (await self.clients[worker].get("/metrics")).text.splitlines():
                    return
                await trio.sleep(0.1)


async def place_call(
    server: Workers, stack: contextlib.AsyncExitStack, webhook_worker: str
) -> tuple[FakeTwilioCall, str, dict[str, str]]:
    """A call whose webhook ``webhook_worker`` answers, admitted once its greeting plays:
    the call, the worker that took its stream, and its stream's parameters (the token)."""
    call_sid = new_sid("CA")
    answer = await server.webhook(webhook_worker, call_sid)
    assert answer.status_code == 200, answer.text
    parameters = parse_stream_twiml(answer.text).parameters
    call = await stack.enter_async_context(
        FakeTwilioCall.connect(
            server.url.replace("http://", "ws://"),
            public_url=PUBLIC_URL,
            auth_token=AUTH_TOKEN,
            call_sid=call_sid,
            account_sid=ACCOUNT_SID,
            parameters=parameters,
        )
    )
    await call.start()
    await server.model.next_session()
    await call.wait_for_media(1600)  # the greeting: the stream was admitted
    return call, await server.wait_stream_worker(call_sid), parameters


@contextlib.asynccontextmanager
async def serve_workers(
    nursery: trio.Nursery, tmp_path: Path, **env: str
) -> AsyncIterator[Workers]:
    """``python -m hotelvoice serve --workers 2`` on a free loopback port."""
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
        "HOTELVOICE_WORKERS": "2",
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
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            with trio.fail_after(60):
                # New connections until each worker has taken one (the kernel picks).
                while len(clients) < len(WORKERS):
                    client = await stack.enter_async_context(
                        httpx.AsyncClient(base_url=url, timeout=10)
                    )
                    try:
                        health = await client.get("/healthz")
                    except httpx.TransportError:
                        assert process.poll() is None, log.read_text()
                        await trio.sleep(0.05)
                        continue
                    assert health.status_code == 200
                    clients.setdefault(health.json()["worker"], client)
            yield Workers(process, url, log, tmp_path / "hotelvoice.db", model, rest, clients)
    finally:
        if process.poll() is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()


async def test_two_workers_share_calls_tokens_and_metrics_and_drain_on_sigterm(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    async with (
        serve_workers(nursery, tmp_path, HOTELVOICE_DRAIN_TIMEOUT="1") as server,
        contextlib.AsyncExitStack() as stack,
    ):
        ws_url = server.url.replace("http://", "ws://")
        calls: dict[str, FakeTwilioCall] = {}
        parameters: dict[str, dict[str, str]] = {}
        routes: dict[str, tuple[str, str]] = {}  # call -> (webhook's worker, stream's worker)
        # Webhooks alternate between the workers; the streams land where the kernel puts them.
        # Calls until one went each way across (each stream lands on either, so few are needed).
        while len({route for route in routes.values() if route[0] != route[1]}) < 2:
            assert len(calls) < 24, f"no call crossed workers both ways: {routes}"
            webhook_worker = WORKERS[len(calls) % 2]
            call, stream_worker, params = await place_call(server, stack, webhook_worker)
            calls[call.call_sid] = call
            parameters[call.call_sid] = params
            routes[call.call_sid] = (webhook_worker, stream_worker)
        crossed = [sid for sid, (hook, stream) in routes.items() if hook != stream]
        # A replayed webhook is refused by either worker, whichever ran the stream.
        for worker in WORKERS:
            replay = await server.webhook(worker, crossed[0])
            assert replay.status_code == 409
        # A replayed start (the same token) is refused wherever it lands.
        replays = 4
        for _ in range(replays):
            async with FakeTwilioCall.connect(
                ws_url,
                public_url=PUBLIC_URL,
                auth_token=AUTH_TOKEN,
                call_sid=crossed[0],
                account_sid=ACCOUNT_SID,
                parameters=parameters[crossed[0]],
            ) as again:
                await again.start()
                with trio.fail_after(10):
                    await again.wait_closed_by_server()
                assert not again.media_out
        # /metrics on either worker is the sum over both.
        placed = len(calls)
        for worker in WORKERS:
            await server.metric(worker, f"hotelvoice_calls_started_total {placed}")
            await server.metric(worker, f"hotelvoice_calls_active {placed}")
            await server.metric(worker, f'hotelvoice_webhooks_total{{outcome="stream"}} {placed}')
            await server.metric(worker, 'hotelvoice_webhooks_total{outcome="replayed"} 2')
            await server.metric(
                worker, f'hotelvoice_stream_token_failures_total{{reason="used"}} {replays}'
            )
        # /healthz is each worker's own: together they hold every call.
        own = [(await server.clients[w].get("/healthz")).json()["calls_active"] for w in WORKERS]
        assert sum(own) == placed and all(own), own
        # SIGTERM to the parent and to each worker, as systemd signals every process of a
        # service: each worker drains its own calls once, unhurried (handed to the front desk
        # after HOTELVOICE_DRAIN_TIMEOUT, Twilio then stops the stream); the parent exits 0.
        server.process.send_signal(signal.SIGTERM)
        for pid in server.worker_pids():
            os.kill(pid, signal.SIGTERM)
        for _ in range(placed):
            request = await server.rest.wait_for_request()
            assert request.form["Twiml"].endswith(f">{FRONT_DESK}</Dial></Response>")
            await calls[request.call_sid].hang_up()
        with trio.fail_after(60):
            await server.process.wait()
    log = server.read_log()
    assert server.process.returncode == 0, log
    for index in range(len(WORKERS)):
        assert re.search(rf"worker {index} \(pid \d+\) drained and exited", log), log
        assert f"worker{index} hotelvoice.web.drain: drained in" in log
    assert "Traceback" not in log and "all 2 workers stopped; exit 0" in log
    assert "second signal" not in log and log.count("already draining") == 2
    with contextlib.closing(sqlite3.connect(server.db)) as db:
        rows = dict(db.execute("SELECT call_sid, end_reason FROM calls").fetchall())
    assert rows == dict.fromkeys(calls, "handed over at shutdown")
    print(f"\n{placed} calls on 2 workers, routes (webhook, stream): {sorted(routes.values())}")


async def test_a_worker_that_dies_is_logged_and_the_service_exits_1(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    async with serve_workers(nursery, tmp_path) as server:
        log = server.read_log()
        found = re.search(r"worker 1 started \(pid (\d+)\)", log)
        assert found, log
        victim = int(found.group(1))

        os.kill(victim, signal.SIGKILL)
        with trio.fail_after(30):
            await server.process.wait()
    log = server.read_log()
    assert server.process.returncode == 1, log
    assert re.search(rf"ERROR .*worker 1 \(pid {victim}\) died \(signal SIGKILL\) unasked", log)
    assert re.search(r"worker 0 \(pid \d+\) drained and exited", log)


async def test_a_second_signal_hurries_every_worker(nursery: trio.Nursery, tmp_path: Path) -> None:
    async with (
        serve_workers(nursery, tmp_path, HOTELVOICE_DRAIN_TIMEOUT="600") as server,
        contextlib.AsyncExitStack() as stack,
    ):
        calls: list[FakeTwilioCall] = []
        streams: set[str] = set()
        while streams != set(WORKERS):  # a live call on each worker
            assert len(calls) < 24, "every stream landed on one worker"
            call, stream_worker, _ = await place_call(server, stack, WORKERS[len(calls) % 2])
            calls.append(call)
            streams.add(stream_worker)
        server.process.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            await wait_until(lambda: server.read_log().count("web.drain: shutting down") == 2)
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(60):  # well before the 600 s drain timeout
            await server.process.wait()
        for call in calls:
            assert await call.wait_closed_by_server() == 1000
    log = server.read_log()
    assert server.process.returncode == 0, log
    assert log.count("second signal: ending") == 2 and "Traceback" not in log
    with contextlib.closing(sqlite3.connect(server.db)) as db:
        reasons = {reason for (reason,) in db.execute("SELECT end_reason FROM calls")}
    assert reasons == {"ended at shutdown (second signal)"}


async def test_workers_drain_when_their_parent_dies(nursery: trio.Nursery, tmp_path: Path) -> None:
    async with serve_workers(nursery, tmp_path) as server:
        pids = server.worker_pids()
        server.process.kill()  # SIGKILL: nothing is forwarded; the workers' stdin closes
        await server.process.wait()
        with trio.fail_after(30):
            await wait_until(lambda: not any(_alive(pid) for pid in pids))
    log = server.read_log()
    assert log.count("the parent process has gone") == 2, log
    assert log.count("hotelvoice.web.drain: drained in") == 2


async def wait_until(done: Callable[[], bool]) -> None:
    """Poll ``done`` (a log or /proc); the caller bounds the wait."""
    while True:
        if done():
            return
        await trio.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
