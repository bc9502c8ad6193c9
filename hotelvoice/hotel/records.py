"""Call records: the bridge's observer of each call, kept in the store.

:class:`CallRecords` is the bridge's ``CallObservers``: when a call starts it picks the property
by the dialed number, looks the caller up (a returning guest's name, their reservation), and
opens the call record. Its :class:`RecordedCall` follows the call in memory through a
:class:`~hotelvoice.hotel.conversation.Conversation` (nothing blocks the audio path) and
writes the turns, the guest's details and the summary when the call ends.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome
from hotelvoice.hotel.conversation import Conversation, ReturningGuest
from hotelvoice.hotel.store import AsyncStore
from hotelvoice.properties.book import PropertyBook
from hotelvoice.wire import realtime as rt

log = logging.getLogger(__name__)


class CallRecords:
    """Starts a :class:`RecordedCall` for every call (the bridge's ``CallObservers``)."""

    def __init__(
        self, book: PropertyBook, store: AsyncStore, *, clock: Callable[[], dt.datetime]
    ) -> None:
        self.book = book
        self.store = store
        self.clock = clock

    async def start(self, context: CallContext) -> RecordedCall:
        """Waits on the store: the caller's history, then the new call record."""
        prop = self.book.for_number(context.dialed)
        now = self.clock()
        returning = await self._returning_guest(context.caller) if context.caller else None
        await self.store.start_call(
            call_sid=context.call_sid,
            property_id=prop.id,
            caller=context.caller or "",
            dialed=context.dialed or "",
            now=now,
        )
        conversation = Conversation(prop, context, started_at=now, returning=returning)
        return RecordedCall(conversation, self.store, self.clock)

    async def _returning_guest(self, phone: str) -> ReturningGuest | None:
        reservations = await self.store.reservations_for_phone(phone)
        leads = await self.store.leads_for_phone(phone)
        calls = await self.store.calls_for_phone(phone, limit=1)
        if not (reservations or leads or calls):
            return None
        live = [r for r in reservations if r.status != "cancelled"]
        latest = max(live, key=lambda r: r.created_at) if live else None
        name = latest.guest_name if latest else None
        if name is None and leads:
            name = max(leads, key=lambda lead: lead.created_at).name
        if name is None and calls:
            guest_name = calls[0].guest.get("name")
            name = guest_name if isinstance(guest_name, str) else None
        return ReturningGuest(
            name=name,
            reservation_id=latest.id if latest else None,
            reservation_dates=(latest.check_in, latest.check_out) if latest else None,
            room_type=latest.room_type if latest else None,
        )


class RecordedCall:
    """One call's observer: quick in-memory bookkeeping, one write-out at the end."""

    def __init__(
        self, conversation: Conversation, store: AsyncStore, clock: Callable[[], dt.datetime]
    ) -> None:
        self.conversation = conversation
        self.store = store
        self.clock = clock

    def instructions(self) -> str:
        return self.conversation.instructions()

    def voice(self) -> str | None:
        return self.conversation.property.voice

    def context_items(self) -> Sequence[Mapping[str, Any]]:
        return self.conversation.context_items()

    def on_model_event(self, event: object) -> None:
        if isinstance(event, rt.InputTranscriptCompleted | rt.OutputTranscriptDone):
            self.conversation.on_model_event(event, self.clock())

    def on_tool_result(self, call: ToolCall, outcome: ToolOutcome) -> None:
        self.conversation.on_tool_result(call, outcome, self.clock())

    async def finish(self, *, end_reason: str | None, stats: str) -> None:
        """Waits on the store for the turns and the summary (``stats`` is the bridge's own
        line about the call, already logged by it)."""
        conversation = self.conversation
        conversation.end(self.clock(), end_reason)
        call_sid = conversation.context.call_sid
        for turn in conversation.turns:
            await self.store.add_turn(
                call_sid,
                role=turn.role,
                text=turn.text,
                tool_name=turn.tool_name,
                tool_arguments=turn.tool_arguments,
                tool_result=turn.tool_result,
                now=turn.at,
            )
        summary = conversation.summary()
        await self.store.finish_call(
            call_sid,
            summary=summary,
            end_reason=end_reason,
            guest=conversation.guest.as_dict(),
            now=conversation.ended_at or self.clock(),
        )
        # The summary names the guest; the log keeps to counts.
        log.info("call %s record saved: %d turns", call_sid, len(conversation.turns))
