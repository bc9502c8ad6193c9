"""Call records: the bridge's observer of each call, kept in the store as the call goes.

:class:`CallRecords` is the bridge's ``CallObservers``: when a call starts it picks the property
by the dialed number, refuses a CallSid that already has a record (:class:`DuplicateCall`),
looks the caller up (a returning guest's name, their reservation; reads, which a locked
database does not hold up) and opens the call record. Its :class:`RecordedCall` follows the call
through a :class:`~hotelvoice.hotel.conversation.Conversation` and hands the call's start, each
turn and each tool call to the process's :class:`RecordWriter` as they happen (a queue put:
nothing blocks the audio path); the guest's details and the summary go the same way when the
call ends.

The writer batches what it is given into one transaction every :data:`FLUSH_INTERVAL_S`, so a
killed process loses at most the last flush interval of any call. A write the database refuses
for being locked is retried with back-off for up to :data:`RETRY_BUDGET_S`; a write that still
cannot be made, or that the store rejects, is logged and counted
(``hotelvoice_call_record_failures_total``), never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from hotelvoice.calls.ports import CallContext, DuplicateCall, ToolCall, ToolOutcome
from hotelvoice.hotel.conversation import Conversation, ReturningGuest
from hotelvoice.hotel.store import (
    AsyncStore,
    CallerHistory,
    CallFinished,
    CallStarted,
    RecordWrite,
    StoreBusyError,
    TurnAdded,
)
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.wire import realtime as rt

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5  # the most of a call a killed process loses (plus one write)
BATCH_LIMIT = 500  # writes in one transaction
QUEUE_LIMIT = 20_000  # writes waiting for the writer (a locked database); more are refused
ATTEMPT_S = 1.0  # one attempt's wait for a locked database
RETRY_FIRST_S = 0.1  # back-off after the first failed attempt, doubling
RETRY_MAX_S = 2.0
RETRY_BUDGET_S = 60.0  # how long one batch is retried before it is given up
FINISH_WAIT_S = 3.0  # how long a call's end waits for its record to be written
CLOSE_WAIT_S = 5.0  # how long shutting down waits for the writer to empty its queue
FAILURES = "hotelvoice_call_record_failures_total"


@attrs.frozen
class _Queued:
    write: RecordWrite
    written: trio.Event | None = None  # set once the write is made or given up


class RecordWriter:
    """The process's one writer of call records, fed by :meth:`put` (never blocks).

    Run :meth:`run` in a nursery; :meth:`aclose` empties the queue and stops it.
    """

    def __init__(
        self,
        store: AsyncStore,
        metrics: Metrics,
        *,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        retry_budget_s: float = RETRY_BUDGET_S,
        attempt_s: float = ATTEMPT_S,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.flush_interval_s = flush_interval_s
        self.retry_budget_s = retry_budget_s
        self.attempt_s = attempt_s
        self._send, self._receive = trio.open_memory_channel[_Queued](queue_limit)
        # CallSids with a RecordedCall in this process whose end is not yet written: a second
        # start for one of them is a duplicate even before its first row is in the store.
        self.live: set[str] = set()
        # Calls whose start the store refused (a duplicate): their later writes are dropped,
        # so they cannot add to the other call's record. Kept until their end comes by.
        self._refused: set[str] = set()
        self._done = trio.Event()

    def put(self, write: RecordWrite, written: trio.Event | None = None) -> None:
        """Queue ``write`` (no waiting). A full queue or a closed writer refuses it: logged,
        counted, and ``written`` is set."""
        try:
            self._send.send_nowait(_Queued(write, written))
            return
        except trio.WouldBlock:
            stage, why = "queue_full", "the record queue is full"
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            stage, why = "closed", "the record writer has stopped"
        log.error("call %s: a call record write was lost: %s", write.call_sid, why)
        self.metrics.incr(FAILURES, stage=stage)
        if written is not None:
            written.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write batches until :meth:`aclose`. Waits on the queue and on the store."""
        task_status.started()
        try:
            while True:
                try:
                    first = await self._receive.receive()
                except trio.EndOfChannel:
                    return
                batch = [first]
                try:
                    await self._gather(batch)
                except trio.Cancelled:
                    self._lost_at_shutdown(len(batch))
                    raise
                await self._write(batch)
        finally:
            # Cancelled (the app's shutdown deadline) with writes still queued: say so.
            lost = 0
            while True:
                try:
                    self._receive.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                lost += 1
            self._lost_at_shutdown(lost)
            self._receive.close()
            self._done.set()

    async def aclose(self) -> None:
        """Stop taking writes, wait (at most CLOSE_WAIT_S) for the queued ones."""
        self._send.close()
        with trio.move_on_after(CLOSE_WAIT_S):
            await self._done.wait()
        if not self._done.is_set():
            log.error("call records: the writer did not finish writing before shutdown")
            self.metrics.incr(FAILURES, stage="shutdown")

    def _lost_at_shutdown(self, count: int) -> None:
        if count:
            log.error("call records: %d writes lost at shutdown", count)
            self.metrics.incr(FAILURES, count, stage="shutdown")

    async def _gather(self, batch: list[_Queued]) -> None:
        # What comes within the flush interval joins the batch; a waited-for write (a call's
        # end) closes it at once.
        if batch[0].written is None:
            with trio.move_on_after(self.flush_interval_s):
                while len(batch) < BATCH_LIMIT:
                    try:
                        item = await self._receive.receive()
                    except trio.EndOfChannel:
                        break
                    batch.append(item)
                    if item.written is not None:
                        break
        while len(batch) < BATCH_LIMIT:
            try:
                batch.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break

    async def _write(self, batch: Sequence[_Queued]) -> None:
        writes: list[RecordWrite] = []
        for item in batch:
            if item.write.call_sid in self._refused:
                self.metrics.incr(FAILURES, stage="refused")
            else:
                writes.append(item.write)
        try:
            if writes:
                await self._write_with_retries(writes)
        except trio.Cancelled:
            # Cancelled while retrying (shutdown): the batch is not written.
            self._lost_at_shutdown(len(writes))
            raise
        finally:
            for item in batch:
                if isinstance(item.write, CallFinished):
                    self.live.discard(item.write.call_sid)
                    self._refused.discard(item.write.call_sid)
                if item.written is not None:
                    item.written.set()

    async def _write_with_retries(self, writes: Sequence[RecordWrite]) -> None:
        give_up_at = trio.current_time() + self.retry_budget_s
        delay = RETRY_FIRST_S
        attempts = 0
        while True:
            attempts += 1
            problem = "the database stayed locked"
            with trio.move_on_after(self.attempt_s):
                try:
                    refused = await self.store.write_call_records(writes)
                except (StoreBusyError, sqlite3.OperationalError) as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                except Exception:
                    log.exception("call records: %d writes failed; not retried", len(writes))
                    self.metrics.incr(FAILURES, len(writes), stage="write")
                    return
                else:
                    self._note_refused(refused)
                    if attempts > 1:
                        log.info("call records: written after %d attempts", attempts)
                    return
            if attempts == 1:
                self.metrics.incr("hotelvoice_call_record_retries_total")
                log.warning(
                    "call records: %s; retrying for up to %g s", problem, self.retry_budget_s
                )
            if trio.current_time() + delay > give_up_at:
                calls = sorted({write.call_sid for write in writes})
                log.error(
                    "call records: %d writes for %d calls (%s) given up after %d attempts: %s",
                    len(writes),
                    len(calls),
                    ", ".join(calls[:5]) + (", …" if len(calls) > 5 else ""),
                    attempts,
                    problem,
                )
                self.metrics.incr(FAILURES, len(writes), stage="write")
                return
            await trio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _note_refused(self, refused: Sequence[tuple[RecordWrite, str]]) -> None:
        for write, reason in refused:
            if isinstance(write, CallStarted):
                self._refused.add(write.call_sid)
            log.warning(
                "call %s: call record %s refused: %s",
                write.call_sid,
                type(write).__name__,
                reason,
            )
            self.metrics.incr(FAILURES, stage="refused")


