"""The Trio glue of a call: one nursery, one task per job, the session decides.

Tasks (all in the call's nursery):

* inbound: reads the Twilio socket (its only reader), parses, feeds the session;
* model leg: opens the model link, sends ``session.update``, reads model events (the link's
  only reader); reconnects after the back-off the session names, and switches to a fresh
  session (a rollover) or to the fallback backend when the session says so;
* tools: each function call runs in its own task under the tool deadline;
* watchdog: sleeps until the session's next deadline and reports it.

Whichever task the session answers sends its actions itself: no writer tasks, so no extra task
switches on the audio path. Both sockets' send paths already serialise whole frames (Hypercorn
and trio-websocket each encode a frame synchronously, then write it under their own FIFO
lock), so concurrent senders cannot interleave frames and keep their order.

Whatever ends the call (Twilio ``stop``, a dropped socket, a fatal model error, a deadline),
the session moves to ``ended`` and the nursery is cancelled, so no task outlives the call.

Every call in progress is in :class:`LiveCalls` (``CallServices.calls``) until its record is
saved, so a shutdown can wait for the calls, hand them to the front desk, or end them.
"""

from __future__ import annotations

import enum
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import attrs
import trio

from hotelvoice.calls.machine import EndReason
from hotelvoice.calls.ports import (
    CallContext,
    CallObserver,
    CallObservers,
    DuplicateCall,
    ModelConnector,
    ModelLink,
    ToolCall,
    ToolOutcome,
    ToolRegistry,
    TransferRequest,
    model_backends,
)
from hotelvoice.calls.session import (
    Action,
    CallSession,
    HangUp,
    ReconnectModel,
    RunTool,
    SwitchModel,
    ToModel,
    ToTwilio,
    TransferCall,
)
from hotelvoice.calls.stats import LOGGED_PROBLEMS_PER_KIND
from hotelvoice.config import Settings
from hotelvoice.logsafe import RateLimit, Whole
from hotelvoice.metrics import Metrics
from hotelvoice.realtime.connection import RealtimeClosed, RealtimeConnectError
from hotelvoice.telephony.rest import TwilioRest, TwilioRestError
from hotelvoice.telephony.tokens import TokenBook, TokenCheck
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw
from hotelvoice.wire.twiml import dial_twiml

log = logging.getLogger(__name__)

T = TypeVar("T")

# Warnings about what a socket sends (before its call starts, or during it), per kind,
# process-wide: a burst of this many, refilled over a minute. Each socket and each call also
# logs only the first few of each kind; this bounds many sockets or calls sending the same.
WARNING_LOG_BURST = 20
WARNING_LOG_WINDOW_S = 60.0


def _warning_log_limit() -> RateLimit:
    return RateLimit(
        burst=WARNING_LOG_BURST, window_s=WARNING_LOG_WINDOW_S, clock=trio.current_time
    )


class MediaSocket(Protocol):
    """Twilio's side of the call: Quart's ``websocket`` satisfies this."""

    async def receive(self) -> str | bytes:
        """Wait for the next message. Raises when the socket is gone."""
        ...

    async def send(self, data: str) -> None:
        """Send one text message."""
        ...


class LiveCalls:
    """The calls in progress in this process, each until its record is saved (for a drain).

    Single-threaded (the Trio loop). Once :meth:`hand_over_all` has been called, a call that
    starts later is handed over as soon as it runs.
    """

    def __init__(self) -> None:
        self._calls: set[Call] = set()
        self._emptied: trio.Event | None = None
        self.handing_over = False

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, call: Call) -> None:
        self._calls.add(call)

    def discard(self, call: Call) -> None:
        self._calls.discard(call)
        if not self._calls and self._emptied is not None:
            self._emptied.set()
            self._emptied = None

    async def wait_empty(self) -> None:
        """Wait until no call is in progress (every record saved); at once if none is."""
        while self._calls:
            if self._emptied is None:
                self._emptied = trio.Event()
            await self._emptied.wait()
        await trio.lowlevel.checkpoint()

    def hand_over_all(self) -> int:
        """Ask every call, and every call that starts from now on, to hand its caller to the
        front desk (``CallSession.hand_over``); returns how many calls were asked."""
        self.handing_over = True
        calls = list(self._calls)
        for call in calls:
            call.hand_over()
        return len(calls)

    def end_all(self, detail: str) -> int:
        """End every call now (its record is still saved; closing the media socket lets
        Twilio's TwiML tail dial the front desk); returns how many were ended."""
        calls = [call for call in self._calls if not call.session.ended]
        for call in calls:
            call.end_now(detail)
        return len(calls)


