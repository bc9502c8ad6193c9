"""The OpenAI Realtime backend: the WebSocket connection and its ``ModelConnector``. The
events themselves are in :mod:`hotelvoice.wire.realtime`."""

from __future__ import annotations
