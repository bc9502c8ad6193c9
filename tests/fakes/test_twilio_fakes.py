"""Proof that the fake Twilio speaks Twilio's documented protocol.

Every end-to-end test trusts these fakes, so they are checked here against a loopback
trio-websocket server that verifies the upgrade signature with Twilio's own RequestValidator
and records every frame it receives with its trio time.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    WebSocketConnection,
    WebSocketRequest,
    serve_websocket,
)
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from tests.fakes.twilio_media import (
    FakeTwilioCall,
    new_sid,
    stream_wss_url,
    validate_outbound,
    validate_outbound_frame,
)
from tests.fakes.twilio_webhook import (
    inbound_call_form,
    parse_stream_twiml,
    parse_twiml_verbs,
    signed_webhook,
)

PUBLIC_URL = "https://hotel.example.com"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
SIGNED_URL = "wss://hotel.example.com/twilio/media"
EPS = 1e-9


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pattern(n: int, seed: int = 0) -> bytes:
    """Recognisable μ-law bytes that never start with a file header."""
    return bytes((seed + i) % 256 for i in range(n)).replace(b"R", b"S").replace(b".", b"/")


# ------------------------------------------------------------------------------------------
# The loopback "hotelvoice": checks the signature, records, optionally plays a trivial bot
# ------------------------------------------------------------------------------------------


class ServerConn:
    """The server side of one accepted connection."""

    def __init__(self, ws: WebSocketConnection, path: str, signature: str) -> None:
        self.ws = ws
        self.path = path
        self.signature = signature
        self.received: list[str | bytes] = []
        self.times: list[float] = []
        self.closed = trio.Event()
        self.close_code: int | None = None
        self._changed = trio.Event()

    def record(self, frame: str | bytes) -> None:
        self.received.append(frame)
        self.times.append(trio.current_time())
        self._changed.set()
        self._changed = trio.Event()

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.received if isinstance(f, str)]

    def events(self, event: str) -> list[tuple[float, dict[str, Any]]]:
        out = []
        for t, frame in zip(self.times, self.received, strict=True):
            obj = json.loads(frame)
            if obj["event"] == event:
                out.append((t, obj))
        return out

    async def wait_for(self, predicate: Callable[[ServerConn], bool]) -> None:
        while not predicate(self):
            assert not self.closed.is_set(), "connection closed while waiting"
            await self._changed.wait()

    async def wait_count(self, event: str, n: int) -> None:
        await self.wait_for(lambda c: len(c.events(event)) >= n)

    async def send(self, obj: object) -> None:
        await self.ws.send_message(json.dumps(obj))


class Loopback:
    def __init__(self) -> None:
        self.base_ws_url = ""
        self.rejected: list[str | None] = []
        self.on_start: Callable[[ServerConn, str], Awaitable[None]] | None = None
        self._send_conn, self._recv_conn = trio.open_memory_channel[ServerConn](math.inf)

    async def next_conn(self) -> ServerConn:
        return await self._recv_conn.receive()

    async def handler(self, request: WebSocketRequest) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in request.headers}
        signature = headers.get("x-twilio-signature")
        url = f"wss://hotel.example.com{request.path}"
        validator = RequestValidator(AUTH_TOKEN)
        if signature is None or not validator.validate(url, {}, signature):
            self.rejected.append(signature)
            await request.reject(403, body=b"bad signature")
            return
        ws = await request.accept()
        conn = ServerConn(ws, request.path, signature)
        self._send_conn.send_nowait(conn)
        try:
            while True:
                frame = await ws.get_message()
                conn.record(frame)
                if self.on_start is not None and isinstance(frame, str):
                    obj = json.loads(frame)
                    if obj["event"] == "start":
                        await self.on_start(conn, obj["streamSid"])
        except ConnectionClosed as exc:
            conn.close_code = exc.reason.code if exc.reason is not None else None
            conn.closed.set()


@pytest.fixture
async def loopback(nursery: trio.Nursery) -> Loopback:
    lb = Loopback()
    server = await nursery.start(serve_websocket, lb.handler, "127.0.0.1", 0, None)
    lb.base_ws_url = f"ws://127.0.0.1:{server.port}"
    return lb


def connect(lb: Loopback, **kwargs: Any) -> Any:
    kwargs.setdefault("public_url", PUBLIC_URL)
    kwargs.setdefault("auth_token", AUTH_TOKEN)
    return FakeTwilioCall.connect(lb.base_ws_url, **kwargs)


async def started(lb: Loopback, call: FakeTwilioCall) -> ServerConn:
    """Send connected+start and wait until the server has both."""
    await call.start()
    conn = await lb.next_conn()
    await conn.wait_for(lambda c: len(c.received) >= 2)
    return conn


def media_msg(sid: str, data: bytes) -> dict[str, Any]:
    return {"event": "media", "streamSid": sid, "media": {"payload": b64(data)}}


def mark_msg(sid: str, name: str) -> dict[str, Any]:
    return {"event": "mark", "streamSid": sid, "mark": {"name": name}}


def clear_msg(sid: str) -> dict[str, Any]:
    return {"event": "clear", "streamSid": sid}


# ------------------------------------------------------------------------------------------
# Signature of the upgrade
# ------------------------------------------------------------------------------------------


def test_stream_wss_url() -> None:
    assert stream_wss_url("https://hotel.example.com", "/twilio/media") == SIGNED_URL
    assert stream_wss_url("https://hotel.example.com/", "/twilio/media") == SIGNED_URL
    assert stream_wss_url("hotel.example.com", "twilio/media") == SIGNED_URL
    assert stream_wss_url("https://h.example/base", "/m") == "wss://h.example/base/m"


async def test_signature_accepted(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        assert call.signed_url == SIGNED_URL
        assert conn.path == "/twilio/media"
    assert loopback.rejected == []
    await conn.closed.wait()
    assert conn.close_code == 1000  # leaving the block closes cleanly


async def test_signature_header_is_twilios(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        conn = await started(loopback, call)
    assert conn.signature == RequestValidator(AUTH_TOKEN).compute_signature(SIGNED_URL, {})


async def test_bad_signature_refused_with_403(loopback: Loopback) -> None:
    with pytest.raises(ConnectionRejected) as info:
        async with connect(loopback, bad_signature=True):
            pass
    assert info.value.status_code == 403
    assert len(loopback.rejected) == 1
    assert loopback.rejected[0] is not None


async def test_unsigned_refused_with_403(loopback: Loopback) -> None:
    with pytest.raises(ConnectionRejected) as info:
        async with connect(loopback, sign=False):
            pass
    assert info.value.status_code == 403
    assert loopback.rejected == [None]


async def test_signature_for_other_host_refused(loopback: Loopback) -> None:
    with pytest.raises(ConnectionRejected) as info:
        async with connect(loopback, public_url="https://evil.example.com"):
            pass
    assert info.value.status_code == 403


# ------------------------------------------------------------------------------------------
# Exact shapes of what the fake sends (Twilio → app)
# ------------------------------------------------------------------------------------------


async def test_connected_and_start_shapes(loopback: Loopback) -> None:
    call_sid, account_sid, stream_sid = new_sid("CA"), new_sid("AC"), new_sid("MZ")
    async with connect(
        loopback,
        call_sid=call_sid,
        account_sid=account_sid,
        stream_sid=stream_sid,
        parameters={"token": "abc123"},
    ) as call:
        conn = await started(loopback, call)
    connected, start = conn.messages()
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert start == {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {
            "streamSid": stream_sid,
            "accountSid": account_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": {"token": "abc123"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }
    # key order as in Twilio's documented example
    assert list(start) == ["event", "sequenceNumber", "streamSid", "start"]
    assert isinstance(start["start"]["mediaFormat"]["sampleRate"], int)


async def test_default_sids_are_twilio_shaped(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        await started(loopback, call)
    for sid, prefix in ((call.call_sid, "CA"), (call.account_sid, "AC"), (call.stream_sid, "MZ")):
        assert sid.startswith(prefix)
        assert len(sid) == 34
        int(sid.removeprefix(prefix), 16)


async def test_media_dtmf_stop_shapes_and_counters(loopback: Loopback) -> None:
    async with connect(loopback, parameters={"a": "1"}) as call:
        conn = await started(loopback, call)
        await call.send_start(custom_parameters={"b": "2"})  # explicit override
        await call.send_media(pattern(160))
        await call.send_media(pattern(160, 1))
        await call.send_dtmf("7")
        await call.send_media(pattern(80, 2))
        await call.hang_up()
        await conn.closed.wait()
    msgs = conn.messages()
    assert [m["event"] for m in msgs] == [
        "connected",
        "start",
        "start",
        "media",
        "media",
        "dtmf",
        "media",
        "stop",
    ]
    assert [m.get("sequenceNumber") for m in msgs] == [None, "1", "2", "3", "4", "5", "6", "7"]
    assert msgs[1]["start"]["customParameters"] == {"a": "1"}
    assert msgs[2]["start"]["customParameters"] == {"b": "2"}
    media = [m for m in msgs if m["event"] == "media"]
    assert [m["media"]["chunk"] for m in media] == ["1", "2", "3"]
    assert [m["media"]["timestamp"] for m in media] == ["0", "20", "40"]
    assert media[0] == {
        "event": "media",
        "sequenceNumber": "3",
        "streamSid": call.stream_sid,
        "media": {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": b64(pattern(160))},
    }
    assert base64.b64decode(media[2]["media"]["payload"]) == pattern(80, 2)
    assert msgs[5] == {
        "event": "dtmf",
        "sequenceNumber": "5",
        "streamSid": call.stream_sid,
        "dtmf": {"track": "inbound_track", "digit": "7"},
    }
    assert msgs[7] == {
        "event": "stop",
        "sequenceNumber": "7",
        "streamSid": call.stream_sid,
        "stop": {"accountSid": call.account_sid, "callSid": call.call_sid},
    }
    for m in msgs[1:]:
        assert list(m)[:3] == ["event", "sequenceNumber", "streamSid"]
    assert conn.close_code == 1000
    assert call.closed.is_set()
    assert not call.closed_by_server
    assert call.sent == msgs


# ------------------------------------------------------------------------------------------
# A trivial bot: media + mark + clear on start
# ------------------------------------------------------------------------------------------


async def test_trivial_bot_round_trip_instant(loopback: Loopback) -> None:
    greeting = pattern(320)

    async def bot(conn: ServerConn, sid: str) -> None:
        await conn.send(media_msg(sid, greeting))
        await conn.send(mark_msg(sid, "greeting:1"))
        await conn.send(clear_msg(sid))

    loopback.on_start = bot
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        await call.wait_for(lambda c: c.clears == 1)
        await conn.wait_count("mark", 1)
        await call.send_media(pattern(160))
        await conn.wait_count("media", 1)
    call.assert_clean()
    assert call.media_out == greeting
    assert call.played == greeting  # instant: played on arrival, nothing left to flush
    assert call.flushed_bytes == 0
    assert call.marks_sent_to_us == ["greeting:1"]
    assert call.marks_echoed == ["greeting:1"]
    assert [m["event"] for m in call.messages_out] == ["media", "mark", "clear"]
    (_, echo) = conn.events("mark")[0]
    assert echo == {
        "event": "mark",
        "sequenceNumber": "2",
        "streamSid": call.stream_sid,
        "mark": {"name": "greeting:1"},
    }
    # the echo consumed a sequence number: the next media is "3"
    assert conn.events("media")[0][1]["sequenceNumber"] == "3"


async def test_wait_for_media(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        async with trio.open_nursery() as nursery:

            async def feed() -> None:
                for i in range(5):
                    await conn.send(media_msg(call.stream_sid, pattern(100, i)))

            nursery.start_soon(feed)
            await call.wait_for_media(500)
        assert len(call.media_out) == 500
        call.assert_clean()


# ------------------------------------------------------------------------------------------
# Realtime playout model under the autojump clock
# ------------------------------------------------------------------------------------------


async def test_realtime_mark_echoed_when_playback_reaches_it(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    async with connect(loopback, auto_mark="realtime") as call:
        conn = await started(loopback, call)
        sid = call.stream_sid
        t0 = trio.current_time()
        await conn.send(mark_msg(sid, "empty-queue"))  # nothing queued: echoed at once
        await conn.send(media_msg(sid, pattern(160)))
        await conn.send(mark_msg(sid, "after-160"))
        await conn.wait_count("mark", 2)
        await call.wait_for(lambda c: len(c.played) == 160)
    (t_a, echo_a), (t_b, echo_b) = conn.events("mark")
    assert echo_a["mark"] == {"name": "empty-queue"}
    assert echo_b["mark"] == {"name": "after-160"}
    assert t_a == pytest.approx(t0, abs=EPS)
    assert t_b == pytest.approx(t0 + 0.020, abs=EPS)  # 160 bytes = 20 ms
    assert [t for _, t in call.echoes] == pytest.approx([t0, t0 + 0.020], abs=EPS)
    assert call.played == pattern(160)
    call.assert_clean()


async def test_realtime_back_to_back_audio_plays_continuously(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    async with connect(loopback, auto_mark="realtime") as call:
        conn = await started(loopback, call)
        sid = call.stream_sid
        t0 = trio.current_time()
        for i in range(3):
            await conn.send(media_msg(sid, pattern(800, i)))  # 100 ms each
            await conn.send(mark_msg(sid, f"m{i}"))
        await conn.wait_count("mark", 3)
        # audio arriving after the queue drained starts when it arrives
        await trio.sleep(0.5)
        t1 = trio.current_time()
        await conn.send(media_msg(sid, pattern(400)))
        await conn.send(mark_msg(sid, "late"))
        await conn.wait_count("mark", 4)
    times = [t for t, _ in conn.events("mark")]
    assert times == pytest.approx([t0 + 0.1, t0 + 0.2, t0 + 0.3, t1 + 0.05], abs=EPS)
    assert len(call.played) == 3 * 800 + 400


async def test_realtime_playback_speed(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    async with connect(loopback, auto_mark="realtime", playback_speed=2.0) as call:
        conn = await started(loopback, call)
        t0 = trio.current_time()
        await conn.send(media_msg(call.stream_sid, pattern(1600)))  # 200 ms of audio
        await conn.send(mark_msg(call.stream_sid, "end"))
        await conn.wait_count("mark", 1)
    assert conn.events("mark")[0][0] == pytest.approx(t0 + 0.1, abs=EPS)


async def test_realtime_clear_flushes_and_echoes_pending_marks_at_once(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    first, second = pattern(800, 1), pattern(800, 2)
    async with connect(loopback, auto_mark="realtime") as call:
        conn = await started(loopback, call)
        sid = call.stream_sid
        t0 = trio.current_time()
        await conn.send(media_msg(sid, first))
        await conn.send(mark_msg(sid, "a"))
        await conn.send(media_msg(sid, second))
        await conn.send(mark_msg(sid, "b"))
        await trio.sleep(0.030)  # 240 bytes of `first` heard
        assert call.marks_echoed == []
        assert call.pending_marks == ["a", "b"]
        await conn.send(clear_msg(sid))
        await conn.wait_count("mark", 2)
        t_clear = trio.current_time()
        # after a clear the queue is empty: new audio starts at once
        await conn.send(media_msg(sid, pattern(160, 3)))
        await conn.send(mark_msg(sid, "c"))
        await conn.wait_count("mark", 3)
        await call.wait_for(lambda c: len(c.played) == 240 + 160)
    (t_a, a), (t_b, b), (t_c, c) = conn.events("mark")
    assert (a["mark"]["name"], b["mark"]["name"], c["mark"]["name"]) == ("a", "b", "c")
    assert t_a == pytest.approx(t0 + 0.030, abs=EPS)
    assert t_b == pytest.approx(t0 + 0.030, abs=EPS)
    assert t_c == pytest.approx(t_clear + 0.020, abs=EPS)
    assert call.clears == 1
    assert call.marks_flushed == ["a", "b"]
    assert call.played == first[:240] + pattern(160, 3)
    assert call.flushed_bytes == (800 - 240) + 800
    assert call.media_out == first + second + pattern(160, 3)  # everything received
    assert second not in call.played
    call.assert_clean()


async def test_realtime_clear_on_empty_queue_is_harmless(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    async with connect(loopback, auto_mark="realtime") as call:
        conn = await started(loopback, call)
        await conn.send(clear_msg(call.stream_sid))
        await call.wait_for(lambda c: c.clears == 1)
    assert call.flushed_bytes == 0
    assert call.marks_echoed == []
    call.assert_clean()


# ------------------------------------------------------------------------------------------
# Manual mark echoes
# ------------------------------------------------------------------------------------------


async def test_manual_mode_echoes_only_on_request(loopback: Loopback) -> None:
    async with connect(loopback, auto_mark="manual") as call:
        conn = await started(loopback, call)
        sid = call.stream_sid
        await conn.send(media_msg(sid, pattern(160, 1)))
        await conn.send(mark_msg(sid, "a"))
        await conn.send(media_msg(sid, pattern(160, 2)))
        await conn.send(mark_msg(sid, "b"))
        await conn.send(media_msg(sid, pattern(160, 3)))
        await call.wait_for(lambda c: len(c.media_out) == 480)
        # A round trip proves no echo was sent by itself: TCP keeps order.
        await call.send_dtmf("1")
        await conn.wait_count("dtmf", 1)
        assert conn.events("mark") == []
        assert call.pending_marks == ["a", "b"]
        assert call.played == b""

        assert await call.echo_marks(1) == ["a"]
        assert call.played == pattern(160, 1)
        assert await call.echo_marks() == ["b"]
        assert call.played == pattern(160, 1) + pattern(160, 2)
        assert call.queued_bytes == 160  # audio after the last mark stays queued
        assert await call.echo_marks() == []
        with pytest.raises(AssertionError, match="pending"):
            await call.echo_marks(1)
        await conn.wait_count("mark", 2)
    assert [m["mark"]["name"] for _, m in conn.events("mark")] == ["a", "b"]
    call.assert_clean()


async def test_manual_mode_clear_echoes_pending_marks(loopback: Loopback) -> None:
    async with connect(loopback, auto_mark="manual") as call:
        conn = await started(loopback, call)
        sid = call.stream_sid
        await conn.send(media_msg(sid, pattern(160)))
        await conn.send(mark_msg(sid, "a"))
        await conn.send(clear_msg(sid))
        await conn.wait_count("mark", 1)
    assert call.marks_flushed == ["a"]
    assert call.flushed_bytes == 160
    assert call.played == b""


async def test_manual_mode_late_echo_after_clear(loopback: Loopback) -> None:
    async with connect(loopback, auto_mark="manual", echo_on_clear=False) as call:
        conn = await started(loopback, call)
        sid = call.stream_sid
        await conn.send(media_msg(sid, pattern(160)))
        await conn.send(mark_msg(sid, "old"))
        await conn.send(clear_msg(sid))
        await conn.send(media_msg(sid, pattern(160, 9)))
        await conn.send(mark_msg(sid, "new"))
        await call.wait_for(lambda c: len(c.marks_sent_to_us) == 2)
        assert call.pending_marks == ["old", "new"]
        assert await call.echo_marks() == ["old", "new"]  # the flushed echo arrives late
        await conn.wait_count("mark", 2)
    assert call.flushed_bytes == 160
    assert call.played == pattern(160, 9)


@pytest.mark.parametrize(
    "kwargs", [{"auto_mark": "sometimes"}, {"playback_speed": 0.0}, {"playback_speed": -1.0}]
)
async def test_bad_options_refused_before_connecting(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"auto_mark|playback_speed"):
        async with FakeTwilioCall.connect(
            "ws://127.0.0.1:1", public_url=PUBLIC_URL, auth_token=AUTH_TOKEN, **kwargs
        ):
            pass


async def test_unreachable_server_is_a_handshake_error() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    for listener in listeners:
        await listener.aclose()  # nothing listens on `port` any more
    with pytest.raises(HandshakeError) as info:
        async with FakeTwilioCall.connect(
            f"ws://127.0.0.1:{port}", public_url=PUBLIC_URL, auth_token=AUTH_TOKEN
        ):
            pass
    assert isinstance(info.value.__cause__, OSError)


async def test_echo_marks_needs_manual_mode(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        with pytest.raises(RuntimeError, match="manual"):
            await call.echo_marks()


# ------------------------------------------------------------------------------------------
# validate_outbound and recorded violations
# ------------------------------------------------------------------------------------------

SID = "MZ" + "0" * 32
GOOD: list[dict[str, Any]] = [
    media_msg(SID, b"\xff" * 160),
    mark_msg(SID, "r1:1"),
    clear_msg(SID),
]


@pytest.mark.parametrize("msg", GOOD)
def test_validate_outbound_accepts_documented_shapes(msg: dict[str, Any]) -> None:
    validate_outbound(msg)
    assert validate_outbound_frame(json.dumps(msg)) == msg


BAD: list[tuple[object, str]] = [
    ({"event": "start", "streamSid": SID}, "must be 'media', 'mark' or 'clear'"),
    ({"streamSid": SID}, "must be 'media', 'mark' or 'clear'"),
    ({**clear_msg(SID), "sequenceNumber": "1"}, "unexpected \\['sequenceNumber'\\]"),
    ({"event": "clear"}, "missing \\['streamSid'\\]"),
    ({"event": "clear", "streamSid": ""}, "non-empty string"),
    ({"event": "clear", "streamSid": 5}, "non-empty string"),
    ({**media_msg(SID, b"\xff"), "extra": 1}, "unexpected \\['extra'\\]"),
    ({"event": "media", "streamSid": SID}, "missing \\['media'\\]"),
    (
        {"event": "media", "streamSid": SID, "media": {"payload": "/w==", "track": "outbound"}},
        "exactly \\{'payload'",
    ),
    ({"event": "media", "streamSid": SID, "media": "/w=="}, "exactly \\{'payload'"),
    ({"event": "media", "streamSid": SID, "media": {"payload": ""}}, "non-empty base64"),
    ({"event": "media", "streamSid": SID, "media": {"payload": 12}}, "non-empty base64"),
    ({"event": "media", "streamSid": SID, "media": {"payload": "!!!!"}}, "not valid base64"),
    ({"event": "media", "streamSid": SID, "media": {"payload": "/w"}}, "not valid base64"),
    ({"event": "media", "streamSid": SID, "media": {"payload": "/w==\n"}}, "base64"),
    ({"event": "media", "streamSid": SID, "media": {"payload": "_-8="}}, "not valid base64"),
    ({"event": "media", "streamSid": SID, "media": {"payload": "/x=="}}, "canonical"),
    (media_msg(SID, b"RIFF\x24\x00\x00\x00WAVEfmt "), "file header"),
    (media_msg(SID, b".snd\x00\x00\x00\x18"), "file header"),
    ({"event": "mark", "streamSid": SID, "mark": {"name": ""}}, "non-empty string"),
    ({"event": "mark", "streamSid": SID, "mark": {"name": 3}}, "non-empty string"),
    ({"event": "mark", "streamSid": SID, "mark": {}}, "exactly \\{'name'"),
    ({"event": "mark", "streamSid": SID, "mark": {"name": "a", "x": 1}}, "exactly \\{'name'"),
    ({"event": "mark", "streamSid": SID, "name": "a"}, "missing \\['mark'\\]"),
    (["media"], "JSON object"),
]


@pytest.mark.parametrize(("msg", "problem"), BAD)
def test_validate_outbound_rejects(msg: Any, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        validate_outbound(msg)


def test_validate_outbound_frame_rejects_binary_and_garbage() -> None:
    with pytest.raises(AssertionError, match="binary frame"):
        validate_outbound_frame(json.dumps(clear_msg(SID)).encode())
    with pytest.raises(AssertionError, match="not valid JSON"):
        validate_outbound_frame("{nope")
    with pytest.raises(AssertionError, match="JSON object"):
        validate_outbound_frame("[1, 2]")


@given(st.binary(min_size=1, max_size=2000))
def test_validate_outbound_accepts_any_headerless_audio(audio: bytes) -> None:
    msg = media_msg(SID, audio)
    if audio.startswith((b"RIFF", b".snd")):
        with pytest.raises(AssertionError, match="file header"):
            validate_outbound(msg)
    else:
        validate_outbound(msg)


async def test_violations_recorded_and_invalid_messages_ignored(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        await call.send_connected()
        conn = await loopback.next_conn()
        await conn.wait_count("connected", 1)
        await conn.send(mark_msg(call.stream_sid, "too-early"))  # before start
        await call.wait_for(lambda c: len(c.violations) == 1)
        await call.send_start()
        await conn.wait_count("start", 1)
        await conn.ws.send_message(json.dumps(clear_msg(call.stream_sid)).encode())  # binary
        await conn.ws.send_message("{not json")
        await conn.ws.send_message('["media"]')
        await conn.send(media_msg("MZ" + "f" * 32, pattern(160)))  # someone else's stream
        await conn.send(media_msg(call.stream_sid, b"RIFF" + pattern(60)))  # WAV header
        await conn.send({**mark_msg(call.stream_sid, "x"), "sequenceNumber": "1"})  # extra key
        await conn.send(mark_msg(call.stream_sid, "valid"))
        await call.wait_for(lambda c: c.marks_sent_to_us == ["valid"])
        await conn.wait_count("mark", 1)
    problems = call.violations
    assert len(problems) == 7, problems
    for problem, expected in zip(
        problems,
        [
            "before Twilio's 'start'",
            "binary frame",
            "not valid JSON",
            "JSON object",
            "is not this stream's",
            "file header",
            "unexpected ['sequenceNumber']",
        ],
        strict=True,
    ):
        assert expected in problem
    assert call.media_out == b""  # invalid media is ignored, as Twilio ignores it
    assert call.marks_echoed == ["valid"]
    assert len(call.raw_out) == 8
    assert len(call.messages_out) == 5  # every JSON object, valid or not
    with pytest.raises(AssertionError, match="7 Twilio protocol violation"):
        call.assert_clean()


# ------------------------------------------------------------------------------------------
# stream_audio pacing
# ------------------------------------------------------------------------------------------


async def test_stream_audio_absolute_schedule(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    audio = pattern(160 * 10)
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        t0 = trio.current_time()
        await call.stream_audio(audio)
        assert trio.current_time() == pytest.approx(t0 + 9 * 0.02, abs=EPS)
        await conn.wait_count("media", 10)
    media = conn.events("media")
    assert [t for t, _ in media] == pytest.approx([t0 + i * 0.02 for i in range(10)], abs=EPS)
    assert [m["media"]["chunk"] for _, m in media] == [str(i) for i in range(1, 11)]
    assert [m["media"]["timestamp"] for _, m in media] == [str(20 * i) for i in range(10)]
    assert b"".join(base64.b64decode(m["media"]["payload"]) for _, m in media) == audio
    assert all(len(base64.b64decode(m["media"]["payload"])) == 160 for _, m in media)


async def test_stream_audio_no_drift_when_sends_are_slow(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    """Time spent sending (here 15 ms per frame) must not push the next frame's slot."""
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        original = call.send_media

        async def slow_send_media(payload: bytes) -> None:
            await trio.sleep(0.015)
            await original(payload)

        call.send_media = slow_send_media
        t0 = trio.current_time()
        await call.stream_audio(pattern(160 * 4 + 50), pace_s=0.02)
        await conn.wait_count("media", 5)
    times = [t for t, _ in conn.events("media")]
    assert times == pytest.approx([t0 + 0.015 + i * 0.02 for i in range(5)], abs=EPS)
    last = base64.b64decode(conn.events("media")[-1][1]["media"]["payload"])
    assert len(last) == 50  # the remainder goes out as a short last frame