@attrs.frozen
class CallServices:
    """What every call shares: settings, backends and process-wide state.

    ``front_desk`` names the number that takes a call's caller at shutdown (its property's
    front desk); by default ``FRONT_DESK_PHONE``.
    """

    settings: Settings
    metrics: Metrics
    tokens: TokenBook
    tools: ToolRegistry
    connector: ModelConnector | None
    rest: TwilioRest | None
    instructions: Callable[[CallContext], str]
    observers: CallObservers | None = None
    warning_log: RateLimit = attrs.field(factory=_warning_log_limit)
    calls: LiveCalls = attrs.field(factory=LiveCalls)
    front_desk: Callable[[CallContext], str | None] | None = None

    def front_desk_for(self, context: CallContext) -> str | None:
        if self.front_desk is None:
            return self.settings.front_desk_phone
        return self.front_desk(context)


class _MediaSocketGone(Exception):
    pass


async def serve_media_stream(
    socket: MediaSocket,
    services: CallServices,
    *,
    on_start: Callable[[CallSession], None] | None = None,
    on_admitted: Callable[[], None] | None = None,
) -> CallSession | None:
    """Run one Media Streams connection from ``connected`` to the end of the call.

    Waits for ``start`` (bounded by the stream-start deadline), checks its one-time token, then
    bridges the call until it ends. Returns the finished session, or None when the stream was
    refused before a call began. Never raises for bad input or a dead peer; the socket closes
    when this returns, which lets the TwiML tail take over if the call is still up.
    ``on_admitted`` is called as soon as a ``start`` with a valid token has arrived (the
    socket no longer waits), ``on_start`` with the session once the call begins.
    """
    start = await _wait_for_start(socket, services)
    if start is None:
        return None
    if on_admitted is not None:
        on_admitted()
    context = CallContext(
        call_sid=start.call_sid,
        caller=start.custom_parameters.get("From"),
        dialed=start.custom_parameters.get("To"),
    )
    if services.connector is None:
        log.error(
            "call %s: no model backend is configured (set OPENAI_API_KEY); the TwiML "
            "fallback takes the call",
            start.call_sid,
        )
        services.metrics.incr("hotelvoice_calls_ended_total", reason="no_backend")
        return None
    observer = await _start_observer(services, context)
    if observer is REFUSED:
        return None
    call = Call(socket, services, start, context, services.connector, observer)
    if on_start is not None:
        on_start(call.session)
    await call.run()
    return call.session


