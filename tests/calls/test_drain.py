"""The drain at shutdown (web/drain.py) over a real call bridge, under the autojump clock:
live calls go on up to the drain timeout, are then handed to the front desk (an apology, then
the REST transfer), and the drain returns only once each call's record is saved."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from hotelvoice.calls.machine import EndReason
from hotelvoice.calls.ports import CallContext, ToolCall, ToolOutcome
from hotelvoice.calls.session import HAND_OVER_INSTRUCTIONS
from hotelvoice.web.drain import Drain, DrainPhase, hand_over_limit
from tests.calls.conftest import CALL, Harness, start_rest

MakeHarness = Callable[..., Any]
DESK = "+15550000000"  # the harness's FRONT_DESK_PHONE


@attrs.define
class SavedRecord:
    end_reason: str | None
    saved_at: float


@attrs.define
class MemoryRecords:
    """The hotel's call records (``CallObservers``), kept in memory: the store's threads would
    let the autojump clock run on while they work."""

    saved: dict[str, SavedRecord] = attrs.Factory(dict)
    save_takes_s: float = 0.0

    async def start(self, context: CallContext) -> MemoryRecord:
        await trio.lowlevel.checkpoint()
        return MemoryRecord(self, context.call_sid)


@attrs.define
class MemoryRecord:
    records: MemoryRecords
    call_sid: str

    def instructions(self) -> str:
        return "You are the concierge."

    def voice(self) -> str | None:
        return None

    def context_items(self) -> Sequence[Mapping[str, Any]]:
        return ()

    def on_model_event(self, event: object) -> None:
        pass

    def on_tool_result(self, call: ToolCall, outcome: ToolOutcome) -> None:
        pass

    async def finish(self, *, end_reason: str | None, stats: str) -> None:
        await trio.sleep(self.records.save_takes_s)
        self.records.saved[self.call_sid] = SavedRecord(end_reason, trio.current_time())


def phase_of(drain: Drain) -> DrainPhase:
    return drain.phase  # read through a call: mypy keeps an asserted attribute narrowed


def drain_for(harness: Harness) -> Drain:
    services = harness.services
    return Drain(
        services.calls,
        services.settings,
        services.metrics,
        front_desk=lambda dialed: services.settings.front_desk_phone,
    )


async def start_call(make_harness: MakeHarness, nursery: trio.Nursery, **kw: Any) -> Harness:
    harness: Harness = await make_harness(**kw)
    await nursery.start(harness.run)
    return harness


async def test_a_call_left_at_the_drain_timeout_is_apologised_to_and_put_through(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rest = await start_rest(nursery)
    records = MemoryRecords()
    harness = await start_call(
        make_harness,
        nursery,
        rest=rest,
        observers=records,
        drain_timeout_s=30.0,
        silence_timeout_s=1000.0,
    )
    model = await harness.model.next_session()
    await model.expect("response.create")
    await model.speak(b"\xff" * 800)  # the greeting
    drain = drain_for(harness)
    stopped = trio.Event()

    async def run_drain() -> None:
        await drain.run(hurry=trio.sleep_forever)
        stopped.set()

    t0 = trio.current_time()
    nursery.start_soon(run_drain)
    await trio.testing.wait_all_tasks_blocked()
    assert drain.draining and phase_of(drain) is DrainPhase.DRAINING
    assert len(harness.services.calls) == 1
    # The call goes on: the model still hears the caller until the drain timeout.
    apology = await model.expect("response.create")
    assert trio.current_time() - t0 == pytest.approx(30.0, abs=0.01)
    assert apology["response"]["instructions"] == HAND_OVER_INSTRUCTIONS
    assert phase_of(drain) is DrainPhase.HANDING_OVER
    await model.speak(
        b"\xff" * 1600, transcript="I'm sorry, I have to pass you to a colleague now."
    )
    request = await rest.wait_for_request()
    assert request.call_sid == CALL and request.authenticated
    assert request.form["Twiml"].endswith(f">{DESK}</Dial></Response>")
    assert not stopped.is_set()
    harness.twilio.stop()  # Twilio stops the stream once it has the new TwiML
    await stopped.wait()
    assert drain.phase is DrainPhase.STOPPED
    assert len(harness.services.calls) == 0
    session = harness.session_now()
    assert session.end_cause is EndReason.DRAINED
    assert records.saved[CALL].end_reason == "handed over at shutdown"
    metrics = harness.services.metrics
    assert metrics.get("hotelvoice_calls_ended_total", reason="drained") == 1
    assert metrics.get("hotelvoice_transfers_total", outcome="requested") == 1
    harness.model.assert_clean()


async def test_a_call_that_ends_during_the_drain_ends_it_early(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    records = MemoryRecords(save_takes_s=0.5)
    harness = await start_call(make_harness, nursery, observers=records, drain_timeout_s=300.0)
    model = await harness.model.next_session()
    await model.expect("response.create")
    drain = drain_for(harness)
    t0 = trio.current_time()
    async with trio.open_nursery() as inner:
        inner.start_soon(lambda: drain.run(hurry=trio.sleep_forever))
        await trio.sleep(8.0)
        harness.twilio.stop()  # the caller hangs up by themselves
    # The drain returned only once the record was saved, long before its timeout.
    assert trio.current_time() - t0 == pytest.approx(8.5, abs=0.01)
    saved = records.saved[CALL]
    assert saved.end_reason == "caller hung up"
    assert saved.saved_at == pytest.approx(t0 + 8.5, abs=0.01)
    assert model.of_type("response.create")[-1].get("response") is None  # no apology
    assert drain.phase is DrainPhase.STOPPED


async def test_a_second_signal_ends_the_calls_at_once_and_still_saves_their_records(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    records = MemoryRecords(save_takes_s=1.0)
    harness = await start_call(make_harness, nursery, observers=records, drain_timeout_s=300.0)
    model = await harness.model.next_session()
    await model.expect("response.create")
    drain = drain_for(harness)
    second = trio.Event()
    t0 = trio.current_time()
    async with trio.open_nursery() as inner:
        inner.start_soon(lambda: drain.run(hurry=second.wait))
        await trio.sleep(3.0)
        second.set()
    assert trio.current_time() - t0 == pytest.approx(4.0, abs=0.01)  # 3 s, then the save
    assert drain.hurried and drain.phase is DrainPhase.STOPPED
    assert records.saved[CALL].end_reason == "ended at shutdown (second signal)"
    await harness.done.wait()
    await model.closed.wait()  # the model link was closed politely too
    assert harness.services.metrics.get("hotelvoice_calls_ended_total", reason="shutdown") == 1


async def test_a_hand_over_twilio_never_completes_ends_within_the_hand_over_limit(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rest = await start_rest(nursery)
    records = MemoryRecords()
    harness = await start_call(
        make_harness,
        nursery,
        rest=rest,
        observers=records,
        drain_timeout_s=10.0,
        transfer_timeout_s=15.0,
        silence_timeout_s=1000.0,
    )
    model = await harness.model.next_session()
    await model.expect("response.create")
    drain = drain_for(harness)
    t0 = trio.current_time()
    async with trio.open_nursery() as inner:
        inner.start_soon(lambda: drain.run(hurry=trio.sleep_forever))
        await model.expect("response.create")  # the apology, which the model never says
        await rest.wait_for_request()  # after the apology's deadline: 10 + 15 s
        assert trio.current_time() - t0 == pytest.approx(25.0, abs=0.01)
        # REST accepted, but Twilio never stops the stream: the hand-over deadline ends it.
    assert trio.current_time() - t0 == pytest.approx(40.0, abs=0.01)
    assert trio.current_time() - t0 < 10.0 + hand_over_limit(harness.services.settings)
    assert records.saved[CALL].end_reason == (
        "handed over at shutdown (transfer did not complete in time)"
    )


async def test_a_call_that_starts_while_handing_over_is_put_through_at_once(
    make_harness: MakeHarness, nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rest = await start_rest(nursery)
    harness: Harness = await make_harness(rest=rest, observers=MemoryRecords())
    harness.services.calls.hand_over_all()  # the drain timeout has passed; no call yet
    await nursery.start(harness.run)  # a stream whose webhook came before the signal
    request = await rest.wait_for_request()
    assert DESK in request.form["Twiml"]
    harness.twilio.stop()
    await harness.done.wait()
    assert harness.session_now().end_reason == "handed over at shutdown"
