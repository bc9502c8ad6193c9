"""The HTTP edge of the real app under Hypercorn: what is refused before a body is read, that
no keep-alive connection is left hanging after a refusal, the cap on media sockets waiting for
``start``, replayed webhooks, and bad values answered 400/404 (never 500).

Requests go over raw loopback sockets where the exact bytes matter (a body never sent, the
connection's fate after the answer).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

import pytest
import trio
from twilio.request_validator import RequestValidator

from hotelvoice.web.app import MAX_PRESTART_SOCKETS
from hotelvoice.web.edge import WEBHOOK_MAX_BYTES, WEBHOOK_MAX_FIELDS
from tests.e2e.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, Stack
from tests.fakes.twilio_media import FakeTwilioCall, new_sid
from tests.fakes.twilio_webhook import inbound_call_form, parse_stream_twiml, signed_webhook

FORM = "application/x-www-form-urlencoded"
SOME_SIGNATURE = "bm90IGEgc2lnbmF0dXJl"


class RawClient:
    """One keep-alive HTTP/1.1 connection over a raw loopback socket."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response: (status, headers in lower case, body). Raises EOFError if the
        server closed the connection instead."""
        while b"\r\n\r\n" not in self.buffer:
            await self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            await self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split(" ")[1]), headers, body

    async def closed(self) -> bool:
        """Whether the server closes the connection (EOF or reset) rather than answer more."""
        try:
            while True:
                chunk = await self.stream.receive_some(65536)
                if not chunk:
                    return True
        except trio.BrokenResourceError:
            return True

    async def _fill(self) -> None:
        try:
            chunk = await self.stream.receive_some(65536)
        except trio.BrokenResourceError:
            raise EOFError from None
        if not chunk:
            raise EOFError
        self.buffer += chunk


@contextlib.asynccontextmanager
async def raw_client(stack: Stack) -> AsyncIterator[RawClient]:
    host, _, port = stack.http_url.removeprefix("http://").partition(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        yield RawClient(stream)


def request_head(
    path: str, *, length: int | None, content_type: str = FORM, signature: str | None = None
) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if signature is not None:
        lines.append(f"X-Twilio-Signature: {signature}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
VOICE = "/twilio/voice"


async def test_an_unsigned_huge_form_is_refused_before_its_body_is_sent(stack: Stack) -> None:
    # Ten million bytes, a million fields, announced: the answer comes without any of it.
    with trio.fail_after(5):
        async with raw_client(stack) as client:
            await client.send(request_head("/twilio/voice", length=10_000_000))
            status, headers, _ = await client.response()
            assert status == 403
            assert headers["connection"] == "close"
            assert await client.closed()
    refused = stack.metrics.get(
        "hotelvoice_webhooks_refused_total", route="voice", reason="no_signature"
    )
    assert refused == 1


@pytest.mark.parametrize(
    ("head", "status", "reason"),
    [
        (
            request_head("/twilio/voice", length=20_000_000, signature=SOME_SIGNATURE),
            413,
            "too_large",
        ),
        (
            request_head("/twilio/voice", length=WEBHOOK_MAX_BYTES + 1, signature=SOME_SIGNATURE),
            413,
            "too_large",
        ),
        (request_head("/twilio/voice", length=None, signature=SOME_SIGNATURE), 411, "no_length"),
        (
            request_head(
                "/twilio/voice", length=50, content_type="application/json", signature="x"
            ),
            415,
            "content_type",
        ),
        (request_head("/twilio/stream-status", length=10_000_000), 403, "no_signature"),
    ],
)
async def test_refused_by_headers_alone_and_the_connection_closes(
    stack: Stack, head: bytes, status: int, reason: str
) -> None:
    with trio.fail_after(5):
        async with raw_client(stack) as client:
            length = (
                int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) if status != 411 else 0
            )
            await client.send(head + b"x" * min(1000, length))  # some of the body at most
            answer, headers, _ = await client.response()
            assert answer == status
            if length:
                assert headers["connection"] == "close"
                assert await client.closed()
            else:  # no body announced, none to skip: the connection lives on
                await client.send(HEALTH)
                assert (await client.response())[0] == 200
    assert stack.metrics.total("hotelvoice_webhooks_refused_total") == 1
    route = "stream_status" if b"stream-status" in head else "voice"
    assert stack.metrics.get("hotelvoice_webhooks_refused_total", route=route, reason=reason) == 1


async def test_a_refused_big_body_sent_in_full_leaves_no_connection_hanging(stack: Stack) -> None:
    # The case: a 20 MB POST refused, then the next request on that connection.
    body = b"a" * (20 * 1024 * 1024)
    with trio.fail_after(10):
        async with raw_client(stack) as client, trio.open_nursery() as nursery:

            async def send_body() -> None:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await client.send(request_head("/twilio/voice", length=len(body)) + body)
                    await client.send(HEALTH)

            nursery.start_soon(send_body)
            status, headers, _ = await client.response()
            assert status == 403 and headers["connection"] == "close"
            assert await client.closed()
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/nowhere"])
async def test_an_unexpected_json_post_to_quart_routes_leaves_no_connection_hanging(
    stack: Stack, path: str
) -> None:
    body = b"{" + b" " * (1024 * 1024) + b"}"
    head = request_head(path, length=len(body), content_type="application/json")
    for _ in range(5):
        with trio.fail_after(10):
            async with raw_client(stack) as client, trio.open_nursery() as nursery:

                async def send_all(client: RawClient = client) -> None:
                    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                        await client.send(head + body)
                        await client.send(HEALTH)

                nursery.start_soon(send_all)
                status, headers, _ = await client.response()
                assert status in (404, 405, 413)
                if headers.get("connection") != "close":  # the body was read: keep-alive holds
                    assert (await client.response())[0] == 200
                else:
                    assert await client.closed()
                nursery.cancel_scope.cancel()


async def test_keep_alive_holds_for_answered_requests(stack: Stack) -> None:
    form = inbound_call_form(call_sid=new_sid("CA"), account_sid=ACCOUNT_SID)
    headers, fields = signed_webhook(PUBLIC_URL, "/twilio/voice", AUTH_TOKEN, form)
    body = urlencode(fields).encode()
    webhook = request_head(
        "/twilio/voice", length=len(body), signature=headers["X-Twilio-Signature"]
    )
    with trio.fail_after(10):
        async with raw_client(stack) as client:
            for _ in range(20):
                await client.send(HEALTH)
                status, answer_headers, _ = await client.response()
                assert status == 200 and "connection" not in answer_headers
            await client.send(webhook + body)
            status, answer_headers, twiml = await client.response()
            assert status == 200, twiml
            assert "connection" not in answer_headers
            # A wrong signature over a whole (small) body: refused, and the connection lives on.
            await client.send(request_head("/twilio/voice", length=len(body), signature="x") + body)
            assert (await client.response())[0] == 403
            await client.send(HEALTH)
            assert (await client.response())[0] == 200


async def test_a_repeated_field_is_signed_and_checked_with_all_its_values(stack: Stack) -> None:
    call_sid = new_sid("CA")
    pairs = [
        *inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID).items(),
        ("Extra", "one"),
        ("Extra", "two"),
    ]
    url = PUBLIC_URL + "/twilio/voice"
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)

    class Multi(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, Multi(multi))
    body = urlencode(pairs).encode()
    answer = await stack.http.post(
        "/twilio/voice",
        content=body,
        headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
    )
    assert answer.status_code == 200, answer.text
    # Dropping one of the values breaks the signature.
    answer = await stack.http.post(
        "/twilio/voice",
        content=urlencode(pairs[:-1]).encode(),
        headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        "&".join(f"f{n}=v" for n in range(WEBHOOK_MAX_FIELDS + 1)).encode(),  # too many fields
        b"CallSid=%FF%FE&From=x",  # not UTF-8
        b"CallSid=CA1&&From=x",  # not a well-formed form
        "CallSid=été".encode(),  # not percent-encoded
    ],
)
async def test_a_malformed_form_is_a_400(stack: Stack, body: bytes) -> None:
    answer = await stack.http.post(
        "/twilio/voice", content=body, headers={"Content-Type": FORM, "X-Twilio-Signature": "x"}
    )
    assert answer.status_code == 400
    refused = stack.metrics.get(
        "hotelvoice_webhooks_refused_total", route="voice", reason="bad_form"
    )
    assert refused == 1


@pytest.mark.parametrize(
    "call_sid", ["CA1", "CA" + "0" * 31, "CA" + "g" * 32, "CA" + "0" * 598, "CA\n" + "0" * 31]
)
async def test_a_malformed_call_sid_is_a_400(stack: Stack, call_sid: str) -> None:
    answer = await stack.webhook(inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID))
    assert answer.status_code == 400
    assert stack.metrics.get("hotelvoice_webhooks_total", outcome="bad_call_sid") == 1


async def test_overlong_from_and_to_are_not_passed_on(stack: Stack) -> None:
    form = inbound_call_form(
        call_sid=new_sid("CA"), account_sid=ACCOUNT_SID, from_="+1" * 300, to="sip:" + "x" * 596
    )
    answer = await stack.webhook(form)
    assert answer.status_code == 200, answer.text
    parameters = parse_stream_twiml(answer.text).parameters
    assert parameters["From"] == "" and parameters["To"] == ""
    assert stack.metrics.get("hotelvoice_webhook_values_dropped_total", field="From") == 1
    assert stack.metrics.get("hotelvoice_webhook_values_dropped_total", field="To") == 1


async def test_a_replayed_webhook_cannot_open_a_second_stream(stack: Stack) -> None:
    call_sid = new_sid("CA")
    form = inbound_call_form(call_sid=call_sid, account_sid=ACCOUNT_SID)
    first = await stack.webhook(form)
    # A second webhook for the same call before its stream starts replaces the first token.
    second = await stack.webhook(form)
    first_token = parse_stream_twiml(first.text).parameters["token"]
    twiml = parse_stream_twiml(second.text)
    assert twiml.parameters["token"] != first_token
    async with FakeTwilioCall.connect(
        stack.ws_url,
        public_url=PUBLIC_URL,
        auth_token=AUTH_TOKEN,
        call_sid=call_sid,
        account_sid=ACCOUNT_SID,
        parameters=twiml.parameters,
    ) as call:
        await call.start()
        await stack.wait_metric("hotelvoice_calls_active", 1)
        replay = await stack.webhook(form)  # the captured, signed webhook, sent again
        assert replay.status_code == 409
        assert stack.metrics.get("hotelvoice_webhooks_total", outcome="replayed") == 1
    await stack.wait_idle()


@pytest.mark.settings(stream_start_timeout_s=60.0)
async def test_idle_media_sockets_make_room_for_a_real_call(stack: Stack) -> None:
    def connect(call_sid: str) -> contextlib.AbstractAsyncContextManager[FakeTwilioCall]:
        return FakeTwilioCall.connect(
            stack.ws_url, public_url=PUBLIC_URL, auth_token=AUTH_TOKEN, call_sid=call_sid
        )

    with trio.fail_after(30):
        async with contextlib.AsyncExitStack() as idle:
            # Sockets that never send start (the upgrade's signature is the same for every
            # call, so anyone holding one can open them), up to the cap.
            idlers = [
                await idle.enter_async_context(connect(new_sid("CA")))
                for _ in range(MAX_PRESTART_SOCKETS)
            ]
            await stack.wait_metric(
                "hotelvoice_media_sockets_prestart_active", MAX_PRESTART_SOCKETS
            )
            # A real call still gets through: the socket that waited longest makes room.
            async with stack.dial():
                await stack.wait_metric("hotelvoice_calls_active", 1)
                await idlers[0].wait_closed_by_server()
                assert stack.metrics.get("hotelvoice_media_sockets_evicted_total") == 1
                assert (
                    stack.metrics.get("hotelvoice_media_sockets_prestart_active")
                    == MAX_PRESTART_SOCKETS - 1
                )
        await stack.wait_metric("hotelvoice_media_sockets_prestart_active", 0)
    await stack.wait_idle()


@pytest.mark.parametrize(
    "token",
    ["été.1.x", "\u0663\u0663.1.x", "9" * 5000, "a.99999999999999999999999999999.b", "%00.1.x"],
)
async def test_a_bad_payment_token_is_a_404(stack: Stack, token: str) -> None:
    answer = await stack.http.get("/pay/" + quote(token, safe=""))
    assert answer.status_code == 404
