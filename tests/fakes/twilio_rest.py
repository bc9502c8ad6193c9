"""A fake Twilio REST API on loopback, for tests that drive real HTTP through httpx.

Implements the endpoints hotelvoice uses: ``POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json``
(transfer, hang up) and ``POST /2010-04-01/Accounts/{AC}/Messages.json`` (SMS), with Basic auth,
Twilio-shaped JSON errors, and the same checks Twilio makes on the form. Every request is
recorded, including rejected ones (``call_sid`` is "" for messages).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import attrs
import trio
from quart import Response, jsonify, request
from quart_trio import QuartTrio

from tests.fakes.serving import serve_on_loopback

__all__ = ["FakeTwilioRest", "RecordedRequest", "start_fake_twilio_rest"]

# Twilio's documented values for `Status` when updating a call.
CALL_UPDATE_STATUSES = frozenset({"canceled", "completed"})
MAX_INLINE_TWIML_CHARS = 4000
MAX_SMS_BODY_CHARS = 1600
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@attrs.frozen
class RecordedRequest:
    method: str
    path: str
    form: Mapping[str, str]
    account_sid: str
    call_sid: str
    # Whether Basic auth matched the configured credentials (the password is not kept).
    authenticated: bool
    auth_username: str | None


@attrs.define(eq=False)
class FakeTwilioRest:
    """State and knobs of one fake server; ``base_url`` is set once it is listening."""

    account_sid: str
    auth_token: str
    base_url: str = ""
    requests: list[RecordedRequest] = attrs.field(factory=list)
    # When set, every authenticated request gets this HTTP status with a Twilio error body.
    fail_with: int | None = None
    ended_calls: set[str] = attrs.field(factory=set)
    messages: list[dict[str, Any]] = attrs.field(factory=list)  # accepted Message resources
    _new_request: trio.Event = attrs.field(factory=trio.Event)
    _handed_out: int = 0

    def end_call(self, call_sid: str) -> None:
        """From now on, updates of ``call_sid`` get 404 / 20404, like a completed call."""
        self.ended_calls.add(call_sid)

    async def wait_for_request(self) -> RecordedRequest:
        """The next request not yet returned by this method; waits until one arrives."""
        while self._handed_out >= len(self.requests):
            await self._new_request.wait()
        recorded = self.requests[self._handed_out]
        self._handed_out += 1
        return recorded

    def _record(self, recorded: RecordedRequest) -> None:
        self.requests.append(recorded)
        self._new_request.set()
        self._new_request = trio.Event()

    def build_app(self) -> QuartTrio:
        app = QuartTrio(__name__)

        @app.post("/2010-04-01/Accounts/<account_sid>/Calls/<call_sid>.json")
        async def update_call(account_sid: str, call_sid: str) -> tuple[Response, int]:
            form = (await request.form).to_dict()  # first value of repeated keys
            credentials = request.authorization
            username = credentials.username if credentials is not None else None
            password = credentials.password if credentials is not None else None
            authenticated = username == self.account_sid and password == self.auth_token
            self._record(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    form=form,
                    account_sid=account_sid,
                    call_sid=call_sid,
                    authenticated=authenticated,
                    auth_username=username,
                )
            )
            if not authenticated:
                return _twilio_error(401, 20003, "Authenticate")
            if self.fail_with is not None:
                return _twilio_error(self.fail_with, 20500, "Internal Server Error")
            if account_sid != self.account_sid or call_sid in self.ended_calls:
                return _twilio_error(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            problem = _form_problem(form)
            if problem is not None:
                return _twilio_error(400, 21220, problem)
            status = form.get("Status", "in-progress")
            if status in CALL_UPDATE_STATUSES:
                self.ended_calls.add(call_sid)
            return jsonify(_call_resource(account_sid, call_sid, status)), 200

        @app.post("/2010-04-01/Accounts/<account_sid>/Messages.json")
        async def create_message(account_sid: str) -> tuple[Response, int]:
            form = (await request.form).to_dict()
            credentials = request.authorization
            username = credentials.username if credentials is not None else None
            password = credentials.password if credentials is not None else None
            authenticated = username == self.account_sid and password == self.auth_token
            self._record(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    form=form,
                    account_sid=account_sid,
                    call_sid="",
                    authenticated=authenticated,
                    auth_username=username,
                )
            )
            if not authenticated:
                return _twilio_error(401, 20003, "Authenticate")
            if self.fail_with is not None:
                return _twilio_error(self.fail_with, 20500, "Internal Server Error")
            if account_sid != self.account_sid:
                return _twilio_error(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not E164.match(to):
                return _twilio_error(
                    400, 21211, f"The 'To' number {to} is not a valid phone number."
                )
            if not sender and not form.get("MessagingServiceSid"):
                return _twilio_error(400, 21603, "A 'From' phone number is required.")
            if not body or len(body) > MAX_SMS_BODY_CHARS:
                return _twilio_error(
                    400, 21617, "The concatenated message body exceeds the 1600 character limit."
                )
            message = {
                "sid": "SM" + f"{len(self.messages) + 1:032x}",
                "account_sid": account_sid,
                "to": to,
                "from": sender,
                "body": body,
                "status": "queued",
                "num_segments": str(-(-len(body) // 153) if len(body) > 160 else 1),
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/SM.json",
            }
            self.messages.append(message)
            return jsonify(message), 201

        return app


def _form_problem(form: Mapping[str, str]) -> str | None:
    """What Twilio would reject in a call-update form, or None."""
    if "Twiml" in form and "Url" in form:
        return "Twiml and Url are mutually exclusive"
    if "Status" in form and form["Status"] not in CALL_UPDATE_STATUSES:
        return f"Status must be one of {sorted(CALL_UPDATE_STATUSES)}, not {form['Status']!r}"
    if "Twiml" in form:
        twiml = form["Twiml"]
        if len(twiml) > MAX_INLINE_TWIML_CHARS:
            return f"Twiml is {len(twiml)} characters, over {MAX_INLINE_TWIML_CHARS}"
        try:
            root = ET.fromstring(twiml)
        except ET.ParseError as exc:
            return f"Twiml is not XML: {exc}"
        if root.tag != "Response":
            return f"Twiml root element is <{root.tag}>, not <Response>"
    if not {"Twiml", "Url", "Status"} & form.keys():
        return "nothing to update: expected Twiml, Url or Status"
    return None


def _twilio_error(status: int, code: int, message: str) -> tuple[Response, int]:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return jsonify(body), status


def _call_resource(account_sid: str, call_sid: str, status: str) -> dict[str, Any]:
    return {
        "sid": call_sid,
        "account_sid": account_sid,
        "status": status,
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json",
    }


async def start_fake_twilio_rest(
    nursery: trio.Nursery, *, account_sid: str, auth_token: str
) -> FakeTwilioRest:
    """Serve a fake Twilio REST API on 127.0.0.1 (ephemeral port) inside ``nursery``.

    Waits until the socket is listening. The server runs until ``nursery`` is cancelled
    (pytest-trio's ``nursery`` fixture does that after the test).
    """
    fake = FakeTwilioRest(account_sid=account_sid, auth_token=auth_token)
    fake.base_url = await serve_on_loopback(nursery, fake.build_app())
    return fake
