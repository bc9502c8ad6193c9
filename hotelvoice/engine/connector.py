"""Connecting to the offline engine, in-process, and falling back to it when OpenAI is away.

:class:`LocalConnector` is a ``ModelConnector``: ``connect()`` starts a
:class:`~hotelvoice.engine.session.LocalSession` in its own nursery and yields a link
whose ``send``/``receive`` carry the same JSON text a WebSocket would. In-process rather than
over a loopback socket: no port to manage, no extra framing and task switches per 20 ms frame,
and the bridge's code path is still identical, because the link speaks the same events (the
``/v1/realtime`` WebSocket serves the very same session to outside clients).

:class:`FallbackConnector` pairs the primary backend (OpenAI) with the local engine. A call's
bridge reads the pair (``calls.ports.FallbackPair``) and switches to the engine mid-call itself:
when the first connect fails, when a session's setup never completes, or when drops spend the
reconnect budget, with the conversation replayed. Its own ``connect`` (for any other user) opens
the primary, or the engine when the primary cannot connect.

The engine's speech (the Whisper and Piper models, the silero detector) is loaded only when first
needed: this module imports none of it, and :meth:`LocalConnector.load` does, in a worker thread, on
the first session (or at start, when the offline engine is the backend: ``web/app.py`` calls it
then, so the first caller does not wait). A server on OpenAI that never falls back never loads it.

Every event the session sends waits in a bounded outbox until the client reads it
(:class:`LocalLink`): the voice, the one producer that can outrun a reader, waits for room
(backpressure); anything else that would overflow it (1,000 events, or 8 MB of them) means
the client has stopped reading, and the link is closed (counted in
``hotelvoice_engine_links_overflowed_total``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import trio

from hotelvoice.calls.ports import CallContext, ModelConnector, ModelLink
from hotelvoice.clock import utc_now
from hotelvoice.engine.heap import limit_malloc_arenas, release_free_heap_soon
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.realtime.connection import RealtimeClosed, RealtimeConnectError
from hotelvoice.speech import SpeechError

if TYPE_CHECKING:  # these load the speech libraries: imported when the engine is first used
    from hotelvoice.engine.session import LocalSession
    from hotelvoice.engine.speech import SpeechKit

log = logging.getLogger(__name__)

SESSION_START_TIMEOUT_S = 10.0
# Server events waiting for the client. The voice stops at VOICE_AHEAD_EVENTS (about 5 s of
# audio in 100 ms deltas) until the client has read down to half of it; past MAX_PENDING_EVENTS
# the client is not reading at all and the link is closed, and so it is past MAX_PENDING_CHARS
# of JSON (events echo what the client sent: a thousand echoes of 1 MiB items would be 1 GB).
# The bridge reads every event as it comes, so none is reached on a call.
VOICE_AHEAD_EVENTS = 50
MAX_PENDING_EVENTS = 1000
MAX_PENDING_CHARS = 8_000_000


class Outbox:
    """Server events on their way to the client, bounded. It holds neither the link nor the
    session, so the session's ``emit`` (this outbox's ``deliver``) makes no reference cycle."""

    def __init__(self, metrics: Metrics | None) -> None:
        self._send, self._receive = trio.open_memory_channel[str](MAX_PENDING_EVENTS)
        self._room = trio.lowlevel.ParkingLot()
        self._pending = 0
        self._pending_chars = 0
        self._metrics = metrics
        self.closed = False
        self.overflowed = False
        self.overflow = trio.Event()  # set when a client that stopped reading is cut off

    def deliver(self, event: dict[str, Any]) -> None:
        """Queue one event; when the client has let MAX_PENDING_EVENTS or MAX_PENDING_CHARS
        pile up, close."""
        if self.closed:
            return
        text = json.dumps(event, separators=(",", ":"))
        try:
            if self._pending_chars + len(text) > MAX_PENDING_CHARS:
                raise trio.WouldBlock
            self._send.send_nowait(text)
        except trio.WouldBlock:
            self.overflowed = True
            log.warning(
                "local engine: the client left %d events (%d characters) unread; closing its "
                "session",
                self._pending,
                self._pending_chars,
            )
            if self._metrics is not None:
                self._metrics.incr("hotelvoice_engine_links_overflowed_total")
            self.close()
            self.overflow.set()
            return
        self._pending += 1
        self._pending_chars += len(text)

    async def wait_for_room(self) -> None:
        """Wait (a checkpoint at least) until fewer than VOICE_AHEAD_EVENTS are unread."""
        if self._pending < VOICE_AHEAD_EVENTS or self.closed:
            await trio.lowlevel.checkpoint()
            return
        while self._pending >= VOICE_AHEAD_EVENTS // 2 and not self.closed:
            await self._room.park()

    async def receive(self) -> str:
        """The next event. Raises RealtimeClosed once closed and drained."""
        try:
            text = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            code, reason = (1008, "client not reading") if self.overflowed else (1000, "closed")
            raise RealtimeClosed(code, reason) from None
        self._pending -= 1
        self._pending_chars -= len(text)
        if self._pending < VOICE_AHEAD_EVENTS // 2:
            self._room.unpark_all()
        return text

    def close(self) -> None:
        self.closed = True
        self._send.close()
        self._room.unpark_all()


class LocalLink:
    """Both ends of one in-process session, as a ``ModelLink``."""

    def __init__(
        self,
        session_factory: Callable[[Outbox], LocalSession],
        metrics: Metrics | None = None,
    ) -> None:
        self._outbox = Outbox(metrics)
        self.session = session_factory(self._outbox)

    @property
    def closed(self) -> bool:
        return self._outbox.closed

    async def send(self, text: str | bytes) -> None:
        """Hand one client event to the session (a binary one gets an ``error`` event).
        Raises RealtimeClosed after close."""
        if self.closed:
            raise RealtimeClosed(1000, "closed")
        await trio.lowlevel.checkpoint()
        self.session.handle(text)

    async def receive(self) -> str:
        """The next server event. Raises RealtimeClosed once the link is closed."""
        return await self._outbox.receive()

    def close(self) -> None:
        self._outbox.close()

    async def wait_overflowed(self) -> None:
        """Wait until the client has let too many events pile up and the link was closed."""
        await self._outbox.overflow.wait()


class LocalConnector:
    """Opens offline engine sessions for calls; the property follows the dialed number.

    The speech kit loads on the first session (or :meth:`load`); ``kit`` is None until then.
    """

    name = "local"

    def __init__(
        self,
        book: PropertyBook,
        kit: SpeechKit | None = None,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        metrics: Metrics | None = None,
        stt_model: str | None = None,
    ) -> None:
        self.book = book
        self.stt_model = stt_model  # HOTELVOICE_STT_MODEL: the recogniser the kit loads
        self._kit = kit
        self._loading = trio.Lock()
        self.clock = clock
        self.metrics = metrics
        # Made before the server starts its worker threads: their speech buffers share one
        # arena, which malloc_trim empties after each session (engine/heap.py).
        limit_malloc_arenas()

    def __repr__(self) -> str:
        return f"LocalConnector(properties={[p.id for p in self.book.properties]!r})"

    @property
    def kit(self) -> SpeechKit | None:
        """The engine's speech kit, once loaded."""
        return self._kit

    async def load(self) -> SpeechKit:
        """The speech kit, loaded and warmed up the first time, in a worker thread: the
        speech libraries, the recogniser, the voice and the detector (about 2 s); callers
        meanwhile wait for the same load. Raises SpeechError, OSError or RuntimeError when the
        speech libraries cannot start."""
        async with self._loading:
            if self._kit is None:
                self._kit = await trio.to_thread.run_sync(_load_kit, self.stt_model)
            return self._kit

    @asynccontextmanager
    async def connect(self, *, call: CallContext | None = None) -> AsyncIterator[LocalLink]:
        """Start a session (its recogniser loads in a thread). Raises RealtimeConnectError."""
        prop = self.book.for_number(call.dialed if call is not None else None)
        try:
            with trio.fail_after(SESSION_START_TIMEOUT_S):
                kit = await self.load()
        except (OSError, RuntimeError, SpeechError, trio.TooSlowError) as exc:
            raise RealtimeConnectError(f"the offline engine did not load: {exc}") from exc
        from hotelvoice.engine.session import LocalSession  # loaded by now: no wait here

        def factory(outbox: Outbox) -> LocalSession:
            return LocalSession(
                kit=kit,
                prop=prop,
                today_fn=lambda: prop.today(self.clock()),
                now_fn=lambda: prop.now(self.clock()),
                emit=outbox.deliver,
                wait_for_room=outbox.wait_for_room,
                metrics=self.metrics,
            )

        link = LocalLink(factory, self.metrics)
        try:
            async with trio.open_nursery() as nursery:
                try:
                    with trio.fail_after(SESSION_START_TIMEOUT_S):
                        await nursery.start(link.session.run)
                except (OSError, RuntimeError, SpeechError, trio.TooSlowError) as exc:
                    link.close()
                    raise RealtimeConnectError(f"the offline engine did not start: {exc}") from exc
                try:
                    yield link
                finally:
                    link.close()
                    nursery.cancel_scope.cancel()
        finally:
            del link  # the session's last reference: its detector and buffers go now
            release_free_heap_soon()  # and the C heap hands back what the session freed


