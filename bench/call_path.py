"""Microbenchmark of a talking call's sans-IO path (µs per 20 ms of call).

Run from the repository root: ``.venv/bin/python -m bench.call_path``.

Every 20 ms a Twilio media frame and a model audio delta arrive as JSON text; both are parsed
(``wire/``) and fed to a ``CallSession``, and every mark the session sends is echoed back the
way Twilio does (parsed and fed too). A fresh session every 10 s of call, so the ledger and
history stay the size a real call keeps. Sockets and Trio are not involved: this is the cost of
hotelvoice's own logic per frame, the part the capacity benchmark (``bench/calls.py``) cannot
separate from the server's.
"""

from __future__ import annotations

import base64
import json
import time

from hotelvoice.calls.session import CallSession, ToTwilio
from hotelvoice.config import Settings
from hotelvoice.wire import realtime as rt
from hotelvoice.wire import twilio as tw

STREAM_SID = "MZ" + "1" * 32
PAYLOAD = base64.b64encode(bytes(range(160))).decode("ascii")
MEDIA = json.dumps(
    {
        "event": "media",
        "sequenceNumber": "4",
        "streamSid": STREAM_SID,
        "media": {"track": "inbound", "chunk": "2", "timestamp": "5", "payload": PAYLOAD},
    },
    separators=(",", ":"),
)
DELTA = json.dumps(
    {
        "type": "response.output_audio.delta",
        "event_id": "event_1",
        "response_id": "resp_1",
        "item_id": "item_1",
        "output_index": 0,
        "content_index": 0,
        "delta": PAYLOAD,
    },
    separators=(",", ":"),
)
FRAMES_PER_CALL = 500  # 10 s
CALLS = 40


def one_call(settings: Settings) -> int:
    """Ten seconds of the model talking while the caller's line streams in; marks echoed."""
    session = CallSession(
        call_sid="CA1", stream_sid=STREAM_SID, settings=settings, clock=lambda: 0.0
    )
    session.on_model(rt.SessionUpdated({}))
    session.on_model(rt.ResponseCreated("resp_1"))
    echoed = 0
    for _ in range(FRAMES_PER_CALL):
        session.on_twilio(tw.parse_message(MEDIA))
        for action in session.on_model(rt.parse_server_event(DELTA)):
            if isinstance(action, ToTwilio) and '"mark"' in action.text:
                echo = json.loads(action.text)
                echo["sequenceNumber"] = "9"
                session.on_twilio(tw.parse_message(json.dumps(echo, separators=(",", ":"))))
                echoed += 1
    return echoed


def main() -> None:
    settings = Settings()
    best = float("inf")
    echoed = 0
    for _ in range(5):  # best of five: a stray context switch does not skew the figure
        started = time.perf_counter()
        for _ in range(CALLS):
            echoed = one_call(settings)
        best = min(best, time.perf_counter() - started)
    frames = CALLS * FRAMES_PER_CALL
    print(f"media in + audio delta out, per 20 ms    {best / frames * 1e6:6.2f} µs")
    print(f"(marks echoed per 10 s call: {echoed})")


if __name__ == "__main__":
    main()