class CallRecords:
    """Starts a :class:`RecordedCall` for every call (the bridge's ``CallObservers``)."""

    def __init__(
        self,
        book: PropertyBook,
        store: AsyncStore,
        writer: RecordWriter,
        *,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book = book
        self.store = store
        self.writer = writer
        self.clock = clock

    async def start(self, context: CallContext) -> RecordedCall:
        """Waits on the store's reads: is the CallSid new, the caller's history. The call's
        row is queued for the writer. Raises DuplicateCall for a CallSid that has a record."""
        call_sid = context.call_sid
        prop = self.book.for_number(context.dialed)
        now = self.clock()
        if call_sid in self.writer.live:
            raise DuplicateCall(f"call {call_sid} already has a record")
        history = await self.store.call_start_reads(call_sid, context.caller)
        if history.call_exists:
            raise DuplicateCall(f"call {call_sid} already has a record")
        returning = _returning_guest(history)
        if call_sid in self.writer.live:  # the same CallSid started while we waited
            raise DuplicateCall(f"call {call_sid} already has a record")
        self.writer.live.add(call_sid)
        self.writer.put(
            CallStarted(
                call_sid=call_sid,
                property_id=prop.id,
                caller=context.caller or "",
                dialed=context.dialed or "",
                at=now,
            )
        )
        conversation = Conversation(prop, context, started_at=now, returning=returning)
        return RecordedCall(conversation, self.writer, self.clock)


def _returning_guest(history: CallerHistory) -> ReturningGuest | None:
    """Who the caller is to the hotel, from what the store holds for their number."""
    reservations, leads, call = history.reservations, history.leads, history.latest_call
    if not (reservations or leads or call):
        return None
    live = [r for r in reservations if r.status != "cancelled"]
    latest = max(live, key=lambda r: r.created_at) if live else None
    name = latest.guest_name if latest else None
    if name is None and leads:
        name = max(leads, key=lambda lead: lead.created_at).name
    if name is None and call is not None:
        guest_name = call.guest.get("name")
        name = guest_name if isinstance(guest_name, str) else None
    return ReturningGuest(
        name=name,
        reservation_id=latest.id if latest else None,
        reservation_dates=(latest.check_in, latest.check_out) if latest else None,
        room_type=latest.room_type if latest else None,
    )


class RecordedCall:
    """One call's observer: in-memory bookkeeping, each new turn queued for the writer."""

    def __init__(
        self, conversation: Conversation, writer: RecordWriter, clock: Callable[[], dt.datetime]
    ) -> None:
        self.conversation = conversation
        self.writer = writer
        self.clock = clock
        self._queued = 0  # the conversation's turns handed to the writer so far

    def instructions(self) -> str:
        return self.conversation.instructions()

    def voice(self) -> str | None:
        return self.conversation.property.voice

    def context_items(self) -> Sequence[Mapping[str, Any]]:
        return self.conversation.context_items()

    def on_model_event(self, event: object) -> None:
        if isinstance(event, rt.InputTranscriptCompleted | rt.OutputTranscriptDone):
            self.conversation.on_model_event(event, self.clock())
            self._queue_turns()

    def on_tool_result(self, call: ToolCall, outcome: ToolOutcome) -> None:
        self.conversation.on_tool_result(call, outcome, self.clock())
        self._queue_turns()

    async def finish(self, *, end_reason: str | None, stats: str) -> None:
        """Queues the last turns and the summary, and waits (at most FINISH_WAIT_S) for the
        writer to write them (``stats`` is the bridge's own line about the call, already
        logged by it)."""
        conversation = self.conversation
        conversation.end(self.clock(), end_reason)
        self._queue_turns()
        call_sid = conversation.context.call_sid
        written = trio.Event()
        self.writer.put(
            CallFinished(
                call_sid=call_sid,
                summary=conversation.summary(),
                end_reason=end_reason,
                guest=conversation.guest.as_dict(),
                at=conversation.ended_at or self.clock(),
            ),
            written,
        )
        with trio.move_on_after(FINISH_WAIT_S):
            await written.wait()
        # The summary names the guest; the log keeps to counts. A write given up is logged by
        # the writer.
        if written.is_set():
            log.info("call %s record done: %d turns", call_sid, len(conversation.turns))
        else:
            log.warning("call %s: record still queued (the database is slow)", call_sid)

    def _queue_turns(self) -> None:
        turns = self.conversation.turns
        for turn in turns[self._queued :]:
            self.writer.put(
                TurnAdded(
                    call_sid=self.conversation.context.call_sid,
                    role=turn.role,
                    text=turn.text,
                    at=turn.at,
                    tool_name=turn.tool_name,
                    tool_arguments=turn.tool_arguments,
                    tool_result=turn.tool_result,
                )
            )
        self._queued = len(turns)
