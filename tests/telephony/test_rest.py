"""Twilio REST transfer / hang-up over real HTTP, against the fake Twilio on loopback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from hotelvoice.telephony.rest import CallAlreadyEnded, TwilioRest, TwilioRestError
from hotelvoice.wire.twiml import dial_twiml
from tests.fakes.twilio_rest import FakeTwilioRest, start_fake_twilio_rest

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "s3cret-auth-token-value"
CALL_SID = "CA" + "0f" * 16
CALL_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json"


@pytest.fixture
async def fake_twilio(nursery: trio.Nursery) -> FakeTwilioRest:
    return await start_fake_twilio_rest(nursery, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
def rest(fake_twilio: FakeTwilioRest, http_client: httpx.AsyncClient) -> TwilioRest:
    return TwilioRest(
        http_client,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        api_base=fake_twilio.base_url,
    )


async def test_transfer_posts_the_twiml_to_the_call(
    rest: TwilioRest, fake_twilio: FakeTwilioRest
) -> None:
    twiml = dial_twiml("+15557654321", caller_id="+15550100", message="Connecting you.")
    await rest.transfer(CALL_SID, twiml)

    request = await fake_twilio.wait_for_request()
    assert request.method == "POST"
    assert request.path == CALL_PATH
    assert request.account_sid == ACCOUNT_SID
    assert request.call_sid == CALL_SID
    assert request.form == {"Twiml": twiml}
    assert request.authenticated
    assert request.auth_username == ACCOUNT_SID
    assert ET.fromstring(request.form["Twiml"]).findtext("Dial") == "+15557654321"
    assert len(fake_twilio.requests) == 1


async def test_hang_up_completes_the_call(rest: TwilioRest, fake_twilio: FakeTwilioRest) -> None:
    assert await rest.hang_up(CALL_SID) is True
    request = await fake_twilio.wait_for_request()
    assert request.path == CALL_PATH
    assert request.form == {"Status": "completed"}
    assert request.authenticated


async def test_hang_up_twice_reports_already_ended(rest: TwilioRest) -> None:
    assert await rest.hang_up(CALL_SID) is True
    assert await rest.hang_up(CALL_SID) is False


async def test_hang_up_of_an_ended_call_is_false(
    rest: TwilioRest, fake_twilio: FakeTwilioRest
) -> None:
    fake_twilio.end_call(CALL_SID)
    assert await rest.hang_up(CALL_SID) is False
    assert (await fake_twilio.wait_for_request()).form == {"Status": "completed"}


async def test_transfer_of_an_ended_call_raises_call_already_ended(
    rest: TwilioRest, fake_twilio: FakeTwilioRest
) -> None:
    fake_twilio.end_call(CALL_SID)
    with pytest.raises(CallAlreadyEnded) as caught:
        await rest.transfer(CALL_SID, dial_twiml("+15557654321"))
    assert caught.value.status == 404
    assert caught.value.code == 20404
    assert isinstance(caught.value, TwilioRestError)


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_error_raises_twilio_rest_error(
    rest: TwilioRest, fake_twilio: FakeTwilioRest, status: int
) -> None:
    fake_twilio.fail_with = status
    with pytest.raises(TwilioRestError) as caught:
        await rest.transfer(CALL_SID, dial_twiml("+15557654321"))
    assert not isinstance(caught.value, CallAlreadyEnded)
    assert caught.value.status == status
    assert caught.value.code == 20500
    assert str(status) in str(caught.value)
    with pytest.raises(TwilioRestError) as caught_hang_up:
        await rest.hang_up(CALL_SID)
    assert caught_hang_up.value.status == status


async def test_twilio_rejecting_the_document_is_an_error(rest: TwilioRest) -> None:
    with pytest.raises(TwilioRestError) as caught:
        await rest.transfer(CALL_SID, "<NotResponse/>")
    assert caught.value.status == 400
    assert "Response" in str(caught.value)


async def test_wrong_credentials_give_401(
    fake_twilio: FakeTwilioRest, http_client: httpx.AsyncClient
) -> None:
    wrong = TwilioRest(
        http_client,
        account_sid=ACCOUNT_SID,
        auth_token="not-the-token",
        api_base=fake_twilio.base_url,
    )
    with pytest.raises(TwilioRestError) as caught:
        await wrong.hang_up(CALL_SID)
    assert caught.value.status == 401
    assert caught.value.code == 20003
    assert not isinstance(caught.value, CallAlreadyEnded)
    request = await fake_twilio.wait_for_request()
    assert not request.authenticated


async def test_auth_token_never_appears_in_errors_or_repr(
    fake_twilio: FakeTwilioRest, http_client: httpx.AsyncClient
) -> None:
    rest = TwilioRest(
        http_client,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        api_base=fake_twilio.base_url,
    )
    fake_twilio.fail_with = 500
    with pytest.raises(TwilioRestError) as caught:
        await rest.hang_up(CALL_SID)
    assert AUTH_TOKEN not in str(caught.value)
    assert AUTH_TOKEN not in repr(caught.value)
    assert AUTH_TOKEN not in repr(rest)


async def test_connection_refused_raises_twilio_rest_error(
    http_client: httpx.AsyncClient,
) -> None:
    # Bind then close a listener, so the port is known to have nobody listening.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    for listener in listeners:
        await listener.aclose()
    rest = TwilioRest(
        http_client,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        api_base=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(TwilioRestError) as caught:
        await rest.transfer(CALL_SID, dial_twiml("+15557654321"))
    assert caught.value.status is None
    assert caught.value.code is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    with pytest.raises(TwilioRestError):
        await rest.hang_up(CALL_SID)


async def test_callers_cancel_scope_bounds_a_silent_server(
    http_client: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    # A listener that accepts and never answers: only the caller's deadline ends the wait,
    # and cancellation passes through untouched (it is not turned into TwilioRestError).
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    try:
        rest = TwilioRest(
            http_client,
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            api_base=f"http://127.0.0.1:{port}",
        )
        with trio.move_on_after(5) as scope:
            await rest.hang_up(CALL_SID)
        assert scope.cancelled_caught
        assert trio.current_time() == pytest.approx(5)
    finally:
        for listener in listeners:
            await listener.aclose()


async def test_send_sms_posts_a_message_and_returns_its_sid(
    rest: TwilioRest, fake_twilio: FakeTwilioRest
) -> None:
    sent = await rest.send_sms(to="+15557654321", sender="+15550001111", body="Your link: x")
    request = await fake_twilio.wait_for_request()
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.form == {"To": "+15557654321", "From": "+15550001111", "Body": "Your link: x"}
    assert request.authenticated
    assert sent.sid == fake_twilio.messages[0]["sid"]
    assert sent.status == "queued"


async def test_send_sms_refused_by_twilio_raises_with_its_code(
    rest: TwilioRest, fake_twilio: FakeTwilioRest
) -> None:
    with pytest.raises(TwilioRestError, match="21211") as caught:
        await rest.send_sms(to="555-1234", sender="+15550001111", body="hi")
    assert caught.value.status == 400
    assert caught.value.code == 21211
    assert fake_twilio.messages == []


async def test_send_sms_with_no_server_raises_a_network_error(
    http_client: httpx.AsyncClient,
) -> None:
    rest = TwilioRest(
        http_client, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, api_base="http://127.0.0.1:9"
    )
    with pytest.raises(TwilioRestError) as caught:
        await rest.send_sms(to="+15557654321", sender="+15550001111", body="hi")
    assert caught.value.status is None
    assert AUTH_TOKEN not in str(caught.value)
