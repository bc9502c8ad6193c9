"""The model backend seen by a call: something that opens a link speaking GA Realtime events.

The OpenAI backend opens a WebSocket; the embedded offline engine can speak the same events
in-process. A call only needs ``connect()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from hotelvoice.calls.tools import CallContext
from hotelvoice.realtime.connection import RealtimeConnection, open_realtime


class ModelLink(Protocol):
    async def send(self, text: str) -> None:
        """Send one client event (JSON text). Raises RealtimeClosed."""
        ...

    async def receive(self) -> str:
        """Wait for the next server event (JSON text). Raises RealtimeClosed."""
        ...


class ModelConnector(Protocol):
    name: str

    def connect(self, *, call: CallContext | None = None) -> AbstractAsyncContextManager[ModelLink]:
        """Open a model session for ``call``. Raises RealtimeConnectError when it cannot."""
        ...


class OpenAIConnector:
    """Connects to the OpenAI Realtime API (or anything speaking it, such as a test fake)."""

    name = "openai"

    def __init__(self, *, url: str, model: str, api_key: str, connect_timeout: float) -> None:
        self.url = url
        self.model = model
        self._api_key = api_key
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return f"OpenAIConnector(url={self.url!r}, model={self.model!r})"

    @asynccontextmanager
    async def connect(
        self, *, call: CallContext | None = None
    ) -> AsyncIterator[RealtimeConnection]:
        async with open_realtime(
            self.url,
            model=self.model,
            api_key=self._api_key,
            connect_timeout=self.connect_timeout,
        ) as connection:
            yield connection
