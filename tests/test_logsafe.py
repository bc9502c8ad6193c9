"""Log records that outside input cannot forge, flood or fill with secrets (hotelvoice.logsafe)."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from hotelvoice.config import Settings
from hotelvoice.logsafe import (
    ARG_LIMIT,
    MESSAGE_LIMIT,
    RateLimit,
    SafeLogFilter,
    Whole,
    clip,
    escape,
    redact,
    safe,
)
from tests.fakes.serving import asgi_client
from tests.logcapture import Output, safe_log_output

RECORD_START = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
# Everything str.splitlines() (and so an editor or a log shipper) may break a line at.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


@pytest.fixture
def output() -> Iterator[Output]:
    with safe_log_output("hotelvoice.test_logsafe", logging.DEBUG) as out:
        yield out


log = logging.getLogger("hotelvoice.test_logsafe")


# ------------------------------------------------------------------------------------ escape


def test_escape_shows_every_line_break_and_control_character() -> None:
    hostile = "a\nb\rc\td\x1b[31me\x00f\x7fg\x85h\u2028i\u2029j\u202ek\x1c"
    escaped = escape(hostile)
    assert escaped == ("a\\nb\\rc\\td\\x1b[31me\\x00f\\x7fg\\x85h\\u2028i\\u2029j\\u202ek\\x1c")
    assert escaped.splitlines() == [escaped]
    assert not any(c in escaped for c in LINE_BREAKS)
    assert escape("plain text, ünïcode and a \\ backslash") == (
        "plain text, ünïcode and a \\ backslash"
    )


def test_clip_says_how_much_it_cut() -> None:
    assert clip("x" * 10, 10) == "x" * 10
    assert clip("x" * 30_000, 200) == "x" * 200 + "…(29800 more chars)"


# ------------------------------------------------------------------------------------ redact


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("GET /pay/v1.AbC-_9.sig HTTP/1.1", "GET /pay/… HTTP/1.1"),
        ("https://hotel.example/pay/tok?x=1", "https://hotel.example/pay/…?x=1"),
        ("from +14155550123 to +442071838750", "from +…0123 to +…8750"),
        ("From=%2B14155550123&To=x", "From=+…0123&To=x"),
        ("sip:+14155550123@pstn.twilio.com", "sip:…0123@pstn.twilio.com"),
        ("sips:alice@hotel.example", "sips:…@hotel.example"),
        ("tel:+14155550123", "tel:…0123"),
        ("TEL:4155550123;ext=1", "TEL:…0123;ext=1"),
    ],
)
def test_redact_hides_payment_tokens_and_phone_numbers(text: str, redacted: str) -> None:
    assert redact(text) == redacted
    assert redact(redacted) == redacted  # idempotent: two filters give what one gave


@pytest.mark.parametrize(
    "text",
    [
        "call CA" + "0123456789abcdef" * 2 + ": stream MZ" + "9" * 32,
        "hotel: 3 rooms at 12:30, +5 minutes",
        "…(29800 more chars)",
        "hotelvoice.calls.session: ended",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_safe_is_one_bounded_redacted_line() -> None:
    value = "+14155550123\n" + "x" * 10_000
    shown = safe(value)
    assert shown.startswith("+…0123\\n")
    assert shown.endswith("…(10013 chars in all)")
    assert len(shown) == ARG_LIMIT + len("…(10013 chars in all)")
    assert safe(ValueError("bad\nthing")) == "bad\\nthing"


# ------------------------------------------------------------------------------------ filter


def test_a_newline_in_an_argument_forges_no_line(output: Output) -> None:
    log.warning(
        "call %s: stream refused: token %s",
        "CA1\n2026-12-03 10:00:00,000 CRITICAL hotelvoice: forged",
        "unknown",
    )
    assert output.text.count("\n") == 1
    assert RECORD_START.match(output.text)
    assert "CA1\\n2026-12-03 10:00:00,000 CRITICAL hotelvoice: forged" in output.text


def test_long_arguments_are_cut_and_numbers_keep_their_format(output: Output) -> None:
    log.warning("mark %r after %.1f s, %d of them", "m" * 30_000, 2.25, 7)
    line = output.text.rstrip("\n")
    assert f"mark '{'m' * ARG_LIMIT}…(29800 more chars)' after 2.2 s, 7 of them" in line
    assert len(line) < 400


def test_our_own_long_text_is_logged_whole_but_still_escaped_and_bounded(output: Output) -> None:
    stats = " ".join(f"counter_{n}={n}" for n in range(40))  # a call's summary: ~500 chars
    log.info("call ended; %s", Whole(stats + " caller=+14155550123\nforged"))
    [line] = output.text.splitlines()
    assert stats in line  # not cut at ARG_LIMIT
    assert line.endswith("caller=+…0123\\nforged")
    log.info("%s", Whole("z" * (MESSAGE_LIMIT * 3)))
    assert len(output.text.splitlines()[1]) < MESSAGE_LIMIT + 200


def test_the_whole_message_is_bounded_even_without_arguments(output: Output) -> None:
    log.error("interpolated before logging: " + "y\n" * 50_000)  # a call site's f-string
    [line] = output.text.splitlines()
    assert len(line) < MESSAGE_LIMIT + 200
    assert line.endswith("…(100029 chars in all)")


def test_messages_are_redacted_too(output: Output) -> None:
    log.info("transfer to %s; link %s", "+14155550123", "https://h.example/pay/SECRETTOKEN")
    log.info("already built: https://h.example/pay/OTHERSECRET for +14155550199")
    assert "SECRETTOKEN" not in output.text and "OTHERSECRET" not in output.text
    assert "5550123" not in output.text and "5550199" not in output.text
    assert "+…0123" in output.text and "/pay/…" in output.text


def test_mapping_arguments_are_made_safe_and_not_kept(output: Output) -> None:
    # Hypercorn's access log: a format of %(name)s atoms and a dict holding the environment.
    atoms = {"h": "1.2.3.4:5", "r": "GET /pay/SECRET\nforged HTTP/1.1", "env": "sk-secret"}
    log.info('%(h)s "%(r)s"', atoms)
    assert output.text == output.text.splitlines()[0] + "\n"
    assert '1.2.3.4:5 "GET /pay/…\\nforged HTTP/1.1"' in output.text


def test_a_record_keeps_no_outside_arguments() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%(a)s", ({"a": "b", "k": 1},), None)
    assert SafeLogFilter().filter(record)
    assert record.args is None and record.msg == "b"


def test_exception_text_is_marked_as_continuation(output: Output) -> None:
    try:
        raise ValueError("bad value\n2026-12-03 10:00:00,000 CRITICAL hotelvoice: forged\x1b[2J")
    except ValueError:
        log.exception("call %s: the call record failed", "CA1")
    lines = output.text.splitlines()
    assert RECORD_START.match(lines[0])
    assert all(line.startswith("| ") for line in lines[1:])
    assert "| 2026-12-03 10:00:00,000 CRITICAL hotelvoice: forged\\x1b[2J" in lines
    assert sum(1 for line in lines if RECORD_START.match(line)) == 1


def test_a_huge_traceback_is_bounded(output: Output) -> None:
    try:
        raise RuntimeError("\n".join(["x" * 100_000] * 1_000))
    except RuntimeError:
        log.exception("huge")
    lines = output.text.splitlines()
    assert len(lines) == 1 + 201  # the record, 20 lines, the omission, the last 180
    assert max(len(line) for line in lines) < 1_100
    assert sum(1 for line in lines if re.fullmatch(r"\| … \(80\d lines omitted\)", line)) == 1


def test_bad_arguments_still_give_one_safe_line(output: Output) -> None:
    log.info("count %d", "not a number\nforged")
    log.info(["a list", "as the message\n"])
    assert output.records == 2
    assert len(output.text.splitlines()) == 2
    assert "bad log arguments" in output.text


def test_two_handlers_with_the_filter_agree(output: Output) -> None:
    second = io.StringIO()
    handler = logging.StreamHandler(second)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(SafeLogFilter())
    log.addHandler(handler)
    try:
        try:
            raise KeyError("k")
        except KeyError:
            log.exception("from %s", "+14155550123\n")
    finally:
        log.removeHandler(handler)
    assert second.getvalue().startswith("from +…0123\\n\n| Traceback")
    assert second.getvalue().count("| Traceback") == 1
    assert output.text.count("| | ") == 0  # not marked twice


# ------------------------------------------------------------------------------------ rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_admits_a_burst_then_refills_and_reports_what_it_dropped() -> None:
    clock = FakeClock()
    limit = RateLimit(burst=3, window_s=60.0, clock=clock)
    assert [limit.admit("bad") for _ in range(5)] == [0, 0, 0, None, None]
    assert limit.admit("other_kind") == 0  # kinds are limited apart
    clock.now += 19.0  # under a third of the window: no whole line earned yet
    assert limit.admit("bad") is None
    clock.now += 2.0
    assert limit.admit("bad") == 3  # the three dropped, said once
    assert limit.admit("bad") is None
    clock.now += 3600.0
    assert [limit.admit("bad") for _ in range(4)] == [1, 0, 0, None]  # never above the burst


def test_rate_limit_tracks_a_bounded_number_of_kinds() -> None:
    limit = RateLimit(burst=1, window_s=60.0, clock=FakeClock(), max_kinds=4)
    assert [limit.admit(f"k{i}") for i in range(4)] == [0, 0, 0, 0]
    assert limit.admit("k4") == 0  # the fifth and later kinds share "other"
    assert limit.admit("k5") is None
    assert len(limit.suppressed) == 1 and limit.suppressed["other"] == 1


def test_rate_limited_log_lines_say_how_many_were_suppressed(output: Output) -> None:
    clock = FakeClock()
    limit = RateLimit(burst=2, window_s=10.0, clock=clock)
    logged = [limit.log(log, logging.WARNING, "bad", "bad message %d", i) for i in range(10_000)]
    assert logged.count(True) == 2
    clock.now += 5.0
    assert limit.log(log, logging.WARNING, "bad", "bad message %d", 10_000)
    lines = output.text.splitlines()
    assert len(lines) == 3
    assert lines[-1].endswith("bad message 10000 (9998 similar lines suppressed)")


# ------------------------------------------------------------------------------------ secrets


def test_secret_settings_are_never_in_their_repr() -> None:
    secretive = [
        field
        for field in attrs.fields(Settings)
        if re.search(r"TOKEN|KEY|SECRET|PASSWORD", field.metadata.get("env", ""))
        and not field.name.endswith(("_ttl_s", "_timeout_s"))
    ]
    assert {f.name for f in secretive} >= {"twilio_auth_token", "openai_api_key"}
    assert all(not field.repr for field in secretive), [f.name for f in secretive if f.repr]
    values: dict[str, Any] = {field.name: f"s3cr3t-{field.name}" for field in secretive}
    settings = attrs.evolve(Settings(), **values)
    assert not any(value in repr(settings) for value in values.values())


SERVE_LOGGING = """
import logging, sys, trio
from hypercorn.logging import Logger
from hotelvoice.logsafe import configure_logging
from hotelvoice.web.server import hypercorn_config

