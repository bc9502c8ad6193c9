"""The HTTP and WebSocket routes (QuartTrio), and the app factory.

Routes: ``POST /twilio/voice`` (incoming-call webhook → TwiML), ``WS /twilio/media`` (the
bidirectional Media Streams socket), ``POST /twilio/stream-status`` (stream status callback),
``GET /healthz``, ``GET /metrics``, ``GET /pay/<token>`` and ``WS /v1/realtime`` (the offline
engine, for holders of the engine key). Every Twilio request is signature-checked unless the
serve command decided otherwise (bound to loopback with no auth token).
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import trio
from quart import Response
from quart_trio import QuartTrio
from werkzeug.datastructures import MultiDict

from hotelvoice import __version__
from hotelvoice.calls.bridge import CallServices, LiveCalls, serve_media_stream
from hotelvoice.calls.ports import CallContext, ModelConnector, ToolRegistry
from hotelvoice.config import Settings
from hotelvoice.engine.connector import (
    FallbackConnector,
    LocalConnector,
    serve_engine_socket,
)
from hotelvoice.hotel.basic import BasicHotelTools, basic_instructions
from hotelvoice.hotel.service import HotelService
from hotelvoice.logsafe import RateLimit
from hotelvoice.metrics import Metrics
from hotelvoice.properties.book import PropertyBook, load_property_book
from hotelvoice.realtime.connector import OpenAIConnector
from hotelvoice.telephony.rest import TwilioRest
from hotelvoice.telephony.signatures import SignatureValidator
from hotelvoice.telephony.tokens import StreamTokens, TokenBook, TokenRefused
from hotelvoice.web.drain import Drain
from hotelvoice.web.edge import (
    ASGIApp,
    ClientGone,
    Receive,
    Refusal,
    Scope,
    Send,
    check_form_headers,
    header,
    parse_form,
    printable,
    read_body,
    respond,
    serve_http,
)
from hotelvoice.wire import realtime as rt
from hotelvoice.wire.twiml import connect_stream_twiml, front_desk_twiml

log = logging.getLogger(__name__)

FALLBACK_MESSAGE = (
    "We're sorry, our automated concierge is not available right now. "
    "Please hold while we connect you to the front desk."
)
REST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TEXT = "text/plain; charset=utf-8"
XML = "text/xml"


def default_connector(
    settings: Settings, book: PropertyBook, metrics: Metrics | None = None
) -> ModelConnector:
    """The offline engine without ``OPENAI_API_KEY``; with it, OpenAI, falling back to the
    offline engine when OpenAI cannot be reached (its speech loads on the first fallback)."""
    local = LocalConnector(book, metrics=metrics, stt_model=settings.stt_model)
    if not settings.openai_api_key:
        return local
    openai = OpenAIConnector(
        url=settings.openai_realtime_url,
        model=settings.openai_model,
        api_key=settings.openai_api_key,
        # Half the setup deadline, so the offline engine still has time to answer.
        connect_timeout=settings.model_setup_timeout_s / 2,
    )
    return FallbackConnector(openai, local, metrics)


MEDIA_PATH = "/twilio/media"
ENGINE_PATH = "/v1/realtime"  # the offline engine for Realtime clients holding the engine key
VOICE_PATH = "/twilio/voice"
STATUS_PATH = "/twilio/stream-status"
WEBHOOK_PATHS = frozenset({VOICE_PATH, STATUS_PATH})
# Media sockets accepted whose `start` has not come yet, per process. Twilio sends `start` at
# once, so these are few; beyond this the upgrade is refused (1013: try again later).
MAX_PRESTART_SOCKETS = 32
# Twilio's SIDs: two letters and 32 hex digits.
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
# A caller or dialled party: E.164 is at most 16 characters; SIP and client identities are
# longer. Beyond this (or with control characters) the value is not passed on.
MAX_PARTY_CHARS = 128


class HotelvoiceApp:
    """The ASGI app: the media socket, the engine socket and Twilio's webhooks are served on
    ASGI directly, everything else by Quart; every HTTP request goes through
    :func:`edge.serve_http` (no keep-alive connection left waiting on an unread body).

    Quart's websocket layer adds a queue and a task switch to every message; at fifty frames
    a second per call in each direction that is a large share of the CPU per call. Quart's
    form parsing reads the whole body (up to 16 MB) before a route can check a signature.
    """

    def __init__(
        self, quart: QuartTrio, media: ASGIApp, engine: ASGIApp, webhook: ASGIApp, drain: Drain
    ) -> None:
        self.quart = quart
        self._media = media
        self._engine = engine
        self._webhook = webhook
        self.drain = drain  # the server runs it on SIGTERM/SIGINT (web/server.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == MEDIA_PATH:
            await self._media(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == ENGINE_PATH:
            await self._engine(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] in WEBHOOK_PATHS:
            await serve_http(self._webhook, scope, receive, send)
        elif scope["type"] == "http":
            await serve_http(self._quart, scope, receive, send)
        else:
            await self.quart(scope, receive, send)  # type: ignore[arg-type]

    async def _quart(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.quart(scope, receive, send)  # type: ignore[arg-type]


CLOSE_TIMEOUT_S = 2.0


class MediaSocketClosed(Exception):
    """The media socket is closed (Twilio hung up, or we closed it)."""


class AsgiMediaSocket:
    """An accepted ASGI websocket as the call's :class:`MediaSocket`."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.closed = False

    async def receive(self) -> str | bytes:
        """Wait for the next message. Raises MediaSocketClosed once the peer has gone."""
        if self.closed:
            raise MediaSocketClosed("closed")
        message = await self._receive()
        if message["type"] == "websocket.receive":
            text = message.get("text")
            return text if text is not None else bytes(message.get("bytes") or b"")
        self.closed = True
        raise MediaSocketClosed(f"disconnected ({message.get('code')})")

    async def send(self, data: str) -> None:
        """Send one text message. Raises MediaSocketClosed once the socket is closed."""
        if self.closed:
            raise MediaSocketClosed("closed")
        await self._send({"type": "websocket.send", "text": data})

    async def close(self) -> None:
        """Close with 1000 (Hypercorn would say 1011 for a handler that just returns). Waits
        at most ``CLOSE_TIMEOUT_S`` for the close frame to go out, even when cancelled."""
        if not self.closed:
            self.closed = True
            # Shielded so a cancelled call still closes politely; bounded, because a peer that
            # stopped reading (a full TCP window) would otherwise hold this task for ever.
            with trio.move_on_after(CLOSE_TIMEOUT_S, shield=True):
                await self._send({"type": "websocket.close", "code": 1000})


