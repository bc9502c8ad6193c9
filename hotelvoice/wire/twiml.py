"""TwiML documents hotelvoice returns to Twilio, built with the ``twilio`` package (sans-IO)."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, VoiceResponse

__all__ = [
    "MAX_INLINE_TWIML_CHARS",
    "MAX_STREAM_PARAMETER_CHARS",
    "connect_stream_twiml",
    "dial_twiml",
    "front_desk_twiml",
]

# <Stream> docs: each <Parameter>'s name and value together must stay under 500 characters.
MAX_STREAM_PARAMETER_CHARS = 500
# Inline `Twiml` on a REST call update is capped at 4000 characters (Twilio error 32018).
MAX_INLINE_TWIML_CHARS = 4000


def connect_stream_twiml(
    *,
    stream_url: str,
    parameters: Mapping[str, str],
    status_callback: str | None,
    fallback_message: str,
    front_desk: str | None,
) -> str:
    """The answer to the incoming-call webhook: a bidirectional stream plus a human fallback.

    ``<Connect><Stream>`` blocks until our server closes the WebSocket (or the handshake
    fails), after which Twilio runs the tail: ``<Say>fallback_message</Say>`` (skipped when
    empty), then ``<Dial>front_desk</Dial>``, or ``<Hangup/>`` when there is no front desk, so
    the call never falls into silence. ``stream_url`` must be the ``wss://`` URL without a
    query string (Twilio strips it); pass per-call context in ``parameters`` instead.

    Raises:
        ValueError: if a parameter's name and value together reach 500 characters.
    """
    for name, value in parameters.items():
        if len(name) + len(value) >= MAX_STREAM_PARAMETER_CHARS:
            raise ValueError(
                f"<Stream> parameter {name[:40]!r}: name and value together are "
                f"{len(name) + len(value)} characters; Twilio allows under "
                f"{MAX_STREAM_PARAMETER_CHARS}"
            )

    connect = Connect()
    if status_callback is None:
        stream = connect.stream(url=stream_url)
    else:
        stream = connect.stream(
            url=stream_url, status_callback=status_callback, status_callback_method="POST"
        )
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)

    response = VoiceResponse()
    response.append(connect)
    return _to_xml(_then_front_desk(response, fallback_message, front_desk))


def front_desk_twiml(message: str, front_desk: str | None) -> str:
    """The answer when no stream can be offered: ``<Say>message</Say>`` (skipped when empty),
    then ``<Dial>front_desk</Dial>``, or ``<Hangup/>`` when there is no front desk."""
    return _to_xml(_then_front_desk(VoiceResponse(), message, front_desk))


def _then_front_desk(
    response: VoiceResponse, message: str, front_desk: str | None
) -> VoiceResponse:
    """``response`` followed by ``<Say>message</Say>`` (if any), then the front desk dialed or,
    with none, ``<Hangup/>``."""
    if message:
        response.say(message)
    if front_desk is None:
        response.hangup()
    else:
        response.dial(front_desk)
    return response


def dial_twiml(
    number: str,
    *,
    caller_id: str | None = None,
    timeout_s: int = 20,
    message: str | None = None,
) -> str:
    """Inline TwiML for a REST transfer: optional ``<Say>message</Say>``, then ``<Dial>``.

    Raises:
        ValueError: if ``timeout_s`` is not positive, or the document exceeds Twilio's
            4000-character limit for inline TwiML.
    """
    if timeout_s <= 0:
        raise ValueError(f"Dial timeout must be a positive number of seconds, got {timeout_s}")
    response = VoiceResponse()
    if message:
        response.say(message)
    response.dial(number, caller_id=caller_id, timeout=timeout_s)
    twiml = _to_xml(response)
    if len(twiml) > MAX_INLINE_TWIML_CHARS:
        raise ValueError(
            f"transfer TwiML is {len(twiml)} characters; Twilio accepts at most "
            f"{MAX_INLINE_TWIML_CHARS} inline"
        )
    return twiml


def _to_xml(response: VoiceResponse) -> str:
    # Without the <?xml?> declaration: Twilio does not need it, and it would eat into the
    # 4000-character inline budget for no benefit.
    xml: str = response.to_xml(xml_declaration=False)
    return xml
