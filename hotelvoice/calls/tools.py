"""What the call needs from a tool registry: the session's tool list and a safe executor.

The hotel package provides the registry; the call only knows this interface, so tools never
block or crash the audio path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

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
