"""Connecting to the offline engine, in-process, and falling back to it when OpenAI is away.

:class:`LocalConnector` is a ``ModelConnector``: ``connect()`` starts a
:class:`~hotelvoice.engine.session.LocalSession` in its own nursery and yields a link
whose ``send``/``receive`` carry the same JSON text a WebSocket would. In-process rather than
over a loopback socket: no port to manage, no extra framing and task switches per 20 ms frame,
and the bridge's code path is still identical, because the link speaks the same events (the
``/v1/realtime`` WebSocket serves the very same session to outside clients).

:class:`FallbackConnector` tries the primary backend (OpenAI) and, when it cannot connect,
opens the local engine instead, so a call is answered rather than sent to the TwiML tail.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import trio

from hotelvoice.calls.ports import CallContext, ModelConnector, ModelLink
from hotelvoice.clock import utc_now
from hotelvoice.engine.session import LocalSession
from hotelvoice.engine.speech import SpeechKit
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook
from hotelvoice.realtime.connection import RealtimeClosed, RealtimeConnectError

log = logging.getLogger(__name__)

SESSION_START_TIMEOUT_S = 10.0


class LocalLink:
    """Both ends of one in-process session, as a ``ModelLink``."""

    def __init__(
        self, session_factory: Callable[[Callable[[dict[str, Any]], None]], LocalSession]
    ) -> None:
        self._to_client_send, self._to_client = trio.open_memory_channel[str](math.inf)
        self.session = session_factory(self._deliver)
        self.closed = False

    def _deliver(self, event: dict[str, Any]) -> None:
        if not self.closed:
            self._to_client_send.send_nowait(json.dumps(event, separators=(",", ":")))

    async def send(self, text: str) -> None:
        """Hand one client event to the session. Raises RealtimeClosed after close."""
        if self.closed:
            raise RealtimeClosed(1000, "closed")
        await trio.lowlevel.checkpoint()
        self.session.handle(text)

    async def receive(self) -> str:
        """The next server event. Raises RealtimeClosed once the link is closed."""
        try:
            return await self._to_client.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise RealtimeClosed(1000, "closed") from None

    def close(self) -> None:
        self.closed = True
        self._to_client_send.close()


class LocalConnector:
    """Opens offline engine sessions for calls; the property follows the dialed number."""

    name = "local"

    def __init__(
        self,
        book: PropertyBook,
        kit: SpeechKit | None = None,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.book = book
        self.kit = kit if kit is not None else SpeechKit.shared()
        self.clock = clock

    def __repr__(self) -> str:
        return f"LocalConnector(properties={[p.id for p in self.book.properties]!r})"

    @asynccontextmanager
    async def connect(self, *, call: CallContext | None = None) -> AsyncIterator[LocalLink]:
        """Start a session (its recogniser loads in a thread). Raises RealtimeConnectError."""
        prop = self.book.for_number(call.dialed if call is not None else None)

        def factory(emit: Callable[[dict[str, Any]], None]) -> LocalSession:
            return LocalSession(
                kit=self.kit,
                prop=prop,
                today_fn=lambda: prop.today(self.clock()),
                now_fn=lambda: prop.now(self.clock()),
                emit=emit,
            )

        link = LocalLink(factory)
        async with trio.open_nursery() as nursery:
            try:
                with trio.fail_after(SESSION_START_TIMEOUT_S):
                    await nursery.start(link.session.run)
            except (OSError, RuntimeError, trio.TooSlowError) as exc:
                link.close()
                raise RealtimeConnectError(f"the offline engine did not start: {exc}") from exc
            try:
                yield link
            finally:
                link.close()
                nursery.cancel_scope.cancel()


class FallbackConnector:
    """The primary backend, or the offline engine when the primary cannot be reached."""

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
                    self.metrics.incr(
                        "hotelvoice_model_fallbacks_total", backend=self.fallback.name
                    )
                link = await stack.enter_async_context(self.fallback.connect(call=call))
            yield link


class EngineSocket(Protocol):
    async def receive(self) -> str | bytes:
        """The next message. Raises when the peer has gone."""
        ...

    async def send(self, data: str) -> None:
        """Send one text message. Raises when the socket is closed."""
        ...


async def serve_engine_socket(connector: LocalConnector, socket: EngineSocket) -> None:
    """Serve one engine session over an accepted WebSocket until either side closes."""
    async with connector.connect() as link:

        async def outbound() -> None:
            while True:
                await socket.send(await link.receive())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(outbound)
            while True:
                try:
                    data = await socket.receive()
                except Exception:  # the client went away
                    break
                if isinstance(data, str):
                    await link.send(data)
            nursery.cancel_scope.cancel()