async def test_stream_audio_back_to_back(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        t0 = trio.current_time()
        await call.stream_audio(pattern(160 * 5), pace_s=0)
        await conn.wait_count("media", 5)
    assert [t for t, _ in conn.events("media")] == pytest.approx([t0] * 5, abs=EPS)


# ------------------------------------------------------------------------------------------
# Closing: by the server, hang-up, drop, context exit
# ------------------------------------------------------------------------------------------


async def test_server_close_recorded(loopback: Loopback) -> None:
    async def bot(conn: ServerConn, sid: str) -> None:
        await conn.send(media_msg(sid, pattern(160)))
        await conn.ws.aclose(code=4000, reason="transfer")

    loopback.on_start = bot
    async with connect(loopback) as call:
        await call.start()
        assert await call.wait_closed_by_server() == 4000
        assert call.closed_by_server
        assert call.close_reason == "transfer"
        assert call.media_out == pattern(160)  # messages before the close are kept
        with pytest.raises(AssertionError, match="closed"):
            await call.wait_for(lambda c: len(c.media_out) > 160)
        with pytest.raises(ConnectionClosed):
            await call.send_media(pattern(160))
    call.assert_clean()


async def test_hang_up_sends_stop_then_closes(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        await call.hang_up()
        assert call.closed.is_set()
        assert not call.closed_by_server
        with pytest.raises(AssertionError, match="not the server"):
            await call.wait_closed_by_server()
        await conn.closed.wait()
    assert conn.messages()[-1]["event"] == "stop"
    assert conn.close_code == 1000


async def test_drop_closes_without_stop_or_close_frame(loopback: Loopback) -> None:
    async with connect(loopback) as call:
        conn = await started(loopback, call)
        await call.drop()
        await conn.closed.wait()
        assert call.closed.is_set()
        assert call.close_code == 1006
    assert [m["event"] for m in conn.messages()] == ["connected", "start"]
    assert conn.close_code == 1006  # abnormal closure: no close frame was received


async def test_exception_in_block_propagates_unwrapped(loopback: Loopback) -> None:
    async def body() -> None:
        async with connect(loopback, auto_mark="realtime") as call:
            await started(loopback, call)
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await body()


async def test_outer_cancel_closes_everything(
    loopback: Loopback, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.move_on_after(1) as scope:
        async with connect(loopback, auto_mark="realtime") as call:
            conn = await started(loopback, call)
            await trio.sleep_forever()
    assert scope.cancelled_caught
    await conn.closed.wait()
    assert call.ws.closed is not None


# ------------------------------------------------------------------------------------------
# Webhook helpers
# ------------------------------------------------------------------------------------------


def test_signed_webhook_matches_twilio_docs_test_vector() -> None:
    form = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    headers, sent = signed_webhook("https://example.com", "/myapp.php?foo=1&bar=2", "12345", form)
    assert headers == {
        "X-Twilio-Signature": "L/OH5YylLD5NRKLltdqwSvS0BnU=",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert sent == form


def test_signed_inbound_call_validates() -> None:
    form = inbound_call_form(call_sid="CA" + "1" * 32, from_="+15550001111")
    headers, sent = signed_webhook(PUBLIC_URL + "/", "/twilio/voice", AUTH_TOKEN, form)
    validator = RequestValidator(AUTH_TOKEN)
    signature = headers["X-Twilio-Signature"]
    assert validator.validate(PUBLIC_URL + "/twilio/voice", sent, signature)
    assert not validator.validate(PUBLIC_URL + "/twilio/voice", {**sent, "To": "+1"}, signature)
    without_empty = {k: v for k, v in sent.items() if v}
    assert not validator.validate(PUBLIC_URL + "/twilio/voice", without_empty, signature)


def test_inbound_call_form_fields() -> None:
    form = inbound_call_form(to="+15559990000", CallerName="JOHN DOE", CallStatus="queued")
    for key in ("CallSid", "AccountSid", "From", "To", "CallStatus", "ApiVersion", "Direction"):
        assert key in form
    assert form["CallSid"].startswith("CA")
    assert len(form["CallSid"]) == 34
    assert form["AccountSid"].startswith("AC")
    assert form["From"] == form["Caller"] == "+15551230001"
    assert form["To"] == form["Called"] == "+15559990000"
    assert form["ApiVersion"] == "2010-04-01"
    assert form["Direction"] == "inbound"
    assert form["CallStatus"] == "queued"
    assert form["CallerName"] == "JOHN DOE"
    assert {"FromCity", "FromState", "FromZip", "FromCountry"} <= form.keys()
    assert {"ToCity", "ToState", "ToZip", "ToCountry"} <= form.keys()
    assert inbound_call_form()["CallSid"] != inbound_call_form()["CallSid"]


def test_parse_stream_twiml_from_twilio_builder() -> None:
    response = VoiceResponse()
    response.say("Please hold.")
    connect_verb = Connect(action="https://hotel.example.com/after", method="POST")
    stream = connect_verb.stream(
        url=SIGNED_URL,
        status_callback="https://hotel.example.com/stream-status",
        status_callback_method="POST",
    )
    stream.parameter(name="token", value='a&b"<c')
    stream.parameter(name="caller", value="+15551230001")
    response.append(connect_verb)
    response.say("Transferring you now.")
    response.dial("+15557654321", timeout=20)
    dial = response.dial()
    dial.number("+15550000000")
    response.hangup()

    parsed = parse_stream_twiml(str(response))
    assert parsed.stream_url == SIGNED_URL
    assert parsed.parameters == {"token": 'a&b"<c', "caller": "+15551230001"}
    assert parsed.status_callback == "https://hotel.example.com/stream-status"
    assert parsed.status_callback_method == "POST"
    assert parsed.connect_action == "https://hotel.example.com/after"
    assert parsed.connect_method == "POST"
    assert parsed.head == [("Say", "Please hold.")]
    assert parsed.tail == [
        ("Say", "Transferring you now."),
        ("Dial", "+15557654321"),
        ("Dial", "+15550000000"),
        ("Hangup", ""),
    ]
    assert parsed.tail_attrs[1] == {"timeout": "20"}
    assert parse_twiml_verbs(response.to_xml(xml_declaration=False))[0] == ("Say", "Please hold.")


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        ("<Response><Say>hi</Say></Response>", "exactly one <Connect>"),
        ("<Foo/>", "root must be <Response>"),
        ("<Response><Connect>", "well-formed"),
        ('<Response><Connect><Stream url="https://h/m"/></Connect></Response>', "wss://"),
        ('<Response><Connect><Stream url="wss://h/m?x=1"/></Connect></Response>', "query"),
        (
            '<Response><Connect><Stream url="wss://h/m" track="both_tracks"/></Connect></Response>',
            "inbound_track",
        ),
        (
            '<Response><Connect><Stream url="wss://h/m"><Parameter name="a"/></Stream>'
            "</Connect></Response>",
            "name and value",
        ),
        (
            f'<Response><Connect><Stream url="wss://h/m"><Parameter name="a" value="{"x" * 499}"/>'
            "</Stream></Connect></Response>",
            "under 500",
        ),
        (
            '<Response><Connect><Stream url="wss://h/m"/><Stream url="wss://h/n"/></Connect>'
            "</Response>",
            "exactly one <Stream>",
        ),
    ],
)
def test_parse_stream_twiml_rejects(xml: str, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        parse_stream_twiml(xml)
