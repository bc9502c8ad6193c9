"""The call's ports: what a call needs from the layers above it, as interfaces.

* a model backend (:class:`ModelConnector`, opening a :class:`ModelLink` that speaks GA
  Realtime events as JSON text): OpenAI over a WebSocket (``realtime/``) or the embedded
  offline engine in-process (``engine/``);
* a tool registry and an observer of the conversation, both provided by ``hotel/``.

The call only knows these interfaces, so backends can be swapped and tools and records never
block or crash the audio path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

import attrs


@attrs.frozen
class ToolCall:
    """A function call the model made, taken from ``response.function_call_arguments.done``."""

    call_id: str
    name: str
    arguments: str


@attrs.frozen
class CallContext:
    """What a tool may know about the call it serves."""

    call_sid: str
    caller: str | None
    dialed: str | None


@attrs.frozen
class TransferRequest:
    """Asks the call to hand the caller to a human at ``number`` after the goodbye."""

    number: str
    department: str
    reason: str = ""


@attrs.frozen
class ToolOutcome:
    """A tool's result: ``output`` goes back to the model verbatim (a JSON string)."""

    output: str
    transfer: TransferRequest | None = None


class ToolRegistry(Protocol):
    def tools(self) -> Sequence[Mapping[str, Any]]:
        """The GA session's tool list: ``{"type": "function", "name", "description", ...}``."""
        ...

    async def execute(self, call: ToolCall, context: CallContext) -> ToolOutcome:
        """Run ``call``. Never raises: unknown tools and failures become error outcomes.

        Waits on whatever the tool waits on; the caller bounds it with a cancel scope.
        """
        ...


class DuplicateCall(Exception):
    """:meth:`CallObservers.start` refuses a call whose CallSid already has a record (a reused
    or replayed CallSid): the stream must not be bridged."""


class CallObserver(Protocol):
    """Follows one call for the hotel: its instructions, context, transcript and record.

    The synchronous methods run on the call's path and must be quick and never block (no
    I/O): record in memory or hand writes to a background writer; :meth:`finish` persists
    what is left.
    """

    def instructions(self) -> str:
        """The system instructions for this call's model session."""
        ...

    def voice(self) -> str | None:
        """The model voice for this call (None: the service default)."""
        ...

    def context_items(self) -> Sequence[Mapping[str, Any]]:
        """``conversation.item.create`` events to send before the model greets the caller."""
        ...

    def on_model_event(self, event: object) -> None:
        """A parsed model event (audio deltas are not passed)."""
        ...

    def on_tool_result(self, call: ToolCall, outcome: ToolOutcome) -> None:
        """A tool call and what it returned to the model."""
        ...

    async def finish(self, *, end_reason: str | None, stats: str) -> None:
        """The call is over: persist its record. Waits on the store; may be cut short."""
        ...


class CallObservers(Protocol):
    async def start(self, context: CallContext) -> CallObserver:
        """Begin following a call (may look the caller up). Raises DuplicateCall for a CallSid
        that already has a record, anything else on failure."""
        ...


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


@runtime_checkable
class FallbackPair(Protocol):
    """A connector with a second backend the call may switch to mid-call (the offline engine
    behind OpenAI). The bridge opens ``primary`` and, once a setup never completes or the
    reconnect budget is spent, ``fallback``, replaying the conversation into it."""

    primary: ModelConnector
    fallback: ModelConnector


def model_backends(connector: ModelConnector) -> tuple[ModelConnector, ModelConnector | None]:
    """The backend a call opens first and the one it may fall back to (None: no fallback)."""
    if isinstance(connector, FallbackPair):
        return connector.primary, connector.fallback
    return connector, None
