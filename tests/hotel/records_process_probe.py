"""One worker process writing call records (run by test_records_processes.py): ``CALLS``
calls at once through the real CallRecords and RecordWriter, each with ``TURNS`` turns, once
the test says go on stdin. Prints the failure and retry counters as JSON."""

from __future__ import annotations

import datetime as dt
import json
import sys

import trio

from hotelvoice.calls.ports import CallContext
from hotelvoice.hotel.records import FAILURES, CallRecords, RecordWriter
from hotelvoice.hotel.store import AsyncStore
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.wire import realtime as rt
from tests.hotel.test_records import CALLER, HOTEL_NUMBER, INN

NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)


async def main(db: str, prefix: str, calls: int, turns: int) -> None:
    metrics = Metrics()
    async with await AsyncStore.open(db) as store, trio.open_nursery() as nursery:
        writer = RecordWriter(store, metrics, flush_interval_s=0.005)
        await nursery.start(writer.run)
        records = CallRecords(PropertyBook((INN,)), store, writer, clock=lambda: NOW)
        await trio.to_thread.run_sync(sys.stdin.readline)  # go

        async def one_call(n: int) -> None:
            call_sid = f"CA{prefix}{n:030d}"
            call = await records.start(CallContext(call_sid, CALLER, HOTEL_NUMBER))
            for turn in range(turns):
                said = rt.InputTranscriptCompleted(item_id=f"i{turn}", transcript=f"line {turn}")
                call.on_model_event(said)
                await trio.sleep(0.001)
            await call.finish(end_reason="caller hung up", stats="")

        async with trio.open_nursery() as calls_nursery:
            for n in range(calls):
                calls_nursery.start_soon(one_call, n)
        await writer.aclose()
    retries = metrics.total("hotelvoice_call_record_retries_total")
    print(json.dumps({"failures": metrics.total(FAILURES), "retries": retries}))


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
