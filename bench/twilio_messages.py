"""Microbenchmark of the per-frame Twilio message functions (µs per call).

Run from the repository root: ``.venv/bin/python -m bench.twilio_messages``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from bench._timing import microseconds_per_call
from hotelvoice.wire.twilio import (
    encode_clear,
    encode_mark,
    encode_media,
    parse_message,
)

STREAM_SID = "MZ18ad3ab5a668481ce02b83e7395059f0"
# 20 ms of μ-law at 8 kHz: 160 bytes, 216 base64 characters, what Twilio sends 50 times a second.
FRAME_PAYLOAD = base64.b64encode(os.urandom(160)).decode("ascii")
MEDIA_MESSAGE = (
    f'{{"event":"media","sequenceNumber":"4","streamSid":"{STREAM_SID}",'
    f'"media":{{"track":"inbound","chunk":"2","timestamp":"5","payload":"{FRAME_PAYLOAD}"}}}}'
)
MEDIA_MESSAGE_BYTES = MEDIA_MESSAGE.encode("utf-8")
MARK_ECHO_MESSAGE = (
    f'{{"event":"mark","sequenceNumber":"6","streamSid":"{STREAM_SID}",'
    f'"mark":{{"name":"item_abc123:7"}}}}'
)


def main() -> None:
    cases: dict[str, Callable[[], object]] = {
        "parse_message(media, str)": lambda: parse_message(MEDIA_MESSAGE),
        "parse_message(media, bytes)": lambda: parse_message(MEDIA_MESSAGE_BYTES),
        "parse_message(mark echo)": lambda: parse_message(MARK_ECHO_MESSAGE),
        "encode_media(160 B frame)": lambda: encode_media(STREAM_SID, FRAME_PAYLOAD),
        "encode_mark": lambda: encode_mark(STREAM_SID, "item_abc123:7"),
        "encode_clear": lambda: encode_clear(STREAM_SID),
        "(empty lambda, loop overhead)": lambda: None,
    }
    for name, function in cases.items():
        print(f"{name:32s} {microseconds_per_call(function):6.2f} µs/call")


if __name__ == "__main__":
    main()
