"""Twilio's side of the wire, sans-IO: the incoming-call webhook, the TwiML answer, and the
Media Streams messages Twilio sends (plus strict checks of what the server sends back).

Written from ``/work/shared/reference/twilio-media-streams.md``: the webhook form and its
``X-Twilio-Signature`` (§1.1, §4.1), the ``<Connect><Stream>`` answer (§1.3), the upgrade
signature over the ``wss://`` URL exactly as written in the TwiML (§4.3), and the message
shapes with their string counters (§2, §3). Nothing here touches a socket or a clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from twilio.request_validator import RequestValidator

__all__ = [
    "API_VERSION",
    "FORM_CONTENT_TYPE",
    "FRAME_BYTES",
    "FRAME_S",
    "MULAW_RATE",
    "SILENCE",
    "OutboundClear",
    "OutboundMark",
    "OutboundMedia",
    "OutboundMessage",
    "ServerProtocolError",
    "StreamTwiml",
    "TwilioStream",
    "TwimlError",
    "inbound_call_form",
    "parse_outbound",
    "parse_twiml",
    "sign",
    "socket_url",
]

#: μ-law 8 kHz mono: one byte per sample.
MULAW_RATE = 8000
#: One inbound frame: 20 ms of μ-law, as Twilio sends it.
FRAME_BYTES = 160
FRAME_S = FRAME_BYTES / MULAW_RATE
#: μ-law code of a zero sample (digital silence).
SILENCE = b"\xff"
API_VERSION = "2010-04-01"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

_MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": MULAW_RATE, "channels": 1}
_OUTBOUND_KEYS: dict[str, frozenset[str]] = {
    "media": frozenset({"event", "streamSid", "media"}),
    "mark": frozenset({"event", "streamSid", "mark"}),
    "clear": frozenset({"event", "streamSid"}),
}
_FILE_HEADERS = (b"RIFF", b".snd")  # WAV, Sun/NeXT AU: played as noise by Twilio


# --------------------------------------------------------------------------------------------
# The incoming-call webhook
# --------------------------------------------------------------------------------------------


def inbound_call_form(*, call_sid: str, account_sid: str, from_: str, to: str) -> dict[str, str]:
    """The form Twilio POSTs to the Voice URL when a call comes in (``CallStatus=ringing``).

    Geography is best effort at Twilio and unknown here, so those fields are sent empty, as
    Twilio does when it knows nothing; they still count in the signature.
    """
    form = {
        "AccountSid": account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": to,
        "Caller": from_,
        "Direction": "inbound",
        "From": from_,
        "To": to,
    }
    for side in ("Called", "Caller", "From", "To"):
        for part in ("City", "State", "Zip", "Country"):
            form[side + part] = ""
    return dict(sorted(form.items()))


def sign(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """``X-Twilio-Signature`` for ``url`` and ``params`` (HMAC-SHA1 with the auth token).

    For the webhook ``url`` is the public URL requested and ``params`` the form; for the
    Media Streams upgrade ``url`` is the ``wss://`` URL of the TwiML and ``params`` is empty.
    """
    signature: str = RequestValidator(auth_token).compute_signature(url, dict(params))
    return signature


# --------------------------------------------------------------------------------------------
# The TwiML answer
# --------------------------------------------------------------------------------------------


class TwimlError(ValueError):
    """The webhook's answer is not TwiML that opens a bidirectional media stream."""


@attrs.frozen
class StreamTwiml:
    """What the webhook's ``<Response><Connect><Stream>`` asks of Twilio.

    ``parameters`` become ``start.customParameters``; ``tail`` is the verbs after
    ``<Connect>`` as ``(tag, text)``: what Twilio runs once the server closes the stream.
    """

    stream_url: str
    parameters: Mapping[str, str]
    status_callback: str | None = None
    tail: tuple[tuple[str, str], ...] = ()


def _verb(element: ET.Element) -> tuple[str, str]:
    text = " ".join(part.strip() for part in element.itertext() if part.strip())
    return element.tag, text


