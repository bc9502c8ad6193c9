"""Fake Twilio voice webhooks: signed incoming-call requests and a TwiML reader.

Written from Twilio's documentation (``/work/shared/reference/twilio-media-streams.md`` §1 and
§4.1), independent of hotelvoice's code.

* :func:`inbound_call_form`: the form fields Twilio POSTs for an incoming call.
* :func:`signed_webhook`: headers (``X-Twilio-Signature``, form content type) and form for a
  POST to ``public_url + path``, signed as Twilio signs it (HMAC-SHA1 over the URL followed by
  every field name+value, sorted by name).
* :func:`parse_stream_twiml`: reads a ``<Response><Connect><Stream>…`` answer and checks what
  Twilio enforces on it (``wss://`` URL without query string, ``track``, parameter sizes).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

from tests.fakes.twilio_media import new_sid

__all__ = [
    "FORM_CONTENT_TYPE",
    "StreamTwiml",
    "inbound_call_form",
    "parse_stream_twiml",
    "parse_twiml_verbs",
    "signed_webhook",
    "webhook_url",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Shaped like the ``CallToken`` Twilio sends: a percent-encoded JSON document. Its literal
#: ``%``, ``"`` and ``{`` catch servers that decode form values twice before checking the
#: signature.
_CALL_TOKEN = (
    "%7B%22parentCallInfoToken%22%3A%22eyJhbGciOiJFUzI1NiJ9.eyJjYWxsU2lkIjoiQ0EifQ.c2ln%22%2C"
    "%22identityHeaderTokens%22%3A%5B%5D%7D"
)


def webhook_url(public_url: str, path: str) -> str:
    """The URL Twilio requests and signs: ``public_url`` (no trailing slash) + ``path``."""
    if not path.startswith("/"):
        path = "/" + path
    return public_url.rstrip("/") + path


def signed_webhook(
    public_url: str, path: str, auth_token: str, form: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Return ``(headers, form)`` for a webhook POST to ``public_url + path``, signed by Twilio.

    ``headers`` holds ``X-Twilio-Signature`` (HMAC-SHA1 with ``auth_token`` over the URL and
    all form fields) and ``Content-Type: application/x-www-form-urlencoded``. Send ``form``
    form-encoded (e.g. ``httpx.post(url, data=form, headers=headers)``) without changing it.
    """
    fields = dict(form)
    signature = RequestValidator(auth_token).compute_signature(
        webhook_url(public_url, path), fields
    )
    headers = {"X-Twilio-Signature": signature, "Content-Type": FORM_CONTENT_TYPE}
    return headers, fields


