"""The HTTP edge on raw ASGI: Twilio's form webhooks read with hard limits, and refusals that
never leave a keep-alive connection hanging.

Twilio's webhooks are a few KB of form fields. Everything about a request that can be judged
from its headers (a missing signature, the content type, a missing or excessive
``Content-Length``) is judged before a byte of the body is read; the body is then read up to
:data:`WEBHOOK_MAX_BYTES` and parsed by the standard library with a field limit, so an
unsigned 10 MB form costs nothing to refuse.

Two ways a keep-alive connection used to hang (Hypercorn 0.18, Quart 0.22; the client's next
request on it waited forever): a response sent before the request's body had all arrived left
Hypercorn waiting to queue body chunks for an app that no longer read them; and Quart cancels
its request task when its reader sees ``http.disconnect``, which Hypercorn queues while that
very task, inside its last ``send``, is recycling or closing the connection. :func:`serve_http`
sends the last message shielded, and adds ``Connection: close`` to an early response while a
task reads off what Hypercorn still queues until the connection is closed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import attrs
import trio
from werkzeug.datastructures import MultiDict

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Twilio's voice and status webhooks are 1-3 KB (about 30 fields); 16 KiB leaves room for the
# fields Twilio adds over time.
WEBHOOK_MAX_BYTES = 16 * 1024
WEBHOOK_MAX_FIELDS = 200
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# How long a refused request's leftover body is read off while its connection closes.
DRAIN_TIMEOUT_S = 2.0
# A response's last message (small) and the connection's recycling, shielded.
LAST_SEND_TIMEOUT_S = 10.0


@attrs.frozen
class Refusal(Exception):
    """A request refused: the HTTP ``status``, a ``reason`` from a fixed set (a metric label)
    and the ``text`` of the response."""

    status: int
    reason: str
    text: str


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), decoded as latin-1, or None."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def printable(value: object, limit: int = 120) -> str:
    """``value`` from outside, fit for one log line: control characters escaped, truncated."""
    text = str(value)
    cut = text[:limit]
    escaped = cut.encode("unicode_escape").decode("ascii")
    return escaped + ("…" if len(text) > limit else "")


def check_form_headers(scope: Scope, *, signature_required: bool) -> None:
    """Judge a webhook POST by its headers alone (nothing has been read yet).

    Raises:
        Refusal: 405 not a POST, 403 no ``X-Twilio-Signature`` when one is required, 415 not
            a form, 411 no ``Content-Length`` (or a chunked body), 400 a malformed one, 413
            over :data:`WEBHOOK_MAX_BYTES`.
    """
    if scope["method"] != "POST":
        raise Refusal(405, "method", "method not allowed\n")
    if signature_required and not header(scope, b"x-twilio-signature"):
        raise Refusal(403, "no_signature", "invalid signature\n")
    content_type = (header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise Refusal(415, "content_type", f"expected {FORM_CONTENT_TYPE}\n")
    length = header(scope, b"content-length")
    if length is None or header(scope, b"transfer-encoding") is not None:
        raise Refusal(411, "no_length", "Content-Length is required\n")
    length = length.strip()
    if not (length.isascii() and length.isdigit()) or len(length) > 12:
        raise Refusal(400, "bad_length", "malformed Content-Length\n")
    if int(length) > WEBHOOK_MAX_BYTES:
        raise Refusal(413, "too_large", f"at most {WEBHOOK_MAX_BYTES} bytes\n")


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


async def read_body(receive: Receive, limit: int = WEBHOOK_MAX_BYTES) -> bytes:
    """The request body, waiting for each chunk of it.

    Raises:
        Refusal: 413 once more than ``limit`` bytes have come.
        ClientGone: the client disconnected first.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = bytes(message.get("body") or b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, "too_large", f"at most {limit} bytes\n")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_form(body: bytes) -> MultiDict[str, str]:
    """A form body as Twilio's ``RequestValidator`` reads it: every field, every value
    (a repeated field keeps all its values), blanks kept.

    Raises:
        Refusal: 400 when it is not a well-formed UTF-8 form or has too many fields.
    """
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=WEBHOOK_MAX_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError included
        raise Refusal(400, "bad_form", "malformed form\n") from None
    return MultiDict(pairs)


async def respond(
    send: Send,
    status: int,
    body: str,
    content_type: str = "text/plain; charset=utf-8",
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send a whole response. Waits on the connection."""
    data = body.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(data)).encode("ascii")),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})


def _has_body(scope: Scope) -> bool:
    if header(scope, b"transfer-encoding") is not None:
        return True
    length = header(scope, b"content-length")
    return length is not None and length.strip() not in ("", "0")


async def _send_last(send: Send, message: dict[str, Any]) -> None:
    """Send a response's last message, shielded: Hypercorn recycles or closes the connection
    inside this call, and Quart cancels its request task as soon as its reader sees the
    ``http.disconnect`` that Hypercorn queues here; cancelled half-way, the connection is
    neither closed nor read again (the client's next request waits forever)."""
    with trio.CancelScope(shield=True) as scope:
        scope.deadline = trio.current_time() + LAST_SEND_TIMEOUT_S
        await send(message)


async def serve_http(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one HTTP request with ``app``: its response's last message is sent shielded from
    the app's own cancellation, and the connection is closed when ``app`` answers before the
    request's body has all been received.

    Such an early response gets ``Connection: close``; while it goes out, a task reads and
    drops what Hypercorn still queues for the app (bounded by :data:`DRAIN_TIMEOUT_S`), so
    Hypercorn can finish the exchange and close the connection instead of waiting on a full
    queue.
    """
    body_received = not _has_body(scope)

    async def tracked_receive() -> dict[str, Any]:
        nonlocal body_received
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            body_received = True
        return message

    async def drain() -> None:
        with trio.move_on_after(DRAIN_TIMEOUT_S):
            while (await receive())["type"] != "http.disconnect":
                pass

    async with trio.open_nursery() as nursery:

        async def guarded_send(message: dict[str, Any]) -> None:
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if not body_received:
                if message["type"] == "http.response.start":
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
                elif last:
                    nursery.start_soon(drain)
            if last:
                await _send_last(send, message)
            else:
                await send(message)

        await app(scope, tracked_receive, guarded_send)