class _SessionUpdates:
    """The encoded ``session.update`` of the last few configurations: on the defaults every
    call sends the same one (about 50 µs to build and encode with the basic tools, more with
    the hotel's), so the calls opened during a ramp-up encode it once."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        # By instructions (the tools are dicts, so a config is not hashable): the config and
        # its text, the oldest first.
        self._texts: dict[str, tuple[rt.SessionConfig, str]] = {}

    def encoded(self, config: rt.SessionConfig) -> str:
        """The JSON text of ``session.update`` for ``config``."""
        texts = self._texts
        cached = texts.get(config.instructions)
        if cached is not None and cached[0] == config:
            return cached[1]
        text = rt.dumps(rt.session_update(config))
        texts.pop(config.instructions, None)
        if len(texts) >= self._size:
            del texts[next(iter(texts))]
        texts[config.instructions] = (config, text)
        return text


_SESSION_UPDATES = _SessionUpdates()

OBSERVER_START_TIMEOUT_S = 2.0
OBSERVER_FINISH_TIMEOUT_S = 5.0


class _Refused(enum.Enum):
    REFUSED = "refused"


REFUSED = _Refused.REFUSED  # the stream must not be bridged (its CallSid has a record)


async def _start_observer(
    services: CallServices, context: CallContext
) -> CallObserver | _Refused | None:
    """The hotel's observer for this call; None: the call goes on without a record; REFUSED:
    the CallSid already has a record (a reused or replayed CallSid), so no call."""
    if services.observers is None:
        return None
    with trio.move_on_after(OBSERVER_START_TIMEOUT_S):
        try:
            return await services.observers.start(context)
        except DuplicateCall:
            log.warning(
                "call %s: stream refused: the CallSid already has a record", context.call_sid
            )
            services.metrics.incr("hotelvoice_stream_token_failures_total", reason="duplicate_call")
            return REFUSED
        except Exception:
            log.exception("call %s: the call record could not be started", context.call_sid)
            services.metrics.incr("hotelvoice_call_record_failures_total", stage="start")
            return None
    log.warning("call %s: starting the call record timed out", context.call_sid)
    services.metrics.incr("hotelvoice_call_record_failures_total", stage="start_timeout")
    return None


async def _wait_for_start(socket: MediaSocket, services: CallServices) -> tw.Start | None:
    metrics = services.metrics
    settings = services.settings
    start: tw.Start | None = None
    logged: Counter[str] = Counter()

    def note(kind: str, level: int, message: str, *args: object) -> None:
        """Log the first few lines of a kind per socket, within the process-wide rate."""
        logged[kind] += 1
        if logged[kind] <= LOGGED_PROBLEMS_PER_KIND:
            services.warning_log.log(log, level, kind, message, *args)

    with trio.move_on_after(settings.stream_start_timeout_s):
        while start is None:
            try:
                data = await socket.receive()
            except Exception as exc:  # the peer went away before start
                note(
                    "closed",
                    logging.INFO,
                    "media stream closed before start: %s",
                    type(exc).__name__,
                )
                return None
            try:
                message = tw.parse_message(data)
            except tw.TwilioProtocolError as exc:
                metrics.incr("hotelvoice_twilio_bad_messages_total", kind=exc.kind)
                note(exc.kind, logging.WARNING, "media stream before start: bad message: %s", exc)
                continue
            if isinstance(message, tw.Start):
                start = message
            elif not isinstance(message, tw.Connected):
                metrics.incr("hotelvoice_twilio_bad_messages_total", kind="before_start")
                note(
                    "before_start",
                    logging.WARNING,
                    "media stream: %s before start; dropped",
                    type(message).__name__,
                )
    if start is None:
        note(
            "no_start",
            logging.WARNING,
            "media stream: no start within %.0f s",
            settings.stream_start_timeout_s,
        )
        metrics.incr("hotelvoice_stream_token_failures_total", reason="no_start")
        return None
    token = start.custom_parameters.get("token", "")
    check = services.tokens.redeem(token, start.call_sid, trio.current_time())
    if check is not TokenCheck.OK:
        note(
            "token",
            logging.WARNING,
            "call %s: stream refused: token %s",
            start.call_sid,
            check.name.lower(),
        )
        metrics.incr("hotelvoice_stream_token_failures_total", reason=check.name.lower())
        return None
    expected_account = settings.twilio_account_sid
    if expected_account and start.account_sid != expected_account:
        note(
            "wrong_account",
            logging.WARNING,
            "call %s: stream refused: start names another account",
            start.call_sid,
        )
        metrics.incr("hotelvoice_stream_token_failures_total", reason="wrong_account")
        return None
    return start


class Call:
    """One bridged call: its session, its nursery and the tasks in it."""

    __slots__ = (
        "__weakref__",
        "_attempt_scope",
        "_fallback",
        "_handing_over",
        "_leg_scope",
        "_link",
        "_link_open",
        "_nursery",
        "_pump_scope",
        "_state_change",
        "_switch_requested",
        "connector",
        "context",
        "metrics",
        "observer",
        "services",
        "session",
        "settings",
        "socket",
    )

    def __init__(
        self,
        socket: MediaSocket,
        services: CallServices,
        start: tw.Start,
        context: CallContext,
        connector: ModelConnector,
        observer: CallObserver | None = None,
    ) -> None:
        self.socket = socket
        self.observer = observer
        self.services = services
        self.settings = services.settings
        self.metrics = services.metrics
        self.context = context
        # The backend the call opens, and the one it may switch to mid-call.
        self.connector, self._fallback = model_backends(connector)
        self.session = CallSession(
            call_sid=start.call_sid,
            stream_sid=start.stream_sid,
            settings=services.settings,
            clock=trio.current_time,
            metrics=services.metrics,
            context_items=self._observed(lambda o: o.context_items(), ()),
            fallback=self._fallback is not None,
        )
        self.session.machine.on_change = self._state_changed
        self._state_change = trio.Event()
        self._link: ModelLink | None = None
        self._nursery: trio.Nursery | None = None
        self._leg_scope = trio.CancelScope()
        self._pump_scope: trio.CancelScope | None = None
        self._link_open = False
        self._handing_over = False
        # One model link attempt (back-off, connect, pump); a SwitchModel cancels it.
        self._attempt_scope: trio.CancelScope | None = None
        self._switch_requested = False

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Bridge the call until it ends; returns with every task of the call stopped."""
        session = self.session
        self.metrics.incr("hotelvoice_calls_started_total")
        self.metrics.incr("hotelvoice_calls_active", 1)
        self.services.calls.add(self)
        log.info("call %s: stream %s started", session.call_sid, session.stream_sid)
        try:
            # The model leg sits outside the tasks' nursery so that, when the call ends, its
            # link can still be closed politely (its reader must be alive to see the reply).
            async with trio.open_nursery() as outer:
                outer.start_soon(self._model_leg)
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._watchdog)
                    nursery.start_soon(self._inbound)
                    if self.services.calls.handing_over:  # started during the shutdown
                        self.hand_over()
        finally:
            if not session.ended:
                session.hang_up(EndReason.MEDIA_SOCKET_CLOSED)
            cause = session.end_cause
            label = "unknown" if cause is None else cause.label
            self.metrics.incr("hotelvoice_calls_ended_total", reason=label)
            log.info(
                "call %s ended in state %s: %s; %s",
                session.call_sid,
                session.state,
                session.end_reason,
                Whole(session.summary()),  # our counters: the line is not cut at 200
            )
            # A call stays active until its record is saved: whoever waits for no active calls
            # (a drain, a test) then finds the record complete.
            try:
                await self._finish_observer()
            finally:
                self.metrics.incr("hotelvoice_calls_active", -1)
                self.services.calls.discard(self)
                # The machine's callback is a bound method of this call: dropping it breaks
                # the cycle, so the call and its session are freed now, not by the collector.
                session.machine.on_change = None

    def _observed(self, ask: Callable[[CallObserver], T], default: T) -> T:
        """Ask the observer something; its failure is logged and counted, never raised."""
        if self.observer is None:
            return default
        try:
            return ask(self.observer)
        except Exception:
            self.services.metrics.incr("hotelvoice_call_record_failures_total", stage="observe")
            log.exception("call %s: the call record failed", self.context.call_sid)
            return default

    async def _finish_observer(self) -> None:
        observer = self.observer
        if observer is None:
            return
        session = self.session
        # Shielded: the call's own cancellation must not lose its record.
        with trio.CancelScope(shield=True), trio.move_on_after(OBSERVER_FINISH_TIMEOUT_S):
            try:
                await observer.finish(end_reason=session.end_reason, stats=session.summary())
                return
            except Exception:
                log.exception("call %s: the call record could not be saved", session.call_sid)
        self.metrics.incr("hotelvoice_call_record_failures_total", stage="finish")

    def hand_over(self) -> None:
        """Shutting down: the session hands the caller to the front desk (in the call's own
        nursery; see ``CallSession.hand_over``). Once per call; nothing if it is over."""
        if self._handing_over or self._nursery is None or self.session.ended:
            return
        self._handing_over = True
        self._nursery.start_soon(self._hand_over)

    async def _hand_over(self) -> None:
        number = self.services.front_desk_for(self.context)
        await self._perform(self.session.hand_over(number))

    def end_now(self, detail: str) -> None:
        """Shutting down in a hurry: end the call at once (its record is still saved)."""
        if not self.session.ended:
            log.warning("call %s: ended at shutdown (%s)", self.session.call_sid, detail)
        self.session.finish(EndReason.SHUTDOWN, detail)
        self._end_if_over()

    def _state_changed(self) -> None:
        self._state_change.set()

    def _end_if_over(self) -> None:
        if not self.session.ended:
            return
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        if not self._link_open:
            self._leg_scope.cancel()  # connecting, or between links: nothing to be polite to
        elif self._pump_scope is not None:
            self._pump_scope.cancel()  # the link then closes politely; its reader must live

    async def _perform(self, actions: Sequence[Action]) -> None:
        """Carry out what the session decided, in order."""
        stats = self.session.stats
        switch: SwitchModel | None = None
        for action in actions:
            if isinstance(action, ToModel):
                await self._send_to_model(action.text)
            elif isinstance(action, ToTwilio):
                await self._send_to_twilio(action.text)
                stats.twilio_out += 1
            elif isinstance(action, RunTool):
                self._start_soon(self._run_tool, action.call)
            elif isinstance(action, TransferCall):
                self._start_soon(self._transfer, action.request)
            elif isinstance(action, HangUp):
                self._start_soon(self._hang_up, action.reason)
            elif isinstance(action, SwitchModel):
                switch = action  # after the rest: it may cancel the task running this
            # ReconnectModel: the model leg acts on it in the actions it gets back.
        if switch is not None:
            self._switch_model(switch)
        self._end_if_over()

    def _start_soon(self, fn: Callable[[T], Awaitable[None]], arg: T) -> None:
        if self._nursery is not None and not self.session.ended:
            self._nursery.start_soon(fn, arg)

    def _problem(self, kind: str, message: str, *args: object) -> None:
        """Log the first few problems of each kind per call, within the process-wide rate;
        count all of them."""
        if self.session.stats.problem(kind):
            self.services.warning_log.log(
                log,
                logging.WARNING,
                f"call:{kind}",
                "call %s: " + message,
                self.session.call_sid,
                *args,
            )

    # ------------------------------------------------------------------ Twilio side

    async def _inbound(self) -> None:
        session = self.session
        socket = self.socket
        parse = tw.parse_message
        while not session.ended:
            try:
                data = await socket.receive()
            except (trio.Cancelled, trio.TooSlowError):
                raise
            except Exception as exc:
                session.hang_up(EndReason.MEDIA_SOCKET_CLOSED, type(exc).__name__)
                break
            try:
                message = parse(data)
            except tw.TwilioProtocolError as exc:
                self.metrics.incr("hotelvoice_twilio_bad_messages_total", kind=exc.kind)
                self._problem(f"twilio_{exc.kind}", "bad Twilio message: %s", exc)
                continue
            actions = session.on_twilio(message)
            if actions:
                await self._perform(actions)
            else:
                self._end_if_over()
        self._end_if_over()

    async def _send_to_twilio(self, text: str) -> None:
        """Send on the media socket; a dead socket ends the call (the caller is gone)."""
        try:
            await self.socket.send(text)
        except (trio.Cancelled, trio.TooSlowError):
            raise
        except Exception as exc:
            self.session.hang_up(EndReason.MEDIA_SOCKET_CLOSED, type(exc).__name__)

    # ------------------------------------------------------------------ model side

    def _session_update(self) -> str:
        settings = self.settings
        instructions = self._observed(lambda o: o.instructions(), None)
        return _SESSION_UPDATES.encoded(
            rt.SessionConfig(
                model=settings.openai_model,
                voice=self._observed(lambda o: o.voice(), None) or settings.openai_voice,
                instructions=instructions or self.services.instructions(self.context),
                tools=tuple(self.services.tools.tools()),
                audio_format=rt.PCM24K if settings.openai_audio == "pcm16" else rt.PCMU,
            )
        )

    async def _model_leg(self) -> None:
        """Keep a model link open for the session: reconnect after the back-off it names,
        switch backend or session when it says so; return once it wants no more links."""
        session = self.session
        delay = 0.0
        with self._leg_scope:
            while True:
                reason = "switched"
                with trio.CancelScope() as self._attempt_scope:
                    if delay:
                        await trio.sleep(delay)
                    reason = await self._run_model_link()
                self._attempt_scope = None
                delay = 0.0
                if session.ended:
                    break
                if self._take_switch():  # the session already moved on to the next link
                    continue
                actions = session.on_model_lost(reason)
                await self._perform(actions)
                if self._take_switch():
                    continue
                again = next((a for a in actions if isinstance(a, ReconnectModel)), None)
                if again is None:
                    break
                delay = again.delay_s
        self._end_if_over()

    def _take_switch(self) -> bool:
        """Whether a SwitchModel came since the last look (and forget it)."""
        requested, self._switch_requested = self._switch_requested, False
        return requested

    def _switch_model(self, switch: SwitchModel) -> None:
        """Drop the current link attempt (if any): the model leg opens the next link, on the
        fallback backend when asked (once per call), without a back-off."""
        if switch.fallback and self._fallback is not None:
            log.warning(
                "call %s: switching the model from %s to %s",
                self.session.call_sid,
                self.connector.name,
                self._fallback.name,
            )
            self.connector, self._fallback = self._fallback, None
        self._switch_requested = True
        if self._attempt_scope is not None:
            self._attempt_scope.cancel()

    async def _run_model_link(self) -> str:
        """Open one model link and pump events until it closes; returns why it ended."""
        session = self.session
        try:
            async with self.connector.connect(call=self.context) as link:
                self._link_open = True
                self._link = link
                await self._send_to_model(self._session_update())
                return await self._pump_model_events(link)
        except RealtimeConnectError as exc:
            log.warning("call %s: model connect failed: %s", session.call_sid, exc)
            return f"connect failed: {exc}"
        except RealtimeClosed as exc:
            return f"closed ({exc.code})"
        finally:
            self._link = None
            self._link_open = False  # set only once the link's close has finished

    async def _send_to_model(self, text: str) -> None:
        """Send on the current model link. Without one (reconnecting) the event is dropped:
        the session replays the conversation itself once the new link is ready."""
        link = self._link
        if link is None:
            self.session.stats.problems["model_send_without_link"] += 1
            return
        try:
            await link.send(text)
        except RealtimeClosed:
            self.session.stats.problems["model_send_after_close"] += 1
            return  # the pump sees the closure and reports it
        self.session.stats.model_out += 1

    async def _pump_model_events(self, link: ModelLink) -> str:
        session = self.session
        if session.ended:
            return "call over"
        closed_because = "closed"
        parse = rt.parse_server_event
        stats = session.stats
        observer = self.observer
        with trio.CancelScope() as self._pump_scope:
            try:
                while True:
                    text = await link.receive()
                    stats.model_in += 1
                    try:
                        event = parse(text)
                    except rt.RealtimeProtocolError as exc:
                        self.metrics.incr("hotelvoice_model_bad_events_total", kind=exc.kind)
                        self._problem(f"model_{exc.kind}", "bad model event: %s", exc)
                        continue
                    if observer is not None and not isinstance(event, rt.AudioDelta):
                        self._observed(lambda o: o.on_model_event(event), None)  # noqa: B023
                    actions = session.on_model(event)
                    if actions:
                        await self._perform(actions)
                    else:
                        self._end_if_over()
            except RealtimeClosed as exc:
                closed_because = f"closed ({exc.code})"
        self._pump_scope = None
        return closed_because

    # ------------------------------------------------------------------ tools and endings

    async def _run_tool(self, call: ToolCall) -> None:
        outcome: ToolOutcome | None = None
        with trio.move_on_after(self.settings.tool_timeout_s):
            outcome = await self.services.tools.execute(call, self.context)
        if outcome is None:
            self.metrics.incr("hotelvoice_tool_calls_total", tool=call.name, outcome="timeout")
            self._problem("tool_timeout", "tool %s timed out", call.name)
            outcome = ToolOutcome(
                json.dumps(
                    {
                        "error": f"The {call.name} tool did not answer in time. Apologise to "
                        "the caller and offer another way to help."
                    }
                )
            )
        final = outcome
        self._observed(lambda o: o.on_tool_result(call, final), None)
        await self._perform(self.session.on_tool_result(call.call_id, outcome))

    async def _transfer(self, request: TransferRequest) -> None:
        ok = False
        rest = self.services.rest
        if rest is None:
            log.warning(
                "call %s: no Twilio REST credentials; the TwiML fallback dials the front desk",
                self.session.call_sid,
            )
        else:
            twiml = dial_twiml(request.number, caller_id=self.context.dialed)
            with trio.move_on_after(self.settings.transfer_timeout_s):
                try:
                    await rest.transfer(self.session.call_sid, twiml)
                    ok = True
                except TwilioRestError as exc:
                    self.metrics.incr("hotelvoice_rest_failures_total", action="transfer")
                    log.warning("call %s: transfer failed: %s", self.session.call_sid, exc)
        log.info(
            "call %s: transfer to %s (%s) %s",
            self.session.call_sid,
            request.department,
            request.number,
            "accepted" if ok else "failed",
        )
        await self._perform(self.session.on_transfer_result(ok))

    async def _hang_up(self, reason: EndReason) -> None:
        rest = self.services.rest
        if rest is not None:
            with trio.move_on_after(self.settings.transfer_timeout_s):
                try:
                    await rest.hang_up(self.session.call_sid)
                except TwilioRestError as exc:
                    self.metrics.incr("hotelvoice_rest_failures_total", action="hang_up")
                    log.warning("call %s: hang-up failed: %s", self.session.call_sid, exc)
        self.session.finish(reason)
        self._end_if_over()

    async def _watchdog(self) -> None:
        session = self.session
        while not session.ended:
            self._state_change = trio.Event()
            deadline = session.next_deadline()
            with trio.move_on_at(deadline):
                await self._state_change.wait()
            if trio.current_time() >= session.next_deadline():
                await self._perform(session.on_deadline())