configure_logging("INFO")
logger = Logger(hypercorn_config("127.0.0.1", 8080))
scope = {
    "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
    "path": "/pay/SECRETTOKEN", "query_string": b"", "client": ("10.0.0.1", 5000),
    "headers": [(b"user-agent", b"agent\\n2026-12-03 10:00:00,000 CRITICAL forged")],
}
trio.run(logger.access, scope, {"status": 200, "headers": []}, 0.01)
trio.run(logger.error, "hypercorn: %s", "x\\nforged")
logging.getLogger("hotelvoice.calls").warning("caller %s", "+14155550123\\nforged")
logging.getLogger("transitions.core").info("Executed callback: every state change")
"""


def test_serve_logging_puts_hypercorn_through_the_filter(tmp_path: Path) -> None:
    # A process of its own: configure_logging sets up the root logger, as `serve` does.
    env = dict(os.environ, TWILIO_AUTH_TOKEN="tw-s3cr3t")
    result = subprocess.run(
        [sys.executable, "-c", SERVE_LOGGING],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    access = result.stdout.splitlines()
    errors = result.stderr.splitlines()
    assert len(access) == 1, result.stdout
    assert '"GET /pay/… 1.1"' in access[0]
    assert "agent\\n2026-12-03" in access[0]
    assert len(errors) == 2, result.stderr  # transitions' INFO lines are not among them
    assert all(RECORD_START.match(line) for line in access + errors)
    assert "hypercorn: x\\nforged" in errors[0]
    assert "caller +…0123\\nforged" in errors[1]
    everything = result.stdout + result.stderr
    assert "SECRETTOKEN" not in everything and "tw-s3cr3t" not in everything


async def test_a_stream_error_with_a_newline_forges_no_critical_line(output: Output) -> None:
    from hotelvoice.web.app import create_app

    settings = attrs.evolve(Settings(), validate_signatures=False)
    app = create_app(settings, connector=None, hotel=False)
    web = logging.getLogger("hotelvoice.web.app")
    web.addHandler(log.handlers[0])  # the fixture's handler, behind the filter
    try:
        async with asgi_client(app) as http:
            response = await http.post(
                "/twilio/stream-status",
                data={
                    "CallSid": "CA1",
                    "StreamEvent": "stream-error",
                    "StreamError": "oops\n2026-12-03 10:00:00,000 CRITICAL hotelvoice: forged",
                },
            )
    finally:
        web.removeHandler(log.handlers[0])
    assert response.status_code == 204
    [line] = output.text.splitlines()
    assert RECORD_START.match(line) and " WARNING " in line
    assert line.endswith(
        "Twilio stream error: oops\\n2026-12-03 10:00:00,000 CRITICAL hotelvoice: forged"
    )


async def test_start_up_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    from hotelvoice.web.app import create_app

    secrets: dict[str, Any] = {
        "twilio_auth_token": "tw-s3cr3t-token",
        "openai_api_key": "sk-s3cr3t-key",
        "stripe_api_key": "sk_test_s3cr3t",
        "secret_key": "hv-s3cr3t-key",
    }
    settings = attrs.evolve(Settings(twilio_account_sid="AC" + "1" * 32), **secrets)
    caplog.set_level(logging.DEBUG)
    app = create_app(settings, hotel=False)
    async with app.quart.test_app():
        pass
    assert "ready" in caplog.text  # the start-up line was logged
    assert not any(secret in caplog.text for secret in secrets.values())
