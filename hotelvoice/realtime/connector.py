"""The OpenAI backend: a ``ModelConnector`` (see :mod:`hotelvoice.calls.ports`) that opens a
Realtime WebSocket per call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hotelvoice.realtime.connection import RealtimeConnection, open_realtime


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
    async def connect(self, *, call: object = None) -> AsyncIterator[RealtimeConnection]:
        """Open a Realtime session (``call`` is not needed: one socket per call either way).

        Raises RealtimeConnectError when the socket or session cannot be set up in time.
        """
        async with open_realtime(
            self.url,
            model=self.model,
            api_key=self._api_key,
            connect_timeout=self.connect_timeout,
        ) as connection:
            yield connection
