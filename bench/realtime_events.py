"""Microbenchmark of the per-frame Realtime event functions (µs per call).

Run from the repository root: ``.venv/bin/python -m bench.realtime_events``.

The audio delta is the hottest server message (about 50 a second per call) and
``encode_audio_append`` the hottest client one; both are measured with a 160-byte payload
(20 ms of μ-law). Next to them: the delta in another layout, bytes, a small typed event, and a
transcript delta (frequent while the model speaks), which becomes an OtherEvent.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable

from bench._timing import microseconds_per_call
from hotelvoice.wire.realtime import encode_audio_append, parse_server_event

PAYLOAD = base64.b64encode(os.urandom(160)).decode("ascii")
DELTA = {
    "type": "response.output_audio.delta",
    "event_id": "event_CP9a8Z1Bf0JvE2kxQ3LmN",
    "response_id": "resp_CP9a8YyJ3kPq7Rr2Tn8Xw",
    "item_id": "item_CP9a8Zt4m9QxLk1Wv6Hs2",
    "output_index": 0,
    "content_index": 0,
    "delta": PAYLOAD,
}
# The compact layout the API sends, and a spaced one (no layout is special to the parser now).
DELTA_COMPACT = json.dumps(DELTA, separators=(",", ":"))
DELTA_SPACED = json.dumps(DELTA)
DELTA_BYTES = DELTA_COMPACT.encode("utf-8")
SPEECH_STARTED = json.dumps(
    {
        "type": "input_audio_buffer.speech_started",
        "event_id": "event_CP9a8Z1Bf0JvE2kxQ3LmO",
        "audio_start_ms": 18_340,
        "item_id": "item_CP9a8Zt4m9QxLk1Wv6Hs3",
    },
    separators=(",", ":"),
)
TRANSCRIPT_DELTA = json.dumps(
    {
        "type": "response.output_audio_transcript.delta",
        "event_id": "event_CP9a8Z1Bf0JvE2kxQ3LmP",
        "response_id": "resp_CP9a8YyJ3kPq7Rr2Tn8Xw",
        "item_id": "item_CP9a8Zt4m9QxLk1Wv6Hs2",
        "output_index": 0,
        "content_index": 0,
        "delta": " rooms",
    },
    separators=(",", ":"),
)


def main() -> None:
    cases: dict[str, Callable[[], object]] = {
        "parse_server_event(delta, compact)": lambda: parse_server_event(DELTA_COMPACT),
        "parse_server_event(delta, bytes)": lambda: parse_server_event(DELTA_BYTES),
        "parse_server_event(delta, spaced)": lambda: parse_server_event(DELTA_SPACED),
        "parse_server_event(speech_started)": lambda: parse_server_event(SPEECH_STARTED),
        "parse_server_event(transcript delta)": lambda: parse_server_event(TRANSCRIPT_DELTA),
        "encode_audio_append(160 B frame)": lambda: encode_audio_append(PAYLOAD),
        "json.loads(delta) alone, reference": lambda: json.loads(DELTA_COMPACT),
        "(empty lambda, loop overhead)": lambda: None,
    }
    for name, function in cases.items():
        print(f"{name:40s} {microseconds_per_call(function):6.2f} µs/call")


if __name__ == "__main__":
    main()