def _load_kit(stt_model: str | None) -> SpeechKit:
    """In a worker thread: import the engine's speech and warm it up."""
    from hotelvoice.engine import session  # noqa: F401  (its speech libraries load here)
    from hotelvoice.engine.speech import SpeechKit

    kit = SpeechKit.shared(stt_model=stt_model)
    kit.warm_up()
    return kit


class FallbackConnector:
    """The primary backend and the offline engine to fall back to (a ``FallbackPair``)."""

    def __init__(
        self, primary: ModelConnector, fallback: ModelConnector, metrics: Metrics | None = None
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.metrics = metrics
        self.name = f"{primary.name}+{fallback.name}"

    def __repr__(self) -> str:
        return f"FallbackConnector({self.primary!r}, {self.fallback!r})"

    @asynccontextmanager
    async def connect(self, *, call: CallContext | None = None) -> AsyncIterator[ModelLink]:
        """The primary's link, else the fallback's. Raises RealtimeConnectError if neither."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                link: ModelLink = await stack.enter_async_context(self.primary.connect(call=call))
            except RealtimeConnectError as exc:
                log.warning(
                    "call %s: %s unreachable (%s); the offline engine answers",
                    call.call_sid if call else "-",
                    self.primary.name,
                    exc,
                )
                if self.metrics is not None:
                    self.metrics.incr("hotelvoice_model_fallbacks_total", reason="connect_failed")
                link = await stack.enter_async_context(self.fallback.connect(call=call))
            yield link


class EngineSocket(Protocol):
    async def receive(self) -> str | bytes:
        """The next message. Raises when the peer has gone."""
        ...

    async def send(self, data: str) -> None:
        """Send one text message. Raises when the socket is closed."""
        ...


async def serve_engine_socket(
    connector: LocalConnector, socket: EngineSocket, metrics: Metrics | None = None
) -> None:
    """Serve one engine session over an accepted WebSocket until either side closes.

    Every message goes to the session, which answers what it cannot take (a ``session.update``
    asking for a rate of 0 or ``"abc"``, a binary frame) with an ``error`` event and goes on.
    A fault inside the session ends it with a log line, never an exception out of here.
    """
    try:
        await _serve_engine_socket(connector, socket)
    except* Exception:
        log.exception("engine socket: the session failed; closing it")
        if metrics is not None:
            metrics.incr("hotelvoice_engine_bad_events_total", kind="session_failed")


async def _serve_engine_socket(connector: LocalConnector, socket: EngineSocket) -> None:
    async with connector.connect() as link, trio.open_nursery() as nursery:

        async def outbound() -> None:
            while True:
                try:
                    event = await link.receive()
                except RealtimeClosed:  # the session closed it (a client that stopped reading)
                    break
                try:
                    await socket.send(event)
                except Exception:  # the client went away
                    break
            nursery.cancel_scope.cancel()

        async def overflow() -> None:  # a client that stopped reading: its socket's send may
            await link.wait_overflowed()  # be blocked on a full TCP window, so do not wait on it
            nursery.cancel_scope.cancel()

        nursery.start_soon(outbound)
        nursery.start_soon(overflow)
        while True:
            try:
                data = await socket.receive()
            except Exception:  # the client went away
                break
            try:
                await link.send(data)
            except RealtimeClosed:
                break
        nursery.cancel_scope.cancel()
