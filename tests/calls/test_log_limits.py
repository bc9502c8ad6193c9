"""Hostile input makes few, bounded, single log lines (issue 13: 2.1 MB of log from one fuzz run).

The issue's inputs are replayed through the real session and bridge, with the log handler
``hotelvoice serve`` installs (``hotelvoice.logsafe``): a ``start`` whose callSid carries a
newline, 10,000 echoes of unknown 30,000-character mark names, DTMF, garbage and wrong-stream
messages by the ten thousand, and sockets that never start a call.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import trio
import trio.testing

from hotelvoice.calls.bridge import WARNING_LOG_BURST, WARNING_LOG_WINDOW_S, serve_media_stream
from hotelvoice.calls.session import CallSession
from hotelvoice.calls.stats import LOGGED_PROBLEMS_PER_KIND
from hotelvoice.config import Settings
from hotelvoice.logsafe import MESSAGE_LIMIT
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw
from tests.calls.conftest import ACCOUNT, STREAM
from tests.logcapture import Output, safe_log_output

MakeHarness = Callable[..., Any]
RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")
FORGED = "\n2026-12-03 10:00:00,000 CRITICAL hotelvoice.calls.bridge: forged\r\x1b[2K"
MAX_LINE = MESSAGE_LIMIT + 120  # the message, the timestamp, level and logger name


def assert_one_bounded_line_per_record(output: Output) -> None:
    lines = output.text.splitlines()
    assert len(lines) == output.records
    assert all(RECORD_START.match(line) for line in lines), [
        line for line in lines if not RECORD_START.match(line)
    ][:3]
    assert max(len(line) for line in lines) <= MAX_LINE


@pytest.fixture
def output() -> Iterator[Output]:
    """What `hotelvoice serve` would write: every hotelvoice record through the safe filter."""
    with safe_log_output("hotelvoice", logging.INFO) as out:
        yield out


class ScriptedTwilio:
    """A media socket (the network edge) that plays ``messages`` and then goes away."""

    def __init__(self, messages: Iterable[str]) -> None:
        self._messages = iter(messages)
        self.sent = 0

    async def receive(self) -> str:
        await trio.lowlevel.checkpoint()
        try:
            return next(self._messages)
        except StopIteration:
            raise ConnectionResetError("gone") from None

    async def send(self, data: str) -> None:
        await trio.lowlevel.checkpoint()
        self.sent += 1


def message(event: str, **body: Any) -> str:
    return json.dumps({"event": event, "sequenceNumber": "1", "streamSid": STREAM, **body})


def start(call_sid: str, token: str) -> str:
    return message(
        "start",
        start={
            "streamSid": STREAM,
            "accountSid": ACCOUNT,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": {"token": token, "From": "+14155550123"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    )


CONNECTED = json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def fuzz(count: int) -> Iterator[str]:
    """The issue's malformed messages, ``count`` of each kind."""
    huge_mark = message("mark", mark={"name": "m" * 15_000 + FORGED + "m" * 15_000})
    dtmf = message("dtmf", dtmf={"track": "inbound_track", "digit": "1" + FORGED})
    wrong = message("mark", streamSid="MZ" + FORGED, mark={"name": "x"})
    garbage = '{"event": "media", "media": ' + FORGED
    for _ in range(count):
        yield huge_mark
        yield dtmf
        yield wrong
        yield garbage


async def test_the_issues_fuzz_forges_no_line_and_logs_a_bounded_amount(
    make_harness: MakeHarness,
    output: Output,
    autojump_clock: trio.testing.MockClock,
) -> None:
    harness = await make_harness()
    services = harness.services
    call_sid = "CA" + "b" * 32 + FORGED
    token = services.tokens.mint(call_sid, trio.current_time())
    stop = message("stop", stop={"accountSid": ACCOUNT, "callSid": call_sid})
    socket = ScriptedTwilio([CONNECTED, start(call_sid, token), *fuzz(10_000), stop])
    session = await serve_media_stream(socket, services)

    assert session is not None and session.end_reason == "caller hung up"
    problems = session.stats.problems
    assert problems["unknown_mark"] == problems["dtmf_ignored"] == 10_000
    metrics = services.metrics
    assert metrics.get("hotelvoice_twilio_bad_messages_total", kind="malformed_json") == 10_000
    assert metrics.get("hotelvoice_twilio_bad_messages_total", kind="wrong_stream_sid") == 10_000
    assert_one_bounded_line_per_record(output)
    assert output.records < 40  # each kind's first few, and the call's start and end
    assert len(output.text.encode()) < 30_000
    assert "CRITICAL" not in "".join(RECORD_START.findall(output.text))
    assert "\\n2026-12-03 10:00:00,000 CRITICAL" in output.text  # shown, escaped
    assert "5550123" not in output.text


