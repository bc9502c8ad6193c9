"""TwiML documents, checked by parsing them back as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

import pytest

from hotelvoice.wire.twiml import connect_stream_twiml, dial_twiml, front_desk_twiml

STREAM_URL = "wss://hotel.example.com/media"
STATUS_URL = "https://hotel.example.com/stream-status"
FRONT_DESK = "+15557654321"


def stream_document(
    *,
    parameters: Mapping[str, str] | None = None,
    status_callback: str | None = STATUS_URL,
    fallback_message: str = "Sorry, let me put you through to the front desk.",
    front_desk: str | None = FRONT_DESK,
) -> ET.Element:
    twiml = connect_stream_twiml(
        stream_url=STREAM_URL,
        parameters={"token": "abc123"} if parameters is None else parameters,
        status_callback=status_callback,
        fallback_message=fallback_message,
        front_desk=front_desk,
    )
    return ET.fromstring(twiml)


def test_connect_stream_structure_and_order() -> None:
    response = stream_document()
    assert response.tag == "Response"
    assert [child.tag for child in response] == ["Connect", "Say", "Dial"]
    connect, say, dial = response
    [stream] = connect
    assert stream.tag == "Stream"
    assert stream.attrib == {
        "url": STREAM_URL,
        "statusCallback": STATUS_URL,
        "statusCallbackMethod": "POST",
    }
    assert [(p.tag, p.attrib) for p in stream] == [
        ("Parameter", {"name": "token", "value": "abc123"})
    ]
    assert say.text == "Sorry, let me put you through to the front desk."
    assert dial.text == FRONT_DESK
    assert dial.attrib == {}


def test_parameters_keep_their_order() -> None:
    parameters = {"token": "t", "caller": "+15550100", "hotel": "seaside"}
    stream = stream_document(parameters=parameters).find("Connect/Stream")
    assert stream is not None
    assert [(p.get("name"), p.get("value")) for p in stream] == list(parameters.items())


def test_no_status_callback_omits_both_attributes() -> None:
    stream = stream_document(status_callback=None).find("Connect/Stream")
    assert stream is not None
    assert stream.attrib == {"url": STREAM_URL}


def test_no_front_desk_ends_with_hangup() -> None:
    response = stream_document(front_desk=None)
    assert [child.tag for child in response] == ["Connect", "Say", "Hangup"]
    assert response.find("Dial") is None


def test_special_characters_are_escaped() -> None:
    tricky = "A&B <b> \"quoted\" 'single' ]]>"
    response = stream_document(
        parameters={tricky: tricky}, fallback_message=tricky, front_desk="+1555&<>"
    )
    parameter = response.find("Connect/Stream/Parameter")
    assert parameter is not None
    assert parameter.attrib == {"name": tricky, "value": tricky}
    assert response.findtext("Say") == tricky
    assert response.findtext("Dial") == "+1555&<>"


def test_parameter_just_under_500_characters_is_accepted() -> None:
    stream = stream_document(parameters={"token": "x" * (499 - len("token"))})
    parameter = stream.find("Connect/Stream/Parameter")
    assert parameter is not None
    assert len(parameter.get("value", "")) == 494


@pytest.mark.parametrize(
    ("name", "value"),
    [("token", "x" * (500 - len("token"))), ("n" * 250, "v" * 250), ("n" * 600, "")],
)
def test_parameter_of_500_characters_or_more_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="500"):
        connect_stream_twiml(
            stream_url=STREAM_URL,
            parameters={name: value},
            status_callback=None,
            fallback_message="x",
            front_desk=None,
        )


def test_dial_twiml_with_everything() -> None:
    response = ET.fromstring(
        dial_twiml(FRONT_DESK, caller_id="+15550100", timeout_s=25, message="Connecting you.")
    )
    assert response.tag == "Response"
    assert [child.tag for child in response] == ["Say", "Dial"]
    say, dial = response
    assert say.text == "Connecting you."
    assert dial.text == FRONT_DESK
    assert dial.attrib == {"callerId": "+15550100", "timeout": "25"}


def test_dial_twiml_minimal() -> None:
    response = ET.fromstring(dial_twiml(FRONT_DESK))
    [dial] = response
    assert dial.tag == "Dial"
    assert dial.text == FRONT_DESK
    assert dial.attrib == {"timeout": "20"}


def test_dial_twiml_escapes_the_message() -> None:
    response = ET.fromstring(dial_twiml(FRONT_DESK, message="Tom & Jerry <3"))
    assert response.findtext("Say") == "Tom & Jerry <3"


def test_dial_twiml_up_to_4000_characters_is_accepted() -> None:
    overhead = len(dial_twiml(FRONT_DESK, message="m")) - 1
    twiml = dial_twiml(FRONT_DESK, message="m" * (4000 - overhead))
    assert len(twiml) == 4000


def test_dial_twiml_over_4000_characters_is_refused() -> None:
    overhead = len(dial_twiml(FRONT_DESK, message="m")) - 1
    with pytest.raises(ValueError, match="4000"):
        dial_twiml(FRONT_DESK, message="m" * (4001 - overhead))


def test_dial_twiml_limit_counts_escaped_characters() -> None:
    # "&" becomes "&amp;" in the document, five characters toward Twilio's limit.
    with pytest.raises(ValueError, match="4000"):
        dial_twiml(FRONT_DESK, message="&" * 900)


def test_dial_twiml_refuses_a_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout"):
        dial_twiml(FRONT_DESK, timeout_s=0)


def test_front_desk_twiml_says_then_dials_or_hangs_up() -> None:
    root = ET.fromstring(front_desk_twiml("Please hold.", FRONT_DESK))
    assert [(child.tag, child.text) for child in root] == [
        ("Say", "Please hold."),
        ("Dial", FRONT_DESK),
    ]
    root = ET.fromstring(front_desk_twiml("", None))
    assert [child.tag for child in root] == ["Hangup"]
