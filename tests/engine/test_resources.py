"""The offline engine's resources: loaded when first needed, bounded while a session runs, and
freed when it ends (by reference counting alone: the server's cycle collector runs rarely)."""

from __future__ import annotations

import base64
import gc
import json
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import trio
import trio.testing

from hotelvoice.engine.backlog import MAX_APPEND_MS, MAX_BACKLOG_MS, AudioBacklog
from hotelvoice.engine.connector import (
    MAX_PENDING_EVENTS,
    VOICE_AHEAD_EVENTS,
    LocalConnector,
    LocalLink,
    Outbox,
)
from hotelvoice.engine.session import LocalSession
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.realtime.connection import RealtimeClosed
from tests.engine.test_session import HOTEL

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