def _party(value: str) -> str | None:
    """A From/To value fit to pass on in a <Parameter>, or None."""
    if len(value) > MAX_PARTY_CHARS or not value.isprintable():
        return None
    return value


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of ``url``, default ports filled in, or None if malformed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if port is None:
        port = {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(scheme)
    return (scheme, (parts.hostname or "").lower(), port)


@attrs.define
class _PreStart:
    """Media sockets accepted and still waiting for a valid ``start``, oldest first, each with
    the cancel scope that evicts it (the cap on them is per process)."""

    waiting: dict[object, trio.CancelScope] = attrs.field(factory=dict)  # insertion order

    def evict_oldest(self) -> None:
        """Cancel the socket that has waited longest (it leaves ``waiting`` at once)."""
        oldest = next(iter(self.waiting))
        self.waiting.pop(oldest).cancel()


@attrs.define
class _Runtime:
    """State that exists only while the app is serving (it needs a running Trio loop)."""

    http: httpx.AsyncClient | None = None
    services: CallServices | None = None
    hotel: HotelService | None = None


def create_app(
    settings: Settings,
    *,
    tools: ToolRegistry | None = None,
    connector: ModelConnector | str | None = "default",
    metrics: Metrics | None = None,
    hotel: bool = True,
    tokens: TokenBook | None = None,
    store_prepared: bool = False,
    worker: str | None = None,
) -> HotelvoiceApp:
    """Build the app. ``connector="default"`` picks the backend from the settings.

    With ``hotel`` (the default) and no ``tools``, the hotel service (store, properties,
    tools, call records) opens when serving starts; ``hotel=False`` keeps the two basic
    tools and no store. ``tokens`` replaces the stream token store (tests bound it; several
    workers share theirs). ``store_prepared``: the store was migrated, seeded and its
    interrupted calls closed before this process started (``serve --workers``); ``worker``
    names this worker in ``/healthz``.
    """
    app = QuartTrio(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 1
    # No Quart route reads a body (the webhooks are served on ASGI directly).
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    metrics = metrics if metrics is not None else Metrics()
    validator = SignatureValidator(settings.twilio_auth_token, enabled=settings.signatures_checked)
    if tokens is None:
        tokens = StreamTokens(ttl_s=settings.stream_token_ttl_s)
    book = load_property_book(settings)  # a mistake in the properties fails here, named
    model: ModelConnector | None = (
        default_connector(settings, book, metrics) if isinstance(connector, str) else connector
    )
    local_engine = model if isinstance(model, LocalConnector) else None
    if isinstance(model, FallbackConnector) and isinstance(model.fallback, LocalConnector):
        local_engine = model.fallback
    runtime = _Runtime()
    prestart = _PreStart()

    def front_desk(dialed: str | None) -> str | None:
        """The front desk of the property whose number was dialed, else FRONT_DESK_PHONE."""
        number = book.for_number(dialed).department_number("front_desk")[1]
        return number or settings.front_desk_phone

    # Refused webhooks come from outside at any rate: a burst of lines per kind, then a
    # summary (every refusal is counted in /metrics).
    refusals_log = RateLimit(burst=20, window_s=60.0, clock=trio.current_time)
    live_calls = LiveCalls()
    drain = Drain(live_calls, settings, metrics, front_desk)

    def instructions(context: CallContext) -> str:
        if runtime.hotel is not None:
            return runtime.hotel.instructions(context)
        return basic_instructions(settings, context)

    @app.before_serving
    async def startup() -> None:
        if settings.openai_audio == "pcm16":
            # The transcoders (numpy) load now, not on the first call; a μ-law server never
            # imports them.
            from hotelvoice.codec.transcode import prepare as prepare_transcoding

            await trio.to_thread.run_sync(prepare_transcoding, int(rt.PCM24K["rate"]))
        if isinstance(model, LocalConnector):
            # The engine is the backend: its speech loads now, not while the first caller
            # waits. As OpenAI's fallback it loads on the first fallback instead (about 1 s,
            # in a thread), so a server on OpenAI does not carry it unless it is needed.
            await model.load()
        rest = None
        runtime.http = httpx.AsyncClient(timeout=REST_TIMEOUT)
        if settings.twilio_rest_enabled:
            rest = TwilioRest(
                runtime.http,
                account_sid=settings.twilio_account_sid or "",
                auth_token=settings.twilio_auth_token or "",
                api_base=settings.twilio_api_base,
            )
        registry: ToolRegistry
        if tools is not None:
            registry = tools
        elif hotel:
            runtime.hotel = await HotelService.open(
                settings,
                book=book,
                http=runtime.http,
                rest=rest,
                nursery=app.nursery,
                metrics=metrics,
                prepared=store_prepared,
            )
            registry = runtime.hotel.concierge.registry
        else:
            registry = BasicHotelTools(settings)
        runtime.services = CallServices(
            settings=settings,
            metrics=metrics,
            tokens=tokens,
            tools=registry,
            connector=model,
            rest=rest,
            instructions=instructions,
            observers=runtime.hotel.records if runtime.hotel is not None else None,
            calls=live_calls,
            front_desk=lambda context: front_desk(context.dialed),
        )
        # Unchecked signatures are announced by `serve` (config.signatures_for_bind), which
        # knows the address bound and so why.
        if settings.signatures_checked and not settings.twilio_auth_token:
            log.warning("TWILIO_AUTH_TOKEN is not set: every Twilio request will be refused (403)")
        if local_engine is not None and not engine_key:
            log.info("WS %s is disabled: HOTELVOICE_ENGINE_KEY is not set", ENGINE_PATH)
        if model is None:
            log.warning("no model backend: calls go to the TwiML fallback")
        elif not settings.openai_api_key:
            log.info("OPENAI_API_KEY is not set: the offline engine answers calls")
        log.info(
            "hotelvoice %s ready: public URL %s, backend %s",
            __version__,
            settings.public_url,
            model.name if model else "none",
        )

    @app.after_serving
    async def shutdown() -> None:
        if runtime.hotel is not None:
            await runtime.hotel.aclose()
        if runtime.http is not None:
            await runtime.http.aclose()

    @app.get("/pay/<token>")
    async def payment_page(token: str) -> Any:
        if runtime.hotel is None:
            return Response("not found\n", status=404, content_type="text/plain")
        page = await runtime.hotel.payment_page(token)
        metrics.incr("hotelvoice_payment_page_views_total", status=str(page.status))
        return Response(page.body, status=page.status, content_type="text/html; charset=utf-8")

    def voice_answer(form: MultiDict[str, str]) -> tuple[int, str, str]:
        """The incoming-call webhook's answer: (status, content type, body)."""
        call_sid = form.get("CallSid", "")
        if not CALL_SID.fullmatch(call_sid):
            metrics.incr("hotelvoice_webhooks_total", outcome="bad_call_sid")
            log.warning("voice webhook refused: CallSid %s is malformed", printable(call_sid, 40))
            return 400, TEXT, "CallSid must be CA and 32 hex digits\n"
        parties: dict[str, str] = {}
        for field in ("From", "To"):
            value = _party(form.get(field, ""))
            if value is None:
                metrics.incr("hotelvoice_webhook_values_dropped_total", field=field)
                log.warning("call %s: %s too long or unprintable; dropped", call_sid, field)
                value = ""
            parties[field] = value
        if drain.draining:  # shutting down: the front desk takes new calls (web/drain.py)
            return 200, XML, drain.webhook_twiml(parties["To"] or None)
        try:
            token = tokens.mint(call_sid, trio.current_time())
        except TokenRefused as refused:
            if refused.reason == "streamed":
                metrics.incr("hotelvoice_webhooks_total", outcome="replayed")
                log.warning("call %s: webhook refused: this call's stream already ran", call_sid)
                return 409, TEXT, "this call's stream has already started\n"
            metrics.incr("hotelvoice_webhooks_total", outcome="tokens_full")
            log.warning("call %s: too many streams pending; the front desk takes it", call_sid)
            twiml = front_desk_twiml(FALLBACK_MESSAGE, front_desk(parties["To"] or None))
            return 200, XML, twiml
        twiml = connect_stream_twiml(
            stream_url=settings.stream_url,
            parameters={"token": token, "CallSid": call_sid, **parties},
            status_callback=settings.public(STATUS_PATH),
            fallback_message=FALLBACK_MESSAGE,
            front_desk=settings.front_desk_phone,
        )
        metrics.incr("hotelvoice_webhooks_total", outcome="stream")
        log.info("call %s: answering with a media stream", call_sid)
        return 200, XML, twiml

    def status_answer(form: MultiDict[str, str]) -> tuple[int, str, str]:
        call_sid = printable(form.get("CallSid", ""), 40)
        event = form.get("StreamEvent", "")
        if event == "stream-error":
            error = printable(form.get("StreamError", ""), 200)
            log.warning("call %s: Twilio stream error: %s", call_sid, error)
        else:
            log.info("call %s: stream status %s", call_sid, printable(event, 40))
        return 204, TEXT, ""

    async def webhook(scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /twilio/voice`` and ``POST /twilio/stream-status``, on ASGI directly: judged
        by their headers before the body is read, the body read with a cap and parsed by the
        standard library, then the signature checked over every field."""
        path = scope["path"]
        route = "voice" if path == VOICE_PATH else "stream_status"
        try:
            check_form_headers(scope, signature_required=validator.enabled)
            if validator.refuses_all:  # no token to check against: nothing to read
                raise Refusal(403, "no_token", "invalid signature\n")
            form = parse_form(await read_body(receive))
            url = settings.public(path)
            if scope["query_string"]:
                url += "?" + bytes(scope["query_string"]).decode("latin-1")
            signature = header(scope, b"x-twilio-signature")
            if not validator.check_webhook(url, form, signature):
                raise Refusal(403, "bad_signature", "invalid signature\n")
        except ClientGone:
            return
        except Refusal as refused:
            metrics.incr("hotelvoice_webhooks_refused_total", route=route, reason=refused.reason)
            if refused.reason in ("no_signature", "bad_signature", "no_token"):
                metrics.incr("hotelvoice_signature_failures_total", route=route)
            refusals_log.log(
                log,
                logging.WARNING,
                f"{route}_{refused.reason}",
                "%s webhook refused (%d): %s",
                route,
                refused.status,
                refused.reason,
            )
            await respond(send, refused.status, refused.text)
            return
        if route == "voice":
            status, content_type, body = voice_answer(form)
        else:
            status, content_type, body = status_answer(form)
        # While draining, no keep-alive to a server about to stop (Hypercorn waits for it).
        closing = [(b"connection", b"close")] if drain.draining else []
        await respond(send, status, body, content_type, closing)

    async def media_stream(scope: Scope, receive: Receive, send: Send) -> None:
        """``WS /twilio/media``, served on ASGI directly (see :class:`HotelvoiceApp`)."""
        if (await receive())["type"] != "websocket.connect":
            return
        signature = header(scope, b"x-twilio-signature")
        if not validator.check_websocket(settings.stream_url, signature):
            metrics.incr("hotelvoice_signature_failures_total", route="media")
            log.warning("media stream refused: bad or missing X-Twilio-Signature")
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        services = runtime.services
        if services is None:  # not serving yet (lifespan not run)
            await send({"type": "websocket.close", "code": 1013})
            return
        if len(prestart.waiting) >= MAX_PRESTART_SOCKETS:
            # Twilio sends start within milliseconds of the upgrade, so the socket that has
            # waited longest is the likeliest not to be a call: it makes room, rather than
            # idle sockets (the upgrade's signature is the same for every call) shutting real
            # calls out until they time out.
            prestart.evict_oldest()
            metrics.incr("hotelvoice_media_sockets_evicted_total")
            refusals_log.log(
                log,
                logging.WARNING,
                "media_prestart_full",
                "media stream: %d sockets wait for start; the oldest is closed",
                MAX_PRESTART_SOCKETS,
            )
        key = object()
        waiting = prestart.waiting[key] = trio.CancelScope()
        metrics.set("hotelvoice_media_sockets_prestart_active", len(prestart.waiting))

        def admitted() -> None:
            if prestart.waiting.pop(key, None) is not None:
                metrics.set("hotelvoice_media_sockets_prestart_active", len(prestart.waiting))

        await send({"type": "websocket.accept"})
        socket = AsgiMediaSocket(receive, send)
        try:
            with waiting:
                await serve_media_stream(socket, services, on_admitted=admitted)
        finally:
            admitted()
            await socket.close()

    @app.after_request
    async def close_while_draining(response: Response) -> Response:
        if drain.draining:  # no keep-alive to a server about to stop (Hypercorn waits for it)
            response.headers["Connection"] = "close"
        return response

    @app.get("/healthz")
    async def healthz() -> Any:
        health = {
            "status": "ok",
            "version": __version__,
            "backend": model.name if model else "none",
            "calls_active": metrics.get("hotelvoice_calls_active"),
        }
        if worker is not None:  # one of several: which one answered (its own calls_active)
            health["worker"] = worker
        if drain.draining:  # load balancers stop sending calls here
            return {**health, **drain.health()}, 503
        return health

    @app.get("/metrics")
    async def metrics_route() -> Any:
        return Response(metrics.render(), content_type="text/plain; version=0.0.4")

    public_origin = _origin(settings.public_url)
    engine_key = (settings.engine_key or "").encode("utf-8")

    def engine_refusal(scope: Scope) -> str | None:
        """Why ``WS /v1/realtime`` is refused to this upgrade, or None."""
        if local_engine is None:
            return "no_engine"
        if not engine_key:
            return "disabled"
        scheme, _, presented = (header(scope, b"authorization") or "").strip().partition(" ")
        given = presented.strip().encode("latin-1")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, engine_key):
            return "bad_key"
        origin = header(scope, b"origin")
        if origin is not None and _origin(origin) != public_origin:
            return "origin"  # a browser page of another site (cross-site WebSocket)
        return None

    async def engine_socket(scope: Scope, receive: Receive, send: Send) -> None:
        """``WS /v1/realtime``: the offline engine for Realtime clients holding the engine key
        (``Authorization: Bearer HOTELVOICE_ENGINE_KEY``, as OpenAI's API takes its key)."""
        if (await receive())["type"] != "websocket.connect":
            return
        refusal = engine_refusal(scope)
        if refusal is not None or local_engine is None:
            metrics.incr("hotelvoice_engine_sockets_total", outcome="refused")
            metrics.incr("hotelvoice_engine_sockets_refused_total", reason=refusal or "no_engine")
            log.warning("engine socket refused: %s", refusal)
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await send({"type": "websocket.accept"})
        metrics.incr("hotelvoice_engine_sockets_total", outcome="accepted")
        socket = AsgiMediaSocket(receive, send)
        await serve_engine_socket(local_engine, socket, metrics)
        await socket.close()

    return HotelvoiceApp(app, media_stream, engine_socket, webhook, drain)
