"""X-Twilio-Signature checks, against Twilio's documented test vector and its own signer."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from hotelvoice.telephony.signatures import SignatureValidator

# From Twilio's webhook-security page (reference §4.1).
DOCS_TOKEN = "12345"
DOCS_URL = "https://example.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "L/OH5YylLD5NRKLltdqwSvS0BnU="

STREAM_URL = "wss://hotel.example.com/media"


def twilio_signature(url: str, params: dict[str, str], token: str = DOCS_TOKEN) -> str:
    """Sign like Twilio does (the twilio package's own signer)."""
    signature: str = RequestValidator(token).compute_signature(url, params)
    return signature


def test_documented_test_vector() -> None:
    assert SignatureValidator(DOCS_TOKEN).check_webhook(DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE)


def test_documented_test_vector_with_a_multidict() -> None:
    form = MultiDict(list(DOCS_PARAMS.items()))
    assert SignatureValidator(DOCS_TOKEN).check_webhook(DOCS_URL, form, DOCS_SIGNATURE)


@pytest.mark.parametrize("field", sorted(DOCS_PARAMS))
def test_tampered_field_fails(field: str) -> None:
    tampered = {**DOCS_PARAMS, field: DOCS_PARAMS[field] + "0"}
    assert not SignatureValidator(DOCS_TOKEN).check_webhook(DOCS_URL, tampered, DOCS_SIGNATURE)


def test_dropped_field_fails() -> None:
    # Why every received field must be passed: the signature covers them all.
    partial = {k: v for k, v in DOCS_PARAMS.items() if k != "Caller"}
    assert not SignatureValidator(DOCS_TOKEN).check_webhook(DOCS_URL, partial, DOCS_SIGNATURE)


def test_added_field_fails() -> None:
    extra = {**DOCS_PARAMS, "Injected": "1"}
    assert not SignatureValidator(DOCS_TOKEN).check_webhook(DOCS_URL, extra, DOCS_SIGNATURE)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/myapp.php?foo=1&bar=3",
        "https://example.com/myapp.php",
        "http://example.com/myapp.php?foo=1&bar=2",
        "https://example.com/myapp.php/?foo=1&bar=2",
    ],
)
def test_other_url_fails(url: str) -> None:
    assert not SignatureValidator(DOCS_TOKEN).check_webhook(url, DOCS_PARAMS, DOCS_SIGNATURE)


def test_wrong_token_fails() -> None:
    assert not SignatureValidator("54321").check_webhook(DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE)


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_signature_fails(signature: str | None) -> None:
    validator = SignatureValidator(DOCS_TOKEN)
    assert not validator.check_webhook(DOCS_URL, DOCS_PARAMS, signature)
    assert not validator.check_websocket(STREAM_URL, signature)


def test_websocket_signed_over_the_wss_url() -> None:
    signature = twilio_signature(STREAM_URL, {})
    assert SignatureValidator(DOCS_TOKEN).check_websocket(STREAM_URL, signature)


def test_websocket_signed_with_a_trailing_slash() -> None:
    signature = twilio_signature(STREAM_URL + "/", {})
    assert SignatureValidator(DOCS_TOKEN).check_websocket(STREAM_URL, signature)


def test_websocket_url_already_ending_in_a_slash() -> None:
    signature = twilio_signature(STREAM_URL + "/", {})
    assert SignatureValidator(DOCS_TOKEN).check_websocket(STREAM_URL + "/", signature)


def test_websocket_signature_over_https_fails() -> None:
    https_signature = twilio_signature("https://hotel.example.com/media", {})
    assert not SignatureValidator(DOCS_TOKEN).check_websocket(STREAM_URL, https_signature)


def test_websocket_signature_for_another_path_fails() -> None:
    signature = twilio_signature("wss://hotel.example.com/other", {})
    assert not SignatureValidator(DOCS_TOKEN).check_websocket(STREAM_URL, signature)


def test_websocket_tampered_signature_fails() -> None:
    signature = twilio_signature(STREAM_URL, {})
    tampered = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert not SignatureValidator(DOCS_TOKEN).check_websocket(STREAM_URL, tampered)


def test_disabled_accepts_everything() -> None:
    validator = SignatureValidator(None, enabled=False)
    assert not validator.enabled
    assert validator.check_webhook(DOCS_URL, DOCS_PARAMS, None)
    assert validator.check_webhook(DOCS_URL, DOCS_PARAMS, "garbage")
    assert validator.check_websocket(STREAM_URL, None)


@pytest.mark.parametrize("token", [None, ""])
def test_enabled_without_a_token_rejects_everything(
    token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    validator = SignatureValidator(token)
    assert validator.enabled
    assert "no auth token" in caplog.text
    assert not validator.check_webhook(DOCS_URL, DOCS_PARAMS, DOCS_SIGNATURE)
    # Not even a signature computed with an empty key gets in.
    empty_key_signature = twilio_signature(STREAM_URL, {}, token="")
    assert not validator.check_websocket(STREAM_URL, empty_key_signature)
