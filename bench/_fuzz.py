"""Malformed input for ``bench/soak.py --fuzz``: what each kind of bad message looks like.

Three families, each a list of ``(kind, make)`` where ``make(rng, ids)`` returns one message:

* :data:`BEFORE_START`: WebSocket frames on a media socket that has not (validly) started:
  invalid JSON, wrong types, unknown events, media/mark/dtmf/stop before ``start``, binary
  frames, oversized frames, ``start`` with a forged token, a huge or control-character
  ``callSid``, missing fields.
* :data:`AFTER_START`: frames on a stream started with a genuine token: marks with unknown,
  huge, control-character or non-string names, media with bad base64 or wrong types or an
  oversized payload, odd DTMF, a second ``start``, unknown events, invalid JSON, binary frames.
* :data:`HTTP`: requests: unsigned or wrongly signed webhooks, signed webhooks with 600-character
  or control-character fields, a JSON or 1-MB body, ``/pay/`` tokens with non-ASCII characters
  or 5,000 characters, garbage stream-status callbacks.

Values meant to reach a log carry :data:`FORGED_LINE`: a newline then a line shaped like the
server's own records, so an unescaped value shows in the log as a line starting with it.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: What a value that splits a log line would start a line with.
FORGED_LINE = "2026-12-03 00:00:00,000 CRITICAL hotelvoice: FORGED-BY-FUZZ"
OVERSIZED_BYTES = 1_200_000  # above hypercorn's 1 MiB WebSocket message limit (web/server.py)


@dataclass(frozen=True)
class Ids:
    """The stream a message claims to belong to."""

    stream_sid: str
    call_sid: str
    account_sid: str


Message = str | bytes
Make = Callable[[random.Random, Ids], Message]


@dataclass(frozen=True)
class Request:
    """One HTTP request: method, path, headers, body; ``sign`` asks for a valid signature
    over ``form`` (the caller computes it)."""

    method: str
    path: str
    form: dict[str, str] | None = None
    body: bytes | None = None
    headers: dict[str, str] | None = None
    sign: bool = False


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _evil(rng: random.Random) -> str:
    """A string made to hurt a log line or a parser."""
    return rng.choice(
        [
            "x\n" + FORGED_LINE,
            "\r\n" + FORGED_LINE + "\r\n",
            "\x1b[31mred\x1b[0m\x07\x00\x08",
            "n" * 30_000,
            "ü\u202e\u2028" * 50,
            "",
            " ",
            "%s%s%n{0}{__class__}",
        ]
    )


def _media(ids: Ids, media: Any, seq: Any = "2") -> str:
    return _dumps(
        {"event": "media", "sequenceNumber": seq, "streamSid": ids.stream_sid, "media": media}
    )


def _good_media(ids: Ids) -> str:
    payload = base64.b64encode(b"\xff" * 160).decode()
    return _media(ids, {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload})


def _start(ids: Ids, call_sid: Any, parameters: Any, **extra: Any) -> str:
    start = {
        "streamSid": ids.stream_sid,
        "accountSid": ids.account_sid,
        "callSid": call_sid,
        "tracks": ["inbound"],
        "customParameters": parameters,
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    start.update(extra)
    return _dumps(
        {"event": "start", "sequenceNumber": "1", "streamSid": ids.stream_sid, "start": start}
    )


def _mark(ids: Ids, name: Any) -> str:
    return _dumps(
        {
            "event": "mark",
            "sequenceNumber": "3",
            "streamSid": ids.stream_sid,
            "mark": {"name": name},
        }
    )


def _dtmf(ids: Ids, digit: Any) -> str:
    return _dumps(
        {
            "event": "dtmf",
            "sequenceNumber": "4",
            "streamSid": ids.stream_sid,
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def _invalid_json(rng: random.Random, ids: Ids) -> Message:
    return rng.choice(
        [
            "{",
            "nope",
            '{"event":',
            '{"event":"media",,}',
            "\x00\x01\x02",
            '{"event":"start"' + "x" * 1000,
            "[" * 5000,
            '{"event":"media"}' * 3,
            "NaN",
        ]
    )


def _wrong_types(rng: random.Random, ids: Ids) -> Message:
    return _dumps(
        rng.choice(
            [
                [],
                5,
                "start",
                None,
                {"event": 5},
                {"event": ["media"]},
                {"event": None},
                {"event": {"x": 1}},
                {"event": "media", "media": "x"},
                {"event": "media", "media": None},
                {"event": "start", "start": []},
                {"event": "start", "start": {"callSid": 5, "customParameters": "x"}},
                {"event": "stop", "stop": 7},
                {"event": "mark", "mark": []},
            ]
        )
    )


def _unknown_event(rng: random.Random, ids: Ids) -> Message:
    event = rng.choice(["hello", "MEDIA", "", "mark" + _evil(rng), "x" * 5000, "connected2"])
    return _dumps({"event": event, "streamSid": ids.stream_sid, event[:20]: {"a": _evil(rng)}})


def _binary(rng: random.Random, ids: Ids) -> Message:
    return rng.randbytes(rng.choice([1, 160, 4000]))


def _oversized(rng: random.Random, ids: Ids) -> Message:
    payload = base64.b64encode(rng.randbytes(OVERSIZED_BYTES)).decode()
    return _media(ids, {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload})


def _large(rng: random.Random, ids: Ids) -> Message:
    """Large but under the frame limit: a 64-KB payload or a 200-KB field."""
    if rng.random() < 0.5:
        payload = base64.b64encode(b"\xff" * 65536).decode()
        return _media(ids, {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": payload})
    return _dumps({"event": "media", "streamSid": ids.stream_sid, "junk": "j" * 200_000})


def _media_before_start(rng: random.Random, ids: Ids) -> Message:
    return _good_media(ids)


def _stop(rng: random.Random, ids: Ids) -> Message:
    call_sid = rng.choice([ids.call_sid, _evil(rng), 5])
    stop = {"accountSid": ids.account_sid, "callSid": call_sid}
    return _dumps(
        {"event": "stop", "sequenceNumber": "9", "streamSid": ids.stream_sid, "stop": stop}
    )


def _mark_odd(rng: random.Random, ids: Ids) -> Message:
    return _mark(ids, rng.choice([_evil(rng), 5, None, {"a": 1}, ["x"], "unknown-mark"]))


def _dtmf_odd(rng: random.Random, ids: Ids) -> Message:
    return _dtmf(ids, rng.choice(["\n" + FORGED_LINE, "12", "", 5, None, "x" * 1000, "A"]))


def _forged_start(rng: random.Random, ids: Ids) -> Message:
    """A start whose token is forged, its callSid hostile."""
    call_sid = rng.choice([ids.call_sid, "CA\n" + FORGED_LINE, "CA" + "9" * 30_000, _evil(rng)])
    token = rng.choice(["forged", "", _evil(rng), "a.b.c"])
    return _start(ids, call_sid, {"token": token})


def _broken_start(rng: random.Random, ids: Ids) -> Message:
    return rng.choice(
        [
            _dumps({"event": "start", "start": {}}),
            _dumps({"event": "start"}),
            _start(ids, None, None),
            _start(ids, ids.call_sid, {"token": 5}),
            _start(ids, ids.call_sid, ["token"]),
            _start(ids, ids.call_sid, {}, mediaFormat={"encoding": "audio/opus"}),
            _start(ids, ids.call_sid, {"token" * 100: "x" * 10_000}),
        ]
    )


def _bad_base64(rng: random.Random, ids: Ids) -> Message:
    payload = rng.choice(["!!!notbase64", "abc", "////", "", "====", "ü" * 10, "YQ==YQ=="])
    return _media(ids, {"track": "inbound", "chunk": "2", "timestamp": "20", "payload": payload})


def _media_wrong_types(rng: random.Random, ids: Ids) -> Message:
    return rng.choice(
        [
            _media(ids, {"track": "inbound", "chunk": "1", "timestamp": "0", "payload": 5}),
            _media(ids, None),
            _media(ids, []),
            _media(ids, {"track": 7, "chunk": [], "timestamp": "abc", "payload": "/w=="}),
            _media(ids, {"payload": "/w=="}, seq={"a": 1}),
            _media(ids, {"track": "outbound", "chunk": "-1", "timestamp": "-5", "payload": "/w=="}),
        ]
    )


def _second_start(rng: random.Random, ids: Ids) -> Message:
    return _start(ids, rng.choice([ids.call_sid, "CA" + "0" * 32]), {"token": "again"})


#: Frames on a socket that was never validly started.
BEFORE_START: list[tuple[str, Make]] = [
    ("invalid JSON", _invalid_json),
    ("wrong types", _wrong_types),
    ("unknown event", _unknown_event),
    ("binary frame", _binary),
    ("media before start", _media_before_start),
    ("mark before start", _mark_odd),
    ("dtmf before start", _dtmf_odd),
    ("stop before start", _stop),
    ("start with a forged token or hostile callSid", _forged_start),
    ("start with missing or wrong fields", _broken_start),
]

#: Frames on a stream started with a genuine token.
AFTER_START: list[tuple[str, Make]] = [
    ("mark with an unknown/odd name", _mark_odd),
    ("media with bad base64", _bad_base64),
    ("media with wrong types", _media_wrong_types),
    ("dtmf with an odd digit", _dtmf_odd),
    ("second start", _second_start),
    ("unknown event", _unknown_event),
    ("invalid JSON", _invalid_json),
    ("wrong types", _wrong_types),
    ("binary frame", _binary),
]

#: Large frames under the server's message limit: sent now and then, in either family.
LARGE: tuple[str, Make] = ("large frame (64 KB payload or 200 KB field)", _large)
#: A frame above the server's message limit: sent a few times a run (it closes the socket).
OVERSIZED: tuple[str, Make] = ("oversized frame (> 1 MiB)", _oversized)


def http_request(rng: random.Random, call_form: dict[str, str]) -> tuple[str, Request]:
    """One malformed HTTP request; ``call_form`` is a genuine incoming-call form to spoil."""
    choice = rng.randrange(9)
    if choice == 0:
        return "webhook unsigned", Request("POST", "/twilio/voice", form=call_form)
    if choice == 1:
        headers = {"X-Twilio-Signature": "Zm9yZ2Vk"}
        return "webhook wrongly signed", Request(
            "POST", "/twilio/voice", form=call_form, headers=headers
        )
    if choice == 2:
        form = dict(call_form, From="+1" + "5" * 598, To="+" + "7" * 599)
        return "webhook with 600-character numbers", Request(
            "POST", "/twilio/voice", form=form, sign=True
        )
    if choice == 3:
        form = dict(call_form, CallSid=rng.choice(["CA\n" + FORGED_LINE, "CA" + "1" * 600]))
        return "webhook with a hostile CallSid", Request(
            "POST", "/twilio/voice", form=form, sign=True
        )
    if choice == 4:
        body = json.dumps(call_form).encode()
        headers = {"Content-Type": "application/json", "X-Twilio-Signature": "Zm9yZ2Vk"}
        return "webhook with a JSON body", Request(
            "POST", "/twilio/voice", body=body, headers=headers
        )
    if choice == 5:
        body = b"a=" + b"b" * 1_000_000
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return "webhook of 1 MB unsigned", Request(
            "POST", "/twilio/voice", body=body, headers=headers
        )
    if choice == 6:
        token = rng.choice(
            ["ü.1999999999.abc", "abc.1999999999.ü", "é.1.x", "%FF%FE.1999999999.m", "\u202e" * 5]
        )
        return "/pay/ token with non-ASCII characters", Request("GET", "/pay/" + token)
    if choice == 7:
        return "/pay/ token of 5,000 characters", Request("GET", "/pay/" + "A" * 5000)
    form = {"StreamEvent": "stream-error", "StreamError": "x\n" + FORGED_LINE, "CallSid": "CA\n"}
    return "stream-status garbage", Request("POST", "/twilio/stream-status", form=form, sign=True)
