"""Model faults through the real bridge: a fault proxy between the call and a fake Realtime
server breaks the model link the way networks and providers do (a reset mid-answer, a session
that never answers its setup, drops that keep coming, the 60-minute session limit), under the
autojump clock. A second fake server stands in for the offline engine as the fallback backend
(the real engine's speech takes a second or more to load; tests/e2e covers it for real)."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from hotelvoice.calls.bridge import CallServices
from hotelvoice.calls.machine import CallState
from hotelvoice.calls.ports import CallContext
from hotelvoice.calls.session import FALLBACK_INSTRUCTIONS
from hotelvoice.config import Settings
from hotelvoice.engine.connector import FallbackConnector
from hotelvoice.hotel.basic import BasicHotelTools, basic_instructions
from hotelvoice.metrics import Metrics
from hotelvoice.realtime.connector import OpenAIConnector
from hotelvoice.telephony.tokens import StreamTokens
from tests.calls.conftest import ACCOUNT, Harness, MemoryTwilio
from tests.fakes.fault_proxy import FaultProxy, Mode, start_fault_proxy
from tests.fakes.realtime_server import FakeRealtimeServer, FakeSession, start_fake_realtime


@attrs.define
class Rig:
    harness: Harness
    proxy: FaultProxy
    fallback: FakeRealtimeServer | None

    @property
    def model(self) -> FakeRealtimeServer:
        return self.harness.model

    @property
    def twilio(self) -> MemoryTwilio:
        return self.harness.twilio

    @property
    def metrics(self) -> Metrics:
        return self.harness.services.metrics

    def media_bytes(self) -> bytes:
        return b"".join(
            base64.b64decode(m["media"]["payload"]) for m in self.twilio.of_event("media")
        )


async def start_rig(
    nursery: trio.Nursery, *, fallback: bool = True, echo_marks: bool = True, **overrides: Any
) -> Rig:
    """A call whose model (a fake Realtime server) is reached through a fault proxy, with a
    second fake as the fallback backend; returns once the call has started."""
    model = await start_fake_realtime(nursery)
    proxy = await start_fault_proxy(nursery, "127.0.0.1", model.port)
    settings = attrs.evolve(
        Settings(
            openai_api_key="sk-test",
            openai_realtime_url=f"ws://127.0.0.1:{proxy.port}/v1/realtime",
            twilio_account_sid=ACCOUNT,
            front_desk_phone="+15550000000",
        ),
        **overrides,
    )
    metrics = Metrics()

    def openai(url: str) -> OpenAIConnector:
        return OpenAIConnector(
            url=url,
            model=settings.openai_model,
            api_key="sk-test",
            connect_timeout=settings.model_setup_timeout_s,
        )

    backup = await start_fake_realtime(nursery) if fallback else None
    primary = openai(settings.openai_realtime_url)
    connector = primary if backup is None else FallbackConnector(primary, openai(backup.url))

    def instructions(context: CallContext) -> str:
        return basic_instructions(settings, context)

    services = CallServices(
        settings=settings,
        metrics=metrics,
        tokens=StreamTokens(),
        tools=BasicHotelTools(settings),
        connector=connector,
        rest=None,
        instructions=instructions,
    )
    harness = Harness(model=model, services=services, twilio=MemoryTwilio(echo_marks=echo_marks))
    await nursery.start(harness.run)
    return Rig(harness, proxy, backup)


async def greeted(rig: Rig) -> FakeSession:
    """The first model session, once it has greeted the caller (audio played to Twilio)."""
    first = await rig.model.next_session()
    await first.expect("response.create")
    await first.input_transcript("Do you allow dogs?")
    await first.speak(b"\x01" * 320, transcript="Hello, how can I help?")
    await rig.twilio.wait_for(lambda t: len(t.of_event("media")) == 2)
    return first


async def test_a_drop_mid_answer_reconnects_and_the_answer_is_asked_for_again(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rig = await start_rig(nursery, fallback=False)
    first = await greeted(rig)
    response = await first.start_response()
    await first.send_audio(b"\x02" * 480, response=response)
    await rig.twilio.wait_for(lambda t: len(t.of_event("media")) == 5)
    dropped_at = trio.current_time()
    rig.proxy.reset_all()  # a TCP reset mid-answer
    second = await rig.model.next_session()
    # One back-off (0.25 s, half of it jittered) before the reconnect.
    assert 0.125 <= rig.proxy.accepted_at[-1] - dropped_at <= 0.25 + 0.01
    await second.expect("session.update")
    replayed = [await second.expect("conversation.item.create") for _ in range(2)]
    assert [r["item"]["content"][0]["text"] for r in replayed] == [
        "Do you allow dogs?",
        "Hello, how can I help?",
    ]
    create = await second.expect("response.create")  # the cut-off answer, asked for again
    assert "instructions" not in create.get("response", {})
    await second.speak(b"\x03" * 800, transcript="Yes, dogs are welcome.")
    await rig.twilio.wait_for(lambda t: rig.media_bytes().endswith(b"\x03" * 800))
    session = rig.harness.session_now()
    assert session.stats.reconnects == 1 and not session.ended
    assert rig.metrics.get("hotelvoice_model_reconnects_total") == 1
    rig.twilio.stop()
    await rig.harness.done.wait()
    rig.model.assert_clean()


async def test_a_session_that_never_answers_its_setup_falls_back_mid_call_with_an_apology(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rig = await start_rig(nursery)
    first = await greeted(rig)
    rig.proxy.reset_all()  # the model drops...
    second = await rig.model.next_session()  # ...the reconnect's upgrade is accepted...
    rig.proxy.set_mode(Mode.STALL)  # ...and then nothing more comes back
    lost_at = trio.current_time()
    assert rig.fallback is not None
    backup = await rig.fallback.next_session()
    # The setup deadline, counted from the drop, hands the call to the fallback backend.
    assert trio.current_time() - lost_at == pytest.approx(5.0, abs=0.3)
    assert rig.proxy.connections[-1].bytes_down > 0  # the 101 went through
    assert rig.proxy.stalled_bytes > 0  # its session.update went nowhere
    assert second.of_type("session.update") == []
    await backup.expect("session.update")
    replayed = [await backup.expect("conversation.item.create") for _ in range(2)]
    assert replayed[0]["item"]["content"][0]["text"] == "Do you allow dogs?"
    apology = await backup.expect("response.create")
    assert apology["response"]["instructions"] == FALLBACK_INSTRUCTIONS
    assert len(backup.of_type("response.create")) == 1  # one apology, no greeting
    await backup.speak(b"\x04" * 800, transcript="Sorry, one moment.")
    await rig.twilio.wait_for(lambda t: rig.media_bytes().endswith(b"\x04" * 800))
    session = rig.harness.session_now()
    assert not session.ended
    assert rig.metrics.get("hotelvoice_model_fallbacks_total", reason="setup_timeout") == 1
    # The caller goes on talking to the fallback.
    rig.twilio.media(base64.b64encode(b"\x11" * 160).decode())
    assert (await backup.expect("input_audio_buffer.append"))["audio"]
    rig.twilio.stop()
    await rig.harness.done.wait()
    assert session.end_reason == "caller hung up"
    assert first.closed.is_set()
    rig.fallback.assert_clean()


async def test_a_first_session_that_never_answers_its_setup_hands_the_greeting_to_the_fallback(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    started_at = trio.current_time()
    rig = await start_rig(nursery)
    silent = await rig.model.next_session()  # the upgrade is accepted...
    rig.proxy.set_mode(Mode.STALL)  # ...and session.update is never answered
    assert rig.fallback is not None
    backup = await rig.fallback.next_session()
    assert trio.current_time() - started_at == pytest.approx(5.0, abs=0.3)
    assert silent.of_type("session.update") == [] and rig.proxy.stalled_bytes > 0
    await backup.expect("session.update")
    greeting = await backup.expect("response.create")
    assert "response" not in greeting  # the usual greeting: nothing heard yet, no apology
    assert rig.metrics.get("hotelvoice_model_fallbacks_total", reason="setup_timeout") == 1
    await backup.speak(b"\x05" * 320)
    await rig.twilio.wait_for(lambda t: rig.media_bytes() == b"\x05" * 320)
    rig.twilio.stop()
    await rig.harness.done.wait()
    assert rig.harness.session_now().end_reason == "caller hung up"


async def test_drops_beyond_the_budget_back_off_then_fall_back(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rig = await start_rig(nursery)
    await greeted(rig)
    rig.proxy.set_mode(Mode.RESET)  # this link and every new one is reset at once
    lost_at = trio.current_time()
    assert rig.fallback is not None
    backup = await rig.fallback.next_session()
    attempts = [t - lost_at for t in rig.proxy.accepted_at[1:]]
    assert len(attempts) == 3  # HOTELVOICE_MAX_MODEL_RECONNECTS
    gaps = [attempts[0]] + [b - a for a, b in itertools.pairwise(attempts)]
    for gap, full in zip(gaps, (0.25, 0.5, 1.0), strict=True):  # doubling, half jittered
        assert full / 2 <= gap <= full + 0.01
    assert trio.current_time() - lost_at < 2.0  # the budget, not the setup deadline
    await backup.expect("session.update")
    apology = await backup.expect("response.create")
    assert apology["response"]["instructions"] == FALLBACK_INSTRUCTIONS
    metrics = rig.metrics
    assert metrics.get("hotelvoice_model_fallbacks_total", reason="reconnects_exhausted") == 1
    assert metrics.get("hotelvoice_model_reconnects_total") == 3
    session = rig.harness.session_now()
    assert session.stats.fallbacks == 1 and not session.ended
    # The fallback drops too: no second fallback, the budget is fresh for it.
    await backup.close(1011)
    again = await rig.fallback.next_session()
    await again.expect("session.update")
    rig.twilio.stop()
    await rig.harness.done.wait()


async def test_a_link_that_goes_silent_mid_call_is_found_by_keepalive_then_falls_back(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rig = await start_rig(nursery)
    await greeted(rig)
    stalled_at = trio.current_time()
    rig.proxy.set_mode(Mode.STALL)  # no close, no reset: the peer just stops answering
    for n in range(50):  # the caller keeps talking into it
        rig.twilio.media(base64.b64encode(bytes([n]) * 160).decode())
    assert rig.fallback is not None
    backup = await rig.fallback.next_session()
    # A ping unanswered (interval + timeout, 10 s at most) is the drop; the reconnect's upgrade
    # is swallowed too, and the setup deadline (5 s) hands the call to the fallback.
    assert 5.0 < trio.current_time() - stalled_at <= 10.0 + 5.0 + 0.5
    session = rig.harness.session_now()
    assert session.stats.reconnects == 1 and not session.ended
    assert rig.metrics.get("hotelvoice_model_fallbacks_total", reason="setup_timeout") == 1
    await backup.expect("session.update")
    await backup.expect("response.create")
    rig.twilio.stop()
    await rig.harness.done.wait()


async def test_without_a_fallback_a_silent_setup_still_ends_the_call(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rig = await start_rig(nursery, fallback=False)
    await greeted(rig)
    rig.proxy.set_mode(Mode.BLACKHOLE)
    rig.proxy.reset_all()
    lost_at = trio.current_time()
    await rig.harness.done.wait()
    assert trio.current_time() - lost_at == pytest.approx(5.0, abs=0.01)
    assert rig.harness.session_now().end_reason == "model setup timed out"


async def test_a_long_call_rolls_over_to_a_fresh_session_at_a_quiet_moment(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    rig = await start_rig(
        nursery,
        fallback=False,
        echo_marks=False,
        max_call_duration_s=7200.0,
        silence_timeout_s=7000.0,
        interruption_timeout_s=7000.0,
    )
    first = await rig.model.next_session()
    await first.expect("response.create")
    opened_at = trio.current_time()
    await first.input_transcript("Tell me about the spa.")
    await first.speak(b"\x01" * 160, transcript="The spa opens at nine.")
    await rig.twilio.wait_for(lambda t: len(t.of_event("mark")) == 1)
    rig.twilio.push("mark", mark={"name": rig.twilio.of_event("mark")[0]["mark"]["name"]})
    # 54 minutes later the concierge is answering; the marks of its answer are not yet echoed.
    await trio.sleep(3299.0 - (trio.current_time() - opened_at))
    await first.input_transcript("And the pool?")
    await first.speak(b"\x02" * 800, transcript="The pool is heated.")
    await rig.twilio.wait_for(lambda t: len(t.of_event("mark")) == 2)
    await trio.sleep(60.0)  # due at 55 minutes, but the answer is still playing
    session = rig.harness.session_now()
    assert session.machine.rollover_due
    assert len(rig.model.sessions) == 1
    for mark in rig.twilio.of_event("mark")[1:]:  # the caller has now heard it all
        rig.twilio.push("mark", mark={"name": mark["mark"]["name"]})
    second = await rig.model.next_session()
    assert trio.current_time() - opened_at == pytest.approx(3359.0, abs=0.5)
    await first.closed.wait()
    await second.expect("session.update")
    texts = [(await second.expect("conversation.item.create"))["item"] for _ in range(4)]
    assert [t["content"][0]["text"] for t in texts] == [
        "Tell me about the spa.",
        "The spa opens at nine.",
        "And the pool?",
        "The pool is heated.",
    ]
    rig.twilio.media(base64.b64encode(b"\x11" * 160).decode())
    await second.expect("input_audio_buffer.append")
    assert second.of_type("response.create") == []  # nothing was owed: no one speaks
    assert session.stats.rollovers == 1 and session.stats.reconnects == 0
    assert session.state is CallState.LISTENING
    assert session.machine.next_deadline(session.settings, session.stats.started_at) > 3600
    assert rig.metrics.get("hotelvoice_model_rollovers_total") == 1
    rig.twilio.stop()
    await rig.harness.done.wait()
    rig.model.assert_clean()
