"""The stream session under trio's autojump clock, with the server's end of the socket in memory.

Timing is checked exactly here: the frame schedule, mark echoes at the moment playback reaches
them, ``clear``, the end of the call. Every message the softphone sends is parsed with
hotelvoice's own Twilio parser, as the server would.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import trio

from hotelvoice.softphone.client import CallRecord, StreamClosed, StreamSession
from hotelvoice.softphone.protocol import StreamTwiml
from hotelvoice.softphone.script import CallerLine, TurnTaking
from hotelvoice.wire import twilio as tw
from tests.approx import approx_float

STREAM_SID = "MZ" + "0" * 32


class MemorySocket:
    """The server's end of the media socket, in memory.

    ``blocking`` maps the index of a message the softphone sends to how long that send blocks
    (back-pressure from a slow server).
    """

    def __init__(self, blocking: dict[int, float] | None = None) -> None:
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.parsed: list[tw.TwilioMessage] = []
        self.blocking = blocking or {}
        self.closed_code: int | None = None
        self.closed_by_phone = False
        self._send, self._receive = trio.open_memory_channel[str | bytes | int](math.inf)
        self._sent_one = trio.Event()

    # the softphone's side (MessageSocket)

    async def send(self, text: str) -> None:
        if self.closed_code is not None:
            raise StreamClosed(self.closed_code)
        delay = self.blocking.get(len(self.sent), 0.0)
        self.sent.append((trio.current_time(), json.loads(text)))
        self.parsed.append(tw.parse_message(text))
        self._sent_one.set()
        self._sent_one = trio.Event()
        await trio.sleep(delay)

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, re-checking after each message the phone sends."""
        while not predicate():
            await self._sent_one.wait()

    async def receive(self) -> str | bytes:
        item = await self._receive.receive()
        if isinstance(item, int):
            self.closed_code = item
            raise StreamClosed(item)
        return item

    async def close(self) -> None:
        self.closed_by_phone = True
        self._send.send_nowait(1000)
        await trio.lowlevel.checkpoint()

    # the server's side

    def media(self, nbytes: int, byte: int = 0x10) -> None:
        payload = base64.b64encode(bytes([byte]) * nbytes).decode()
        self._send.send_nowait(tw.encode_media(STREAM_SID, payload))

    def mark(self, name: str) -> None:
        self._send.send_nowait(tw.encode_mark(STREAM_SID, name))

    def clear(self) -> None:
        self._send.send_nowait(tw.encode_clear(STREAM_SID))

    def raw(self, frame: str | bytes) -> None:
        self._send.send_nowait(frame)

    def hang_up(self, code: int = 1000) -> None:
        self._send.send_nowait(code)

    def times(self, event: str) -> list[float]:
        return [t for t, obj in self.sent if obj["event"] == event]

    def echoes(self) -> list[tuple[float, str]]:
        return [(t, obj["mark"]["name"]) for t, obj in self.sent if obj["event"] == "mark"]


def new_record() -> CallRecord:
    twiml = StreamTwiml("wss://hotel.example.com/twilio/media", {"token": "t", "x": "y"})
    return CallRecord(
        call_sid="CA" + "1" * 32, account_sid="AC" + "2" * 32, stream_sid=STREAM_SID, twiml=twiml
    )


def session(
    socket: MemorySocket,
    lines: list[CallerLine] | None = None,
    *,
    speed: float = 1.0,
    max_seconds: float = 60.0,
    **turn_options: Any,
) -> StreamSession:
    turn_options.setdefault("greeting_timeout_s", 100.0)
    turns = TurnTaking(lines or [], **turn_options)
    return StreamSession(socket, new_record(), turns, speed=speed, max_seconds=max_seconds)


async def test_frames_keep_an_absolute_schedule(autojump_clock: trio.abc.Clock) -> None:
    # The 12th message (media frame 10) blocks for 65 ms: the frames due meanwhile go at once
    # when it returns, and then the schedule goes on with no drift.
    socket = MemorySocket(blocking={12: 0.065})
    t0 = trio.current_time()
    record = await session(socket, max_seconds=1.0).run()
    assert record.outcome == "time_limit" and not record.clean
    frames = [t - t0 for t in socket.times("media")]
    assert len(frames) == 50 == len(record.caller_audio) // 160
    assert frames[:11] == pytest.approx([i * 0.02 for i in range(11)])
    assert frames[11:14] == pytest.approx([0.265] * 3)
    assert frames[14:] == pytest.approx([i * 0.02 for i in range(14, 50)])
    # Twilio's counters: sequence over all messages, chunk and timestamp over media.
    media = [m for m in socket.parsed if isinstance(m, tw.Media)]
    assert [m.chunk for m in media] == list(range(1, 51))
    assert [m.timestamp for m in media] == [20 * i for i in range(50)]
    numbers = [m.sequence_number for m in socket.parsed if not isinstance(m, tw.Connected)]
    assert numbers == list(range(1, len(socket.parsed)))
    start = socket.parsed[1]
    assert isinstance(start, tw.Start)
    assert start.custom_parameters == {"token": "t", "x": "y"}
    assert (start.call_sid, start.account_sid) == ("CA" + "1" * 32, "AC" + "2" * 32)
    assert isinstance(socket.parsed[-1], tw.Stop) and socket.closed_by_phone
    assert record.duration == pytest.approx(1.0)


