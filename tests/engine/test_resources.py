"""The offline engine's resources: loaded when first needed, bounded while a session runs, and
freed when it ends (by reference counting alone: the server's cycle collector runs rarely)."""

from __future__ import annotations

import base64
import gc
import json
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from hotelvoice.engine.backlog import MAX_APPEND_MS, MAX_BACKLOG_MS, AudioBacklog
from hotelvoice.engine.connector import (
    MAX_PENDING_CHARS,
    MAX_PENDING_EVENTS,
    VOICE_AHEAD_EVENTS,
    LocalConnector,
    LocalLink,
    Outbox,
    serve_engine_socket,
)
from hotelvoice.engine.heap import MALLOC_ARENAS, release_free_heap
from hotelvoice.engine.session import (
    BAD_EVENT_KINDS,
    MAX_FUNCTION_CALLS,
    MAX_ITEMS,
    MAX_ITEMS_CHARS,
    LocalSession,
)
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.realtime.connection import RealtimeClosed
from hotelvoice.speech.vad import SileroModel
from tests.engine.test_session import HOTEL, TOOLS

KIT = SpeechKit.shared()
PCMU = {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu"}}}}


def event(type: str, **fields: Any) -> str:
    return json.dumps({"type": type, **fields})


def append(audio: bytes) -> str:
    return event("input_audio_buffer.append", audio=base64.b64encode(audio).decode("ascii"))


async def next_of(link: LocalLink, type: str) -> dict[str, Any]:
    while True:
        received: dict[str, Any] = json.loads(await link.receive())
        if received["type"] == type:
            return received


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    """Only reference counting frees objects while the test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# -- loaded when first needed -------------------------------------------------------------------


async def test_the_kit_loads_on_the_first_session_once_for_concurrent_ones() -> None:
    connector = LocalConnector(PropertyBook((HOTEL,)))
    assert connector.kit is None
    kits: list[SpeechKit | None] = []

    async def session() -> None:
        async with connector.connect() as link:
            await next_of(link, "session.created")
            kits.append(connector.kit)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(session)
        nursery.start_soon(session)
    assert kits == [SpeechKit.shared(), SpeechKit.shared()]
    assert await connector.load() is SpeechKit.shared()


# -- bounded ------------------------------------------------------------------------------------


async def test_an_oversized_append_gets_an_error_and_the_session_goes_on() -> None:
    metrics = Metrics()
    async with LocalConnector(PropertyBook((HOTEL,)), KIT, metrics=metrics).connect() as link:
        await next_of(link, "session.created")
        await link.send(event("session.update", session=PCMU))
        await next_of(link, "session.updated")
        await link.send(append(bytes(8 * MAX_APPEND_MS + 8)))  # μ-law: 8 bytes per ms
        error = (await next_of(link, "error"))["error"]
        assert error["code"] == "invalid_value"
        assert f"over the {MAX_APPEND_MS} ms limit" in error["message"]
        assert metrics.get("hotelvoice_engine_bad_events_total", kind="oversized_append") == 1
        await link.send(append(bytes(8 * MAX_APPEND_MS)))  # the limit itself is fine
        await link.send(event("input_audio_buffer.clear"))
        types: list[str] = []
        while not types or types[-1] != "input_audio_buffer.cleared":
            types.append(json.loads(await link.receive())["type"])
        assert "error" not in types


async def test_audio_the_ears_cannot_keep_up_with_is_dropped_oldest_first() -> None:
    metrics = Metrics()
    async with LocalConnector(PropertyBook((HOTEL,)), KIT, metrics=metrics).connect() as link:
        await next_of(link, "session.created")
        session = link.session
        session.handle(event("session.update", session=PCMU))
        # 15 s of 20 ms frames, handed over without a checkpoint: the ears never get a turn.
        for _ in range(15_000 // 20):
            session.handle(append(b"\xff" * 160))
        assert session.ears_backlog.dropped_ms == 15_000 - MAX_BACKLOG_MS
        assert metrics.get("hotelvoice_engine_audio_dropped_ms_total") == 5_000


async def test_the_backlog_keeps_the_newest_audio_within_its_limit() -> None:
    metrics = Metrics()
    backlog = AudioBacklog(limit_ms=100, metrics=metrics)
    assert backlog.put(b"a" * 40, 1) == 0
    assert backlog.put(b"b" * 40, 1) == 0
    assert backlog.put(b"c" * 40, 1) == 40  # the oldest chunk goes
    assert backlog.queued_bytes == 80
    assert backlog.dropped_ms == 40 == metrics.get("hotelvoice_engine_audio_dropped_ms_total")
    assert await backlog.take(60) == (False, b"b" * 40)  # whole chunks, within max_bytes
    assert await backlog.take(10) == (False, b"c" * 40)  # but at least one
    backlog.put(b"d" * 10, 1)
    assert backlog.clear() == 10
    backlog.put(b"e" * 10, 1)
    assert await backlog.take(100) == (True, b"e" * 10)  # start afresh, then the new audio
    taken: list[tuple[bool, bytes]] = []

    async def ears() -> None:
        taken.append(await backlog.take(100))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ears)
        await trio.testing.wait_all_tasks_blocked()
        assert taken == []  # nothing queued: the ears wait
        backlog.put(b"f" * 10, 1)
    assert taken == [(False, b"f" * 10)]


async def test_the_voice_waits_while_the_client_lets_events_pile_up() -> None:
    outbox = Outbox(None)
    for n in range(VOICE_AHEAD_EVENTS):
        outbox.deliver({"type": "response.output_audio.delta", "n": n})
    waited = trio.Event()

    async def voice() -> None:
        await outbox.wait_for_room()
        waited.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(voice)
        await trio.testing.wait_all_tasks_blocked()
        assert not waited.is_set()
        while not waited.is_set():
            await outbox.receive()  # the client reads again: half the window, then room
            await trio.testing.wait_all_tasks_blocked()
    assert json.loads(await outbox.receive())["n"] == VOICE_AHEAD_EVENTS // 2 + 1


async def test_a_client_that_stops_reading_is_closed_not_buffered_without_end() -> None:
    metrics = Metrics()
    outbox = Outbox(metrics)
    for n in range(MAX_PENDING_EVENTS + 5):
        outbox.deliver({"type": "error", "n": n})
    assert outbox.closed
    assert metrics.get("hotelvoice_engine_links_overflowed_total") == 1
    received = [json.loads(await outbox.receive())["n"] for _ in range(MAX_PENDING_EVENTS)]
    assert received == list(range(MAX_PENDING_EVENTS))
    with pytest.raises(RealtimeClosed) as closed:
        await outbox.receive()
    assert closed.value.code == 1008


# -- freed when the session ends -----------------------------------------------------------------


@pytest.mark.usefixtures("no_cycle_collector")
async def test_a_finished_session_and_its_detector_are_freed_without_the_collector() -> None:
    connector = LocalConnector(PropertyBook((HOTEL,)), KIT)
    async with connector.connect() as link:
        await next_of(link, "session.created")
        await link.send(event("session.update", session=PCMU))
        await link.send(append(b"\xff" * 1600))
        await link.send(event("response.create"))
        await next_of(link, "response.done")
        session = weakref.ref(link.session)
        detector = weakref.ref(link.session._detector)
        assert detector() is not None
        del link
    assert detector() is None
    assert session() is None


@pytest.mark.usefixtures("no_cycle_collector")
async def test_a_session_that_ends_while_speaking_is_freed_too() -> None:
    connector = LocalConnector(PropertyBook((HOTEL,)), KIT)
    sessions: list[weakref.ref[LocalSession]] = []
    async with connector.connect() as link:
        await next_of(link, "session.created")
        await link.send(event("response.create"))
        await next_of(link, "response.output_audio.delta")
        sessions.append(weakref.ref(link.session))
        del link  # the greeting is still being spoken: its task is cancelled
    assert sessions[0]() is None


# -- a long session stays within its bounds ------------------------------------------------------

AVAILABILITY = "do you have a room for two adults from december fourth to december sixth"
OFFER = {
    "available": True,
    "offers": [
        {"room_type": "king", "name": "King Room", "nightly_rate": "$189.00", "total": "$378.00"}
    ],
}


def user_text(text: str) -> str:
    content = [{"type": "input_text", "text": text}]
    return event(
        "conversation.item.create", item={"type": "message", "role": "user", "content": content}
    )


async def respond(link: LocalLink, **fields: Any) -> list[dict[str, Any]]:
    """``response.create``, then every event up to its ``response.done``."""
    await link.send(event("response.create", **fields))
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != "response.done":
        seen.append(json.loads(await link.receive()))
    return seen


def assert_within_bounds(session: LocalSession) -> None:
    assert len(session.items) <= MAX_ITEMS
    assert session._items_chars <= MAX_ITEMS_CHARS
    assert session._items_chars == sum(session._item_chars.values())
    assert session._item_chars.keys() == session.items.keys()
    assert session._item_audio_ms.keys() <= session.items.keys()
    assert len(session._function_calls) <= MAX_FUNCTION_CALLS
    assert session._tool_result is None and session._user_text is None
    assert len(session._errors_logged) <= len(BAD_EVENT_KINDS)


async def test_five_thousand_turns_keep_every_per_item_structure_within_its_bound() -> None:
    """Each turn: the caller's text, a tool call and its output (or an answer), a function call
    item of the client's own, a truncate of an item long gone. The audio items said first lose
    their audio length once they leave the conversation."""
    metrics = Metrics()
    async with LocalConnector(PropertyBook((HOTEL,)), KIT, metrics=metrics).connect() as link:
        await next_of(link, "session.created")
        session = link.session
        await link.send(event("session.update", session={"type": "realtime", "tools": TOOLS}))
        await next_of(link, "session.updated")
        spoken = []
        for _ in range(2):  # short audio answers: items a truncate can name
            done = (await respond(link, response={"instructions": "still there?"}))[-1]
            spoken.append(done["response"]["output"][0]["id"])
        assert spoken[0] in session._item_audio_ms and session._item_audio_ms[spoken[0]] > 0
        text_only = {"type": "realtime", "output_modalities": ["text"]}
        await link.send(event("session.update", session=text_only))
        await next_of(link, "session.updated")
        tool_calls = 0
        for turn in range(5_000):
            await link.send(user_text(AVAILABILITY if turn % 2 else "what time is check in"))
            seen = await respond(link)
            calls = [e for e in seen if e["type"] == "response.function_call_arguments.done"]
            if calls:
                tool_calls += 1
                output = {"type": "function_call_output", "call_id": calls[0]["call_id"]}
                await link.send(
                    event("conversation.item.create", item={**output, "output": json.dumps(OFFER)})
                )
                assert (await respond(link))[-1]["response"]["status"] == "completed"
            own_call = {"type": "function_call", "call_id": f"c{turn}", "name": "create_lead"}
            await link.send(event("conversation.item.create", item={**own_call, "arguments": "{}"}))
            if turn % 1_000 == 999:
                assert_within_bounds(session)
        assert tool_calls >= 2_000
        assert len(session.items) == MAX_ITEMS
        assert len(session._function_calls) == MAX_FUNCTION_CALLS
        assert spoken[0] not in session.items and session._item_audio_ms == {}
        truncate = {"item_id": spoken[0], "content_index": 0, "audio_end_ms": 100}
        await link.send(event("conversation.item.truncate", event_id="evt_old", **truncate))
        error = (await next_of(link, "error"))["error"]
        assert (error["param"], error["event_id"]) == ("item_id", "evt_old")
        old_output = {"type": "function_call_output", "call_id": "c0", "output": "{}"}
        await link.send(event("conversation.item.create", item=old_output))
        assert "not found" in (await next_of(link, "error"))["error"]["message"]
        assert metrics.get("hotelvoice_engine_bad_events_total", kind="item_not_found") == 1
        assert metrics.get("hotelvoice_engine_bad_events_total", kind="tool_call_not_found") == 1


async def test_large_items_are_kept_within_the_character_budget() -> None:
    async with LocalConnector(PropertyBook((HOTEL,)), KIT).connect() as link:
        await next_of(link, "session.created")
        session = link.session
        big = "x" * 200_000
        for n in range(40):  # 8 MB of system notes
            content = [{"type": "input_text", "text": big}]
            item = {"id": f"note{n}", "type": "message", "role": "system", "content": content}
            await link.send(event("conversation.item.create", item=item))
            await next_of(link, "conversation.item.done")
        assert_within_bounds(session)
        assert list(session.items) == [f"note{n}" for n in range(31, 40)]  # the newest


async def test_a_client_that_lets_large_events_pile_up_is_closed_at_the_character_bound() -> None:
    metrics = Metrics()
    outbox = Outbox(metrics)
    big = "x" * 100_000
    delivered = 0
    while not outbox.closed:
        outbox.deliver({"type": "conversation.item.added", "text": big})
        delivered += 1
    assert delivered <= MAX_PENDING_CHARS // 100_000 + 1 < MAX_PENDING_EVENTS
    assert metrics.get("hotelvoice_engine_links_overflowed_total") == 1
    for _ in range(delivered - 1):  # what was queued is still read, then the close
        assert len(await outbox.receive()) > 100_000
    with pytest.raises(RealtimeClosed) as closed:
        await outbox.receive()
    assert closed.value.code == 1008


class StuckClient:
    """A Realtime client on a socket that sends a burst, then neither sends nor reads: once its
    TCP window is full, every send to it blocks."""

    def __init__(self) -> None:
        self.sent = 0
        # session.created is being sent; MAX_PENDING_EVENTS errors pile up, and one more overflows
        self.burst = MAX_PENDING_EVENTS + 1

    async def receive(self) -> str:
        if self.burst == 0:
            await trio.sleep_forever()
        self.burst -= 1
        await trio.lowlevel.checkpoint()
        return event("no.such.event")  # each one answered with an error event

    async def send(self, data: str) -> None:
        self.sent += 1
        await trio.sleep_forever()


async def test_a_socket_client_that_stops_reading_is_cut_off_not_held() -> None:
    metrics = Metrics()
    connector = LocalConnector(PropertyBook((HOTEL,)), KIT, metrics=metrics)
    client = StuckClient()
    with trio.fail_after(60):  # a guard: it returns once the outbox overflows
        await serve_engine_socket(connector, client, metrics)
    assert client.sent == 1  # stuck on the first event
    assert metrics.get("hotelvoice_engine_links_overflowed_total") == 1
    assert metrics.get("hotelvoice_engine_bad_events_total", kind="session_failed") == 0


# -- native memory handed back ----------------------------------------------------------------

# Eight threads each hold a block at once (a worker thread allocating gets an arena of its own
# while the others are busy), then the heap's arenas are counted in glibc's malloc_info.
_COUNT_ARENAS = """
import ctypes, ctypes.util, re, sys, tempfile, threading
from hotelvoice.engine.connector import LocalConnector
from hotelvoice.properties.book import PropertyBook
from tests.engine.test_session import HOTEL
if sys.argv[1] == "limited":
    LocalConnector(PropertyBook((HOTEL,)))
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(8)
def hold():
    block = libc.malloc(1000)
    barrier.wait()
    libc.free(block)
threads = [threading.Thread(target=hold) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile("r") as info:
    stream = libc.fopen(info.name.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(len(re.findall("<heap nr=", info.read())))
"""


def _arenas(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_ARENAS, mode],
        env=env,
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not release_free_heap(), reason="not glibc: no arenas to limit")
def test_once_the_engine_is_made_worker_threads_share_one_arena() -> None:
    # Without the limit each of the eight threads has an arena of its own, where the speech
    # libraries' freed buffers stay in pieces malloc_trim cannot return.
    assert _arenas("default") > MALLOC_ARENAS
    assert _arenas("limited") <= MALLOC_ARENAS


def test_the_onnx_models_keep_no_arena_that_holds_their_peak() -> None:
    # onnxruntime's CPU arena keeps the most concurrent runs ever held (Piper: about 100 MiB
    # per sentence being made), never handed back.
    sessions = [KIT.voice._voice.session, SileroModel.shared()._session]
    assert [s.get_session_options().enable_cpu_mem_arena for s in sessions] == [False, False]
