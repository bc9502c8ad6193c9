"""Call records written as the call goes, on a real SQLite file: batching, retries under a
locked database, a reused CallSid, and the calls a crash left open."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trio

from hotelvoice.calls.ports import CallContext, DuplicateCall, ToolCall, ToolOutcome
from hotelvoice.config import Settings
from hotelvoice.hotel.records import FAILURES, CallRecords, RecordWriter
from hotelvoice.hotel.service import INTERRUPTED, HotelService
from hotelvoice.hotel.store import AsyncStore, CallRecord, Store
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.properties.model import Property, RoomType
from hotelvoice.wire import realtime as rt

NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)
HOTEL_NUMBER = "+15551230001"
CALLER = "+15557654321"
INN = Property(
    id="inn",
    name="The Inn",
    timezone="UTC",
    phone_numbers=(HOTEL_NUMBER,),
    room_types=(RoomType("king", "King Room", 2, 2, 18900),),
)
# Real time, kept short: the writer waits on threads, which a mock clock would jump past.
FLUSH_S = 0.05


@contextlib.contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection holding the database's write lock."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hotel.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[AsyncStore]:
    async with await AsyncStore.open(db_path) as opened:
        await opened.seed_property(INN, INN.today(NOW))
        yield opened


def writer_for(store: AsyncStore, metrics: Metrics, **options: float) -> RecordWriter:
    return RecordWriter(store, metrics, flush_interval_s=FLUSH_S, **options)  # type: ignore[arg-type]


def context(call_sid: str) -> CallContext:
    return CallContext(call_sid=call_sid, caller=CALLER, dialed=HOTEL_NUMBER)


def said(text: str) -> rt.InputTranscriptCompleted:
    return rt.InputTranscriptCompleted(item_id="item_1", transcript=text)


async def wait_for_turns(store: AsyncStore, call_sid: str, count: int) -> CallRecord:
    with trio.fail_after(10):
        while True:
            record = await store.call_record(call_sid)
            if record is not None and len(record.turns) >= count:
                return record
            await trio.sleep(FLUSH_S / 2)


async def wait_metric(metrics: Metrics, name: str, **labels: str) -> None:
    """Wait (a bounded while) until the counter moves off zero."""
    for _ in range(1000):
        if metrics.get(name, **labels):
            return
        await trio.sleep(FLUSH_S / 2)
    raise AssertionError(f"{name}{labels} stayed 0")


async def test_turns_are_written_while_the_call_goes_on(
    store: AsyncStore, nursery: trio.Nursery
) -> None:
    metrics = Metrics()
    writer = writer_for(store, metrics)
    await nursery.start(writer.run)
    records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
    call = await records.start(context("CA1"))
    call.on_model_event(said("Do you have a room for Friday?"))
    call.on_model_event(rt.OutputTranscriptDone(response_id="r", item_id="i", transcript="Yes."))
    call.on_tool_result(
        ToolCall("call_1", "get_hotel_info", '{"topic": "parking"}'),
        ToolOutcome('{"answer": "free"}'),
    )
    # In the store before the call ends: a crash now would keep them.
    record = await wait_for_turns(store, "CA1", 3)
    assert record.ended_at is None
    assert [(turn.role, turn.text) for turn in record.turns] == [
        ("caller", "Do you have a room for Friday?"),
        ("assistant", "Yes."),
        ("tool", "get_hotel_info"),
    ]
    call.on_model_event(said("Thanks, bye."))
    await call.finish(end_reason="caller hung up", stats="")
    done = await store.call_record("CA1")
    assert done is not None
    assert [turn.seq for turn in done.turns] == [1, 2, 3, 4]
    assert done.end_reason == "caller hung up" and done.summary and done.ended_at == NOW
    assert "get hotel info" in done.summary
    assert metrics.total(FAILURES) == 0
    assert "CA1" not in writer.live
    await writer.aclose()


async def test_a_reused_call_sid_cannot_add_to_another_calls_record(
    store: AsyncStore, nursery: trio.Nursery
) -> None:
    metrics = Metrics()
    writer = writer_for(store, metrics)
    await nursery.start(writer.run)
    records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
    first = await records.start(context("CA1"))
    # While the first is live (its row may not be written yet) ...
    with pytest.raises(DuplicateCall, match="CA1"):
        await records.start(context("CA1"))
    first.on_model_event(said("Hello"))
    await first.finish(end_reason="goodbye", stats="")
    # ... and after it ended.
    with pytest.raises(DuplicateCall):
        await records.start(context("CA1"))
    record = await store.call_record("CA1")
    assert record is not None and [turn.text for turn in record.turns] == ["Hello"]
    assert record.end_reason == "goodbye"
    await writer.aclose()


async def test_another_process_taking_the_call_sid_first_gets_no_turns_from_us(
    store: AsyncStore, nursery: trio.Nursery, db_path: Path
) -> None:
    metrics = Metrics()
    writer = writer_for(store, metrics)
    await nursery.start(writer.run)
    records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
    with locked(db_path) as other:
        ours = await records.start(context("CA7"))  # passes: nothing stored yet
        other.execute(
            "INSERT INTO calls (call_sid, property_id, caller, dialed, started_at) "
            "VALUES ('CA7', 'inn', '+1999', '+1999', '2026-11-25T17:00:00.000000Z')"
        )
        other.execute("COMMIT")
    ours.on_model_event(said("Not theirs"))
    await ours.finish(end_reason="goodbye", stats="")
    record = await store.call_record("CA7")
    assert record is not None
    assert (record.caller, record.turns, record.ended_at) == ("+1999", (), None)
    assert metrics.get(FAILURES, stage="refused") == 3  # the start, the turn, the end
    assert not writer.live
    await writer.aclose()


async def test_writes_wait_out_a_locked_database(
    store: AsyncStore, nursery: trio.Nursery, db_path: Path
) -> None:
    metrics = Metrics()
    writer = writer_for(store, metrics, attempt_s=0.1)
    await nursery.start(writer.run)
    records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
    with locked(db_path):
        # The call starts though the database is locked: its row waits in the writer.
        calls = [await records.start(context(f"CA{n}")) for n in range(3)]
        for n, call in enumerate(calls):
            call.on_model_event(said(f"Caller {n} here"))
        await wait_metric(metrics, "hotelvoice_call_record_retries_total")
        assert await store.call_record("CA0") is None  # still locked out
    async with trio.open_nursery() as ends:
        for call in calls:
            ends.start_soon(functools.partial(call.finish, end_reason="goodbye", stats=""))
    for n in range(3):
        record = await store.call_record(f"CA{n}")
        assert record is not None and record.end_reason == "goodbye"
        assert [turn.text for turn in record.turns] == [f"Caller {n} here"]
    assert metrics.total(FAILURES) == 0
    await writer.aclose()


async def test_a_write_still_locked_out_after_its_budget_is_logged_and_counted(
    store: AsyncStore, nursery: trio.Nursery, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    writer = writer_for(store, metrics, attempt_s=0.05, retry_budget_s=0.3)
    await nursery.start(writer.run)
    records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
    with locked(db_path), caplog.at_level(logging.ERROR, "hotelvoice.hotel.records"):
        call = await records.start(context("CA1"))
        call.on_model_event(said("Anyone there?"))
        await wait_metric(metrics, FAILURES, stage="write")
    assert metrics.get(FAILURES, stage="write") == 2  # the start and the turn
    assert "2 writes for 1 calls (CA1) given up" in caplog.text
    assert await store.call_record("CA1") is None
    await writer.aclose()


async def test_the_service_closes_calls_a_crash_left_open(
    db_path: Path, nursery: trio.Nursery
) -> None:
    with Store.open(db_path) as crashed:
        crashed.seed_property(INN, INN.today(NOW))
        for sid in ("CA1", "CA2"):
            crashed.start_call(call_sid=sid, property_id="inn", caller="+1", dialed="+1", now=NOW)
            crashed.add_turn(sid, role="caller", text="Hello", now=NOW)
        crashed.finish_call("CA2", summary="ok", end_reason="goodbye", guest={}, now=NOW)
    metrics = Metrics()
    later = NOW + dt.timedelta(minutes=5)
    async with httpx.AsyncClient() as http:
        service = await HotelService.open(
            Settings(db_path=str(db_path)),
            book=PropertyBook((INN,)),
            http=http,
            rest=None,
            nursery=nursery,
            metrics=metrics,
            clock=lambda: later,
        )
        try:
            one = await service.store.call_record("CA1")
            two = await service.store.call_record("CA2")
        finally:
            await service.aclose()
    assert one is not None and (one.end_reason, one.ended_at) == (INTERRUPTED, later)
    assert [turn.text for turn in one.turns] == ["Hello"]
    assert two is not None and two.end_reason == "goodbye"
    assert metrics.get("hotelvoice_calls_interrupted_total") == 1


async def test_writes_still_queued_when_the_writer_is_cancelled_are_counted(
    store: AsyncStore, db_path: Path
) -> None:
    metrics = Metrics()
    writer = RecordWriter(store, metrics, flush_interval_s=60)
    records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        call = await records.start(context("CA1"))
        for n in range(3):
            call.on_model_event(said(f"line {n}"))
        await trio.sleep(FLUSH_S)  # the writer is gathering its batch
        nursery.cancel_scope.cancel()  # the app's shutdown deadline
    assert metrics.get(FAILURES, stage="shutdown") == 4  # the start and three turns
    assert await store.call_record("CA1") is None
    call.on_model_event(said("too late"))  # a put on a stopped writer is counted too
    assert metrics.get(FAILURES, stage="closed") == 1