async def test_fast_mode_runs_the_same_call_faster(autojump_clock: trio.abc.Clock) -> None:
    socket = MemorySocket()
    t0 = trio.current_time()
    record = await session(socket, speed=4.0, max_seconds=0.4).run()
    frames = [t - t0 for t in socket.times("media")]
    assert frames == pytest.approx([i * 0.005 for i in range(20)])
    assert record.duration == pytest.approx(0.4)


async def test_marks_echo_when_playback_reaches_them(autojump_clock: trio.abc.Clock) -> None:
    socket = MemorySocket()
    call = session(socket, max_seconds=2.0, speed=2.0)

    async def server() -> None:
        await trio.sleep(0.05)  # call time 0.1
        socket.mark("idle")  # nothing queued: echoed at once
        socket.media(800)  # 100 ms of audio
        socket.mark("a")
        socket.media(1600)
        socket.mark("b")
        await trio.sleep(0.1)  # call time 0.3: 100 ms into "b"'s audio
        socket.clear()
        socket.mark("late")  # after the clear: nothing queued

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        t0 = trio.current_time()
        record = await call.run()
    echoes = [((t - t0) * 2, name) for t, name in socket.echoes()]
    assert echoes == [
        (approx_float(0.1), "idle"),
        (approx_float(0.2), "a"),
        (approx_float(0.3), "b"),  # flushed by the clear, echoed at once
        (approx_float(0.3), "late"),
    ]
    assert [(echo.name, echo.flushed) for echo in record.playout.echoes] == [
        ("idle", False),
        ("a", False),
        ("b", True),
        ("late", False),
    ]
    assert [(p.start, len(p.data)) for p in record.playout.played] == [
        (approx_float(0.1), 800),
        (approx_float(0.2), 800),
    ]
    assert record.playout.flushed_bytes == 800 and record.playout.clears == [pytest.approx(0.3)]
    assert record.marks_received == ["idle", "a", "b", "late"]


async def test_the_script_runs_through_the_session(autojump_clock: trio.abc.Clock) -> None:
    socket = MemorySocket()
    line = CallerLine("hello", audio=b"\x01" * 400)
    call = session(socket, [line, CallerLine("dtmf:7", digits="7")], answer_timeout_s=5.0)

    async def server() -> None:
        socket.media(8000)  # a 1 s greeting, at once
        # The caller speaks 0.7 s after it: wait until the line's last frame has come.
        last_frame = b"\x01" * 80 + b"\xff" * 80
        await socket.wait_for(
            lambda: any(base64.b64decode(m.payload) == last_frame for m in media())
        )
        socket.media(1600)  # the answer
        await socket.wait_for(lambda: bool(socket.times("dtmf")))
        socket.media(800)

    def media() -> list[tw.Media]:
        return [m for m in socket.parsed if isinstance(m, tw.Media)]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        t0 = trio.current_time()
        record = await call.run()
    assert record.outcome == "completed" and record.clean
    hello, keys = record.timings
    assert (hello.start, hello.end) == (approx_float(1.7), approx_float(1.75))
    answer = record.playout.played[1]
    assert answer.start == pytest.approx(1.74) and len(answer.data) == 1600
    assert 0.7 <= keys.start - answer.end < 0.72  # after the answer and quiet
    assert [(t - t0, digit) for t, digit in record.dtmf_sent] == [(keys.start, "7")]
    assert [m.digit for m in socket.parsed if isinstance(m, tw.Dtmf)] == ["7"]
    assert record.duration == pytest.approx(keys.start + 0.1 + 0.7, abs=0.021)
    events = [obj["event"] for _, obj in socket.sent]
    assert events[:2] == ["connected", "start"] and events[-1] == "stop"
    assert events.count("dtmf") == 1
    assert bytes(record.caller_audio[round(1.7 * 8000) :][:400]) == b"\x01" * 400


@pytest.mark.parametrize("greets", [True, False])
async def test_the_server_hanging_up_ends_the_call(
    autojump_clock: trio.abc.Clock, greets: bool
) -> None:
    socket = MemorySocket()
    call = session(socket, [CallerLine("never", audio=b"\x01" * 160)])

    async def server() -> None:
        if greets:
            socket.media(800)
        await trio.sleep(0.5)
        socket.hang_up(1000)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        record = await call.run()
    assert record.outcome == "server_hung_up"
    assert record.clean is greets  # hanging up before saying anything is no proper call
    assert record.close_code == 1000 and record.duration == pytest.approx(0.5, abs=0.021)
    assert "stop" not in record.sent_events and not socket.closed_by_phone


async def test_a_dropped_stream_and_bad_messages_are_not_clean(
    autojump_clock: trio.abc.Clock,
) -> None:
    socket = MemorySocket()
    call = session(socket)

    async def server() -> None:
        await trio.sleep(0.1)
        socket.raw(b"\x00binary")
        socket.raw('{"event":"media","streamSid":"MZother","media":{"payload":"AA=="}}')
        await trio.sleep(0.1)
        socket.hang_up(1011)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        record = await call.run()
    assert record.outcome == "dropped" and record.close_code == 1011
    assert len(record.violations) == 2 and not record.clean
    assert "31950" in record.violations[0] and "not this stream's" in record.violations[1]
    assert record.playout.received_bytes == 0
