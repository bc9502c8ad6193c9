"""The softphone: ``hotelvoice call`` rings a running hotelvoice exactly as Twilio does.

For newcomers to hear the service (``--record call.wav``) and for end-to-end tests: the
signed webhook, the TwiML's ``<Connect><Stream>``, the signed WebSocket upgrade, 20 ms μ-law
frames in real time, Twilio's playout queue with mark echoes and ``clear``, DTMF and ``stop``.

* :mod:`~hotelvoice.softphone.protocol`: webhook form, signatures, TwiML, stream messages
  (sans-IO);
* :mod:`~hotelvoice.softphone.playout`: Twilio's outbound queue (sans-IO);
* :mod:`~hotelvoice.softphone.script`: the caller's lines and turn-taking (sans-IO);
* :mod:`~hotelvoice.softphone.client`: :class:`SoftphoneCall`, the Trio side;
* :mod:`~hotelvoice.softphone.recording`: stereo WAV, transcript and latency report.

The names below are imported from their modules on first use: ``hotelvoice serve`` imports
:mod:`~hotelvoice.softphone.defaults` for its help text and nothing else of the softphone
(numpy, the codec, espeak, the Twilio SDK).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotelvoice.softphone.client import (
        FAST_SPEED,
        CallClock,
        CallOptions,
        CallRecord,
        SoftphoneCall,
        StreamSession,
    )
    from hotelvoice.softphone.errors import SoftphoneError
    from hotelvoice.softphone.playout import Echo, PlayedAudio, Playout
    from hotelvoice.softphone.script import (
        CallerLine,
        ScriptEntry,
        TurnTaking,
        load_lines,
        parse_entry,
        read_script,
    )

# Each exported name and the module it comes from.
_SOURCES = {
    **dict.fromkeys(
        ("FAST_SPEED", "CallClock", "CallOptions", "CallRecord", "SoftphoneCall", "StreamSession"),
        "client",
    ),
    "SoftphoneError": "errors",
    **dict.fromkeys(("Echo", "PlayedAudio", "Playout"), "playout"),
    **dict.fromkeys(
        ("CallerLine", "ScriptEntry", "TurnTaking", "load_lines", "parse_entry", "read_script"),
        "script",
    ),
}


def __getattr__(name: str) -> Any:
    """``hotelvoice.softphone.NAME``: imports NAME's module (once) and returns it from there."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{source}"), name)


__all__ = [
    "FAST_SPEED",
    "CallClock",
    "CallOptions",
    "CallRecord",
    "CallerLine",
    "Echo",
    "PlayedAudio",
    "Playout",
    "ScriptEntry",
    "SoftphoneCall",
    "SoftphoneError",
    "StreamSession",
    "TurnTaking",
    "load_lines",
    "parse_entry",
    "read_script",
]
