"""The Twilio REST calls hotelvoice makes: transfer or hang up a live call, send an SMS.

Plain form POSTs through an ``httpx.AsyncClient`` (which runs under trio), because the
``twilio`` package's clients are synchronous or asyncio-only. Timeouts belong to the caller:
wrap calls in a trio cancel scope, and configure the client's own timeouts when creating it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import attrs
import httpx

__all__ = ["CallAlreadyEnded", "SentMessage", "TwilioRest", "TwilioRestError"]

logger = logging.getLogger(__name__)

# Twilio's error code for "the requested resource was not found": updating a call that has
# already completed gives HTTP 404 with this code.
_NOT_FOUND_CODE = 20404


class TwilioRestError(Exception):
    """A Twilio REST request failed: an error response (``status``/``code`` from Twilio) or no
    response at all (both None: network failure, refused connection, protocol error)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class CallAlreadyEnded(TwilioRestError):
    """The call no longer exists or has already completed (HTTP 404 / Twilio code 20404)."""


@attrs.frozen
class SentMessage:
    """Twilio accepted an SMS: its Message SID and first status (usually ``queued``)."""

    sid: str
    status: str


class TwilioRest:
    """Updates live calls through Twilio's 2010-04-01 REST API, authenticated as the account.

    The auth token is kept only inside the httpx auth object and never logged.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        api_base: str = "https://api.twilio.com",
    ) -> None:
        self._client = client
        self._account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._calls_url = (
            f"{api_base.rstrip('/')}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Calls"
        )

    @property
    def _messages_url(self) -> str:
        return self._calls_url.removesuffix("/Calls") + "/Messages.json"

    async def send_sms(self, *, to: str, sender: str, body: str) -> SentMessage:
        """Ask Twilio to send ``body`` to ``to`` from ``sender`` (E.164 numbers).

        Waits for Twilio's HTTP response (acceptance, not delivery).

        Raises:
            TwilioRestError: Twilio refused it (bad number, no sender...) or no response.
        """
        form = {"To": to, "From": sender, "Body": body}
        try:
            response = await self._client.post(self._messages_url, data=form, auth=self._auth)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise TwilioRestError(f"Twilio SMS to {to} failed: {type(exc).__name__}") from exc
        if not response.is_success:
            message, code = _refusal(f"Twilio SMS to {to}", response)
            raise TwilioRestError(message, status=response.status_code, code=code)
        try:
            body_json = response.json()
            sid, status = body_json["sid"], body_json.get("status", "queued")
        except (ValueError, KeyError, TypeError) as exc:
            raise TwilioRestError(f"Twilio SMS to {to}: unreadable response") from exc
        logger.info("SMS %s to %s accepted (%s)", sid, to, status)
        return SentMessage(str(sid), str(status))

    def __repr__(self) -> str:
        return f"TwilioRest(account_sid={self._account_sid!r}, calls_url={self._calls_url!r})"

    async def transfer(self, call_sid: str, twiml: str) -> None:
        """Replace the call's running TwiML with ``twiml`` (e.g. a ``<Dial>``).

        Twilio then stops the media stream (the WebSocket gets ``stop``) and runs the new
        document. Waits for Twilio's HTTP response.

        Raises:
            CallAlreadyEnded: the call is over (the caller hung up first).
            TwilioRestError: any other failure, including network errors.
        """
        await self._update_call(call_sid, {"Twiml": twiml}, action="transfer")
        logger.info("Transferred call %s", call_sid)

    async def hang_up(self, call_sid: str) -> bool:
        """End the call now; True if this hung it up, False if it had already ended.

        Waits for Twilio's HTTP response.

        Raises:
            TwilioRestError: any failure other than the call having already ended.
        """
        try:
            await self._update_call(call_sid, {"Status": "completed"}, action="hang up")
        except CallAlreadyEnded:
            logger.info("Call %s had already ended", call_sid)
            return False
        logger.info("Hung up call %s", call_sid)
        return True

    async def _update_call(self, call_sid: str, form: dict[str, str], *, action: str) -> None:
        url = f"{self._calls_url}/{quote(call_sid, safe='')}.json"
        try:
            response = await self._client.post(url, data=form, auth=self._auth)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise TwilioRestError(
                f"Twilio REST {action} of call {call_sid} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if response.is_success:
            return
        message, code = _refusal(f"Twilio REST {action} of call {call_sid}", response)
        error_class = (
            CallAlreadyEnded
            if response.status_code == 404 or code == _NOT_FOUND_CODE
            else TwilioRestError
        )
        raise error_class(message, status=response.status_code, code=code)


def _refusal(what: str, response: httpx.Response) -> tuple[str, int | None]:
    """The message for a refused request, with Twilio's error code when its body has one
    (``{"code": 20404, "message": ..., "status": 404}``)."""
    try:
        body = response.json()
    except ValueError:  # not JSON (a proxy's HTML page, say) or not decodable
        body = None
    if not isinstance(body, dict):
        body = {}
    code = body.get("code") if type(body.get("code")) is int else None
    detail = body.get("message")
    message = f"{what} failed: HTTP {response.status_code}"
    if code is not None:
        message += f", Twilio error {code}"
    if isinstance(detail, str) and detail:
        message += f": {detail}"
    return message, code
