"""Twilio's side of the wire: webhook form and signature, TwiML, stream messages.

Checked against hotelvoice's own server-side code (its TwiML builder, signature validator and
message parser): what the softphone sends must be what the server accepts from Twilio.
"""

from __future__ import annotations

import base64
import json

import pytest

from hotelvoice.ids import new_sid
from hotelvoice.softphone.protocol import (
    FRAME_BYTES,
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    ServerProtocolError,
    TwilioStream,
    TwimlError,
    inbound_call_form,
    parse_outbound,
    parse_twiml,
    sign,
    socket_url,
)
from hotelvoice.telephony.signatures import SignatureValidator
from hotelvoice.wire import twilio as tw
from hotelvoice.wire.twiml import connect_stream_twiml

TOKEN = "auth-token"


def test_the_webhook_form_and_its_signature_pass_the_servers_check() -> None:
    call_sid, account_sid = new_sid("CA"), new_sid("AC")
    form = inbound_call_form(call_sid=call_sid, account_sid=account_sid, from_="+1555", to="+1666")
    assert form["CallStatus"] == "ringing" and form["Direction"] == "inbound"
    assert form["ApiVersion"] == "2010-04-01"
    assert (form["CallSid"], form["AccountSid"], form["From"], form["To"]) == (
        call_sid,
        account_sid,
        "+1555",
        "+1666",
    )
    assert len(call_sid) == 34 and call_sid.startswith("CA")
    url = "https://hotel.example.com/twilio/voice"
    signature = sign(url, form, TOKEN)
    validator = SignatureValidator(TOKEN)
    assert validator.check_webhook(url, form, signature)
    assert not validator.check_webhook(url, {**form, "From": "+1777"}, signature)
    assert not SignatureValidator("other").check_webhook(url, form, signature)


def test_the_upgrade_signature_is_over_the_twiml_wss_url() -> None:
    stream_url = "wss://hotel.example.com/twilio/media"
    assert SignatureValidator(TOKEN).check_websocket(stream_url, sign(stream_url, {}, TOKEN))


def test_parse_the_servers_twiml() -> None:
    xml = connect_stream_twiml(
        stream_url="wss://hotel.example.com/twilio/media",
        parameters={"token": "t0k", "CallSid": "CA1", "From": "+1 & <2>", "To": ""},
        status_callback="https://hotel.example.com/twilio/stream-status",
        fallback_message="Sorry.",
        front_desk="+15550000000",
    )
    twiml = parse_twiml(xml)
    assert twiml.stream_url == "wss://hotel.example.com/twilio/media"
    assert twiml.parameters == {"token": "t0k", "CallSid": "CA1", "From": "+1 & <2>", "To": ""}
    assert twiml.status_callback == "https://hotel.example.com/twilio/stream-status"
    assert twiml.tail == (("Say", "Sorry."), ("Dial", "+15550000000"))


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        ("not xml", "not XML"),
        ("<Foo/>", "not <Response>"),
        ("<Response><Say>Closed.</Say><Hangup/></Response>", "<Say> 'Closed.', <Hangup>"),
        ('<Response><Connect><Stream url="ws://x/m"/></Connect></Response>', "31922"),
        ('<Response><Connect><Stream url="wss://x/m?a=1"/></Connect></Response>', "31920"),
        (
            '<Response><Connect><Stream url="wss://x/m"><Parameter name="a"/></Stream>'
            "</Connect></Response>",
            "needs a name and a value",
        ),
    ],
)
def test_twiml_twilio_would_refuse(xml: str, problem: str) -> None:
    with pytest.raises(TwimlError, match=problem):
        parse_twiml(xml)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/twilio/media"),
        ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/twilio/media"),
        ("https://hotel.internal", "wss://hotel.internal/twilio/media"),
        ("localhost:9000", "ws://localhost:9000/twilio/media"),
    ],
)
def test_the_stream_goes_to_the_servers_real_address_with_the_twiml_path(
    server: str, expected: str
) -> None:
    assert socket_url("wss://hotel.example.com/twilio/media", server) == expected


def test_stream_messages_are_numbered_as_twilio_numbers_them_and_the_server_parses_them() -> None:
    stream = TwilioStream(stream_sid="MZ1", account_sid="AC1", call_sid="CA1")
    texts = [
        stream.connected(),
        stream.start({"token": "abc"}),
        stream.media(b"\x01" * FRAME_BYTES),
        stream.media(b"\x02" * FRAME_BYTES),
        stream.dtmf("5"),
        stream.mark("m1"),
        stream.media(b"\x03" * 80),
        stream.media(b"\x04" * FRAME_BYTES),
        stream.stop(),
    ]
    raw = [json.loads(text) for text in texts]
    assert raw[0] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert [obj.get("sequenceNumber") for obj in raw] == [None, *map(str, range(1, 9))]
    media = [obj["media"] for obj in raw if obj["event"] == "media"]
    assert [m["chunk"] for m in media] == ["1", "2", "3", "4"]
    assert [m["timestamp"] for m in media] == ["0", "20", "40", "50"]
    assert {m["track"] for m in media} == {"inbound"}
    assert raw[1]["start"] == {
        "streamSid": "MZ1",
        "accountSid": "AC1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "customParameters": {"token": "abc"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    assert raw[4]["dtmf"] == {"track": "inbound_track", "digit": "5"}
    assert raw[-1]["stop"] == {"accountSid": "AC1", "callSid": "CA1"}
    parsed = [tw.parse_message(text) for text in texts]  # the server's own parser
    assert isinstance(parsed[1], tw.Start) and parsed[1].custom_parameters == {"token": "abc"}
    assert isinstance(parsed[2], tw.Media)
    assert base64.b64decode(parsed[2].payload) == b"\x01" * FRAME_BYTES
    assert isinstance(parsed[5], tw.MarkEcho) and parsed[5].name == "m1"
    assert isinstance(parsed[-1], tw.Stop)
    assert stream.audio_bytes == 3 * FRAME_BYTES + 80


def test_what_the_server_sends_is_checked_like_twilio_checks_it() -> None:
    payload = base64.b64encode(b"\x7f" * 160).decode()
    assert parse_outbound(tw.encode_media("MZ1", payload), "MZ1") == OutboundMedia(b"\x7f" * 160)
    assert parse_outbound(tw.encode_mark("MZ1", "r:1"), "MZ1") == OutboundMark("r:1")
    assert parse_outbound(tw.encode_clear("MZ1"), "MZ1") == OutboundClear()


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"{}", "binary frame"),
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"event":"stop","streamSid":"MZ1"}', "unknown event"),
        ('{"event":"clear","streamSid":"MZ2"}', "not this stream's"),
        ('{"event":"clear","streamSid":"MZ1","x":1}', "exactly the keys"),
        ('{"event":"media","streamSid":"MZ1","media":{"payload":"AA=="," track":"x"}}', "exactly"),
        ('{"event":"media","streamSid":"MZ1","media":{"payload":"not base64!"}}', "not base64"),
        ('{"event":"media","streamSid":"MZ1","media":{"payload":"UklGRiQ="}}', "file header"),
        ('{"event":"mark","streamSid":"MZ1","mark":{"name":""}}', "non-empty"),
    ],
)
def test_outbound_violations(frame: str | bytes, problem: str) -> None:
    with pytest.raises(ServerProtocolError, match=problem):
        parse_outbound(frame, "MZ1")