def parse_twiml(xml: str | bytes) -> StreamTwiml:
    """Read the ``<Connect><Stream url>`` and its ``<Parameter>`` elements.

    Raises:
        TwimlError: not XML, not ``<Response>``, no ``<Connect><Stream>``, a URL Twilio would
            refuse (not ``wss://``: 31922; with a query string: 31920), or a ``<Parameter>``
            without name or value.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise TwimlError(f"the answer is not XML ({exc})") from None
    if root.tag != "Response":
        raise TwimlError(f"the answer's root is <{root.tag}>, not <Response>")
    children = list(root)
    at = next((i for i, child in enumerate(children) if child.tag == "Connect"), None)
    stream = children[at].find("Stream") if at is not None else None
    if at is None or stream is None:
        verbs = ", ".join(
            f"<{tag}>" + (f" {text!r}" if text else "") for tag, text in map(_verb, children)
        )
        raise TwimlError(f"the answer opens no <Connect><Stream> (it says: {verbs or 'nothing'})")
    url = stream.get("url", "")
    if not url.startswith("wss://"):
        raise TwimlError(f"<Stream url> must be an absolute wss:// URL (Twilio 31922): {url!r}")
    if "?" in url:
        raise TwimlError(f"<Stream url> must not carry a query string (Twilio 31920): {url!r}")
    parameters: dict[str, str] = {}
    for element in stream.iter("Parameter"):
        name, value = element.get("name"), element.get("value")
        if name is None or value is None:
            raise TwimlError(f"<Parameter> needs a name and a value: {element.attrib}")
        parameters[name] = value
    return StreamTwiml(
        stream_url=url,
        parameters=parameters,
        status_callback=stream.get("statusCallback"),
        tail=tuple(_verb(element) for element in children[at + 1 :]),
    )


def socket_url(stream_url: str, server: str) -> str:
    """Where to open the stream: the TwiML's (public) ``wss://`` URL mapped onto the server's
    real address, keeping the path. ``http://`` servers get ``ws://``, ``https://`` ``wss://``.

    ``socket_url("wss://hotel.example.com/twilio/media", "http://127.0.0.1:8080")`` is
    ``"ws://127.0.0.1:8080/twilio/media"``.
    """
    target = urlsplit(server if "://" in server else "http://" + server)
    scheme = "wss" if target.scheme in ("https", "wss") else "ws"
    path = urlsplit(stream_url).path or "/"
    return f"{scheme}://{target.netloc}{path}"


# --------------------------------------------------------------------------------------------
# Media Streams: what Twilio sends
# --------------------------------------------------------------------------------------------


def _dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


class TwilioStream:
    """Encodes the messages Twilio sends on one stream, numbering them as Twilio does.

    ``sequenceNumber`` counts every message after ``connected`` from "1" (``start``);
    ``media.chunk`` counts media messages from "1"; ``media.timestamp`` is the stream time in
    ms of the chunk's first sample (the audio sent before it). Counters are strings.
    """

    def __init__(self, *, stream_sid: str, account_sid: str, call_sid: str) -> None:
        self.stream_sid = stream_sid
        self.account_sid = account_sid
        self.call_sid = call_sid
        self._sequence = 0
        self._chunk = 0
        self.audio_bytes = 0  # μ-law bytes sent so far: the stream's media clock

    def _next(self) -> str:
        self._sequence += 1
        return str(self._sequence)

    def connected(self) -> str:
        return _dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})

    def start(self, custom_parameters: Mapping[str, str]) -> str:
        return _dumps(
            {
                "event": "start",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": self.account_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": dict(custom_parameters),
                    "mediaFormat": dict(_MEDIA_FORMAT),
                },
            }
        )

    def media(self, payload: bytes) -> str:
        """One inbound ``media`` message carrying raw μ-law ``payload``."""
        self._chunk += 1
        timestamp = self.audio_bytes * 1000 // MULAW_RATE
        self.audio_bytes += len(payload)
        return _dumps(
            {
                "event": "media",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(timestamp),
                    "payload": base64.b64encode(payload).decode("ascii"),
                },
            }
        )

    def dtmf(self, digit: str) -> str:
        """A key press; the track is spelled ``inbound_track`` here, as Twilio does."""
        return _dumps(
            {
                "event": "dtmf",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    def mark(self, name: str) -> str:
        """The echo of a mark the server sent, once playback reached it (or it was cleared)."""
        return _dumps(
            {
                "event": "mark",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            }
        )

    def stop(self) -> str:
        """The caller hung up."""
        return _dumps(
            {
                "event": "stop",
                "sequenceNumber": self._next(),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )


# --------------------------------------------------------------------------------------------
# Media Streams: what the server may send back
# --------------------------------------------------------------------------------------------


class ServerProtocolError(ValueError):
    """A message from the server that Twilio would reject or ignore (31924, 31950)."""


@attrs.frozen
class OutboundMedia:
    audio: bytes


@attrs.frozen
class OutboundMark:
    name: str


@attrs.frozen
class OutboundClear:
    pass


OutboundMessage = OutboundMedia | OutboundMark | OutboundClear


def _decode_audio(payload: object) -> bytes:
    if not isinstance(payload, str) or not payload:
        raise ServerProtocolError("media.payload must be a non-empty base64 string")
    try:
        audio = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServerProtocolError(f"media.payload is not base64 ({exc})") from None
    if base64.b64encode(audio).decode("ascii") != payload:
        raise ServerProtocolError("media.payload is not canonical base64")
    if audio.startswith(_FILE_HEADERS):
        raise ServerProtocolError(
            "media.payload starts with a WAV/AU file header: Twilio wants raw μ-law"
        )
    return audio


def parse_outbound(frame: str | bytes, stream_sid: str) -> OutboundMessage:
    """Check one frame the server sent on ``stream_sid``'s socket, as strictly as Twilio.

    Accepted, with no other keys: ``{"event":"media","streamSid":S,"media":{"payload":B64}}``,
    ``{"event":"mark","streamSid":S,"mark":{"name":N}}``, ``{"event":"clear","streamSid":S}``.

    Raises:
        ServerProtocolError: a binary frame (31950), not JSON, an unknown event or shape, a
            payload that is not raw base64 μ-law, or another stream's ``streamSid``.
    """
    if isinstance(frame, bytes):
        raise ServerProtocolError(f"binary frame of {len(frame)} bytes (Twilio warning 31950)")
    try:
        obj = json.loads(frame)
    except ValueError as exc:
        raise ServerProtocolError(f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ServerProtocolError("not a JSON object")
    event = obj.get("event")
    if not isinstance(event, str) or event not in _OUTBOUND_KEYS:
        raise ServerProtocolError(f"unknown event {event!r} (only media, mark and clear)")
    if set(obj) != _OUTBOUND_KEYS[event]:
        raise ServerProtocolError(
            f"{event!r} must have exactly the keys {sorted(_OUTBOUND_KEYS[event])}, "
            f"got {sorted(obj)}"
        )
    if obj["streamSid"] != stream_sid:
        raise ServerProtocolError(f"streamSid {obj['streamSid']!r} is not this stream's")
    if event == "media":
        media = obj["media"]
        if not isinstance(media, dict) or set(media) != {"payload"}:
            raise ServerProtocolError("outbound 'media' must be exactly {'payload': <base64>}")
        return OutboundMedia(_decode_audio(media["payload"]))
    if event == "mark":
        mark = obj["mark"]
        if not isinstance(mark, dict) or set(mark) != {"name"}:
            raise ServerProtocolError("outbound 'mark' must be exactly {'name': <string>}")
        name = mark["name"]
        if not isinstance(name, str) or not name:
            raise ServerProtocolError("mark.name must be a non-empty string")
        return OutboundMark(name)
    return OutboundClear()