async def test_sockets_that_never_start_a_call_log_little_per_socket_and_in_all(
    make_harness: MakeHarness,
    output: Output,
    autojump_clock: trio.testing.MockClock,
) -> None:
    harness = await make_harness()
    services = harness.services
    garbage = "not json" + FORGED
    # One socket, 10,000 bad messages before a start that never comes.
    assert await serve_media_stream(ScriptedTwilio([garbage] * 10_000), services) is None
    assert output.records == LOGGED_PROBLEMS_PER_KIND + 1  # and the close
    # Many sockets, one bad message each: the process-wide rate holds them to a burst.
    for _ in range(200):
        assert await serve_media_stream(ScriptedTwilio([CONNECTED, garbage]), services) is None
    bad = [line for line in output.text.splitlines() if "bad message" in line]
    assert len(bad) == WARNING_LOG_BURST
    assert services.metrics.get("hotelvoice_twilio_bad_messages_total", kind="malformed_json") == (
        10_200
    )
    # A window later the next line says how many were held back.
    await trio.sleep(WARNING_LOG_WINDOW_S)
    assert await serve_media_stream(ScriptedTwilio([garbage]), services) is None
    last_bad = [line for line in output.text.splitlines() if "bad message" in line][-1]
    assert last_bad.endswith(
        f"({200 - (WARNING_LOG_BURST - LOGGED_PROBLEMS_PER_KIND)} similar lines suppressed)"
    )
    assert_one_bounded_line_per_record(output)


async def test_many_calls_sending_bad_messages_log_a_burst_in_all(
    make_harness: MakeHarness,
    output: Output,
    autojump_clock: trio.testing.MockClock,
) -> None:
    harness = await make_harness()
    services = harness.services
    garbage = '{"event": "media", "media": ' + FORGED
    for n in range(50):
        call_sid = f"CA{n:032x}"
        token = services.tokens.mint(call_sid, trio.current_time())
        stop = message("stop", stop={"accountSid": ACCOUNT, "callSid": call_sid})
        socket = ScriptedTwilio([CONNECTED, start(call_sid, token), garbage, garbage, stop])
        assert await serve_media_stream(socket, services) is not None
    bad = [line for line in output.text.splitlines() if "bad Twilio message" in line]
    assert len(bad) == WARNING_LOG_BURST  # not two per call
    assert services.metrics.get("hotelvoice_twilio_bad_messages_total", kind="malformed_json") == (
        100
    )
    assert_one_bounded_line_per_record(output)


async def test_a_socket_that_sends_nothing_logs_one_line(
    make_harness: MakeHarness,
    output: Output,
    autojump_clock: trio.testing.MockClock,
) -> None:
    harness = await make_harness()

    class Silent:
        async def receive(self) -> str:
            await trio.sleep_forever()
            raise AssertionError("unreachable")

        async def send(self, data: str) -> None:
            raise AssertionError("nothing is sent before start")

    for _ in range(3):
        assert await serve_media_stream(Silent(), harness.services) is None
    assert output.text.count("no start within") == 3
    assert_one_bounded_line_per_record(output)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_per_message_warnings_of_a_session_are_logged_a_few_times_each(output: Output) -> None:
    session = CallSession(call_sid="CA1", stream_sid=STREAM, settings=Settings(), clock=Clock())
    session.on_model(rt.SessionUpdated({}))
    for i in range(1_000):
        session.on_twilio(tw.MarkEcho(i, STREAM, "unknown" + FORGED))
        session.on_twilio(tw.Dtmf(i, STREAM, "inbound_track", "5"))
        session.on_twilio(tw.MarkEcho(i, "MZother", "x"))
        session.on_twilio(
            tw.Start(
                i,
                STREAM,
                ACCOUNT,
                "CA1",
                ("inbound",),
                {},
                tw.MediaFormat("audio/x-mulaw", 8000, 1),
            )
        )
        session.on_model(
            rt.RealtimeError(
                f"code_{i}" + FORGED, "message" + FORGED, "invalid_request_error", None, None
            )
        )
        session.on_model(rt.ResponseDone(f"resp_{i}", f"status_{i}", None, (), "server_error"))
    problems = session.stats.problems
    for kind, line in [
        ("unknown_mark", "echo of unknown mark"),
        ("dtmf_ignored", "caller pressed '5'"),
        ("wrong_stream_sid", "message for stream"),
        ("duplicate_start", "a second start message"),
        ("model_error:other", "model error code_"),
        ("response_other", "response resp_"),
    ]:
        assert problems[kind] == 1_000
        assert output.text.count(line) == LOGGED_PROBLEMS_PER_KIND
    # Model error codes and statuses are outside values: the kinds stay a fixed set.
    assert len(problems) == 6
    assert output.records == 6 * LOGGED_PROBLEMS_PER_KIND
    assert session.metrics.get("hotelvoice_model_errors_total", code="other") == 1_000
    assert 'hotelvoice_model_errors_total{code="code_' not in session.metrics.render()
    assert_one_bounded_line_per_record(output)
    summary = session.summary()
    assert len(summary) < 600 and "\n" not in summary