def inbound_call_form(
    call_sid: str | None = None,
    from_: str = "+15551230001",
    to: str = "+15559870002",
    account_sid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The form Twilio POSTs to the Voice URL for a new incoming call (``CallStatus`` ringing).

    SIDs default to fresh random ones (``CA``/``AC`` + 32 hex). Geo fields are filled the way
    Twilio does, including empty strings (they still count in the signature). ``extra``
    adds or overrides fields (e.g. ``CallerName="JOHN DOE"``, ``ForwardedFrom="+1…"``).
    """
    form = {
        "AccountSid": account_sid or new_sid("AC"),
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid or new_sid("CA"),
        "CallStatus": "ringing",
        "CallToken": _CALL_TOKEN,
        "Called": to,
        "CalledCity": "",
        "CalledCountry": "US",
        "CalledState": "CA",
        "CalledZip": "",
        "Caller": from_,
        "CallerCity": "SAN FRANCISCO",
        "CallerCountry": "US",
        "CallerState": "CA",
        "CallerZip": "94107",
        "Direction": "inbound",
        "From": from_,
        "FromCity": "SAN FRANCISCO",
        "FromCountry": "US",
        "FromState": "CA",
        "FromZip": "94107",
        "StirVerstat": "TN-Validation-Passed-A",
        "To": to,
        "ToCity": "",
        "ToCountry": "US",
        "ToState": "CA",
        "ToZip": "",
    }
    form.update(extra)
    return form


# --------------------------------------------------------------------------------------------
# TwiML
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamTwiml:
    """What a ``<Response>…<Connect><Stream>…</Stream></Connect>…</Response>`` asks Twilio.

    ``head``/``tail``: the verbs before/after ``<Connect>`` as ``(tag, text)``, e.g.
    ``[("Say", "Connecting you."), ("Dial", "+15557654321"), ("Hangup", "")]``; a verb with
    no text of its own takes its children's text (``<Dial><Number>+1…</Number></Dial>``).
    ``tail_attrs`` holds each tail verb's attributes, in the same order.
    """

    stream_url: str
    parameters: dict[str, str]
    status_callback: str | None = None
    status_callback_method: str | None = None
    stream_name: str | None = None
    track: str | None = None
    connect_action: str | None = None
    connect_method: str | None = None
    head: list[tuple[str, str]] = field(default_factory=list)
    tail: list[tuple[str, str]] = field(default_factory=list)
    tail_attrs: list[dict[str, str]] = field(default_factory=list)


def _parse_response(xml: str | bytes) -> ET.Element:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise AssertionError(f"TwiML is not well-formed XML ({exc}): {xml!r}") from None
    if root.tag != "Response":
        raise AssertionError(f"TwiML root must be <Response>, got <{root.tag}>")
    return root


def _verb(element: ET.Element) -> tuple[str, str]:
    text = (element.text or "").strip()
    if not text:
        text = " ".join(t.strip() for t in element.itertext() if t.strip())
    return element.tag, text


def parse_twiml_verbs(xml: str | bytes) -> list[tuple[str, str]]:
    """All top-level verbs of a TwiML ``<Response>`` as ``(tag, text)`` pairs."""
    return [_verb(element) for element in _parse_response(xml)]


def parse_stream_twiml(xml: str | bytes) -> StreamTwiml:
    """Parse a bidirectional-stream TwiML answer, checking what Twilio itself enforces.

    Raises:
        AssertionError: not ``<Response>``; not exactly one ``<Connect>`` holding exactly one
            ``<Stream>``; ``url`` not ``wss://`` (error 31922) or with a query string (31920);
            ``track`` other than ``inbound_track`` (31941); a ``<Parameter>`` without
            name/value, duplicated, or with name+value of 500 characters or more.
    """
    root = _parse_response(xml)
    children = list(root)
    connect_at = [i for i, element in enumerate(children) if element.tag == "Connect"]
    if len(connect_at) != 1:
        raise AssertionError(f"expected exactly one <Connect>, found {len(connect_at)}")
    connect = children[connect_at[0]]
    if len(connect) != 1 or connect[0].tag != "Stream":
        raise AssertionError(
            f"<Connect> must hold exactly one <Stream>, got {[c.tag for c in connect]}"
        )
    stream = connect[0]
    url = stream.get("url")
    if url is None or not url.startswith("wss://"):
        raise AssertionError(f"<Stream url> must be an absolute wss:// URL (31922), got {url!r}")
    if "?" in url:
        raise AssertionError(f"<Stream url> must not carry a query string (31920): {url!r}")
    track = stream.get("track")
    if track is not None and track != "inbound_track":
        raise AssertionError(
            f"<Connect><Stream> only allows track='inbound_track' (31941): {track!r}"
        )
    parameters: dict[str, str] = {}
    for element in stream:
        if element.tag != "Parameter":
            raise AssertionError(f"<Stream> may only hold <Parameter>, got <{element.tag}>")
        name, value = element.get("name"), element.get("value")
        if name is None or value is None:
            raise AssertionError(f"<Parameter> needs name and value: {element.attrib}")
        if name in parameters:
            raise AssertionError(f"duplicate <Parameter name={name!r}>")
        if len(name) + len(value) >= 500:
            raise AssertionError(f"<Parameter {name!r}>: name+value must stay under 500 chars")
        parameters[name] = value
    tail_elements = children[connect_at[0] + 1 :]
    return StreamTwiml(
        stream_url=url,
        parameters=parameters,
        status_callback=stream.get("statusCallback"),
        status_callback_method=stream.get("statusCallbackMethod"),
        stream_name=stream.get("name"),
        track=track,
        connect_action=connect.get("action"),
        connect_method=connect.get("method"),
        head=[_verb(element) for element in children[: connect_at[0]]],
        tail=[_verb(element) for element in tail_elements],
        tail_attrs=[dict(element.attrib) for element in tail_elements],
    )
